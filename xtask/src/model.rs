//! The generator's inputs (datamodel.json, errors.json) and the datamodel type grammar.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Datamodel {
    pub classes: Vec<Class>,
    pub enums: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct Lifecycle {
    pub state: String,
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Deserialize)]
pub struct Transition {
    pub transition: String,
    pub release: String,
}

impl Lifecycle {
    /// The release of the last `changed` or `extended` transition (how the datamodel
    /// records new parameters of an existing message), if any.
    pub fn last_changed(&self) -> Option<&str> {
        self.transitions
            .iter()
            .rev()
            .find(|t| t.transition == "changed" || t.transition == "extended")
            .map(|t| t.release.as_str())
    }
}

#[derive(Debug, Deserialize)]
pub struct Class {
    pub name: String,
    pub lifecycle: Lifecycle,
    pub fields: Vec<Field>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub qualifier: String,
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// False for trailing parameters that xapi fills with a default when omitted (newer
    /// parameters of older messages); older datamodel files lack the key: all required.
    #[serde(default = "required_by_default")]
    pub required: bool,
}

fn required_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub name: String,
    pub params: Vec<Param>,
    pub result: String,
    #[serde(default)]
    pub errors: Vec<String>,
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub implicit: bool,
    #[serde(default)]
    pub r#async: Option<bool>,
    pub session: bool,
    /// Not in the input: set for the `get_all_*_where` messages the generator adds.
    #[serde(skip)]
    pub hidden: bool,
}

#[derive(Debug, Deserialize)]
pub struct Errors {
    pub errors: Vec<ErrorDef>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDef {
    pub code: String,
    pub params: Option<Vec<String>>,
}

/// A parsed datamodel type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    String,
    Int,
    Float,
    Bool,
    DateTime,
    Enum(String),
    Ref(String),
    Set(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Record(String),
    Option(Box<Ty>),
    /// Not modelled; kept as text (`an event batch`, `<class> record`).
    Opaque(String),
}

impl Ty {
    fn contains_opaque(&self) -> bool {
        match self {
            Ty::Opaque(_) => true,
            Ty::Set(t) | Ty::Option(t) => t.contains_opaque(),
            Ty::Map(k, v) => k.contains_opaque() || v.contains_opaque(),
            _ => false,
        }
    }

