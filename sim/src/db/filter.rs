//! xapi's `get_all_records_where` expression language (docs/wire-protocol.md#filter-expressions):
//! equality on
//! the database string form of a field, `and`, `or`, `not`, parentheses, `true`, `false`.
//! Column names join namespaces with `__` (`name__label` is `name_label`).

use xenpool::wire::Value;

use super::Record;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `true` / `false`.
    Const(bool),
    /// `field "col" = "literal"` (either side may be the literal).
    Eq(Operand, Operand),
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
}

/// One side of an equality.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `field "name"`.
    Field(String),
    /// `"literal"`.
    Literal(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Word(String),
    Eq,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '=' => {
                chars.next();
                out.push(Token::Eq);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => s.extend(chars.next()),
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_ascii_alphabetic() => {
                let mut w = String::new();
                while let Some(&c) = chars
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
                {
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w.to_ascii_lowercase()));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Word("or".into())) {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::Word("and".into())) {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(Token::Word(w)) if w == "not" => {
                self.next();
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Token::Word(w)) if w == "true" || w == "false" => {
                let v = w == "true";
                self.next();
                Ok(Expr::Const(v))
            }
            Some(Token::Open) => {
                self.next();
                let e = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err("expected )".into()),
                }
            }
            _ => {
                let left = self.operand()?;
                match self.next() {
                    Some(Token::Eq) => {}
                    _ => return Err("expected =".into()),
                }
                let right = self.operand()?;
                Ok(Expr::Eq(left, right))
            }
        }
    }
    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Token::Word(w)) if w == "field" => match self.next() {
                Some(Token::Str(s)) => Ok(Operand::Field(s)),
                _ => Err("expected a quoted field name".into()),
            },
            Some(Token::Str(s)) => Ok(Operand::Literal(s)),
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

/// Parses an expression; the error text goes into `INVALID_VALUE [expr, text]`.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        tokens: lex(text)?,
        at: 0,
    };
    if p.tokens.is_empty() {
        return Err("empty expression".into());
    }
    let e = p.or()?;
    if p.at != p.tokens.len() {
        return Err("trailing input".into());
    }
    Ok(e)
}

/// The database string form of a value: what the equality compares.
pub fn db_string(v: &Value) -> String {
    match v {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Int32(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Array(items) => format!(
            "({})",
            items
                .iter()
                .map(|i| format!("'{}'", db_string(i)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Struct(m) => format!(
            "({})",
            m.iter()
                .map(|(k, v)| format!("('{}' '{}')", k, db_string(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Nil => String::new(),
    }
}

fn operand_value(o: &Operand, record: &Record) -> String {
    match o {
        Operand::Literal(s) => s.clone(),
        Operand::Field(name) => {
            let column = name.replace("__", "_");
            record
                .get(&column)
                .or_else(|| record.get(name.as_str()))
                .map(db_string)
                .unwrap_or_default()
        }
    }
}

impl Expr {
    /// Whether `record` matches.
    pub fn matches(&self, record: &Record) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::Eq(a, b) => operand_value(a, record) == operand_value(b, record),
            Expr::Not(e) => !e.matches(record),
            Expr::And(a, b) => a.matches(record) && b.matches(record),
            Expr::Or(a, b) => a.matches(record) || b.matches(record),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, Value)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn xapi_filter_language() {
        let r = rec(&[
            ("name_label", Value::String("web".into())),
            ("is_a_template", Value::Bool(false)),
            ("power_state", Value::String("Running".into())),
        ]);
        for (expr, want) in [
            (r#"field "name__label" = "web""#, true),
            (
                r#"field "is_a_template" = "false" and field "power_state" = "Running""#,
                true,
            ),
            (r#"not (field "power_state" = "Halted")"#, true),
            (r#"field "name__label" = "db" or false"#, false),
            ("true", true),
            (r#""web" = field "name__label""#, true),
        ] {
            assert_eq!(parse(expr).unwrap().matches(&r), want, "{expr}");
        }
        assert!(parse(r#"field "x" = "#).is_err());
        assert!(parse("field x = \"y\"").is_err());
        assert!(parse("").is_err());
    }
}
