//! Passwords typed into the shell never reach the history file.
//!
//! Two nets: string literals in a password position (the `password` argument of the
//! functions that take one, a `password:` map key, any argument of a XenAPI method whose
//! name mentions passwords) are masked by parsing the entry; and every password a function
//! actually received is remembered for the session, so the literal is masked wherever it
//! appears (`let pw = "…";` on an earlier line included, since history is rewritten after
//! every command).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use rhai::{ASTNode, Engine, Expr, OptimizationLevel, Position};

/// True for a parameter or key name that holds a secret (`password`, xapi's `pwd`,
/// `old_pwd`, `pass`, a `secret`, a `psk`, a `token`).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "pwd", "secret", "psk", "token"]
        .iter()
        .any(|s| n.contains(s))
}

/// What a masked literal becomes.
pub const MASK: &str = "\"***\"";

/// Functions with a password parameter: (name, index of the password argument).
const PASSWORD_ARGUMENTS: &[(&str, usize)] = &[
    ("validate_join", 2),
    ("pool_join", 2),
    ("connect", 2),
    ("recover_coordinator", 2),
];

/// The passwords seen in this session (shared by every function and the history).
#[derive(Clone, Default)]
pub struct Secrets(Rc<RefCell<BTreeSet<String>>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} remembered)", self.0.borrow().len())
    }
}

impl Secrets {
    /// Remembers a password (empty strings are not secrets).
    pub fn remember(&self, secret: &str) {
        if !secret.is_empty() {
            self.0.borrow_mut().insert(secret.to_string());
        }
    }

    /// How many passwords are remembered (grows only).
    pub fn count(&self) -> usize {
        self.0.borrow().len()
    }

    /// True when `text` is a remembered password.
    pub fn contains(&self, text: &str) -> bool {
        self.0.borrow().contains(text)
    }

    /// `source` with every password literal replaced by [`MASK`].
    pub fn redact(&self, source: &str) -> String {
        let positions = password_positions(source);
        let mut out = String::with_capacity(source.len());
        let mut rest = source;
        let (mut line, mut column) = (1usize, 1usize);
        while let Some(c) = rest.chars().next() {
            if c == '"' || c == '`' {
                let literal = string_literal(rest, c);
                let here = Position::new(
                    u16::try_from(line).unwrap_or(u16::MAX),
                    u16::try_from(column).unwrap_or(u16::MAX),
                );
                let body = &literal[c.len_utf8()..];
                let content = unescape(body.strip_suffix(c).unwrap_or(body));
                if positions.contains(&here) || self.contains(&content) {
                    out.push_str(MASK);
                } else {
                    out.push_str(literal);
                }
                for ch in literal.chars() {
                    advance(ch, &mut line, &mut column);
                }
                rest = &rest[literal.len()..];
            } else if rest.starts_with("//") {
                let end = rest.find('\n').unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                column += rest[..end].chars().count();
                rest = &rest[end..];
            } else {
                out.push(c);
                advance(c, &mut line, &mut column);
                rest = &rest[c.len_utf8()..];
            }
        }
        // Last net: a remembered password anywhere else (a comment, an identifier-free
        // fragment of an unparseable line). Very short ones would mangle ordinary text.
        for secret in self.0.borrow().iter().filter(|s| s.chars().count() >= 4) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }
}

fn advance(c: char, line: &mut usize, column: &mut usize) {
    if c == '\n' {
        *line += 1;
        *column = 1;
    } else {
        *column += 1;
    }
}

/// The literal starting at `text[0]` (quote `q`), through its closing quote or the end.
fn string_literal(text: &str, q: char) -> &str {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' && q == '"' {
            escaped = true;
        } else if c == q {
            return &text[..i + c.len_utf8()];
        }
    }
    text
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where string literals in password positions start, by parsing `source`.
fn password_positions(source: &str) -> BTreeSet<Position> {
    let mut found = BTreeSet::new();
    // A bare parser: no constant folding, so every literal keeps its own position.
    let mut parser = Engine::new_raw();
    parser.set_optimization_level(OptimizationLevel::None);
    let Ok(ast) = parser.compile(source) else {
        return found;
    };
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(expr)) = path.last() {
            match expr {
                Expr::FnCall(call, _) | Expr::MethodCall(call, _) => {
                    let name = call.name.as_str();
                    let args = &call.args;
                    for (f, index) in PASSWORD_ARGUMENTS {
                        if name == *f
                            && let Some(Expr::StringConstant(_, pos)) = args.get(*index)
                        {
                            found.insert(*pos);
                        }
                    }
                    // xenapi("Class.method", …): the datamodel names each parameter.
                    if name == "xenapi"
                        && let Some(Expr::StringConstant(method, _)) = args.first()
                        && let Some((_, message, _)) = xenpool::meta::api().method(method)
                    {
                        for (param, arg) in message.params.iter().zip(args.iter().skip(1)) {
                            if is_secret_name(param.name)
                                && let Expr::StringConstant(_, pos) = arg
                            {
                                found.insert(*pos);
                            }
                        }
                    }
                }
                Expr::Map(map, _) => {
                    for (key, value) in map.0.iter() {
                        if is_secret_name(&key.name)
                            && let Expr::StringConstant(_, pos) = value
                        {
                            found.insert(*pos);
                        }
                    }
                }
                _ => {}
            }
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_arguments_are_masked_by_position() {
        let s = Secrets::default();
        let out = s.redact(r#"validate_join("intel2", "root", "hunter\"2")"#);
        assert_eq!(s.redact(":help \"caf\u{e9}"), ":help \"caf\u{e9}");
        assert_eq!(out, r#"validate_join("intel2", "root", "***")"#);
        let out = s.redact("let r = 1;\n  pool_join(`10.0.0.1`, \"root\", `pw`)");
        assert_eq!(
            out,
            "let r = 1;\n  pool_join(`10.0.0.1`, \"root\", \"***\")"
        );
    }

    #[test]
    fn map_keys_and_login_calls_are_masked() {
        let s = Secrets::default();
        let out = s.redact(concat!(
            r#"let m = #{host: "a", password: "pw1"}; "#,
            r#"xenapi("session.login_with_password", "root", "pw2")"#
        ));
        assert_eq!(
            out,
            concat!(
                r#"let m = #{host: "a", password: "***"}; "#,
                r#"xenapi("session.login_with_password", "root", "***")"#
            )
        );
    }

    #[test]
    fn xenapi_arguments_are_masked_by_the_datamodel_parameter_names() {
        let s = Secrets::default();
        let out = s.redact(r#"xenapi("pool.join", "10.0.0.1", "root", "pw3")"#);
        assert_eq!(out, r#"xenapi("pool.join", "10.0.0.1", "root", "***")"#);
        let out = s.redact(r#"xenapi("session.change_password", "old-one", "new-one")"#);
        assert_eq!(out, r#"xenapi("session.change_password", "***", "***")"#);
    }

    #[test]
    fn remembered_secrets_are_masked_anywhere_even_unparseable() {
        let s = Secrets::default();
        s.remember("s3cret");
        let out = s.redact(r#"let pw = "s3cret"; oops( // "s3cret""#);
        assert_eq!(out, r#"let pw = "***"; oops( // "***""#);
        assert!(!s.redact("\"s3cret\"").contains("s3cret"));
        assert_eq!(s.redact(r#"print("hello")"#), r#"print("hello")"#);
    }
}
