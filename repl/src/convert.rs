//! Rhai values to and from the core's dynamic layer ([`xenpool::dynamic::Dyn`]): the
//! datamodel checks and conversions live there; this module only maps script values. A
//! record stays a typed Rust record ([`XenRecord`]) that scripts read by field name.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use xenpool::dynamic::{Dyn, Record, RefValue};

use crate::errors::XenError;
use crate::objects::{Host, Pool, Sr, Vm};

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

/// A record from the XenAPI, read by field: `r.name_label`, `r["VCPUs_max"]`.
#[derive(Debug, Clone)]
pub struct XenRecord(pub Record);

/// A script value as a dynamic-layer value.
pub fn to_dyn(what: &str, value: &Dynamic) -> Result<Dyn, XenError> {
    if let Some(o) = identify(value) {
        return Ok(Dyn::Ref(RefValue {
            class: o.class,
            reference: o.reference,
        }));
    }
    if let Some(r) = value.clone().try_cast::<XenRecord>() {
        return Ok(Dyn::Record(r.0));
    }
    if value.is_unit() {
        return Ok(Dyn::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Dyn::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Dyn::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Dyn::Float(f));
    }
    if let Ok(s) = value.clone().into_string() {
        return Ok(Dyn::String(s));
    }
    if let Ok(items) = value.clone().into_array() {
        return Ok(Dyn::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_dyn(&format!("{what}[{i}]"), v))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(map) = value.clone().try_cast::<Map>() {
        return Ok(Dyn::Map(
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        Dyn::String(k.to_string()),
                        to_dyn(&format!("{what}.{k}"), v)?,
                    ))
                })
                .collect::<Result<_, XenError>>()?,
        ));
    }
    Err(XenError::invalid(
        what,
        format!(
            "{what}: a {} cannot be sent to a XenAPI host",
            value.type_name()
        ),
    ))
}

/// A dynamic-layer value as a script value: integers as `i64`, datetimes as ISO 8601 text,
/// enums and references as strings, maps keyed by text, records as [`XenRecord`].
pub fn from_dyn(value: Dyn) -> Dynamic {
    match value {
        Dyn::Null => Dynamic::UNIT,
        Dyn::Bool(b) => b.into(),
        Dyn::Int(i) => i.into(),
        Dyn::Float(f) => f.into(),
        Dyn::String(s) => s.into(),
        Dyn::DateTime(d) => d.to_string().into(),
        Dyn::Enum(e) => e.value.into(),
        Dyn::Ref(r) => r.reference.into(),
        Dyn::Array(items) => items.into_iter().map(from_dyn).collect::<Array>().into(),
        Dyn::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| (key_text(k).into(), from_dyn(v)))
            .collect::<Map>()
            .into(),
        Dyn::Record(r) => Dynamic::from(XenRecord(r)),
    }
}

fn key_text(key: Dyn) -> String {
    match key {
        Dyn::String(s) => s,
        Dyn::Enum(e) => e.value,
        Dyn::Ref(r) => r.reference,
        Dyn::Int(i) => i.to_string(),
        Dyn::Float(f) => f.to_string(),
        Dyn::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// The record as a script map (every field converted).
fn to_map(r: &XenRecord) -> Map {
    r.0.fields()
        .into_iter()
        .map(|(k, v)| (k.into(), from_dyn(v)))
        .collect()
}

/// Registers [`XenRecord`]: field access by name (also as properties), `to_map()`, and
/// printing as a map.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<XenRecord>("XenRecord")
        .register_indexer_get(
            |r: &mut XenRecord, name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
                r.0.field(name).map(from_dyn).ok_or_else(|| {
                    XenError::invalid(
                        name,
                        format!("a {} record has no field {name:?}", r.0.class_name()),
                    )
                    .into_rhai()
                })
            },
        )
        .register_fn("to_map", |r: &mut XenRecord| to_map(r))
        .register_fn("keys", |r: &mut XenRecord| {
            r.0.fields()
                .into_iter()
                .map(|(k, _)| Dynamic::from(k.to_string()))
                .collect::<Array>()
        })
        .register_fn("to_string", |r: &mut XenRecord| {
            Dynamic::from(to_map(r)).to_string()
        })
        .register_fn("to_debug", |r: &mut XenRecord| {
            format!("{}{}", r.0.class_name(), Dynamic::from(to_map(r)))
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_values_map_onto_the_dynamic_layer_and_back() {
        let mut map = Map::new();
        map.insert("n".into(), Dynamic::from(3_i64));
        let d = to_dyn("x", &Dynamic::from(map)).unwrap();
        assert_eq!(d, Dyn::map([("n", Dyn::Int(3))]));
        assert!(to_dyn("x", &Dynamic::from(std::time::Instant::now())).is_err());
        let back = from_dyn(Dyn::DateTime(
            xenpool::DateTime::parse("20261122T10:00:00Z").unwrap(),
        ));
        assert_eq!(back.into_string().unwrap(), "2026-11-22T10:00:00Z");
    }
}
