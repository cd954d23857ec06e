//! Results of dynamic calls: decoded by the message's result type. Records (alone, in sets,
//! or as the `(ref -> record) map` of `get_all_records`) decode straight into the generated
//! Rust records, as the typed API does; everything else goes through [`Value`] and is
//! tagged by its datamodel type.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserializer;
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};

use super::value::{AnyRecord, Dyn, EnumValue, Record, RefValue};
use crate::call::{CallRequest, Caller};
use crate::error::Result;
use crate::meta::{self, Ty};
use crate::types::{DateTime, Ref, XenClass};
use crate::wire::{ResultSeed, Value};

/// Calls `method` and decodes its result as `ty` (`None`: void).
pub(super) async fn call_typed(
    caller: &impl Caller,
    method: &str,
    session: bool,
    params: Vec<Value>,
    ty: Option<&Ty>,
) -> Result<Dyn> {
    match ty {
        None => {
            caller
                .call::<crate::call::Void>(method, session, params)
                .await?;
            Ok(Dyn::Null)
        }
        Some(ty) => match record_shape(ty) {
            Some((shape, class)) => {
                decode_records(caller, method, session, params, shape, class).await
            }
            None => {
                let value: Value = caller.call(method, session, params).await?;
                Ok(typed(ty, value))
            }
        },
    }
}

#[derive(Clone, Copy)]
enum Shape {
    One,
    Set,
    ByRef,
}

/// Result types that hold records of one class.
fn record_shape(ty: &Ty) -> Option<(Shape, &'static str)> {
    match ty {
        Ty::Record(c) => Some((Shape::One, c)),
        Ty::Set(Ty::Record(c)) => Some((Shape::Set, c)),
        Ty::Map(Ty::Ref(a), Ty::Record(b)) if a == b => Some((Shape::ByRef, b)),
        _ => None,
    }
}

async fn decode_records(
    caller: &impl Caller,
    method: &str,
    session: bool,
    params: Vec<Value>,
    shape: Shape,
    class: &'static str,
) -> Result<Dyn> {
    // One boxed future per class: a match over every class holding each arm's call
    // future inline would make this future (and debug-build stack frames) huge.
    macro_rules! by_class {
        ($($wire:literal => $marker:ty, $record:ty;)*) => {
            match class {
                $($wire => {
                    Box::pin(decode_as::<$marker, $record>(caller, method, session, params, shape))
                        .await
                })*
                // A class this crate's records do not cover: decode untyped.
                _ => {
                    let value: Value = caller.call(method, session, params).await?;
                    Ok(untyped(value))
                }
            }
        };
    }
    crate::for_each_record!(by_class)
}

/// Decodes a result holding records of class `C` straight into its typed records.
async fn decode_as<C, R>(
    caller: &impl Caller,
    method: &str,
    session: bool,
    params: Vec<Value>,
    shape: Shape,
) -> Result<Dyn>
where
    C: XenClass,
    R: AnyRecord + DeserializeOwned,
{
    Ok(match shape {
        Shape::One => {
            let r: R = caller.call(method, session, params).await?;
            Dyn::Record(Record::new(r))
        }
        Shape::Set => {
            let rs: Vec<R> = caller.call(method, session, params).await?;
            Dyn::Array(
                rs.into_iter()
                    .map(|r| Dyn::Record(Record::new(r)))
                    .collect(),
            )
        }
        Shape::ByRef => {
            let rs: HashMap<Ref<C>, R> = caller.call(method, session, params).await?;
            Dyn::Map(
                rs.into_iter()
                    .map(|(k, r)| {
                        let k = Dyn::Ref(RefValue {
                            class: C::WIRE_NAME,
                            reference: k.into_string(),
                        });
                        (k, Dyn::Record(Record::new(r)))
                    })
                    .collect(),
            )
        }
    })
}

/// One record of a table, handed on while the rest of the reply is still being decoded.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its reference, for a `(ref -> record) map` (`get_all_records`); `None` in a set.
    pub key: Option<Dyn>,
    /// The typed record.
    pub record: Record,
}

/// Receives the entries of a record table, on the thread decoding the reply.
pub type EntrySink = Arc<dyn Fn(Entry) + Send + Sync>;

