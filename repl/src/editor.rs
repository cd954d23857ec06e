//! The line editor: completion, multi-line entries, a coloured prompt.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::functions::{FUNCTIONS, Returns};
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

const ARRAY_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "filter",
    "map",
    "contains",
    "push",
    "pop",
    "sort",
    "reverse",
    "find",
    "reduce",
    "some",
    "all",
    "index_of",
    "join",
    "to_string",
];
const MAP_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "keys",
    "values",
    "contains",
    "remove",
    "to_string",
];
const STRING_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "contains",
    "starts_with",
    "ends_with",
    "split",
    "trim",
    "to_upper",
    "to_lower",
    "replace",
    "sub_string",
    "index_of",
    "to_string",
];

/// What the expression before a dot evaluates to, as far as completion can tell without
/// running it.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A shell object (`Host`, `VM`, … as `objects::fields_of` names them).
    Object(&'static str),
    /// A XenAPI record of a class (`VM`, `host`).
    Record(&'static str),
    /// A list, with its items' kind.
    Array(Box<Kind>),
    /// A map, with its values' kind.
    Map(Box<Kind>),
    /// Text.
    Text,
    /// Anything.
    Unknown,
}

impl Kind {
    /// The names to offer after `<this>.`.
    fn members(&self) -> Vec<String> {
        let own = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        match self {
            Kind::Object(name) => {
                let mut v = own(objects::fields_of(name).unwrap_or_default());
                v.push("to_string".into());
                v
            }
            Kind::Record(class) => {
                let mut v: Vec<String> = xenpool::meta::class(class)
                    .map(|c| c.fields.iter().map(|f| f.name.to_string()).collect())
                    .unwrap_or_default();
                v.extend(own(&["keys", "to_map", "to_string"]));
                v
            }
            Kind::Array(_) => own(ARRAY_METHODS),
            Kind::Map(_) => own(MAP_METHODS),
            Kind::Text => own(STRING_METHODS),
            Kind::Unknown => objects::all_fields()
                .into_iter()
                .chain(METHODS.iter().copied())
                .map(str::to_string)
                .collect(),
        }
    }

    fn item(self) -> Kind {
        match self {
            Kind::Array(k) | Kind::Map(k) => *k,
            _ => Kind::Unknown,
        }
    }

    fn of_type(ty: &xenpool::meta::Ty) -> Kind {
        use xenpool::meta::Ty;
        match ty {
            Ty::Record(c) => {
                xenpool::meta::class(c).map_or(Kind::Unknown, |c| Kind::Record(c.name))
            }
            Ty::Set(t) => Kind::Array(Box::new(Kind::of_type(t))),
            Ty::Map(_, v) => Kind::Map(Box::new(Kind::of_type(v))),
            Ty::String | Ty::Ref(_) | Ty::Enum(_) | Ty::DateTime => Kind::Text,
            Ty::Option(t) => Kind::of_type(t),
            _ => Kind::Unknown,
        }
    }

    fn of_value(value: &rhai::Dynamic) -> Kind {
        if let Some(name) = objects::type_of(value) {
            return Kind::Object(name);
        }
        if let Some(r) = value.clone().try_cast::<crate::convert::XenRecord>() {
            return Kind::Record(r.0.class_name());
        }
        if value.is_string() {
            return Kind::Text;
        }
        if let Ok(items) = value.clone().into_array() {
            return Kind::Array(Box::new(
                items.first().map_or(Kind::Unknown, Kind::of_value),
            ));
        }
        if let Some(map) = value.clone().try_cast::<rhai::Map>() {
            return Kind::Map(Box::new(
                map.values().next().map_or(Kind::Unknown, Kind::of_value),
            ));
        }
        Kind::Unknown
    }
}

/// What a shell function returns, as its declaration in [`FUNCTIONS`] says.
fn returns(function: &str, args: &str) -> Kind {
    let declared = FUNCTIONS.iter().find(|f| f.name == function);
    match declared.map(|f| f.returns) {
        Some(Returns::Object(name)) => Kind::Object(name),
        Some(Returns::List(name)) => Kind::Array(Box::new(Kind::Object(name))),
        Some(Returns::XenApiResult) => {
            // The datamodel knows the result of xenapi("Class.message", …).
            let name = args
                .trim_start()
                .strip_prefix('"')
                .and_then(|a| a.split('"').next())
                .unwrap_or("");
            match xenpool::dynamic::Method::find(name) {
                Ok(m) if m.is_async => Kind::Text,
                Ok(m) => m
                    .message
                    .result
                    .as_ref()
                    .map_or(Kind::Unknown, Kind::of_type),
                Err(_) => Kind::Unknown,
            }
        }
        Some(Returns::Other) | None => Kind::Unknown,
    }
}

/// Where the bracket that `close` (the last character of `text`) closes opens.
fn opening(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    for (i, c) in text.char_indices().rev() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            c if c == close => depth += 1,
            c if c == open => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits `text` into what precedes its trailing identifier and the identifier.
fn trailing_identifier(text: &str) -> (&str, &str) {
    let start = text
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    (&text[..start], &text[start..])
}

/// The kind of the expression `text` ends with (what precedes a completion's dot).
fn infer(text: &str, variable: &dyn Fn(&str) -> Option<rhai::Dynamic>) -> Kind {
    let text = text.trim_end();
    if text.ends_with('"') {
        return Kind::Text;
    }
    if text.ends_with(')') {
        let Some(open) = opening(text, '(', ')') else {
            return Kind::Unknown;
        };
        let (before, name) = trailing_identifier(&text[..open]);
        if name.is_empty() {
            // A parenthesised expression.
            return infer(&text[open + 1..text.len() - 1], variable);
        }
        return match before.trim_end().strip_suffix('.') {
            Some(receiver) => match (infer(receiver, variable), name) {
                (k @ Kind::Array(_), "filter" | "sort" | "reverse") => k,
                (Kind::Array(_), "map") => Kind::Array(Box::new(Kind::Unknown)),
                (Kind::Map(k), "values") => Kind::Array(k),
                (Kind::Map(_) | Kind::Record(_), "keys") => Kind::Array(Box::new(Kind::Text)),
                (Kind::Record(_), "to_map") => Kind::Map(Box::new(Kind::Unknown)),
                (_, "to_string" | "join") => Kind::Text,
                _ => Kind::Unknown,
            },
            None => returns(name, &text[open + 1..text.len() - 1]),
        };
    }
    if text.ends_with(']') {
        return match opening(text, '[', ']') {
            Some(open) if open > 0 => infer(&text[..open], variable).item(),
            _ => Kind::Unknown,
        };
    }
    let (before, name) = trailing_identifier(text);
    if name.is_empty() {
        return Kind::Unknown;
    }
    match before.trim_end().strip_suffix('.') {
        Some(receiver) => match infer(receiver, variable) {
            Kind::Record(class) => xenpool::meta::class(class)
                .and_then(|c| c.field(name))
                .map_or(Kind::Unknown, |f| Kind::of_type(&f.ty)),
            _ => Kind::Unknown,
        },
        None => variable(name)
            .as_ref()
            .map_or(Kind::Unknown, Kind::of_value),
    }
}

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
                    let shell = self.shell.borrow();
                    let receiver = infer(&line[..start - 1], &|name| shell.variable(name));
                    (start, matching(word, receiver.members(), ""))
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
    fn the_kind_before_a_dot_is_inferred() {
        let none = |_: &str| None;
        assert_eq!(infer("host(\"intel1\")", &none), Kind::Object("Host"));
        assert_eq!(infer("hosts()[0]", &none), Kind::Object("Host"));
        assert_eq!(
            infer("vms().filter(|v| v.power_state == \"Running\")[1]", &none),
            Kind::Object("VM")
        );
        assert_eq!(
            infer("xenapi(\"VM.get_record\", \"web\")", &none),
            Kind::Record("VM")
        );
        assert_eq!(
            infer("xenapi(\"VM.get_all_records\").values()[0]", &none),
            Kind::Record("VM")
        );
        assert_eq!(infer("foo(1)", &none), Kind::Unknown);
        let members = Kind::Object("Host").members();
        assert!(members.contains(&"cpu_model".to_string()));
        assert!(!members.contains(&"power_state".to_string()), "{members:?}");
    }

    #[test]
    fn every_declared_return_type_has_fields_to_complete() {
        for f in FUNCTIONS {
            if let Returns::Object(name) | Returns::List(name) = f.returns {
                assert!(
                    objects::fields_of(name).is_some(),
                    "{} returns {name}, which completion does not know",
                    f.name
                );
                let call = format!("{}()", f.name);
                let kind = infer(&call, &|_| None);
                assert!(
                    matches!(&kind, Kind::Object(n) if *n == name)
                        || matches!(&kind, Kind::Array(k) if **k == Kind::Object(name)),
                    "{call} infers {kind:?}"
                );
            }
        }
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
