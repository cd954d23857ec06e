//! Transcript tests: each file in `tests/transcripts/` is a shell session on a fresh `lab`
//! simulator — `> ` starts an entry, `. ` continues it, `#` lines are comments, and the
//! other lines are the output expected (results, printed text, progress, errors).
//! `XENPOOL_BLESS=1 cargo test -p xenpool-repl --test transcripts` rewrites the expected
//! output from what the shell prints now.

use std::path::{Path, PathBuf};

use regex::Regex;
use xenpool_repl::output::Output;
use xenpool_repl::session::Shell;

enum Line {
    Comment(String),
    Entry(String),
}

struct Case {
    lines: Vec<Line>,
    expected: Vec<String>,
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut comments: Vec<Line> = Vec::new();
    for line in text.lines() {
        if let Some(entry) = line.strip_prefix("> ") {
            let mut lines = std::mem::take(&mut comments);
            lines.push(Line::Entry(entry.to_string()));
            cases.push(Case {
                lines,
                expected: vec![],
            });
        } else if let Some(more) = line.strip_prefix(". ") {
            let case = cases.last_mut().expect("a continuation follows an entry");
            if let Some(Line::Entry(e)) = case.lines.last_mut() {
                e.push('\n');
                e.push_str(more);
            }
        } else if line.starts_with('#') || cases.is_empty() {
            comments.push(Line::Comment(line.to_string()));
        } else if let Some(c) = cases.last_mut() {
            c.expected.push(line.to_string());
        }
    }
    if !comments.is_empty() {
        cases.push(Case {
            lines: comments,
            expected: vec![],
        });
    }
    cases
}

/// Hides what changes from run to run: ports, random uuids (and references), times.
fn normalise(text: &str) -> String {
    let rules = [
        // Same width as a uuid, so tables stay aligned.
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        ),
        (r"(127\.0\.0\.\d+):\d{2,5}", "$1:<port>"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>"),
        (r"(\d+) ms", "<n> ms"),
        // Two servertime reads may straddle a second.
        (r"skew [+-]\d+", "skew ±n"),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let started =
        xenpool_repl::start::simulator("lab", Output::captured()).expect("the lab starts");
    let mut shell = Shell::new(started.state, vec![]);
    let mut actual = String::new();
    for case in parse(&text) {
        for line in &case.lines {
            match line {
                Line::Comment(c) => {
                    actual.push_str(c);
                    actual.push('\n');
                }
                Line::Entry(e) => {
                    let mut first = true;
                    for l in e.lines() {
                        actual.push_str(if first { "> " } else { ". " });
                        actual.push_str(l);
                        actual.push('\n');
                        first = false;
                    }
                    shell.entry(e);
                    let out = normalise(&shell.take_output());
                    if !out.is_empty() {
                        actual.push_str(&out);
                        actual.push('\n');
                    }
                }
            }
        }
    }
    (text, actual)
}

#[test]
fn transcripts() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let bless = std::env::var_os("XENPOOL_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    let mut failures = Vec::new();
    for file in files {
        let (expected, actual) = run(&file);
        if bless {
            std::fs::write(&file, &actual).unwrap();
        } else if expected.trim_end() != actual.trim_end() {
            let first = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            failures.push(format!(
                "{}: differs from line {}:\n--- expected\n{}\n--- actual\n{}",
                file.display(),
                first + 1,
                expected
                    .lines()
                    .skip(first.saturating_sub(2))
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n"),
                actual
                    .lines()
                    .skip(first.saturating_sub(2))
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(re-bless with XENPOOL_BLESS=1 after checking the new output is right)",
        failures.join("\n\n")
    );
}
