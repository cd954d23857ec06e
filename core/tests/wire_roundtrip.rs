//! Property tests: random `Value` trees round-trip through XML-RPC (both int styles) and
//! JSON-RPC; and a cross-check against Python's stdlib `xmlrpc.client` and `json`, a real
//! implementation none of us wrote (core/tests/py/wire_peer.py, one process per batch).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::json;
use xenpool::wire::xmlrpc::{self, IntStyle};
use xenpool::wire::{
    Format, JsonVersion, Limits, Response, Value, decode_call, decode_response, encode_call,
    encode_response,
};

const L: Limits = Limits {
    max_body_bytes: 1 << 24,
    max_depth: 64,
};

/// Text XML 1.0 can carry (no control bytes but TAB/LF/CR, no U+FFFE/U+FFFF), with the
/// characters that need escaping over-represented.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,12}",
        "[<&>\"' a\t\n\r]{0,8}",
        Just("OpaqueRef:NULL".to_string()),
    ]
}

fn datetime() -> impl Strategy<Value = String> {
    (
        1970u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}{mo:02}{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Double),
        Just(Value::Double(f64::NAN)),
        Just(Value::Double(f64::INFINITY)),
        Just(Value::Double(f64::NEG_INFINITY)),
        any::<bool>().prop_map(Value::Bool),
        datetime().prop_map(Value::DateTime),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|kv| Value::Struct(kv.into_iter().collect::<IndexMap<_, _>>())),
        ]
    })
}

/// Equality with NaN equal to NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}

/// Rewrites leaves: what a peer that does not know a type gets back.
fn map_leaves(v: &Value, f: &dyn Fn(&Value) -> Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| map_leaves(i, f)).collect()),
        Value::Struct(m) => Value::Struct(
            m.iter()
                .map(|(k, i)| (k.clone(), map_leaves(i, f)))
                .collect(),
        ),
        leaf => f(leaf),
    }
}

/// xapi's response style writes int64 untagged: standard readers see a string
/// (docs/wire-protocol.md#types); the
/// typed path also hands datetimes over as their text.
fn as_response_reader_sees(v: &Value) -> Value {
    map_leaves(v, &|leaf| match leaf {
        Value::Int(i) => Value::String(i.to_string()),
        Value::DateTime(t) => Value::String(t.clone()),
        other => other.clone(),
    })
}

/// JSON has no datetime type.
fn as_json_sees(v: &Value) -> Value {
    map_leaves(v, &|leaf| match leaf {
        Value::DateTime(t) => Value::String(t.clone()),
        other => other.clone(),
    })
}

fn success<T: std::fmt::Debug>(r: Response<T>) -> T {
    match r {
        Response::Success(v) => v,
        Response::Failure(f) => panic!("unexpected failure {f:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn xml_request_style_round_trips_exactly(params in prop::collection::vec(value(), 0..4)) {
        let body = encode_call(Format::XmlRpc, "VM.x", &params, 0);
        let call = decode_call(false, &body, &L).unwrap();
        prop_assert!(same(&Value::Array(call.params), &Value::Array(params)));
    }

    #[test]
    fn xml_response_style_round_trips_with_untagged_ints(v in value()) {
        let body = encode_response(Format::XmlRpc, None, Ok(&v));
        let back: Value = success(decode_response(Format::XmlRpc, &body, &L).unwrap());
        prop_assert!(same(&back, &as_response_reader_sees(&v)), "{back:?}");
    }

    #[test]
    fn serde_xml_serializer_matches_the_value_encoder(v in value(), request in any::<bool>()) {
        let style = if request { IntStyle::Request } else { IntStyle::Response };
        let mut direct = Vec::new();
        xmlrpc::to_xml(&mut direct, &v, style).unwrap();
        let mut via_value = Vec::new();
        xmlrpc::write_value(&mut via_value, &v, style);
        prop_assert_eq!(String::from_utf8(direct).unwrap(), String::from_utf8(via_value).unwrap());
    }

    #[test]
    fn json_round_trips(v in value(), v2 in any::<bool>()) {
        let version = if v2 { JsonVersion::V2 } else { JsonVersion::V1 };
        let id = json!(3);
        let body = encode_response(Format::JsonRpc(version), Some(&id), Ok(&v));
        let back: Value = success(decode_response(Format::JsonRpc(version), &body, &L).unwrap());
        prop_assert!(same(&back, &as_json_sees(&v)), "{back:?}");
        let call = encode_call(Format::JsonRpc(version), "VM.x", std::slice::from_ref(&v), 5);
        let call = decode_call(true, &call, &L).unwrap();
        prop_assert!(same(&call.params[0], &as_json_sees(&v)));
    }
}

// ---------------------------------------------------------------------------------------
// Python peer

fn tag(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => json!({ "s": s }),
        Value::Int(i) => json!({ "i": i.to_string() }),
        Value::Int32(i) => json!({ "i": i.to_string() }),
        Value::Double(d) if d.is_nan() => json!({ "d": "nan" }),
        Value::Double(d) if d.is_infinite() => {
            json!({ "d": if *d > 0.0 { "inf" } else { "-inf" } })
        }
        Value::Double(d) => json!({ "d": format!("{d:?}") }),
        Value::Bool(b) => json!({ "b": b }),
        Value::DateTime(t) => json!({ "t": t }),
        Value::Array(a) => json!({ "a": a.iter().map(tag).collect::<Vec<_>>() }),
        Value::Struct(m) => {
            json!({ "m": m.iter().map(|(k, v)| json!([k, tag(v)])).collect::<Vec<_>>() })
        }
        Value::Nil => json!({ "n": null }),
    }
}

