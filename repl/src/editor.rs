//! The line editor: completion, multi-line entries, a coloured prompt.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::functions::FUNCTIONS;
use crate::objects;
use crate::session::Shell;

/// Rhai keywords and common methods offered alongside the shell's functions.
const KEYWORDS: &[&str] = &[
    "let", "const", "if", "else", "for", "in", "while", "loop", "break", "continue", "fn",
    "return", "try", "catch", "throw", "print", "true", "false",
];
const METHODS: &[&str] = &[
    "len",
    "filter",
    "map",
    "contains",
    "push",
    "sort",
    "keys",
    "values",
    "to_string",
    "is_empty",
    "find",
    "reduce",
    "some",
    "all",
];

/// Completion and validation for the shell.
pub struct ShellHelper {
    shell: Rc<RefCell<Shell>>,
    colour: bool,
}

impl ShellHelper {
    /// A helper reading the shell's functions, variables and pool names.
    pub fn new(shell: Rc<RefCell<Shell>>, colour: bool) -> Self {
        ShellHelper { shell, colour }
    }
}

/// Where the cursor is: inside a string literal (with its text so far and what precedes
/// the opening quote), or in code.
enum Spot<'a> {
    InString {
        start: usize,
        text: &'a str,
        before: &'a str,
    },
    Code {
        start: usize,
        word: &'a str,
        after_dot: bool,
    },
}

fn spot(line: &str, pos: usize) -> Spot<'_> {
    let head = &line[..pos];
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in head.char_indices() {
        match (open, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(_), '"') if !escaped => open = None,
            (None, '"') => open = Some(i),
            _ => {}
        }
        escaped = false;
    }
    if let Some(q) = open {
        return Spot::InString {
            start: q + 1,
            text: &head[q + 1..],
            before: head[..q].trim_end(),
        };
    }
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    Spot::Code {
        start,
        word: &head[start..],
        after_dot: head[..start].ends_with('.'),
    }
}

fn matching(prefix: &str, names: impl IntoIterator<Item = String>, suffix: &str) -> Vec<Pair> {
    let mut v: Vec<Pair> = names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(|n| Pair {
            display: n.clone(),
            replacement: format!("{n}{suffix}"),
        })
        .collect();
    v.sort_by(|a, b| a.display.cmp(&b.display));
    v.dedup_by(|a, b| a.display == b.display);
    v
}

/// XenAPI method names (`VM.start`, `Async.VM.start`) for `xenapi("…")`.
fn xenapi_methods(prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (asynchronous, rest) = match prefix.strip_prefix("Async.") {
        Some(rest) => (true, rest),
        None => (false, prefix),
    };
    for class in xenpool::meta::classes() {
        if !rest.contains('.') {
            if class.name.starts_with(rest) || (rest.is_empty() && !asynchronous) {
                out.push(format!(
                    "{}{}.",
                    if asynchronous { "Async." } else { "" },
                    class.name
                ));
            }
            continue;
        }
        for m in class.messages.iter().filter(|m| !m.hidden) {
            if asynchronous && !m.is_async {
                continue;
            }
            out.push(format!(
                "{}{}.{}",
                if asynchronous { "Async." } else { "" },
                class.name,
                m.name
            ));
        }
    }
    if !asynchronous && "Async.".starts_with(prefix) {
        out.push("Async.".into());
    }
    out
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(match spot(line, pos) {
            Spot::InString {
                start,
                text,
                before,
            } => {
                if before.ends_with("xenapi(") {
                    let methods = xenapi_methods(text);
                    // A class (ending in '.') keeps the string open; a method closes it.
                    let mut pairs = matching(text, methods, "");
                    for p in &mut pairs {
                        if !p.replacement.ends_with('.') {
                            p.replacement.push('"');
                        }
                    }
                    (start, pairs)
                } else if before.ends_with(":help") {
                    (start, vec![])
                } else {
                    let names = self.shell.borrow().state().completion_names();
                    (start, matching(text, names, "\""))
                }
            }
            Spot::Code {
                start,
                word,
                after_dot,
            } => {
                if after_dot {
                    let names = objects::all_fields()
                        .into_iter()
                        .chain(METHODS.iter().copied())
                        .map(str::to_string);
                    (start, matching(word, names, ""))
                } else if word.is_empty() {
                    (start, vec![])
                } else {
                    let shell = self.shell.borrow();
                    let names = FUNCTIONS
                        .iter()
                        .map(|f| f.name.to_string())
                        .chain(KEYWORDS.iter().map(|k| k.to_string()))
                        .chain(shell.variables())
                        .chain(shell.script_functions());
                    (start, matching(word, names, ""))
                }
            }
        })
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') {
            return Ok(ValidationResult::Valid(None));
        }
        Ok(if self.shell.borrow().is_incomplete(input) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        if self.colour {
            Cow::Owned(
                console::style(prompt)
                    .cyan()
                    .bold()
                    .force_styling(true)
                    .to_string(),
            )
        } else {
            Cow::Borrowed(prompt)
        }
    }
}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_spot_is_found() {
        match spot("validate_join(\"mi", 17) {
            Spot::InString {
                start,
                text,
                before,
            } => {
                assert_eq!((start, text, before), (15, "mi", "validate_join("));
            }
            _ => panic!("in a string"),
        }
        match spot("hosts()[0].cpu_m", 16) {
            Spot::Code {
                word, after_dot, ..
            } => assert_eq!((word, after_dot), ("cpu_m", true)),
            _ => panic!("in code"),
        }
        let line = "print(\"a\\\"b\") + ho";
        assert!(matches!(
            spot(line, line.len()),
            Spot::Code { word: "ho", .. }
        ));
    }

    #[test]
    fn xenapi_methods_complete_by_class_then_message() {
        assert!(xenapi_methods("V").contains(&"VM.".to_string()));
        let m = xenapi_methods("VM.get_all_rec");
        assert!(m.contains(&"VM.get_all_records".to_string()));
        let a = xenapi_methods("Async.VM.st");
        assert!(a.contains(&"Async.VM.start".to_string()));
    }
}
