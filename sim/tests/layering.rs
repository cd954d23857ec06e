//! The simulator's modules depend one way: dispatch → handlers → call/model/world/db. A
//! handler module imports neither `crate::dispatch` nor another handler module (behaviour
//! two areas share lives in `crate::model`), and nothing below the handlers imports them
//! or dispatch. Read from the source so the cycle cannot come back unnoticed.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The source without `//` comments (doc comments may name other modules freely).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("readable source file")
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every path that starts with `root::` (`crate`, `super`),
/// including each entry of a grouped `root::{a, b::c}` import.
fn segments_after(code: &str, root: &str) -> Vec<String> {
    let prefix = format!("{root}::");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(&prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // part of a longer name
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut start = 0;
            let body = &group[..end];
            for (i, c) in body.char_indices().chain([(body.len(), ',')]) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(first_segment(&body[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(first_segment(rest));
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The modules of the crate a file imports from, `crate::x` and `super::x` alike (for a
/// handler, `super` is the handlers module).
fn imports(path: &Path) -> Vec<String> {
    let code = code(path);
    let mut found = segments_after(&code, "crate");
    found.extend(
        segments_after(&code, "super")
            .into_iter()
            .map(|s| format!("super::{s}")),
    );
    found
}

#[test]
fn handlers_import_neither_dispatch_nor_each_other() {
    let dir = src().join("handlers");
    let mut bad = Vec::new();
    for file in rust_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for import in imports(&file) {
            let forbidden = if name == "mod.rs" {
                // The registry names every handler module; it must not reach dispatch.
                import == "dispatch"
            } else {
                import == "dispatch" || import == "handlers" || import.starts_with("super::")
            };
            if forbidden {
                bad.push(format!("handlers/{name} imports {import}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "handler layering broken:\n{}",
        bad.join("\n")
    );
}

#[test]
fn nothing_below_the_handlers_imports_them_or_dispatch() {
    let root = src();
    let mut below: Vec<PathBuf> = [
        "call.rs",
        "failure.rs",
        "profile.rs",
        "sim.rs",
        "values.rs",
        "world.rs",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    below.extend(rust_files(&root.join("db")));
    below.extend(rust_files(&root.join("model")));
    let mut bad = Vec::new();
    for file in below {
        for import in imports(&file) {
            if import == "dispatch" || import == "handlers" {
                let shown = file
                    .strip_prefix(&root)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                bad.push(format!("{shown} imports {import}"));
            }
        }
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn the_import_scan_sees_every_spelling() {
    let found = segments_after(
        "use crate::{db::Db, handlers::vm};\nlet x = crate::dispatch::run();\nmy_crate::other",
        "crate",
    );
    assert_eq!(found, ["db", "handlers", "dispatch"]);
    assert_eq!(
        segments_after("use super::{Ctx, vm::{halt, place}};", "super"),
        ["Ctx", "vm"]
    );
}
