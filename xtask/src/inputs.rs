//! The generator's inputs: the repository's copies of xapi's datamodel export and error
//! list (`xapi/`), and `cargo xtask refresh-inputs`, which brings in a new delivery from
//! `../shared/xapi` and says what changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::sha256;

/// The input files, by name, as they sit in `xapi/` and in a delivery.
pub(crate) const FILES: [&str; 2] = ["datamodel.json", "errors.json"];

/// Where codegen reads its inputs: committed, so any clone can regenerate and check.
pub(crate) fn repo_dir(root: &Path) -> PathBuf {
    root.join("xapi")
}

/// Where new exports are delivered to the project, beside the checkout.
pub(crate) fn shared_dir(root: &Path) -> PathBuf {
    root.join("..").join("shared").join("xapi")
}

/// A delivery in `../shared/xapi` that differs from the repository's copy is not an error
/// (the copy is what the code was generated from), but it is worth a line on stderr.
pub(crate) fn warn_if_shared_differs(root: &Path) {
    let shared = shared_dir(root);
    for name in FILES {
        let (Ok(theirs), Ok(ours)) = (
            std::fs::read(shared.join(name)),
            std::fs::read(repo_dir(root).join(name)),
        ) else {
            continue;
        };
        if theirs != ours {
            eprintln!(
                "warning: {} differs from xapi/{name}; `cargo xtask refresh-inputs` copies it in",
                shared.join(name).display()
            );
        }
    }
}

/// `cargo xtask refresh-inputs [--from DIR]`: copies each input from the delivery
/// directory into `xapi/`, rewrites the sha256 lines of `xapi/README.md`, and prints what
/// changed (the files' hashes and the classes, fields, messages, enums and error codes
/// added or removed).
pub(crate) fn refresh(root: &Path, args: &[String]) -> Result<ExitCode> {
    let mut from = shared_dir(root);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--from" => from = PathBuf::from(it.next().context("--from needs a value")?),
            other => bail!("unknown argument {other}"),
        }
    }
    let dest = repo_dir(root);
    let readme_path = dest.join("README.md");
    let mut readme = std::fs::read_to_string(&readme_path)
        .with_context(|| format!("reading {}", readme_path.display()))?;
    let mut changed = false;
    for name in FILES {
        let source = from.join(name);
        let new = std::fs::read(&source).with_context(|| {
            format!(
                "reading {} (pass --from DIR when the delivery is not at ../shared/xapi)",
                source.display()
            )
        })?;
        let target = dest.join(name);
        let old = std::fs::read(&target).unwrap_or_default();
        readme = with_sha256(&readme, name, &sha256(&new))?;
        if old == new {
            println!("unchanged: xapi/{name} (sha256 {})", sha256(&new));
            continue;
        }
        changed = true;
        let old_json: Value = serde_json::from_slice(&old).unwrap_or(Value::Null);
        let new_json: Value = serde_json::from_slice(&new)
            .with_context(|| format!("parsing {}", source.display()))?;
        println!(
            "updated: xapi/{name}\n  sha256 {} -> {}",
            if old.is_empty() {
                "(none)".into()
            } else {
                sha256(&old)
            },
            sha256(&new)
        );
        let (was, now) = (origin(&old_json), origin(&new_json));
        if was != now {
            println!("  source {was} -> {now}: update the text of xapi/README.md to match");
        }
        for line in summarize(name, &old_json, &new_json) {
            println!("  {line}");
        }
        std::fs::write(&target, &new).with_context(|| format!("writing {}", target.display()))?;
    }
    std::fs::write(&readme_path, &readme)
        .with_context(|| format!("writing {}", readme_path.display()))?;
    if changed {
        println!("now run `cargo xtask codegen` and commit xapi/ with core/src/generated/");
    }
    Ok(ExitCode::SUCCESS)
}

/// `readme` with the sha256 on its table row for `name` (`` | `name` | `<hex>` | ``)
/// replaced by `sha`.
pub(crate) fn with_sha256(readme: &str, name: &str, sha: &str) -> Result<String> {
    let prefix = format!("| `{name}` |");
    let mut found = false;
    let mut out = String::with_capacity(readme.len());
    for line in readme.split_inclusive('\n') {
        if line.starts_with(&prefix) {
            found = true;
            let end = if line.ends_with('\n') { "\n" } else { "" };
            out.push_str(&format!("{prefix} `{sha}` |{end}"));
        } else {
            out.push_str(line);
        }
    }
    if !found {
        bail!("xapi/README.md has no row starting `{prefix}` for the sha256 of {name}");
    }
    Ok(out)
}

