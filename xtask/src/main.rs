//! Project automation: `cargo xtask codegen [--check] [--datamodel P] [--errors P] [--out DIR]`,
//! `cargo xtask refresh-inputs [--from DIR]` and `cargo xtask test [--no-fuzz] [--fuzz-seconds N]`.

#[cfg(test)]
mod citations;
mod generate;
mod inputs;
mod model;
mod names;
mod test;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

pub(crate) const STALE: &str = "generated code is stale: run `cargo xtask codegen` and commit";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen(&args[1..]),
        Some("refresh-inputs") => inputs::refresh(&workspace_root(), &args[1..]),
        Some("test") => test::test(&workspace_root(), &args[1..]),
        _ => Err(anyhow::anyhow!(
            "{}",
            concat!(
                "usage: cargo xtask codegen [--check] [--datamodel PATH] [--errors PATH] ",
                "[--out DIR]\n       cargo xtask refresh-inputs [--from DIR]\n",
                "       cargo xtask test [--no-fuzz] [--fuzz-seconds N]"
            )
        )),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`). Cargo sets `CARGO_MANIFEST_DIR` at run time
/// for `cargo run`/`cargo test`; it beats the compile-time value, which a target directory
/// shared between clones can leave pointing at another clone.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// What one generation run reads and writes.
struct Job {
    datamodel: PathBuf,
    errors: PathBuf,
    out: Target,
    core: bool,
}

enum Target {
    /// A directory of module files (`core/src/generated/`).
    Dir(PathBuf),
    /// One file with inline modules (the adversarial fixture).
    File(PathBuf),
}

pub(crate) fn codegen(args: &[String]) -> Result<ExitCode> {
    let root = workspace_root();
    let inputs_dir = inputs::repo_dir(&root);
    let mut check = false;
    let mut datamodel = None;
    let mut errors = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--check" => check = true,
            "--datamodel" => datamodel = Some(PathBuf::from(value()?)),
            "--errors" => errors = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    if datamodel.is_none() && errors.is_none() {
        inputs::warn_if_shared_differs(&root);
    }
    let fixture = root.join("core/tests/fixtures/adversarial");
    let jobs = [
        Job {
            datamodel: datamodel.unwrap_or_else(|| inputs_dir.join("datamodel.json")),
            errors: errors.unwrap_or_else(|| inputs_dir.join("errors.json")),
            out: Target::Dir(out.unwrap_or_else(|| root.join("core/src/generated"))),
            core: true,
        },
        Job {
            datamodel: fixture.join("datamodel.json"),
            errors: fixture.join("errors.json"),
            out: Target::File(fixture.join("generated.rs")),
            core: false,
        },
    ];
    let mut stale = Vec::new();
    for job in &jobs {
        let files = render(job, &root)?;
        if check {
            stale.extend(compare(&job.out, &files)?);
        } else {
            write(&job.out, &files)?;
        }
    }
    if !stale.is_empty() {
        for s in &stale {
            eprintln!("  {s}");
        }
        eprintln!("{STALE}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Generates and formats every file of a job: relative path → text.
fn render(job: &Job, root: &Path) -> Result<BTreeMap<String, String>> {
    let dm_bytes = std::fs::read(&job.datamodel)
        .with_context(|| format!("reading {}", job.datamodel.display()))?;
    let err_bytes =
        std::fs::read(&job.errors).with_context(|| format!("reading {}", job.errors.display()))?;
    let dm: model::Datamodel = serde_json::from_slice(&dm_bytes)
        .with_context(|| format!("parsing {}", job.datamodel.display()))?;
    let errors: model::Errors = serde_json::from_slice(&err_bytes)
        .with_context(|| format!("parsing {}", job.errors.display()))?;
    let banner = format!(
        "// @generated by `cargo xtask codegen` from datamodel.json sha256 {} and errors.json \
         sha256 {}. DO NOT EDIT.",
        sha256(&dm_bytes),
        sha256(&err_bytes)
    );
    let module = generate::generate(dm, &errors, job.core)
        .with_context(|| format!("generating from {}", job.datamodel.display()))?;
    let raw = match &job.out {
        Target::Dir(_) => module.into_files(&banner),
        Target::File(path) => vec![(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            module.into_single_file(&banner),
        )],
    };
    let mut files = BTreeMap::new();
    for (path, text) in raw {
        let formatted = rustfmt(&text, root).with_context(|| format!("formatting {path}"))?;
        files.insert(path, formatted);
    }
    Ok(files)
}

/// Formats Rust source with `rustfmt --edition 2024`, run from the workspace root so the
/// project's rustfmt configuration (if any) applies exactly as for `cargo fmt`.
fn rustfmt(text: &str, root: &Path) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (is it installed? `rustup component add rustfmt`)")?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer.join().expect("writer thread")?;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Every file under `dir`, relative, with `/` separators.
fn existing_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                out.insert(rel, path);
            }
        }
    }
    Ok(out)
}

/// Names of files that differ, are missing or are extra.
fn compare(target: &Target, files: &BTreeMap<String, String>) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    match target {
        Target::Dir(dir) => {
            let existing = existing_files(dir)?;
            for (rel, text) in files {
                match existing.get(rel) {
                    None => stale.push(format!("missing: {}", dir.join(rel).display())),
                    Some(p) if std::fs::read_to_string(p).ok().as_deref() != Some(text) => {
                        stale.push(format!("differs: {}", p.display()))
                    }
                    Some(_) => {}
                }
            }
            for (rel, p) in &existing {
                if !files.contains_key(rel) {
                    stale.push(format!("extra: {}", p.display()));
                }
            }
        }
        Target::File(path) => {
            let text = files.values().next().expect("one file");
            if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
                stale.push(format!("differs or missing: {}", path.display()));
            }
        }
    }
    Ok(stale)
}

fn write(target: &Target, files: &BTreeMap<String, String>) -> Result<()> {
    match target {
        Target::Dir(dir) => {
            for (rel, p) in existing_files(dir)? {
                if !files.contains_key(&rel) {
                    std::fs::remove_file(&p)?;
                }
            }
            for (rel, text) in files {
                let p = dir.join(rel);
                std::fs::create_dir_all(p.parent().expect("has parent"))?;
                if std::fs::read_to_string(&p).ok().as_deref() != Some(text) {
                    std::fs::write(&p, text)?;
                }
            }
            // Drop directories left empty by removed classes.
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        let _ = std::fs::remove_dir(e.path());
                    }
                }
            }
            println!("wrote {} files to {}", files.len(), dir.display());
        }
        Target::File(path) => {
            let text = files.values().next().expect("one file");
            std::fs::write(path, text)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed output matches the committed inputs in `xapi/`.
    #[test]
    fn generated_code_is_fresh() {
        let code = codegen(&["--check".to_string()]).expect("codegen --check runs");
        assert_eq!(code, ExitCode::SUCCESS, "{STALE}");
    }
}
