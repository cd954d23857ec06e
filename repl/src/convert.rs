//! Values between Rhai and the XenAPI wire, guided by the datamodel's types: an `int`
//! parameter refuses a string, an enum parameter refuses a value it does not list, a
//! datetime comes back as ISO 8601 text, a record as a map.

use rhai::{Array, Dynamic, Map};
use xenpool::meta::{self, Ty};
use xenpool::wire::Value;

use crate::errors::XenError;
use crate::objects::{Host, Pool, Sr, Vm};

/// What a script value should become, for error messages.
fn describe(ty: &Ty) -> String {
    match ty {
        Ty::String => "a string".into(),
        Ty::Int => "an integer".into(),
        Ty::Float => "a number".into(),
        Ty::Bool => "true or false".into(),
        Ty::DateTime => "a date-time string".into(),
        Ty::Enum(e) => format!("one of the {e} values"),
        Ty::Ref(c) => format!("a {c} (reference, uuid, name or object)"),
        Ty::Set(t) => format!("an array of {}", describe(t)),
        Ty::Map(_, _) => "a map".into(),
        Ty::Record(c) => format!("a {c} record (a map)"),
        Ty::Option(t) => describe(t),
        Ty::Opaque(_) => "a value".into(),
    }
}

fn wrong(what: &str, ty: &Ty, got: &Dynamic) -> XenError {
    XenError::invalid(format!(
        "{what} must be {}, not {} ({got})",
        describe(ty),
        got.type_name()
    ))
}

/// What identifies a shell object (a host, VM, SR or pool from `hosts()`, `vm()`, …).
#[derive(Debug, Clone)]
pub struct ObjectId {
    /// Its XenAPI class (wire name).
    pub class: &'static str,
    /// Its reference.
    pub reference: String,
    /// Its uuid.
    pub uuid: String,
}

/// The identity of a shell object, or `None` for any other value.
pub fn identify(value: &Dynamic) -> Option<ObjectId> {
    let id = |class, reference, uuid| ObjectId {
        class,
        reference,
        uuid,
    };
    if let Some(h) = value.clone().try_cast::<Host>() {
        return Some(id("host", h.reference, h.uuid));
    }
    if let Some(v) = value.clone().try_cast::<Vm>() {
        return Some(id("VM", v.reference, v.uuid));
    }
    if let Some(s) = value.clone().try_cast::<Sr>() {
        return Some(id("SR", s.reference, s.uuid));
    }
    value
        .clone()
        .try_cast::<Pool>()
        .map(|p| id("pool", p.reference, p.uuid))
}

/// A reference given as an object: its reference string.
pub fn object_reference(value: &Dynamic) -> Option<String> {
    identify(value).map(|o| o.reference)
}