/// The table of records a method returns, if it returns one.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The records' class.
    pub class: &'static meta::ClassMeta,
    /// `(ref -> record) map` (`get_all_records`), rather than a set of records.
    pub by_ref: bool,
}

/// The table a result of type `ty` is, if it is one.
pub(super) fn table_of(ty: &Ty) -> Option<Table> {
    let (shape, class) = record_shape(ty)?;
    let by_ref = match shape {
        Shape::One => return None,
        Shape::Set => false,
        Shape::ByRef => true,
    };
    Some(Table {
        class: meta::class(class)?,
        by_ref,
    })
}

/// Calls `method`, whose result is `table`, and hands each record to `each` as soon as it
/// is decoded. Returns how many there were.
pub(super) async fn call_table(
    caller: &impl Caller,
    method: &str,
    session: bool,
    params: Vec<Value>,
    table: Table,
    each: EntrySink,
) -> Result<usize> {
    macro_rules! by_class {
        ($($wire:literal => $marker:ty, $record:ty;)*) => {
            match table.class.name {
                $($wire => {
                    let seed = EntriesSeed::<$marker, $record> {
                        each,
                        emitted: Arc::new(AtomicUsize::new(0)),
                        by_ref: table.by_ref,
                        types: PhantomData,
                    };
                    let request = CallRequest {
                        with_session: session,
                        ..CallRequest::new(method, params)
                    };
                    Box::pin(caller.call_seeded(request, seed))
                        .await
                })*
                // Every record class is generated; should one not be, decode it whole.
                _ => {
                    let value: Value = caller.call(method, session, params).await?;
                    let entries: Vec<(Option<Dyn>, Dyn)> = match untyped(value) {
                        Dyn::Map(pairs) => pairs.into_iter().map(|(k, v)| (Some(k), v)).collect(),
                        Dyn::Array(items) => items.into_iter().map(|v| (None, v)).collect(),
                        _ => Vec::new(),
                    };
                    let mut n = 0;
                    for (key, value) in entries {
                        if let Dyn::Record(record) = value {
                            each(Entry { key, record });
                            n += 1;
                        }
                    }
                    Ok(n)
                }
            }
        };
    }
    crate::for_each_record!(by_class)
}

/// Decodes a table of `R` records, handing each to `each` as it is decoded.
///
/// The JSON decoder reads a body holding xapi's bare `NaN` twice (the first pass stops at
/// the token); the records before it decode the same both times, so `emitted`, shared by
/// the clones, keeps the second pass from handing them on again.
struct EntriesSeed<C, R> {
    each: EntrySink,
    emitted: Arc<AtomicUsize>,
    by_ref: bool,
    types: PhantomData<fn() -> (C, R)>,
}

impl<C, R> Clone for EntriesSeed<C, R> {
    fn clone(&self) -> Self {
        EntriesSeed {
            each: self.each.clone(),
            emitted: self.emitted.clone(),
            by_ref: self.by_ref,
            types: PhantomData,
        }
    }
}

impl<C: XenClass, R: AnyRecord + DeserializeOwned> EntriesSeed<C, R> {
    fn emit(&self, index: usize, key: Option<Dyn>, record: R) {
        if index >= self.emitted.load(Ordering::Relaxed) {
            (self.each)(Entry {
                key,
                record: Record::new(record),
            });
            self.emitted.store(index + 1, Ordering::Relaxed);
        }
    }
}

impl<C: XenClass, R: AnyRecord + DeserializeOwned> ResultSeed for EntriesSeed<C, R> {
    type Value = usize;
    fn decode<'de, D: Deserializer<'de>>(self, d: D) -> std::result::Result<usize, D::Error> {
        if self.by_ref {
            d.deserialize_map(self)
        } else {
            d.deserialize_seq(self)
        }
    }
}

impl<'de, C: XenClass, R: AnyRecord + DeserializeOwned> Visitor<'de> for EntriesSeed<C, R> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of records")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<usize, A::Error> {
        let mut n = 0;
        while let Some(key) = map.next_key::<Ref<C>>()? {
            let record: R = map.next_value()?;
            let key = Dyn::Ref(RefValue {
                class: C::WIRE_NAME,
                reference: key.into_string(),
            });
            self.emit(n, Some(key), record);
            n += 1;
        }
        Ok(n)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<usize, A::Error> {
        let mut n = 0;
        while let Some(record) = seq.next_element::<R>()? {
            self.emit(n, None, record);
            n += 1;
        }
        Ok(n)
    }
}

