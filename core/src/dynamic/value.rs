//! [`Dyn`], the neutral value tree front ends exchange with the dynamic layer, and the
//! traits that let typed records stay typed until a front end reads them.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use crate::meta;
use crate::types::{DateTime, Ref, XenClass};
use crate::wire::Value;

/// A value on its way into or out of a dynamic call.
///
/// Front ends build arguments from their native values (`Int`, `Float`, `String`, `Bool`,
/// `Array`, `Map`, `Null`, or values they received earlier); the datamodel's types decide
/// what each becomes on the wire. Results come back tagged: enums and references carry
/// their type, datetimes are parsed, int64 is always `Int` (XML-RPC sends it as a string)
/// and records stay typed Rust records ([`Record`]).
#[derive(Debug, Clone)]
pub enum Dyn {
    /// No value (`void` results, `None` option fields).
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` (int64).
    Int(i64),
    /// `float`, NaN and infinities included.
    Float(f64),
    /// `string`, or text a parameter type will interpret (a uuid for a reference, a
    /// date for a datetime, an enum value in any case).
    String(String),
    /// `datetime`, in UTC.
    DateTime(DateTime),
    /// A value of a datamodel enum, in its canonical spelling (unknown values kept).
    Enum(EnumValue),
    /// A reference to an object of a class.
    Ref(RefValue),
    /// `set`.
    Array(Vec<Dyn>),
    /// `map` (keys may be ints, enums or references) or an untyped struct.
    Map(Vec<(Dyn, Dyn)>),
    /// A record of a class, typed.
    Record(Record),
}

/// A value of a datamodel enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumValue {
    /// The enum's datamodel name (`vm_power_state`).
    pub enumeration: &'static str,
    /// The wire value (`Running`); values newer than this crate are kept as sent.
    pub value: String,
}

impl EnumValue {
    /// True when this crate's datamodel lists the value.
    pub fn is_known(&self) -> bool {
        meta::enumeration(self.enumeration).is_some_and(|e| e.values.contains(&&*self.value))
    }
}

/// A reference to an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefValue {
    /// The class's wire name (`VM`).
    pub class: &'static str,
    /// The reference (`OpaqueRef:…`).
    pub reference: String,
}

impl RefValue {
    /// True for `OpaqueRef:NULL`.
    pub fn is_null(&self) -> bool {
        self.reference == "OpaqueRef:NULL"
    }
}

/// A typed record that front ends read field by field: a decoded `VM.get_all_records`
/// stays a table of Rust records, and only what a script or program reads is converted.
pub trait AnyRecord: std::any::Any + fmt::Debug + Send + Sync {
    /// The class's metadata.
    fn class(&self) -> &'static meta::ClassMeta;
    /// The field with wire name `name`, or `None` when the class has no such field.
    fn field(&self, name: &str) -> Option<Dyn>;
    /// The record as the wire would carry it (for passing it back to a call).
    fn to_wire(&self) -> Value;
}

/// A shared handle on a typed record.
#[derive(Clone)]
pub struct Record(pub Arc<dyn AnyRecord>);

impl Record {
    /// Wraps a typed record.
    pub fn new(record: impl AnyRecord) -> Self {
        Record(Arc::new(record))
    }

    /// The class's wire name.
    pub fn class_name(&self) -> &'static str {
        self.0.class().name
    }

    /// The field `name`.
    pub fn field(&self, name: &str) -> Option<Dyn> {
        self.0.field(name)
    }

    /// Every field, in datamodel order (`None` option fields are left out).
    pub fn fields(&self) -> Vec<(&'static str, Dyn)> {
        self.0
            .class()
            .fields
            .iter()
            .filter_map(|f| match self.0.field(f.name) {
                Some(Dyn::Null) | None => None,
                Some(v) => Some((f.name, v)),
            })
            .collect()
    }
}

/// A record serializes as its generated Rust record: wire field names in datamodel order,
/// datetimes through the [`crate::types::DATETIME_NEWTYPE`] newtype, nothing copied into
/// [`Dyn`] first (the fast way for a front end to write a large table).
impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let any: &dyn std::any::Any = &*self.0;
        macro_rules! by_class {
            ($($wire:literal => $marker:ty, $record:ty;)*) => {
                match self.class_name() {
                    $($wire => if let Some(r) = any.downcast_ref::<$record>() {
                        return r.serialize(s);
                    },)*
                    _ => {}
                }
            };
        }
        crate::for_each_record!(by_class);
        // Every AnyRecord is a generated record, so this is not reached; if one ever is
        // not, its wire form still serializes.
        self.0.to_wire().serialize(s)
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_wire() == other.0.to_wire()
    }
}

impl PartialEq for Dyn {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Dyn::Null, Dyn::Null) => true,
            (Dyn::Bool(a), Dyn::Bool(b)) => a == b,
            (Dyn::Int(a), Dyn::Int(b)) => a == b,
            // NaN equals NaN here: values are compared as data, not arithmetic.
            (Dyn::Float(a), Dyn::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Dyn::String(a), Dyn::String(b)) => a == b,
            (Dyn::DateTime(a), Dyn::DateTime(b)) => a == b,
            (Dyn::Enum(a), Dyn::Enum(b)) => a == b,
            (Dyn::Ref(a), Dyn::Ref(b)) => a == b,
            (Dyn::Array(a), Dyn::Array(b)) => a == b,
            (Dyn::Map(a), Dyn::Map(b)) => a == b,
            (Dyn::Record(a), Dyn::Record(b)) => a == b,
            _ => false,
        }
    }
}

impl Dyn {
    /// The text of a string, enum value or reference.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Dyn::String(s) => Some(s),
            Dyn::Enum(e) => Some(&e.value),
            Dyn::Ref(r) => Some(&r.reference),
            _ => None,
        }
    }

    /// A short name of the kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Dyn::Null => "null",
            Dyn::Bool(_) => "bool",
            Dyn::Int(_) => "int",
            Dyn::Float(_) => "float",
            Dyn::String(_) => "string",
            Dyn::DateTime(_) => "datetime",
            Dyn::Enum(_) => "enum value",
            Dyn::Ref(_) => "reference",
            Dyn::Array(_) => "array",
            Dyn::Map(_) => "map",
            Dyn::Record(_) => "record",
        }
    }

    /// A string-keyed map from pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Dyn)>) -> Dyn {
        Dyn::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Dyn::String(k.into()), v))
                .collect(),
        )
    }
}

impl From<&str> for Dyn {
    fn from(s: &str) -> Self {
        Dyn::String(s.to_string())
    }
}
impl From<String> for Dyn {
    fn from(s: String) -> Self {
        Dyn::String(s)
    }
}
impl From<i64> for Dyn {
    fn from(i: i64) -> Self {
        Dyn::Int(i)
    }
}
impl From<f64> for Dyn {
    fn from(f: f64) -> Self {
        Dyn::Float(f)
    }
}
impl From<bool> for Dyn {
    fn from(b: bool) -> Self {
        Dyn::Bool(b)
    }
}

/// A typed value as a [`Dyn`] (implemented for every type a generated record holds).
pub trait ToDyn {
    /// The conversion.
    fn to_dyn(&self) -> Dyn;
}

impl ToDyn for String {
    fn to_dyn(&self) -> Dyn {
        Dyn::String(self.clone())
    }
}
impl ToDyn for i64 {
    fn to_dyn(&self) -> Dyn {
        Dyn::Int(*self)
    }
}
impl ToDyn for f64 {
    fn to_dyn(&self) -> Dyn {
        Dyn::Float(*self)
    }
}
impl ToDyn for bool {
    fn to_dyn(&self) -> Dyn {
        Dyn::Bool(*self)
    }
}
impl ToDyn for DateTime {
    fn to_dyn(&self) -> Dyn {
        Dyn::DateTime(*self)
    }
}
impl<C: XenClass> ToDyn for Ref<C> {
    fn to_dyn(&self) -> Dyn {
        Dyn::Ref(RefValue {
            class: C::WIRE_NAME,
            reference: self.as_str().to_string(),
        })
    }
}
impl<T: ToDyn> ToDyn for Vec<T> {
    fn to_dyn(&self) -> Dyn {
        Dyn::Array(self.iter().map(ToDyn::to_dyn).collect())
    }
}
impl<K: ToDyn + Eq + Hash, V: ToDyn> ToDyn for HashMap<K, V> {
    fn to_dyn(&self) -> Dyn {
        Dyn::Map(self.iter().map(|(k, v)| (k.to_dyn(), v.to_dyn())).collect())
    }
}
impl<T: ToDyn> ToDyn for Option<T> {
    fn to_dyn(&self) -> Dyn {
        self.as_ref().map_or(Dyn::Null, ToDyn::to_dyn)
    }
}
impl ToDyn for Value {
    fn to_dyn(&self) -> Dyn {
        super::results::untyped(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{VmPowerState, VmRecord};

    #[test]
    fn a_record_serializes_as_its_generated_record() {
        let vm = VmRecord {
            name_label: "web".into(),
            power_state: VmPowerState::Running,
            memory_static_max: 1 << 32,
            snapshot_time: DateTime::parse("20240102T03:04:05Z").unwrap(),
            ..Default::default()
        };
        let direct = serde_json::to_value(&vm).unwrap();
        let through = serde_json::to_value(Record::new(vm)).unwrap();
        assert_eq!(through, direct);
        assert_eq!(through["name_label"], "web");
        assert_eq!(through["power_state"], "Running");
        assert_eq!(through["memory_static_max"], 1_i64 << 32);
        assert_eq!(through["snapshot_time"], "20240102T03:04:05Z");
    }
}
