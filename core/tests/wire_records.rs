//! Typed round trips for every generated record type: random records built from the
//! metadata table (`xenpool::meta`) are encoded as a server would (XML-RPC, JSON-RPC 1.0
//! and 2.0), decoded with the client's typed decoder into the generated `…Record`,
//! and must come back exactly (NaN equal to NaN, maps compared as maps) when the typed
//! record is encoded again, both through `to_value` and through the serde XML serializer.
//!
//! The list of record types comes from the generator (`xenpool::for_each_record!`), so a
//! new class in the datamodel is covered without touching this file.

use std::fmt::Debug;

use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Serialize;
use serde::de::DeserializeOwned;
use xenpool::meta::{self, ClassMeta, Ty};
use xenpool::wire::xmlrpc::{self, IntStyle};
use xenpool::wire::{
    Format, JsonVersion, Limits, Response, Value, decode_response, encode_response, to_value,
};

const L: Limits = Limits {
    max_body_bytes: 1 << 26,
    max_depth: 64,
};

const CASES: u32 = 24;

/// Text XML 1.0 can carry (no control bytes but TAB/LF/CR, no U+FFFE/U+FFFF), with
/// characters that need escaping, unicode and the null reference over-represented.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,12}",
        "[<&>\"' a\t\n\r]{0,8}",
        "[a-zé€😀_-]{1,10}",
        Just("OpaqueRef:NULL".to_string()),
        Just(String::new()),
    ]
    .boxed()
}

fn float() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
    ]
    .boxed()
}

fn int() -> BoxedStrategy<i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        -5i64..5
    ]
    .boxed()
}

/// Datetimes in the form xapi writes (what the typed `DateTime` writes back).
fn datetime() -> BoxedStrategy<String> {
    (
        1900u32..2200,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}{mo:02}{d:02}T{h:02}:{mi:02}:{s:02}Z"))
        .boxed()
}

/// A value of the enum: a known one as spelled in the datamodel, or one this crate does
/// not know (kept verbatim as `Unknown`).
fn enum_value(name: &str) -> BoxedStrategy<String> {
    let values = meta::enumeration(name)
        .unwrap_or_else(|| panic!("enum {name} in the metadata"))
        .values;
    let unknown = "[a-z0-9_-]{0,8}"
        .prop_map(|s| format!("future_{s}"))
        .prop_filter("not a known value in another case", move |s| {
            !values.iter().any(|v| v.eq_ignore_ascii_case(s))
        });
    if values.is_empty() {
        unknown.boxed()
    } else {
        prop_oneof![3 => prop::sample::select(values).prop_map(str::to_owned), 1 => unknown].boxed()
    }
}

fn reference() -> BoxedStrategy<String> {
    prop_oneof![
        Just("OpaqueRef:NULL".to_string()),
        "[0-9a-f]{8}-[0-9a-f]{4}".prop_map(|s| format!("OpaqueRef:{s}")),
        text(),
    ]
    .boxed()
}

/// A map key as the wire carries it: always a string, in the form the typed key writes
/// back (canonical enum spelling, decimal ints).
fn key(ty: &'static Ty) -> BoxedStrategy<String> {
    match ty {
        Ty::String => text(),
        Ty::Enum(name) => enum_value(name),
        Ty::Ref(_) => reference(),
        Ty::Int => int().prop_map(|i| i.to_string()).boxed(),
        Ty::Bool => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        other => panic!("map keyed by {other} has no wire form to generate"),
    }
}

/// A random value of datamodel type `ty`.
fn value(ty: &'static Ty) -> BoxedStrategy<Value> {
    match ty {
        Ty::String => text().prop_map(Value::String).boxed(),
        Ty::Int => int().prop_map(Value::Int).boxed(),
        Ty::Float => float().prop_map(Value::Double).boxed(),
        Ty::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Ty::DateTime => datetime().prop_map(Value::DateTime).boxed(),
        Ty::Enum(name) => enum_value(name).prop_map(Value::String).boxed(),
        Ty::Ref(_) => reference().prop_map(Value::String).boxed(),
        Ty::Set(inner) => prop::collection::vec(value(inner), 0..4)
            .prop_map(Value::Array)
            .boxed(),
        Ty::Map(k, v) => prop::collection::vec((key(k), value(v)), 0..4)
            .prop_map(|kv| Value::Struct(kv.into_iter().collect::<IndexMap<_, _>>()))
            .boxed(),
        Ty::Record(class) => record(meta::class(class).unwrap_or_else(|| panic!("class {class}"))),
        Ty::Option(inner) => value(inner),
        // `event.snapshot`: a record of some class, typed as `Value`. Untagged strings
        // are what any reader gives back unchanged.
        Ty::Opaque(_) => prop::collection::vec((text(), text().prop_map(Value::String)), 0..4)
            .prop_map(|kv| Value::Struct(kv.into_iter().collect::<IndexMap<_, _>>()))
            .boxed(),
    }
}