/// A wire value tagged by its datamodel type. Values that do not fit the type are kept
/// untyped rather than refused: newer hosts may send what this datamodel does not know.
pub fn typed(ty: &Ty, value: Value) -> Dyn {
    match (ty, value) {
        (_, Value::Nil) => Dyn::Null,
        (Ty::Int, v) => match v.as_i64() {
            Some(i) => Dyn::Int(i),
            None => untyped(v),
        },
        (Ty::Float, v) => match v.as_f64() {
            Some(f) => Dyn::Float(f),
            None => untyped(v),
        },
        (Ty::Bool, v) => match v {
            Value::Bool(b) => Dyn::Bool(b),
            // XML-RPC peers occasionally send "true"/"1" as text.
            Value::String(s) if s == "true" || s == "1" => Dyn::Bool(true),
            Value::String(s) if s == "false" || s == "0" => Dyn::Bool(false),
            other => untyped(other),
        },
        (Ty::DateTime, Value::DateTime(s) | Value::String(s)) => match DateTime::parse(&s) {
            Some(d) => Dyn::DateTime(d),
            None => Dyn::String(s),
        },
        (Ty::DateTime, v @ (Value::Int(_) | Value::Double(_))) => match v.as_f64() {
            Some(secs) => {
                DateTime::from_unix_seconds(secs).map_or_else(|| untyped(v), Dyn::DateTime)
            }
            None => untyped(v),
        },
        (Ty::Enum(name), Value::String(s)) => Dyn::Enum(canonical_enum(name, s)),
        (Ty::Ref(class), Value::String(s)) => Dyn::Ref(RefValue {
            class,
            reference: s,
        }),
        (Ty::Set(inner), Value::Array(items)) => {
            Dyn::Array(items.into_iter().map(|v| typed(inner, v)).collect())
        }
        (Ty::Map(k, v), Value::Struct(members)) => Dyn::Map(
            members
                .into_iter()
                .map(|(key, item)| (typed(k, Value::String(key)), typed(v, item)))
                .collect(),
        ),
        (Ty::Record(class), v @ Value::Struct(_)) => record_from_value(class, v),
        (Ty::Option(inner), v) => typed(inner, v),
        (_, v) => untyped(v),
    }
}

/// The enum value in its datamodel spelling (xapi matches enum values ignoring case).
pub(super) fn canonical_enum(name: &str, text: String) -> EnumValue {
    let meta = meta::enumeration(name);
    let enumeration = meta.map_or("", |e| e.name);
    let value = meta
        .and_then(|e| e.canonical(&text))
        .map_or(text, str::to_string);
    EnumValue { enumeration, value }
}

/// A record given as a wire struct (from an event, or a class without generated records).
fn record_from_value(class: &str, value: Value) -> Dyn {
    macro_rules! by_class {
        ($($wire:literal => $marker:ty, $record:ty;)*) => {
            match class {
                $($wire => record_as::<$record>(value),)*
                _ => untyped(value),
            }
        };
    }
    crate::for_each_record!(by_class)
}

fn record_as<R: AnyRecord + DeserializeOwned>(value: Value) -> Dyn {
    match crate::wire::from_value::<R>(value.clone()) {
        Ok(r) => Dyn::Record(Record::new(r)),
        Err(_) => untyped(value),
    }
}

/// A wire value without a datamodel type.
pub fn untyped(value: Value) -> Dyn {
    match value {
        Value::Nil => Dyn::Null,
        Value::String(s) => Dyn::String(s),
        Value::Int(i) => Dyn::Int(i),
        Value::Int32(i) => Dyn::Int(i.into()),
        Value::Bool(b) => Dyn::Bool(b),
        Value::Double(f) => Dyn::Float(f),
        Value::DateTime(s) => match DateTime::parse(&s) {
            Some(d) => Dyn::DateTime(d),
            None => Dyn::String(s),
        },
        Value::Array(items) => Dyn::Array(items.into_iter().map(untyped).collect()),
        Value::Struct(members) => Dyn::Map(
            members
                .into_iter()
                .map(|(k, v)| (Dyn::String(k), untyped(v)))
                .collect(),
        ),
    }
}
