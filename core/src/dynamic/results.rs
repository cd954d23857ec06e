//! Results of dynamic calls: decoded by the message's result type. Records (alone, in sets,
//! or as the `(ref -> record) map` of `get_all_records`) decode straight into the generated
//! Rust records, as the typed API does; everything else goes through [`Value`] and is
//! tagged by its datamodel type.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::value::{AnyRecord, Dyn, EnumValue, Record, RefValue};
use crate::call::Caller;
use crate::error::Result;
use crate::meta::{self, Ty};
use crate::types::{DateTime, Ref, XenClass};
use crate::wire::Value;

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