/// Converts a script value to the wire for a parameter of type `ty`. References given as
/// names or uuids are left for [`crate::functions`] to look up (they need the pool).
pub fn to_wire(what: &str, ty: &Ty, value: &Dynamic) -> Result<Value, XenError> {
    let as_string = || value.clone().into_string().ok();
    Ok(match ty {
        Ty::String => Value::String(as_string().ok_or_else(|| wrong(what, ty, value))?),
        Ty::Int => Value::Int(value.as_int().map_err(|_| wrong(what, ty, value))?),
        Ty::Float => Value::Double(
            value
                .as_float()
                .or_else(|_| value.as_int().map(|i| i as f64))
                .map_err(|_| wrong(what, ty, value))?,
        ),
        Ty::Bool => Value::Bool(value.as_bool().map_err(|_| wrong(what, ty, value))?),
        Ty::DateTime => {
            let text = as_string().ok_or_else(|| wrong(what, ty, value))?;
            let parsed = xenpool::DateTime::parse(&text)
                .ok_or_else(|| XenError::invalid(format!("{what}: {text:?} is not a date-time")))?;
            Value::DateTime(parsed.to_wire())
        }
        Ty::Enum(name) => {
            let text = as_string().ok_or_else(|| wrong(what, ty, value))?;
            let values = meta::api()
                .enumeration(name)
                .map(|e| e.values)
                .unwrap_or_default();
            match values.iter().find(|v| v.eq_ignore_ascii_case(&text)) {
                Some(v) => Value::String((*v).to_string()),
                None if values.is_empty() => Value::String(text),
                None => {
                    return Err(XenError::invalid(format!(
                        "{what}: {text:?} is not a {name}; use one of: {}",
                        values.join(", ")
                    )));
                }
            }
        }
        Ty::Ref(_) => match object_reference(value).or_else(as_string) {
            Some(r) => Value::String(r),
            None => return Err(wrong(what, ty, value)),
        },
        Ty::Set(inner) => {
            let items = value
                .clone()
                .into_array()
                .map_err(|_| wrong(what, ty, value))?;
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| to_wire(&format!("{what}[{i}]"), inner, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        Ty::Map(_, v) => {
            let map = value
                .clone()
                .try_cast::<Map>()
                .ok_or_else(|| wrong(what, ty, value))?;
            Value::Struct(
                map.iter()
                    .map(|(k, item)| Ok((k.to_string(), to_wire(&format!("{what}.{k}"), v, item)?)))
                    .collect::<Result<_, XenError>>()?,
            )
        }
        Ty::Record(class) => {
            let map = value
                .clone()
                .try_cast::<Map>()
                .ok_or_else(|| wrong(what, ty, value))?;
            record_to_wire(what, class, &map)?
        }
        Ty::Option(inner) => to_wire(what, inner, value)?,
        Ty::Opaque(_) => untyped_to_wire(what, value)?,
    })
}

/// A record for `create`: the given fields (checked against the class); every other field
/// `create` takes (read-write and static ones) from the datamodel's default or the type's
/// zero value, as the typed API's `..Default::default()` does. xapi refuses a record with
/// such a field missing.
fn record_to_wire(what: &str, class: &str, map: &Map) -> Result<Value, XenError> {
    let meta = meta::api()
        .class(class)
        .ok_or_else(|| XenError::invalid(format!("unknown class {class}")))?;
    for key in map.keys() {
        if meta.field(key).is_none() {
            return Err(XenError::invalid(format!(
                "{what}: {class} has no field {key:?}"
            )));
        }
    }
    let mut out = indexmap::IndexMap::new();
    for field in meta.fields {
        if let Some(v) = map.get(field.name) {
            out.insert(
                field.name.to_string(),
                to_wire(&format!("{what}.{}", field.name), &field.ty, v)?,
            );
        } else if let Some(default) = field.default {
            out.insert(field.name.to_string(), default_value(&field.ty, default));
        } else if field.qualifier != meta::Qualifier::DynamicRo {
            out.insert(field.name.to_string(), zero_value(&field.ty));
        }
    }
    Ok(Value::Struct(out))
}

/// A datamodel default (written as text) as a wire value.
fn default_value(ty: &Ty, text: &str) -> Value {
    match ty {
        Ty::Int => text.parse().map(Value::Int).unwrap_or(Value::Int(0)),
        Ty::Float => text
            .parse()
            .map(Value::Double)
            .unwrap_or(Value::Double(0.0)),
        Ty::Bool => Value::Bool(text == "true"),
        Ty::DateTime => Value::DateTime(text.to_string()),
        Ty::Set(_) => Value::Array(vec![]),
        Ty::Map(_, _) | Ty::Record(_) => Value::Struct(Default::default()),
        _ => Value::String(text.to_string()),
    }
}

/// The empty value of a type (first value of an enum, the null reference).
fn zero_value(ty: &Ty) -> Value {
    match ty {
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Double(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::DateTime => Value::DateTime("19700101T00:00:00Z".into()),
        Ty::Enum(name) => Value::String(
            meta::api()
                .enumeration(name)
                .and_then(|e| e.values.first())
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ),
        Ty::Ref(_) => Value::String("OpaqueRef:NULL".into()),
        Ty::Set(_) => Value::Array(vec![]),
        Ty::Map(_, _) | Ty::Record(_) => Value::Struct(Default::default()),
        Ty::Option(inner) => zero_value(inner),
        Ty::String | Ty::Opaque(_) => Value::String(String::new()),
    }
}

/// A script value without a declared type.
pub fn untyped_to_wire(what: &str, value: &Dynamic) -> Result<Value, XenError> {
    if let Some(r) = object_reference(value) {
        return Ok(Value::String(r));
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Value::Double(f));
    }
    if let Ok(s) = value.clone().into_string() {
        return Ok(Value::String(s));
    }
    if let Ok(items) = value.clone().into_array() {
        return Ok(Value::Array(
            items
                .iter()
                .map(|v| untyped_to_wire(what, v))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(map) = value.clone().try_cast::<Map>() {
        return Ok(Value::Struct(
            map.iter()
                .map(|(k, v)| Ok((k.to_string(), untyped_to_wire(what, v)?)))
                .collect::<Result<_, XenError>>()?,
        ));
    }
    Err(XenError::invalid(format!(
        "{what}: a {} cannot be sent to a XenAPI host",
        value.type_name()
    )))
}

/// Converts a wire value to a script value, typed by `ty` when known.
pub fn from_wire(ty: Option<&Ty>, value: Value) -> Dynamic {
    match (ty, value) {
        (Some(Ty::Int), v) => match v.as_i64() {
            Some(i) => i.into(),
            None => from_wire(None, v),
        },
        (Some(Ty::Float), v) => match v.as_f64() {
            Some(f) => f.into(),
            None => from_wire(None, v),
        },
        (Some(Ty::Bool), v) => match v.as_bool() {
            Some(b) => b.into(),
            None => from_wire(None, v),
        },
        (Some(Ty::DateTime), Value::DateTime(s) | Value::String(s)) => {
            match xenpool::DateTime::parse(&s) {
                Some(d) => d.to_string().into(),
                None => s.into(),
            }
        }
        (Some(Ty::Set(inner)), Value::Array(items)) => items
            .into_iter()
            .map(|v| from_wire(Some(inner), v))
            .collect::<Array>()
            .into(),
        (Some(Ty::Map(_, inner)), Value::Struct(fields)) => fields
            .into_iter()
            .map(|(k, v)| (k.into(), from_wire(Some(inner), v)))
            .collect::<Map>()
            .into(),
        (Some(Ty::Record(class)), Value::Struct(fields)) => record_from_wire(class, fields),
        (Some(Ty::Option(inner)), v) => from_wire(Some(inner), v),
        (_, Value::String(s) | Value::DateTime(s)) => s.into(),
        (_, Value::Int(i)) => i.into(),
        (_, Value::Bool(b)) => b.into(),
        (_, Value::Double(f)) => f.into(),
        (_, Value::Array(items)) => items
            .into_iter()
            .map(|v| from_wire(None, v))
            .collect::<Array>()
            .into(),
        (_, Value::Struct(fields)) => fields
            .into_iter()
            .map(|(k, v)| (k.into(), from_wire(None, v)))
            .collect::<Map>()
            .into(),
        (_, Value::Nil) => Dynamic::UNIT,
    }
}

/// A record as a map, each field converted by its declared type.
pub fn record_from_wire(class: &str, fields: indexmap::IndexMap<String, Value>) -> Dynamic {
    let meta = meta::api().class_ignore_case(class);
    fields
        .into_iter()
        .map(|(k, v)| {
            let ty = meta.and_then(|m| m.field(&k)).map(|f| &f.ty);
            (k.into(), from_wire(ty, v))
        })
        .collect::<Map>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_parameters_refuse_wrong_types_and_unknown_enum_values() {
        let err = to_wire("memory", &Ty::Int, &Dynamic::from("lots")).unwrap_err();
        assert!(
            err.message.contains("must be an integer"),
            "{}",
            err.message
        );
        let ok = to_wire("mode", &Ty::Enum("bond_mode"), &Dynamic::from("LACP")).unwrap();
        assert_eq!(ok, Value::String("lacp".into()));
        let err = to_wire("mode", &Ty::Enum("bond_mode"), &Dynamic::from("fast")).unwrap_err();
        assert!(err.message.contains("balance-slb"), "{}", err.message);
        let d = to_wire(
            "when",
            &Ty::DateTime,
            &Dynamic::from("2026-11-22T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(d, Value::DateTime("20261122T10:00:00Z".into()));
    }

    #[test]
    fn results_are_typed_by_the_datamodel() {
        let v = from_wire(Some(&Ty::Int), Value::String("42".into()));
        assert_eq!(v.as_int().unwrap(), 42);
        let d = from_wire(
            Some(&Ty::DateTime),
            Value::DateTime("20261122T10:00:00Z".into()),
        );
        assert_eq!(d.into_string().unwrap(), "2026-11-22T10:00:00Z");
    }
}
