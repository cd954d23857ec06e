//! Code comments cite the xapi behaviours they rely on as `docs/<page>.md#<anchor>`
//! (docs/README.md). These tests keep the citations pointing at real sections.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directories never scanned: build output, dependencies, generated code.
const SKIP: &[&str] = &["target", "node_modules", ".git", ".venv", "generated"];

/// Files whose text may cite the docs.
const EXTENSIONS: &[&str] = &["rs", "md", "py", "pyi", "js", "mjs", "ts", "toml"];

/// GitHub's anchor for a heading: lower case, spaces as `-`, other punctuation but `-` and
/// `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of every heading in `text`.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// `(page, anchor)` of every `<prefix><page>.md#<anchor>` in `text`.
fn citations<'a>(text: &'a str, prefix: &str) -> Vec<(&'a str, &'a str)> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        let page_len = rest.find(|c| !is_name(c)).unwrap_or(rest.len());
        let page = &rest[..page_len];
        let Some(after) = rest[page_len..].strip_prefix(".md#") else {
            continue;
        };
        let anchor_len = after.find(|c| !is_name(c)).unwrap_or(after.len());
        if !page.is_empty() && anchor_len > 0 {
            out.push((page, &after[..anchor_len]));
        }
    }
    out
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIP.contains(&name.as_str()) {
                source_files(&path, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| EXTENSIONS.contains(&e.to_string_lossy().as_ref()))
        {
            out.push(path);
        }
    }
}

/// Every page in `docs/` with its anchors.
fn pages(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut pages = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/ exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            pages.insert(stem, anchors(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    pages
}

/// Each broken citation in `text` as `page.md#anchor`.
fn broken(text: &str, prefix: &str, pages: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    citations(text, prefix)
        .into_iter()
        .filter(|(page, anchor)| !pages.get(*page).is_some_and(|a| a.contains(*anchor)))
        .map(|(page, anchor)| format!("{page}.md#{anchor}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;

    #[test]
    fn every_citation_names_a_section_of_docs() {
        let root = workspace_root();
        let pages = pages(&root);
        let mut files = Vec::new();
        source_files(&root, &mut files);
        let mut bad = Vec::new();
        let mut cited = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            cited += citations(&text, "docs/").len();
            let rel = file.strip_prefix(&root).unwrap();
            for b in broken(&text, "docs/", &pages) {
                bad.push(format!("{}: docs/{b}", rel.display()));
            }
            // Links between the pages themselves: `](page.md#anchor)` and `](#anchor)`.
            if rel.starts_with("docs") {
                for b in broken(&text, "](", &pages) {
                    bad.push(format!("{}: {b}", rel.display()));
                }
                let own = file.file_stem().unwrap().to_string_lossy();
                for anchor in text.split("](#").skip(1) {
                    let anchor = &anchor[..anchor.find(')').unwrap_or(0)];
                    if !pages[own.as_ref()].contains(anchor) {
                        bad.push(format!("{}: #{anchor}", rel.display()));
                    }
                }
            }
        }
        assert!(
            bad.is_empty(),
            "citations of missing sections:\n{}",
            bad.join("\n")
        );
        assert!(
            cited > 50,
            "only {cited} citations of docs/ found: is the scan broken?"
        );
    }

    /// The notes the code once cited by section sign (a page name, then the sign and a
    /// number) are not in the repository: such citations must not come back.
    #[test]
    fn no_citation_of_the_old_fact_sheets() {
        let root = workspace_root();
        let mut files = Vec::new();
        source_files(&root, &mut files);
        let stale: Vec<_> = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .is_ok_and(|t| t.contains('\u{a7}') || t.contains(concat!("fact", " sheet")))
            })
            .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert!(stale.is_empty(), "cite docs/ instead in: {stale:?}");
    }

    #[test]
    fn slugs_and_citations_parse() {
        assert_eq!(
            slug(" Checks xapi does not make"),
            "checks-xapi-does-not-make"
        );
        assert_eq!(slug("rrd_updates"), "rrd_updates");
        assert_eq!(slug("Join effects (v26)"), "join-effects-v26");
        let text = "see (docs/wire-protocol.md#types, docs/pool-operations.md#bonds) and docs/x.md";
        assert_eq!(
            citations(text, "docs/"),
            [("wire-protocol", "types"), ("pool-operations", "bonds")]
        );
        let pages = BTreeMap::from([("wire-protocol".to_string(), anchors("# A\n## Types\n"))]);
        assert_eq!(broken(text, "docs/", &pages), ["pool-operations.md#bonds"]);
    }
}
