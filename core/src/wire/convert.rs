//! `to_value` / `from_value`: serde between Rust types and [`Value`], plus the serde error
//! impls of [`ProtocolError`] shared by every codec.

use std::borrow::Cow;
use std::fmt::Display;

use indexmap::IndexMap;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

use super::value::parse_float;
use super::{ProtocolError, ProtocolErrorKind, Value};
use crate::types::DATETIME_NEWTYPE;

impl de::Error for ProtocolError {
    fn custom<T: Display>(msg: T) -> Self {
        ProtocolError::new(ProtocolErrorKind::WrongType, msg.to_string())
    }
}

impl ser::Error for ProtocolError {
    fn custom<T: Display>(msg: T) -> Self {
        ProtocolError::new(ProtocolErrorKind::WrongType, msg.to_string())
    }
}

pub(crate) fn wrong_type(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ProtocolErrorKind::WrongType, msg)
}

/// Prefixes a type error with the struct member it happened in (`at a.b: …`).
pub(crate) fn in_member(mut e: ProtocolError, key: &str) -> ProtocolError {
    if e.kind == ProtocolErrorKind::WrongType {
        e.message = match e.message.strip_prefix("at ") {
            Some(rest) => format!("at {key}.{rest}"),
            None => format!("at {key}: {}", e.message),
        };
    }
    e
}

/// Finds the variant spelled like `text` ignoring ASCII case: xapi parses enums
/// case-insensitively (docs/wire-protocol.md#types).
pub(crate) fn enum_variant<'a>(text: &'a str, variants: &'static [&'static str]) -> &'a str {
    if variants.contains(&text) {
        return text;
    }
    variants
        .iter()
        .find(|v| v.eq_ignore_ascii_case(text))
        .copied()
        .unwrap_or(text)
}

// ---------------------------------------------------------------------------------------
// Keys: struct member names are always strings on the wire, but int-keyed maps exist.

/// Deserialises a struct member name, into a string or (parsing it) a number.
pub(crate) struct KeyDeserializer<'de>(pub Cow<'de, str>);