fn untag(t: &serde_json::Value) -> Value {
    let (k, x) = t
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("tagged value");
    match k.as_str() {
        "s" => Value::String(x.as_str().unwrap().to_owned()),
        "i" => Value::Int(x.as_str().unwrap().parse().unwrap()),
        "d" => Value::Double(x.as_str().unwrap().parse().unwrap()),
        "b" => Value::Bool(x.as_bool().unwrap()),
        "t" => Value::DateTime(x.as_str().unwrap().to_owned()),
        "a" => Value::Array(x.as_array().unwrap().iter().map(untag).collect()),
        "m" => Value::Struct(
            x.as_array()
                .unwrap()
                .iter()
                .map(|kv| (kv[0].as_str().unwrap().to_owned(), untag(&kv[1])))
                .collect(),
        ),
        "n" => Value::Nil,
        other => panic!("bad tag {other}"),
    }
}

/// Sends every request to one Python process and returns its answers.
fn python(requests: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/wire_peer.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the stdlib cross-check (CI installs it); is it on PATH?");
    let mut stdin = child.stdin.take().unwrap();
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "python peer failed");
    assert_eq!(
        out.len(),
        requests.len(),
        "python answered {} of {}",
        out.len(),
        requests.len()
    );
    for (req, o) in requests.iter().zip(&out) {
        assert!(o.get("error").is_none(), "python failed on {req}: {o}");
    }
    out
}

fn samples(n: usize) -> Vec<Value> {
    let mut runner = TestRunner::deterministic();
    let strategy = value();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// What Python's xmlrpc.client can write: ints within i32 (it refuses larger).
fn python_writable(v: &Value) -> Value {
    map_leaves(v, &|leaf| match leaf {
        Value::Int(i) => Value::Int(i64::from(*i as i32)),
        other => other.clone(),
    })
}

/// XML readers normalise raw CR (Python writes it raw) to LF.
fn after_raw_cr(v: &Value) -> Value {
    let fix = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n");
    match v {
        Value::String(s) => Value::String(fix(s)),
        Value::Array(items) => Value::Array(items.iter().map(after_raw_cr).collect()),
        Value::Struct(m) => {
            Value::Struct(m.iter().map(|(k, i)| (fix(k), after_raw_cr(i))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn python_stdlib_reads_what_we_write() {
    let values = samples(150);
    let mut requests = Vec::new();
    for v in &values {
        let call = encode_call(Format::XmlRpc, "VM.ours", std::slice::from_ref(v), 0);
        requests.push(json!({"op": "xml_loads", "data": String::from_utf8(call).unwrap()}));
        let resp = encode_response(Format::XmlRpc, None, Ok(v));
        requests.push(json!({"op": "xml_loads", "data": String::from_utf8(resp).unwrap()}));
        let js = encode_response(Format::JsonRpc(JsonVersion::V2), Some(&json!(1)), Ok(v));
        requests.push(json!({"op": "json_loads", "data": String::from_utf8(js).unwrap()}));
    }
    let answers = python(&requests);
    for (i, v) in values.iter().enumerate() {
        let call = &answers[3 * i];
        assert_eq!(call["method"], "VM.ours");
        let got = untag(&call["params"][0]);
        assert!(
            same(&got, v),
            "xml call: python read {got:?}, we wrote {v:?}"
        );

        // Python sees the envelope struct; ints come back as strings, as with real xapi.
        let env = untag(&answers[3 * i + 1]["params"][0]);
        assert_eq!(env.get("Status"), Some(&Value::from("Success")));
        let want = map_leaves(v, &|leaf| match leaf {
            Value::Int(i) => Value::String(i.to_string()),
            other => other.clone(),
        });
        let got = env.get("Value").unwrap();
        assert!(
            same(got, &want),
            "xml response: python read {got:?}, we wrote {v:?}"
        );

        let js = untag(&answers[3 * i + 2]["value"]);
        let got = js.get("result").unwrap();
        assert!(
            same(got, &as_json_sees(v)),
            "json: python read {got:?}, we wrote {v:?}"
        );
    }
}

#[test]
fn we_read_what_python_stdlib_writes() {
    let values: Vec<Value> = samples(150).iter().map(python_writable).collect();
    let mut requests = Vec::new();
    for v in &values {
        requests.push(json!({"op": "xml_dumps_response", "value": tag(v)}));
        requests.push(json!({"op": "xml_dumps_call", "params": [tag(v), tag(&Value::Int(7))]}));
        requests.push(json!({"op": "json_dumps", "value": tag(&Value::Struct(
            [("jsonrpc".to_string(), Value::from("2.0")), ("result".to_string(), v.clone()),
             ("id".to_string(), Value::Int(1))].into_iter().collect()))}));
    }
    let answers = python(&requests);
    for (i, v) in values.iter().enumerate() {
        let text = |k: usize| {
            answers[3 * i + k]["data"]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec()
        };
        let want = after_raw_cr(v);

        let got: Value = success(decode_response(Format::XmlRpc, &text(0), &L).unwrap());
        // Python tags every type (`<string>`, `<int>`); only datetimes become text on the
        // typed path.
        assert!(
            same(&got, &as_json_sees(&want)),
            "xml response: we read {got:?}, python wrote {v:?}"
        );

        let call = decode_call(false, &text(1), &L).unwrap();
        assert_eq!(call.method, "VM.peer");
        assert!(
            same(&call.params[0], &want),
            "xml call: we read {:?}, python wrote {v:?}",
            call.params[0]
        );
        assert_eq!(call.params[1], Value::Int(7));

        let got: Value =
            success(decode_response(Format::JsonRpc(JsonVersion::V2), &text(2), &L).unwrap());
        assert!(
            same(&got, &as_json_sees(v)),
            "json: we read {got:?}, python wrote {v:?}"
        );
    }
}
