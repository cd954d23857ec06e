//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure.
//! Cheap checks first: generated code fresh, formatting, clippy, the Rust tests, the
//! official Python client and Xen Orchestra's Node client against the simulator, the
//! bindings, then a bounded fuzzing run.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

/// Checks that passed so far, for the closing line.
static PASSED: AtomicUsize = AtomicUsize::new(0);

fn run(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("\n==> {what}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start: {cmd:?}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    PASSED.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    c
}

/// Runs the suite. `--no-fuzz` skips fuzzing; `--fuzz-seconds N` sets its length per target.
pub fn test(root: &Path, args: &[String]) -> Result<ExitCode> {
    let fuzz = !args.iter().any(|a| a == "--no-fuzz");
    let fuzz_seconds = args
        .iter()
        .position(|a| a == "--fuzz-seconds")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or("20")
        .to_string();

    eprintln!("==> generated code is fresh");
    if crate::codegen(&["--check".to_string()])? != ExitCode::SUCCESS {
        bail!("{}", crate::STALE);
    }
    PASSED.fetch_add(1, Ordering::SeqCst);
    run("formatting", cargo(root).args(["fmt", "--all", "--check"]))?;
    run(
        "clippy",
        cargo(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "Rust tests",
        cargo(root).args(["test", "--workspace", "--locked"]),
    )?;

    xen_orchestra_client(root)?;
    python_package(root)?;
    node(root)?;
    scenarios(root)?;

    if fuzz {
        run(
            &format!("fuzzing the decoders ({fuzz_seconds} s per target)"),
            Command::new("bash")
                .arg(root.join("core").join("fuzz").join("run.sh"))
                .arg(&fuzz_seconds)
                .current_dir(root),
        )?;
    }
    // A plain closing line that CI and people can read at a glance.
    let checks = PASSED.load(Ordering::SeqCst);
    println!("\nall checks passed\nchecks: {checks} passed, 0 failed");
    Ok(ExitCode::SUCCESS)
}

/// Xen Orchestra's `xen-api` client, pinned from npm with its lock file, against the
/// simulator binary the Rust tests built, on its JSON-RPC and XML-RPC transports.
fn xen_orchestra_client(root: &Path) -> Result<()> {
    let dir = root.join("sim").join("tests").join("node");
    let target = target_dir(root);
    run(
        "xen-api (npm) test dependencies",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    )?;
    run(
        "Xen Orchestra's xen-api client against the simulator",
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "xo.test.mjs"])
            .current_dir(&dir)
            .env("XENPOOL_SIM", target.join("debug").join("xenpool-sim")),
    )
}

/// The shared target directory (`CARGO_TARGET_DIR`, else `target/`).
fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The cross-surface suite (tests/README.md): every scenario through Rust, the shell,
/// Python and Node, compared step by step. Reuses the Python venv and the Node addon the
/// two steps before built; only the shell binary (fresh after the Rust tests) and the small
/// runner binary are built here, in one cargo invocation.
fn scenarios(root: &Path) -> Result<()> {
    let target = target_dir(root);
    run(
        "cross-surface runners (the shell binary and xenpool-scenarios)",
        cargo(root).args([
            "build",
            "--locked",
            "-p",
            "xenpool-repl",
            "-p",
            "xenpool-scenarios",
            "--bin",
            "xenpool",
            "--bin",
            "xenpool-scenarios",
        ]),
    )?;
    let debug = target.join("debug");
    run(
        "cross-surface scenarios (Rust, shell, Python, Node)",
        Command::new(debug.join("xenpool-scenarios"))
            .arg("--xenpool")
            .arg(debug.join("xenpool"))
            .arg("--python")
            .arg(
                root.join("bindings-python")
                    .join(".venv")
                    .join("bin")
                    .join("python"),
            )
            .arg("--node-package")
            .arg(root.join("bindings-node"))
            .current_dir(root),
    )
}

