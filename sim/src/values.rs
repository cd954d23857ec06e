//! Shorthands for wire values: arguments in, results out, and record fields.

use xenpool::wire::Value;

use crate::db::Record;
use crate::failure::Outcome;

/// The string in an argument (refs, strings, enums).
pub fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A bool argument.
pub fn flag(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// A string-map argument as pairs.
pub fn string_map(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Struct(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => vec![],
    }
}

/// A set-of-refs argument.
pub fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        _ => vec![],
    }
}

/// `Value::String` shorthand.
pub fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// The void result.
pub fn void() -> Outcome {
    Ok(Value::String(String::new()))
}

/// A scalar field as text (empty when absent).
pub fn str_of(r: &Record, k: &str) -> String {
    match r.get(k) {
        Some(Value::String(s)) | Some(Value::DateTime(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A flag field, also when a map stores it as `"true"` or `"1"`.
pub fn truthy(r: &Record, k: &str) -> bool {
    matches!(r.get(k), Some(Value::Bool(true)))
        || matches!(r.get(k), Some(Value::String(s)) if s == "true" || s == "1")
}
