//! A dynamically typed XenAPI value, for servers and dynamic dispatch.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::types::DATETIME_NEWTYPE;

/// Any value that can travel in XML-RPC or JSON-RPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (also how xapi sends int64 over XML-RPC, untagged).
    String(String),
    /// A 64-bit integer (XenAPI `int`): untagged in xapi's XML-RPC responses.
    Int(i64),
    /// A 32-bit integer, ocaml-rpc's `Int32`: the few counts xapi keeps outside the
    /// datamodel's int64, such as `event.from`'s `valid_ref_counts`, which XML-RPC tags
    /// `<i4>` so that standard clients read a number. A server's hint only: decoders read
    /// every integer as [`Value::Int`].
    Int32(i32),
    /// A boolean.
    Bool(bool),
    /// A double, possibly NaN or infinite.
    Double(f64),
    /// A datetime as its wire text (`YYYYMMDDTHH:MM:SSZ`).
    DateTime(String),
    /// An array (XenAPI sets).
    Array(Vec<Value>),
    /// A struct (XenAPI maps and records), in wire order.
    Struct(IndexMap<String, Value>),
    /// XML-RPC `<nil/>` / JSON `null`: no XenAPI type accepts it.
    Nil,
}

impl Value {
    /// The text of a string or datetime.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, also from a string of decimal digits (xapi's untagged XML-RPC ints).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Int32(i) => Some(i64::from(*i)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The number as a double, also from ints and numeric strings.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            Value::Int32(i) => Some(f64::from(*i)),
            Value::String(s) => parse_float(s),
            _ => None,
        }
    }

    /// The boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members of a struct.
    pub fn as_struct(&self) -> Option<&IndexMap<String, Value>> {
        match self {
            Value::Struct(m) => Some(m),
            _ => None,
        }
    }

    /// The member `key` of a struct.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_struct().and_then(|m| m.get(key))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}
impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}
impl From<IndexMap<String, Value>> for Value {
    fn from(m: IndexMap<String, Value>) -> Self {
        Value::Struct(m)
    }
}

/// Parses a float the way xapi and its peers write them: decimal and exponent forms plus
/// `nan`, `inf`, `-inf` (OCaml `%.16g`), `NaN`, `Infinity`, `-Infinity` (JSON, Python).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(d) = t.parse::<f64>() {
        return Some(d);
    }
    // Rust already accepts nan/inf/infinity in any case; keep OCaml's `-nan` too.
    match t {
        "-nan" | "-NaN" => Some(f64::NAN),
        _ => None,
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::String(v) => s.serialize_str(v),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Int32(i) => s.serialize_i32(*i),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Double(d) => s.serialize_f64(*d),
            Value::DateTime(t) => s.serialize_newtype_struct(DATETIME_NEWTYPE, t),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Struct(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Nil => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Self-describing: strings stay strings (the XML-RPC typed path also delivers
    /// `<dateTime.iso8601>` as a string; [`super::decode_call`] keeps it a `DateTime`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any XenAPI value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        // JSON ints are unbounded; beyond i64 the best we can do is a double.
        Ok(i64::try_from(v).map_or(Value::Double(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Double(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = IndexMap::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Value::Struct(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        assert_eq!(Value::from("12").as_i64(), Some(12));
        assert_eq!(Value::from(12).as_f64(), Some(12.0));
        assert_eq!(Value::Int32(-7).as_i64(), Some(-7));
        assert!(Value::from("nan").as_f64().is_some_and(f64::is_nan));
        assert_eq!(Value::from("-Infinity").as_f64(), Some(f64::NEG_INFINITY));
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::DateTime("x".into()).as_str(), Some("x"));
        let s = Value::Struct(IndexMap::from([("a".to_string(), Value::from(1))]));
        assert_eq!(s.get("a"), Some(&Value::Int(1)));
        assert_eq!(
            Value::from(vec![Value::Nil]).as_array().map(<[_]>::len),
            Some(1)
        );
    }
}