/// The `xenpool` Python package: its venv first runs the official XenAPI client's tests
/// against the simulator; then the package is built into it with maturin (a debug build in
/// the shared `target/`), then its pytest suite against the in-process simulator, over
/// both protocols and beside the official client (also the stale-stub check, the examples
/// and the notebook), then `mypy.stubtest`, and `mypy --strict` on the package and the
/// examples.
fn python_package(root: &Path) -> Result<()> {
    let dir = root.join("bindings-python");
    let venv = dir.join(".venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run(
            "Python package environment",
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        )?;
    }
    run(
        "Python package tools",
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "maturin>=1.9.4,<2",
            "pytest>=8",
            "XenAPI>=24",
            "mypy>=2.4",
            "nbclient>=0.10",
            "ipykernel>=6",
        ]),
    )?;
    // The official XenAPI client from PyPI against the simulator (the same venv: one
    // environment and one install for every Python step).
    run(
        "official XenAPI client against the simulator",
        Command::new(&python)
            .args(["-m", "pytest", "-q", "sim/tests/python"])
            .current_dir(root)
            .env(
                "XENPOOL_SIM",
                root.join("target").join("debug").join("xenpool-sim"),
            ),
    )?;
    run(
        "Python package build (maturin develop)",
        Command::new(venv.join("bin").join("maturin"))
            .args(["develop", "--locked", "--quiet"])
            .current_dir(&dir)
            .env("VIRTUAL_ENV", &venv)
            .env("CARGO_TARGET_DIR", root.join("target")),
    )?;
    run(
        "Python package tests",
        Command::new(&python)
            .args(["-m", "pytest", "-q", "tests"])
            .current_dir(&dir),
    )?;
    run(
        "Python stubs match the runtime (mypy.stubtest)",
        Command::new(&python)
            .args([
                "-m",
                "mypy.stubtest",
                "xenpool",
                "--allowlist",
                "stubtest-allowlist.txt",
            ])
            .current_dir(&dir),
    )?;
    run(
        "Python package and examples type-check (mypy --strict)",
        Command::new(&python)
            .args([
                "-m",
                "mypy",
                "--strict",
                "python/xenpool",
                "../examples/python",
            ])
            .current_dir(&dir),
    )
}

/// The Node.js package: built with the workspace's own target directory (`napi build`
/// passes `--target`, which would compile every dependency a second time), its generated
/// declarations checked fresh, `node --test` against the simulator, the TypeScript example
/// type-checked, and every example run.
fn node(root: &Path) -> Result<()> {
    let package = root.join("bindings-node");
    let examples = root.join("examples").join("node");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    run(
        "Node native module",
        cargo(root).args(["build", "-p", "xenpool-node", "--locked"]),
    )?;
    // The file name napi-rs's loader (native.js) looks for on this platform.
    let (library, addon) = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("libxenpool_node.so", "xenpool.linux-x64-gnu.node"),
        ("linux", "aarch64") => ("libxenpool_node.so", "xenpool.linux-arm64-gnu.node"),
        ("macos", "aarch64") => ("libxenpool_node.dylib", "xenpool.darwin-arm64.node"),
        ("macos", "x86_64") => ("libxenpool_node.dylib", "xenpool.darwin-x64.node"),
        (os, arch) => bail!("no Node addon name known for {os}/{arch}"),
    };
    let built = target.join("debug").join(library);
    std::fs::copy(&built, package.join(addon))
        .with_context(|| format!("copying {}", built.display()))?;
    let npm_install = |dir: &Path| {
        let mut c = Command::new("npm");
        c.args(["install", "--no-audit", "--no-fund"])
            .current_dir(dir);
        c
    };
    run("Node package dependencies", &mut npm_install(&package))?;
    run(
        "generated TypeScript declarations are fresh",
        Command::new("node")
            .args(["scripts/typings.mjs", "--check"])
            .current_dir(&package),
    )?;
    run(
        "Node tests against the simulator",
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "__test__/"])
            .current_dir(&package),
    )?;
    run(
        "Node examples' dependencies (the package installed by path)",
        &mut npm_install(&examples),
    )?;
    run(
        "TypeScript example type-checks",
        Command::new("npx")
            .args(["tsc", "-p", "../examples/node", "--noEmit", "false"])
            .args(["--outDir", "../examples/node/.build"])
            .current_dir(&package),
    )?;
    let mut scripts: Vec<_> = std::fs::read_dir(&examples)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mjs"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "lab"))
        .collect();
    scripts.sort();
    scripts.push(examples.join(".build").join("typed.js"));
    for script in scripts {
        let name = script
            .strip_prefix(&examples)
            .unwrap_or(&script)
            .display()
            .to_string();
        run(
            &format!("Node example {name}"),
            Command::new("node").arg(&script).current_dir(&examples),
        )?;
    }
    Ok(())
}