/// The names of one kind of item in an input (classes, messages, error codes, …).
type Names = fn(&Value) -> BTreeSet<String>;

/// Lines describing what a new version of an input adds and removes.
fn summarize(name: &str, old: &Value, new: &Value) -> Vec<String> {
    let kinds: &[(&str, Names)] = if name == "errors.json" {
        &[("error codes", error_codes)]
    } else {
        &[
            ("classes", classes),
            ("fields", fields),
            ("messages", messages),
            ("enum values", enum_values),
        ]
    };
    let mut lines = Vec::new();
    for (kind, names) in kinds {
        let (before, after) = (names(old), names(new));
        let added: Vec<_> = after.difference(&before).cloned().collect();
        let removed: Vec<_> = before.difference(&after).cloned().collect();
        if added.is_empty() && removed.is_empty() {
            continue;
        }
        lines.push(format!(
            "{kind}: {} -> {} (+{} -{})",
            before.len(),
            after.len(),
            added.len(),
            removed.len()
        ));
        for (sign, list) in [("+", added), ("-", removed)] {
            const SHOWN: usize = 20;
            for item in list.iter().take(SHOWN) {
                lines.push(format!("  {sign} {item}"));
            }
            if list.len() > SHOWN {
                lines.push(format!("  {sign} … and {} more", list.len() - SHOWN));
            }
        }
    }
    if lines.is_empty() {
        lines.push("no class, field, message, enum value or error code added or removed".into());
    }
    lines
}

/// Where an input says it was exported from: `repository@commit`.
fn origin(input: &Value) -> String {
    let source = input.get("source").unwrap_or(&Value::Null);
    format!("{}@{}", name(source, "repository"), name(source, "commit"))
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn name(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn classes(dm: &Value) -> BTreeSet<String> {
    array(dm, "classes").map(|c| name(c, "name")).collect()
}

fn members(dm: &Value, key: &str) -> BTreeSet<String> {
    array(dm, "classes")
        .flat_map(|c| {
            array(c, key).map(move |m| format!("{}.{}", name(c, "name"), name(m, "name")))
        })
        .collect()
}

fn fields(dm: &Value) -> BTreeSet<String> {
    members(dm, "fields")
}

fn messages(dm: &Value) -> BTreeSet<String> {
    members(dm, "messages")
}

fn enum_values(dm: &Value) -> BTreeSet<String> {
    dm.get("enums")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(e, values)| {
            values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(move |v| format!("{e}.{v}"))
        })
        .collect()
}

fn error_codes(errors: &Value) -> BTreeSet<String> {
    array(errors, "errors").map(|e| name(e, "code")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;
    use serde_json::json;

    /// `xapi/README.md` states the sha256 of the committed inputs.
    #[test]
    fn readme_names_the_inputs_sha256() {
        let dir = repo_dir(&workspace_root());
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        for name in FILES {
            let sha = sha256(&std::fs::read(dir.join(name)).unwrap());
            assert!(
                readme.contains(&format!("| `{name}` | `{sha}` |")),
                "xapi/README.md does not give {name}'s sha256 {sha}"
            );
        }
    }

    #[test]
    fn sha256_rows_are_rewritten_in_place() {
        let readme = "# x\n| `a.json` | `old` |\n| `b.json` | `old` |\ntail";
        let out = with_sha256(readme, "b.json", "new").unwrap();
        assert_eq!(out, "# x\n| `a.json` | `old` |\n| `b.json` | `new` |\ntail");
        assert!(with_sha256(readme, "c.json", "new").is_err());
    }

    #[test]
    fn summary_names_what_was_added_and_removed() {
        let old = json!({
            "classes": [{"name": "VM", "fields": [{"name": "uuid"}], "messages": [{"name": "start"}]}],
            "enums": {"power": ["Halted", "Running"]}
        });
        let new = json!({
            "classes": [
                {"name": "VM", "fields": [{"name": "uuid"}], "messages": [{"name": "resume"}]},
                {"name": "host", "fields": [], "messages": []}
            ],
            "enums": {"power": ["Halted", "Running", "Paused"]}
        });
        assert_eq!(
            summarize("datamodel.json", &old, &new),
            [
                "classes: 1 -> 2 (+1 -0)",
                "  + host",
                "messages: 1 -> 1 (+1 -1)",
                "  + VM.resume",
                "  - VM.start",
                "enum values: 2 -> 3 (+1 -0)",
                "  + power.Paused",
            ]
        );
        let errors = json!({"errors": [{"code": "A"}]});
        assert_eq!(
            summarize("errors.json", &errors, &errors),
            ["no class, field, message, enum value or error code added or removed"]
        );
    }
}