    /// Renders the datamodel spelling back.
    #[cfg(test)]
    pub fn datamodel(&self) -> String {
        match self {
            Ty::String => "string".into(),
            Ty::Int => "int".into(),
            Ty::Float => "float".into(),
            Ty::Bool => "bool".into(),
            Ty::DateTime => "datetime".into(),
            Ty::Enum(e) => format!("enum {e}"),
            Ty::Ref(c) => format!("{c} ref"),
            Ty::Set(t) => format!("{} set", t.datamodel()),
            Ty::Map(k, v) => format!("({} -> {}) map", k.datamodel(), v.datamodel()),
            Ty::Record(c) => format!("{c} record"),
            Ty::Option(t) => format!("{} option", t.datamodel()),
            Ty::Opaque(s) => s.clone(),
        }
    }
}

/// Known class and enum names, to tell `VM ref` from nonsense.
pub struct Names {
    pub classes: HashSet<String>,
    pub enums: HashSet<String>,
}

/// Parses a datamodel type. Anything not understood, and any type containing such a part
/// (or a map key that cannot be a hash key), becomes `Ty::Opaque` of the whole text.
pub fn parse_ty(text: &str, names: &Names) -> Ty {
    let t = parse_inner(text.trim(), names);
    if t.contains_opaque() {
        Ty::Opaque(text.trim().to_string())
    } else {
        t
    }
}

fn parse_inner(s: &str, names: &Names) -> Ty {
    let opaque = || Ty::Opaque(s.to_string());
    match s {
        "string" => return Ty::String,
        "int" => return Ty::Int,
        "float" => return Ty::Float,
        "bool" => return Ty::Bool,
        "datetime" => return Ty::DateTime,
        _ => {}
    }
    if let Some(inner) = s.strip_suffix(" map") {
        let Some(inner) = inner.strip_prefix('(').and_then(|i| i.strip_suffix(')')) else {
            return opaque();
        };
        let Some(arrow) = top_level_arrow(inner) else {
            return opaque();
        };
        let key = parse_inner(inner[..arrow].trim(), names);
        let value = parse_inner(inner[arrow + 4..].trim(), names);
        return match key {
            Ty::String | Ty::Int | Ty::Bool | Ty::Enum(_) | Ty::Ref(_) => {
                Ty::Map(Box::new(key), Box::new(value))
            }
            _ => opaque(),
        };
    }
    if let Some(inner) = s.strip_suffix(" set") {
        return Ty::Set(Box::new(parse_inner(inner.trim(), names)));
    }
    if let Some(inner) = s.strip_suffix(" option") {
        return Ty::Option(Box::new(parse_inner(inner.trim(), names)));
    }
    if let Some(class) = s.strip_suffix(" ref") {
        return if names.classes.contains(class) {
            Ty::Ref(class.to_string())
        } else {
            opaque()
        };
    }
    if let Some(class) = s.strip_suffix(" record") {
        return if names.classes.contains(class) {
            Ty::Record(class.to_string())
        } else {
            opaque()
        };
    }
    if let Some(e) = s.strip_prefix("enum ") {
        return if names.enums.contains(e) {
            Ty::Enum(e.to_string())
        } else {
            opaque()
        };
    }
    opaque()
}

/// Byte offset of the ` -> ` that is not inside parentheses; None if missing or unbalanced.
fn top_level_arrow(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut found = None;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            ' ' if depth == 0 && found.is_none() && s[i..].starts_with(" -> ") => found = Some(i),
            _ => {}
        }
    }
    if depth == 0 { found } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            classes: ["VM", "host", "sr_stat"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            enums: ["vm_operations"].iter().map(|s| s.to_string()).collect(),
        }
    }

    fn roundtrip(text: &str) -> Ty {
        let t = parse_ty(text, &names());
        assert_eq!(t.datamodel(), text);
        t
    }

    #[test]
    fn simple_and_nested_types() {
        assert_eq!(roundtrip("string"), Ty::String);
        assert_eq!(roundtrip("VM ref"), Ty::Ref("VM".into()));
        assert_eq!(roundtrip("int set"), Ty::Set(Box::new(Ty::Int)));
        assert_eq!(
            roundtrip("string set set"),
            Ty::Set(Box::new(Ty::Set(Box::new(Ty::String))))
        );
        assert_eq!(
            roundtrip("(int -> float) map"),
            Ty::Map(Box::new(Ty::Int), Box::new(Ty::Float))
        );
        assert_eq!(
            roundtrip("(VM ref -> (string -> string) map) map"),
            Ty::Map(
                Box::new(Ty::Ref("VM".into())),
                Box::new(Ty::Map(Box::new(Ty::String), Box::new(Ty::String)))
            )
        );
        assert_eq!(
            roundtrip("((string -> int) map -> int) map"),
            Ty::Opaque("((string -> int) map -> int) map".into()),
            "maps cannot be map keys"
        );
        assert_eq!(
            roundtrip("(enum vm_operations -> string set) map"),
            Ty::Map(
                Box::new(Ty::Enum("vm_operations".into())),
                Box::new(Ty::Set(Box::new(Ty::String)))
            )
        );
        assert_eq!(
            roundtrip("sr_stat record option"),
            Ty::Option(Box::new(Ty::Record("sr_stat".into())))
        );
        assert_eq!(
            roundtrip("string option set"),
            Ty::Set(Box::new(Ty::Option(Box::new(Ty::String))))
        );
        assert_eq!(
            roundtrip("host record set"),
            Ty::Set(Box::new(Ty::Record("host".into())))
        );
    }

    #[test]
    fn odd_types_are_opaque() {
        for odd in [
            "an event batch",
            "<class> record",
            "<class> record set",
            "nosuch ref",
            "enum nosuch",
            "(float -> int) map",
            "(string -> an event batch) map",
            "(string -> string map",
            "(string string) map",
        ] {
            assert_eq!(parse_ty(odd, &names()), Ty::Opaque(odd.into()), "{odd}");
        }
    }
}