macro_rules! key_int {
    ($($method:ident => $visit:ident: $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
            let n: $ty = self.0.trim().parse().map_err(|_| {
                wrong_type(format!("expected an integer map key, found {:?}", self.0))
            })?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = ProtocolError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self.0 {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    key_int!(deserialize_i8 => visit_i64: i64, deserialize_i16 => visit_i64: i64,
        deserialize_i32 => visit_i64: i64, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u64: u64, deserialize_u16 => visit_u64: u64,
        deserialize_u32 => visit_u64: u64, deserialize_u64 => visit_u64: u64);

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        let d = parse_float(&self.0)
            .ok_or_else(|| wrong_type(format!("expected a number map key, found {:?}", self.0)))?;
        visitor.visit_f64(d)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        let v = enum_variant(&self.0, variants).to_owned();
        visitor.visit_enum(v.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        bool i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

// ---------------------------------------------------------------------------------------
// to_value

/// Converts any serialisable value to a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ProtocolError> {
    value.serialize(ValueSerializer)
}

struct ValueSerializer;

pub(crate) struct SeqBuilder(Vec<Value>);
pub(crate) struct MapBuilder {
    map: IndexMap<String, Value>,
    key: Option<String>,
}
pub(crate) struct VariantBuilder<T> {
    name: &'static str,
    inner: T,
}

fn key_string(v: Value) -> Result<String, ProtocolError> {
    match v {
        Value::String(s) | Value::DateTime(s) => Ok(s),
        // Int keys are written in decimal (docs/wire-protocol.md#types).
        Value::Int(i) => Ok(i.to_string()),
        Value::Int32(i) => Ok(i.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Double(d) => Ok(d.to_string()),
        other => Err(wrong_type(format!(
            "a struct key must be a scalar, not {other:?}"
        ))),
    }
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ProtocolError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, ProtocolError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ProtocolError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ProtocolError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| wrong_type(format!("{v} does not fit XenAPI's int64")))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ProtocolError> {
        Ok(Value::Double(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ProtocolError> {
        Ok(Value::Double(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ProtocolError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ProtocolError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ProtocolError> {
        Ok(Value::Array(
            v.iter().map(|b| Value::Int((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, ProtocolError> {
        Ok(Value::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ProtocolError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ProtocolError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ProtocolError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ProtocolError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ProtocolError> {
        let inner = v.serialize(self)?;
        if name == DATETIME_NEWTYPE
            && let Value::String(s) = inner
        {
            return Ok(Value::DateTime(s));
        }
        Ok(inner)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ProtocolError> {
        let mut map = IndexMap::with_capacity(1);
        map.insert(variant.to_owned(), v.serialize(self)?);
        Ok(Value::Struct(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ProtocolError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0).min(4096))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ProtocolError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, ProtocolError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, ProtocolError> {
        Ok(VariantBuilder {
            name: variant,
            inner: self.serialize_seq(Some(len))?,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, ProtocolError> {
        Ok(MapBuilder {
            map: IndexMap::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<MapBuilder, ProtocolError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, ProtocolError> {
        Ok(VariantBuilder {
            name: variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ProtocolError> {
        self.0.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ProtocolError> {
        Ok(Value::Array(self.0))
    }
}
impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ProtocolError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ProtocolError> {
        ser::SerializeSeq::end(self)
    }
}
impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ProtocolError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ProtocolError> {
        ser::SerializeSeq::end(self)
    }
}
impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ProtocolError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, v)
    }
    fn end(self) -> Result<Value, ProtocolError> {
        let inner = ser::SerializeSeq::end(self.inner)?;
        Ok(Value::Struct(IndexMap::from([(
            self.name.to_owned(),
            inner,
        )])))
    }
}
impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ProtocolError> {
        self.key = Some(key_string(k.serialize(ValueSerializer)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ProtocolError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| wrong_type("map value without a key"))?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ProtocolError> {
        Ok(Value::Struct(self.map))
    }
}
impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ProtocolError> {
        self.map
            .insert(key.to_owned(), v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ProtocolError> {
        Ok(Value::Struct(self.map))
    }
}
impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Value;
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ProtocolError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
    }
    fn end(self) -> Result<Value, ProtocolError> {
        let inner = ser::SerializeStruct::end(self.inner)?;
        Ok(Value::Struct(IndexMap::from([(
            self.name.to_owned(),
            inner,
        )])))
    }
}

// ---------------------------------------------------------------------------------------
// from_value

/// Converts a [`Value`] into a typed value, leniently (see [`super::from_value`]).
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, ProtocolError> {
    T::deserialize(value)
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Int(i) => format!("int {i}"),
        Value::Int32(i) => format!("int {i}"),
        Value::Bool(b) => format!("bool {b}"),
        Value::Double(d) => format!("double {d}"),
        Value::DateTime(s) => format!("datetime {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Struct(_) => "a struct".to_owned(),
        Value::Nil => "nil".to_owned(),
    }
}

fn expected(what: &str, v: &Value) -> ProtocolError {
    wrong_type(format!("expected {what}, found {}", describe(v)))
}

macro_rules! value_int {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
            match self {
                Value::Int(i) => visitor.visit_i64(i),
                Value::Int32(i) => visitor.visit_i64(i.into()),
                // xapi sends int64 over XML-RPC as untagged (string) values.
                Value::String(ref s) => match s.trim().parse::<i64>() {
                    Ok(i) => visitor.visit_i64(i),
                    Err(_) => match s.trim().parse::<u64>() {
                        Ok(u) => visitor.visit_u64(u),
                        Err(_) => Err(expected("an integer", &self)),
                    },
                },
                other => Err(expected("an integer", &other)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ProtocolError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::String(s) | Value::DateTime(s) => visitor.visit_string(s),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Int32(i) => visitor.visit_i64(i.into()),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Double(d) => visitor.visit_f64(d),
            Value::Array(a) => visit_array(a, visitor),
            Value::Struct(m) => visit_struct(m, visitor),
            Value::Nil => visitor.visit_unit(),
        }
    }

    value_int!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64
    );

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::Double(d) => visitor.visit_f64(d),
            Value::Int(i) => visitor.visit_f64(i as f64),
            Value::Int32(i) => visitor.visit_f64(i.into()),
            Value::String(ref s) => match parse_float(s) {
                Some(d) => visitor.visit_f64(d),
                None => Err(expected("a number", &self)),
            },
            other => Err(expected("a number", &other)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(b),
            other => Err(expected("a boolean", &other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::String(s) | Value::DateTime(s) => visitor.visit_string(s),
            Value::Int(i) => visitor.visit_string(i.to_string()),
            Value::Int32(i) => visitor.visit_string(i.to_string()),
            other => Err(expected("a string", &other)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::Nil => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        // `void` is "" on the wire; accept anything.
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::Array(a) => visit_array(a, visitor),
            other => Err(expected("an array", &other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProtocolError> {
        match self {
            Value::Struct(m) => visit_struct(m, visitor),
            other => Err(expected("a struct", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProtocolError> {
        match self {
            Value::String(s) => {
                let v = enum_variant(&s, variants).to_owned();
                visitor.visit_enum(v.into_deserializer())
            }
            other => Err(expected("an enum name", &other)),
        }
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf identifier
    }
}

impl IntoDeserializer<'_, ProtocolError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

fn visit_array<'de, V: Visitor<'de>>(a: Vec<Value>, visitor: V) -> Result<V::Value, ProtocolError> {
    struct Access(std::vec::IntoIter<Value>);
    impl<'de> de::SeqAccess<'de> for Access {
        type Error = ProtocolError;
        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, ProtocolError> {
            self.0.next().map(|v| seed.deserialize(v)).transpose()
        }
        fn size_hint(&self) -> Option<usize> {
            Some(self.0.len())
        }
    }
    visitor.visit_seq(Access(a.into_iter()))
}

fn visit_struct<'de, V: Visitor<'de>>(
    m: IndexMap<String, Value>,
    visitor: V,
) -> Result<V::Value, ProtocolError> {
    struct Access {
        iter: indexmap::map::IntoIter<String, Value>,
        pending: Option<(String, Value)>,
    }
    impl<'de> de::MapAccess<'de> for Access {
        type Error = ProtocolError;
        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, ProtocolError> {
            let Some((k, v)) = self.iter.next() else {
                return Ok(None);
            };
            let key = seed.deserialize(KeyDeserializer(Cow::Owned(k.clone())));
            // Keep the name for error messages.
            self.pending = Some((k, v));
            key.map(Some)
        }
        fn next_value_seed<S: DeserializeSeed<'de>>(
            &mut self,
            seed: S,
        ) -> Result<S::Value, ProtocolError> {
            let (k, v) = self
                .pending
                .take()
                .ok_or_else(|| wrong_type("value without key"))?;
            seed.deserialize(v).map_err(|e| in_member(e, &k))
        }
        fn size_hint(&self) -> Option<usize> {
            Some(self.iter.len())
        }
    }
    visitor.visit_map(Access {
        iter: m.into_iter(),
        pending: None,
    })
}
