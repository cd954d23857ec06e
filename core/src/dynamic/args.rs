//! Arguments of dynamic calls: each [`Dyn`] checked against its parameter's datamodel type
//! and converted to the wire. A wrong type is an [`Error::InvalidArgument`] naming the
//! parameter; references may be given as a reference, a uuid or a unique name (looked up
//! afterwards, in one batch: see [`super::resolve`]); a record for `create` is completed
//! from the datamodel's defaults.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::value::Dyn;
use crate::error::{Error, Result};
use crate::meta::{self, Qualifier, Ty};
use crate::types::DateTime;
use crate::wire::Value;

/// A reference given by uuid or name: (class, text).
pub(super) type Lookup = (&'static str, String);

/// Converts arguments, collecting the references that need a lookup. With `resolved`
/// holding every lookup's answer the result is final; otherwise those references are
/// left as given and listed in `pending`.
pub(super) struct Converter<'a> {
    pub resolved: &'a HashMap<Lookup, String>,
    pub pending: Vec<Lookup>,
}

impl Converter<'_> {
    /// `value` for a parameter (or member) described as `what`, of type `ty`.
    pub fn convert(&mut self, what: &str, ty: &Ty, value: &Dyn) -> Result<Value> {
        let wrong = || wrong_type(what, ty, value);
        Ok(match (ty, value) {
            (Ty::Option(inner), v) => self.convert(what, inner, v)?,
            (Ty::String, Dyn::String(s)) => Value::String(s.clone()),
            (Ty::String, Dyn::Enum(e)) => Value::String(e.value.clone()),
            (Ty::String, Dyn::Ref(r)) => Value::String(r.reference.clone()),
            (Ty::Int, Dyn::Int(i)) => Value::Int(*i),
            // A float with no fraction is an integer (JavaScript has only doubles).
            (Ty::Int, Dyn::Float(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                Value::Int(*f as i64)
            }
            (Ty::Float, Dyn::Float(f)) => Value::Double(*f),
            (Ty::Float, Dyn::Int(i)) => Value::Double(*i as f64),
            (Ty::Bool, Dyn::Bool(b)) => Value::Bool(*b),
            (Ty::DateTime, Dyn::DateTime(d)) => Value::DateTime(d.to_wire()),
            (Ty::DateTime, Dyn::String(s)) => match DateTime::parse(s) {
                Some(d) => Value::DateTime(d.to_wire()),
                None => {
                    return Err(invalid(
                        what,
                        format!("{what}: {s:?} is not a date and time"),
                    ));
                }
            },
            (Ty::Enum(name), Dyn::String(s)) => Value::String(enum_value(what, name, s)?),
            (Ty::Enum(name), Dyn::Enum(e)) => Value::String(enum_value(what, name, &e.value)?),
            (Ty::Ref(class), Dyn::Ref(r)) if r.class.eq_ignore_ascii_case(class) => {
                Value::String(r.reference.clone())
            }
            (Ty::Ref(class), Dyn::Ref(r)) => {
                return Err(invalid(
                    what,
                    format!("{what} must be a {class} reference, not a {} one", r.class),
                ));
            }
            (Ty::Ref(class), Dyn::String(s)) => Value::String(self.reference(class, s)),
            (Ty::Ref(class), Dyn::Record(r)) if r.class_name().eq_ignore_ascii_case(class) => {
                // A record stands for its object: looked up by its uuid.
                match r.field("uuid") {
                    Some(Dyn::String(uuid)) => Value::String(self.reference(class, &uuid)),
                    _ => return Err(wrong()),
                }
            }
            (Ty::Set(inner), Dyn::Array(items)) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.convert(&format!("{what}[{i}]"), inner, v))
                    .collect::<Result<_>>()?,
            ),
            (Ty::Map(k, v), Dyn::Map(pairs)) => {
                let mut out = IndexMap::with_capacity(pairs.len());
                for (key, item) in pairs {
                    let key = match self.convert(&format!("{what} key"), k, key)? {
                        Value::String(s) | Value::DateTime(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Double(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(wrong()),
                    };
                    let item = self.convert(&format!("{what}[{key:?}]"), v, item)?;
                    out.insert(key, item);
                }
                Value::Struct(out)
            }
            (Ty::Record(class), Dyn::Map(pairs)) => self.record(what, class, pairs)?,
            (Ty::Record(class), Dyn::Record(r)) if r.class_name() == *class => {
                let pairs: Vec<(Dyn, Dyn)> = r
                    .fields()
                    .into_iter()
                    .map(|(k, v)| (Dyn::String(k.to_string()), v))
                    .collect();
                self.record(what, class, &pairs)?
            }
            (Ty::Opaque(_), v) => self.untyped(what, v)?,
            _ => return Err(wrong()),
        })
    }

    /// A reference as given, or its lookup's answer.
    fn reference(&mut self, class: &'static str, text: &str) -> String {
        if text.starts_with("OpaqueRef:") {
            return text.to_string();
        }
        let key = (class, text.to_string());
        match self.resolved.get(&key) {
            Some(r) => r.clone(),
            None => {
                if !self.pending.contains(&key) {
                    self.pending.push(key);
                }
                text.to_string()
            }
        }
    }

    /// A record for a constructor (`<class>.create`): the given fields, checked against the
    /// class; every other field the constructor takes (read-write and `RO/constructor`)
    /// from the datamodel's default or the type's zero value, as the typed API's
    /// `..Default::default()` does (xapi refuses a record missing a mandatory one).
    fn record(&mut self, what: &str, class: &str, pairs: &[(Dyn, Dyn)]) -> Result<Value> {
        let meta = meta::class(class)
            .ok_or_else(|| invalid(what, format!("{what}: unknown class {class}")))?;
        let mut given: HashMap<&str, &Dyn> = HashMap::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Some(name) = key.as_str() else {
                return Err(invalid(
                    what,
                    format!("{what}: field names must be strings"),
                ));
            };
            let Some(field) = meta.field(name) else {
                return Err(invalid(
                    what,
                    format!("{what}: {class} has no field {name:?}"),
                ));
            };
            given.insert(field.name, value);
        }
        let mut out = IndexMap::new();
        for field in meta.fields {
            let value = match given.get(field.name) {
                Some(v) => Some(self.convert(&format!("{what}.{}", field.name), &field.ty, v)?),
                None if field.qualifier == Qualifier::DynamicRo => None,
                None => field.default_value(),
            };
            if let Some(v) = value {
                out.insert(field.name.to_string(), v);
            }
        }
        Ok(Value::Struct(out))
    }

    /// A value without a declared type (opaque parameters): sent as it is.
    fn untyped(&mut self, what: &str, value: &Dyn) -> Result<Value> {
        Ok(match value {
            Dyn::Null => Value::Nil,
            Dyn::Bool(b) => Value::Bool(*b),
            Dyn::Int(i) => Value::Int(*i),
            Dyn::Float(f) => Value::Double(*f),
            Dyn::String(s) => Value::String(s.clone()),
            Dyn::DateTime(d) => Value::DateTime(d.to_wire()),
            Dyn::Enum(e) => Value::String(e.value.clone()),
            Dyn::Ref(r) => Value::String(r.reference.clone()),
            Dyn::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.untyped(what, v))
                    .collect::<Result<_>>()?,
            ),
            Dyn::Map(pairs) => Value::Struct(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        let key = k.as_str().ok_or_else(|| {
                            invalid(what, format!("{what}: keys must be strings"))
                        })?;
                        Ok((key.to_string(), self.untyped(what, v)?))
                    })
                    .collect::<Result<_>>()?,
            ),
            Dyn::Record(r) => r.0.to_wire(),
        })
    }
}