/// A random record of `class`: every member present, except optional ones at random.
fn record(class: &'static ClassMeta) -> BoxedStrategy<Value> {
    let members: Vec<BoxedStrategy<Option<(String, Value)>>> = class
        .fields
        .iter()
        .map(|f| {
            let present = value(&f.ty).prop_map(move |v| Some((f.name.to_owned(), v)));
            match f.ty {
                Ty::Option(_) => prop_oneof![Just(None), present].boxed(),
                _ => present.boxed(),
            }
        })
        .collect();
    members
        .prop_map(|members| Value::Struct(members.into_iter().flatten().collect()))
        .boxed()
}

/// Equality with NaN equal to NaN and structs compared as maps (typed records keep map
/// members in a `HashMap`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// Names the first member that differs, for the failure message.
fn first_difference(a: &Value, b: &Value) -> String {
    if let (Value::Struct(x), Value::Struct(y)) = (a, b) {
        for (k, va) in x {
            match y.get(k) {
                None => return format!("{k}: missing after the round trip"),
                Some(vb) if !same(va, vb) => return format!("{k}: sent {va:?}, got {vb:?}"),
                _ => {}
            }
        }
        if let Some(k) = y.keys().find(|k| !x.contains_key(*k)) {
            return format!("{k}: appeared after the round trip");
        }
    }
    format!("sent {a:?}, got {b:?}")
}

fn decode<R: DeserializeOwned>(format: Format, body: &[u8]) -> Result<R, TestCaseError> {
    match decode_response::<R>(format, body, &L) {
        Ok(Response::Success(r)) => Ok(r),
        other => Err(TestCaseError::fail(format!(
            "{format:?}: {:?}",
            other.map(|_| ())
        ))),
    }
}

/// One record through every format and back.
fn round_trip<R>(sent: &Value) -> Result<(), TestCaseError>
where
    R: DeserializeOwned + Serialize + Debug,
{
    let id = serde_json::json!(7);
    for format in [
        Format::XmlRpc,
        Format::JsonRpc(JsonVersion::V1),
        Format::JsonRpc(JsonVersion::V2),
    ] {
        let body = encode_response(format, Some(&id), Ok(sent));
        let typed: R = decode(format, &body)?;
        let back = to_value(&typed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            same(sent, &back),
            "{format:?}: {}",
            first_difference(sent, &back)
        );

        // The typed record straight into XML with the serde serializer: the same bytes as
        // the `Value` encoder, and it decodes to the same record again.
        let mut direct = Vec::new();
        xmlrpc::to_xml(&mut direct, &typed, IntStyle::Response)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut via_value = Vec::new();
        xmlrpc::write_value(&mut via_value, &back, IntStyle::Response);
        prop_assert_eq!(&direct, &via_value);
        let mut body = b"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
            <member><name>Status</name><value>Success</value></member><member><name>Value</name>"
            .to_vec();
        body.extend_from_slice(&direct);
        body.extend_from_slice(b"</member></struct></value></param></params></methodResponse>");
        let again: R = decode(Format::XmlRpc, &body)?;
        let again = to_value(&again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            same(sent, &again),
            "serde XML: {}",
            first_difference(sent, &again)
        );
    }
    Ok(())
}

fn check<R>(wire: &str)
where
    R: DeserializeOwned + Serialize + Debug,
{
    let class = meta::class(wire).unwrap_or_else(|| panic!("class {wire} in the metadata"));
    let strategy = record(class);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, |sent| round_trip::<R>(&sent)) {
        panic!("{wire} record: {e}");
    }
}

macro_rules! check_every_record {
    ($($wire:literal => $marker:ty, $record:ty;)*) => {{
        let mut checked = Vec::new();
        $(
            check::<$record>($wire);
            checked.push($wire);
        )*
        checked
    }};
}

#[test]
fn every_generated_record_round_trips_through_xml_and_json() {
    let checked = xenpool::for_each_record!(check_every_record);
    // Every class of the metadata table, and nothing twice.
    let mut names: Vec<&str> = meta::classes().iter().map(|c| c.name).collect();
    let mut seen = checked.clone();
    names.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, names);
}