/// The canonical spelling of an enum value given in any case.
fn enum_value(what: &str, name: &str, text: &str) -> Result<String> {
    let meta = meta::enumeration(name);
    match meta.and_then(|e| e.canonical(text)) {
        Some(v) => Ok(v.to_string()),
        None => Err(invalid(
            what,
            format!(
                "{what}: {text:?} is not a {name} value; use one of: {}",
                meta.map(|e| e.values.join(", ")).unwrap_or_default()
            ),
        )),
    }
}

fn invalid(what: &str, message: String) -> Error {
    Error::invalid_argument(what, message)
}

fn wrong_type(what: &str, ty: &Ty, got: &Dyn) -> Error {
    Error::WrongType {
        method: String::new(),
        parameter: what.to_string(),
        expected: describe(ty),
        got: got.kind().to_string(),
    }
}

/// What a value of `ty` looks like, for error messages.
pub fn describe(ty: &Ty) -> String {
    match ty {
        Ty::String => "a string".into(),
        Ty::Int => "an integer".into(),
        Ty::Float => "a number".into(),
        Ty::Bool => "true or false".into(),
        Ty::DateTime => "a date and time".into(),
        Ty::Enum(e) => format!("one of the {e} values"),
        Ty::Ref(c) => format!("a {c} (reference, uuid or name)"),
        Ty::Set(t) => format!("a list of {}", describe(t)),
        Ty::Map(..) => "a map".into(),
        Ty::Record(c) => format!("a {c} record (a map of its fields)"),
        Ty::Option(t) => describe(t),
        Ty::Opaque(_) => "a value".into(),
    }
}
