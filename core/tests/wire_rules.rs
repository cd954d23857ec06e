//! Every encoding rule of docs/wire-protocol.md#envelopes and docs/wire-protocol.md#types, in both
//! directions.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use xenpool::DateTime;
use xenpool::wire::{
    self, Format, JsonVersion, Limits, ProtocolErrorKind, Response, Value, decode_call,
    decode_response, encode_call, encode_response, from_value, to_value,
};

const L: Limits = Limits {
    max_body_bytes: 1 << 20,
    max_depth: 16,
};

fn xml_resp(value_xml: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
         <member><name>Status</name><value>Success</value></member>\
         <member><name>Value</name>{value_xml}</member></struct></value></param></params>\
         </methodResponse>"
    )
    .into_bytes()
}

fn xml<T: serde::de::DeserializeOwned>(value_xml: &str) -> Result<T, wire::ProtocolError> {
    match decode_response::<T>(Format::XmlRpc, &xml_resp(value_xml), &L)? {
        Response::Success(v) => Ok(v),
        Response::Failure(f) => panic!("unexpected failure {f:?}"),
    }
}

fn json<T: serde::de::DeserializeOwned>(result: &str) -> Result<T, wire::ProtocolError> {
    let body = format!("{{\"jsonrpc\":\"2.0\",\"result\":{result},\"id\":1}}");
    match decode_response::<T>(Format::JsonRpc(JsonVersion::V2), body.as_bytes(), &L)? {
        Response::Success(v) => Ok(v),
        Response::Failure(f) => panic!("unexpected failure {f:?}"),
    }
}

fn s(x: &str) -> Value {
    Value::from(x)
}

fn st(members: &[(&str, Value)]) -> Value {
    Value::Struct(
        members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// XML-RPC decoding (docs/wire-protocol.md#types, what xapi reads)

#[test]
fn xml_untagged_value_is_a_string_and_an_int_when_asked() {
    assert_eq!(xml::<String>("<value>123</value>").unwrap(), "123");
    assert_eq!(xml::<i64>("<value>123</value>").unwrap(), 123);
    assert_eq!(
        xml::<i64>("<value>-9223372036854775808</value>").unwrap(),
        i64::MIN
    );
    assert_eq!(
        xml::<u64>("<value>18446744073709551615</value>").unwrap(),
        u64::MAX
    );
    assert_eq!(xml::<i32>("<value><string>7</string></value>").unwrap(), 7);
    for tag in ["i4", "int", "i8"] {
        assert_eq!(
            xml::<i64>(&format!("<value><{tag}>-5</{tag}></value>")).unwrap(),
            -5
        );
    }
    // Value keeps what it sees: untagged → String, typed int → Int.
    assert_eq!(xml::<Value>("<value>123</value>").unwrap(), s("123"));
    assert_eq!(
        xml::<Value>("<value><i4>1</i4></value>").unwrap(),
        Value::Int(1)
    );
}

#[test]
fn xml_empty_values_are_empty_strings_and_void() {
    assert_eq!(xml::<String>("<value/>").unwrap(), "");
    assert_eq!(xml::<String>("<value></value>").unwrap(), "");
    assert_eq!(xml::<String>("<value><string/></value>").unwrap(), "");
    xml::<IgnoredAny>("<value></value>").unwrap();
    xml::<()>("<value></value>").unwrap();
    // void decodes from anything
    xml::<()>("<value><struct><member><name>a</name><value>1</value></member></struct></value>")
        .unwrap();
}

#[test]
fn xml_whitespace_inside_untagged_value_is_content_between_tags_it_is_not() {
    assert_eq!(
        xml::<String>("<value>  a b \n</value>").unwrap(),
        "  a b \n"
    );
    assert_eq!(xml::<String>("<value>   </value>").unwrap(), "   ");
    assert_eq!(xml::<i64>("<value>\n  <int>4</int>\n</value>").unwrap(), 4);
    let v: HashMap<String, i64> = xml(
        "<value>\n<struct>\n <member>\n  <name>a</name>\n  <value><i4>1</i4></value>\n \
            </member>\n</struct>\n</value>",
    )
    .unwrap();
    assert_eq!(v["a"], 1);
}

#[test]
fn xml_boolean_only_1_is_true() {
    assert!(xml::<bool>("<value><boolean>1</boolean></value>").unwrap());
    assert!(!xml::<bool>("<value><boolean>0</boolean></value>").unwrap());
    // xapi: anything but "1" is false, even "true" (docs/wire-protocol.md#types).
    assert!(!xml::<bool>("<value><boolean>true</boolean></value>").unwrap());
    assert_eq!(
        xml::<Value>("<value><boolean>true</boolean></value>").unwrap(),
        Value::Bool(false)
    );
}

#[test]
fn xml_doubles_in_every_form() {
    let d = |x: &str| xml::<f64>(&format!("<value><double>{x}</double></value>")).unwrap();
    assert!(d("nan").is_nan());
    assert!(d("NaN").is_nan());
    assert!(d("-nan").is_nan());
    assert_eq!(d("inf"), f64::INFINITY);
    assert_eq!(d("-inf"), f64::NEG_INFINITY);
    assert_eq!(d("Infinity"), f64::INFINITY);
    assert_eq!(d("1"), 1.0);
    assert_eq!(d("0.25"), 0.25);
    assert_eq!(d("0.1000000000000000"), 0.1);
    assert_eq!(d("1e+300"), 1e300);
    // ints and numeric strings are accepted for floats
    assert_eq!(xml::<f64>("<value><i4>3</i4></value>").unwrap(), 3.0);
    assert_eq!(xml::<f64>("<value>2.5</value>").unwrap(), 2.5);
    assert!(xml::<f64>("<value>nan</value>").unwrap().is_nan());
}

#[test]
fn xml_datetimes_in_each_form() {
    let want = DateTime::parse("20261121T10:11:12Z").unwrap();
    for form in [
        "20261121T10:11:12Z",
        "20261121T10:11:12",
        "20261121T101112Z",
        "2026-11-21T10:11:12Z",
        "2026-11-21T11:11:12+01:00",
        "2026-11-21T10:11:12.000Z",
    ] {
        let tagged = format!("<value><dateTime.iso8601>{form}</dateTime.iso8601></value>");
        assert_eq!(xml::<DateTime>(&tagged).unwrap(), want, "{form}");
        assert_eq!(
            xml::<DateTime>(&format!("<value>{form}</value>")).unwrap(),
            want,
            "{form}"
        );
        assert_eq!(xml::<String>(&tagged).unwrap(), form);
    }
    assert!(xml::<DateTime>("<value>yesterday</value>").is_err());
}

#[test]
fn xml_refs_pass_through_including_null() {
    assert_eq!(
        xml::<String>("<value>OpaqueRef:NULL</value>").unwrap(),
        "OpaqueRef:NULL"
    );
    struct Vm;
    let r: xenpool::Ref<Vm> = xml("<value>OpaqueRef:NULL</value>").unwrap();
    assert!(r.is_null());
}

#[test]
fn xml_unescapes_entities_and_char_refs() {
    assert_eq!(
        xml::<String>(
            "<value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#13;</value>"
        )
        .unwrap(),
        "a & b <c> \"d\" 'e' AB\r"
    );
    assert_eq!(
        xml::<String>("<value><![CDATA[<raw>]]></value>").unwrap(),
        "<raw>"
    );
    let e = xml::<String>("<value>&nbsp;</value>").unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::Malformed);
}

/// xapi's own shape (bare tags, nothing between them) is read without quick-xml's events;
/// every other shape must still decode, or fail, exactly as the event path does.
#[test]
fn xml_shapes_around_the_fast_path() {
    fn map(members: &str) -> Result<HashMap<String, String>, wire::ProtocolError> {
        xml(&format!("<value><struct>{members}</struct></value>"))
    }
    let pairs = |kv: &[(&str, &str)]| -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let plain = "<member><name>k</name><value>v</value></member>";
    // The plain shape, an empty value, and typed scalars inside it.
    assert_eq!(map(plain).unwrap(), pairs(&[("k", "v")]));
    assert_eq!(
        map("<member><name>k</name><value></value></member>").unwrap(),
        pairs(&[("k", "")])
    );
    assert_eq!(
        map("<member><name>k</name><value><string>s</string></value></member>").unwrap(),
        pairs(&[("k", "s")])
    );
    // Each irregular shape, followed by a plain member that must still read right.
    for (shape, k, v) in [
        (
            "<member><name>a</name ><value>b</value\t></member >",
            "a",
            "b",
        ),
        (
            "<member><name>a&amp;b</name><value>&lt;x</value></member>",
            "a&b",
            "<x",
        ),
        (
            "<member><name><![CDATA[a]]></name><value>b<![CDATA[c]]></value></member>",
            "a",
            "bc",
        ),
        (
            "<member>\n <name>a</name>\n <value>b</value>\n</member>\n",
            "a",
            "b",
        ),
        (
            "<member><name>a</name><value>\n<string>b</string>\n</value></member>",
            "a",
            "b",
        ),
        (
            "<member><name>a</name><value><string >b</string></value></member>",
            "a",
            "b",
        ),
        // A CR in a text sends that text down the event path, which normalises it.
        (
            "<member><name>a</name><value>b\r\nc\rd</value></member>",
            "a",
            "b\nc\nd",
        ),
    ] {
        assert_eq!(
            map(&format!("{shape}{plain}")).unwrap(),
            pairs(&[(k, v), ("k", "v")]),
            "{shape}"
        );
        assert_eq!(
            map(&format!("{plain}{shape}")).unwrap(),
            pairs(&[("k", "v"), (k, v)]),
            "{shape}"
        );
    }
    // Typed scalars and arrays with irregular end tags.
    assert_eq!(xml::<i64>("<value><int>7</int ></value>").unwrap(), 7);
    assert!(xml::<bool>("<value><boolean>1</boolean></value >").unwrap());
    assert_eq!(
        xml::<Vec<String>>("<value><array><data><value>a</value>\n<value/></data></array></value>")
            .unwrap(),
        ["a", ""]
    );
    // A wrong end tag right after the text is still an error, not a silent skip.
    for bad in [
        "<member><name>k</value><value>v</value></member>",
        "<member><name>k</name><value>v</name></member>",
        "<member><name>k</name><value><int>1</value></value></member>",
        "<member><name>k</name><value>v</value></struct>",
    ] {
        let e = map(bad).unwrap_err();
        assert_eq!(e.kind, wire::ProtocolErrorKind::Malformed, "{bad}: {e}");
    }
    // Invalid UTF-8 after plain members is still refused.
    let mut body = xml_resp(&format!(
        "<value><struct>{plain}<member><name>bad</name><value>X</value></member></struct></value>"
    ));
    let x = body.iter().position(|&b| b == b'X').unwrap();
    body[x] = 0xff;
    let e = decode_response::<HashMap<String, String>>(Format::XmlRpc, &body, &L).unwrap_err();
    assert_eq!(e.kind, wire::ProtocolErrorKind::Malformed, "{e}");
}

/// Error positions count the bytes the fast path read behind quick-xml's back.
#[test]
fn xml_error_positions_are_input_offsets() {
    let body = xml_resp(
        "<value><struct><member><name>k</name><value>v</value></member>\
         <member><name>j</name><value>a &b c</value></member></struct></value>",
    );
    let amp = body.iter().position(|&b| b == b'&').unwrap();
    let e = decode_response::<HashMap<String, String>>(Format::XmlRpc, &body, &L).unwrap_err();
    assert_eq!(e.kind, wire::ProtocolErrorKind::Malformed, "{e}");
    assert!(
        e.message.contains(&format!("at byte {amp}:")),
        "{e} (the `&` is at {amp})"
    );
}

#[test]
fn xml_structs_arrays_and_int_keys() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Rec {
        name_label: String,
        memory: i64,
        tags: Vec<String>,
        other_config: HashMap<String, String>,
        vcpus: HashMap<i64, f64>,
        maybe: Option<String>,
    }
    let r: Rec = xml("<value><struct>\
         <member><name>vcpus</name><value><struct><member><name>0</name>\
         <value><double>0.5</double></value></member></struct></value></member>\
         <member><name>memory</name><value>4294967296</value></member>\
         <member><name>unknown_field</name>\
         <value><array><data><value>x</value></data></array></value></member>\
         <member><name>tags</name>\
         <value><array><data><value>a</value><value/></data></array></value></member>\
         <member><name>other_config</name><value><struct/></value></member>\
         <member><name>name_label</name><value>vm &amp; co</value></member>\
         </struct></value>")
    .unwrap();
    assert_eq!(
        r,
        Rec {
            name_label: "vm & co".into(),
            memory: 1 << 32,
            tags: vec!["a".into(), String::new()],
            other_config: HashMap::new(),
            vcpus: HashMap::from([(0, 0.5)]),
            maybe: None,
        }
    );
    assert_eq!(
        xml::<Vec<String>>("<value><array><data/></array></value>")
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        xml::<Vec<String>>("<value><array/></value>").unwrap().len(),
        0
    );
    assert_eq!(
        xml::<Option<String>>("<value><nil/></value>").unwrap(),
        None
    );
}

#[test]
fn xml_enums_are_case_insensitive() {
    #[derive(Deserialize, Debug, PartialEq)]
    enum Power {
        Running,
        Halted,
    }
    assert_eq!(
        xml::<Power>("<value>running</value>").unwrap(),
        Power::Running
    );
    assert_eq!(
        xml::<Power>("<value>Halted</value>").unwrap(),
        Power::Halted
    );
}

#[test]
fn xml_wrong_types_name_what_was_expected_and_where() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Rec {
        memory: i64,
    }
    let e = xml::<HashMap<String, Rec>>(
        "<value><struct><member><name>OpaqueRef:1</name><value><struct><member><name>memory\
            </name><value>lots</value></member></struct></value></member></struct></value>",
    )
    .unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::WrongType);
    assert!(e.message.contains("OpaqueRef:1.memory"), "{}", e.message);
    assert!(e.message.contains("integer"), "{}", e.message);
    let e = xml::<i64>("<value><struct/></value>").unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::WrongType);
    let e = xml::<bool>("<value>1</value>").unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::WrongType);
}

// ---------------------------------------------------------------------------------------
// XML-RPC envelopes (docs/wire-protocol.md#envelopes)

#[test]
fn xml_failure_envelope_and_member_order() {
    let body = b"<methodResponse><params><param><value><struct>\
        <member><name>ErrorDescription</name><value><array><data>\
        <value>HOST_IS_SLAVE</value><value>10.0.0.1</value></data></array></value></member>\
        <member><name>Status</name><value>Failure</value></member>\
        </struct></value></param></params></methodResponse>";
    assert_eq!(
        decode_response::<IgnoredAny>(Format::XmlRpc, body, &L).unwrap(),
        Response::Failure(vec!["HOST_IS_SLAVE".into(), "10.0.0.1".into()])
    );
    // Value before Status.
    let body = b"<methodResponse><params><param><value><struct>\
        <member><name>Value</name><value>OpaqueRef:x</value></member>\
        <member><name>Status</name><value>Success</value></member>\
        </struct></value></param></params></methodResponse>";
    assert_eq!(
        decode_response::<String>(Format::XmlRpc, body, &L).unwrap(),
        Response::Success("OpaqueRef:x".to_string())
    );
}

#[test]
fn xml_fault_and_bad_envelopes() {
    let body = b"<?xml version='1.0'?><methodResponse><fault><value><struct>\
        <member><name>faultCode</name><value><int>42</int></value></member>\
        <member><name>faultString</name><value><string>boom</string></value></member>\
        </struct></value></fault></methodResponse>";
    assert_eq!(
        decode_response::<String>(Format::XmlRpc, body, &L).unwrap(),
        Response::Failure(vec!["XMLRPC_FAULT".into(), "42".into(), "boom".into()])
    );
    for body in [
        &b"<methodResponse><params><param><value>x</value></param></params></methodResponse>"[..],
        b"<methodResponse><params><param><value><struct><member><name>Value</name><value>x\
            </value></member></struct></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><struct><member><name>Status</name>\
            <value>Success</value></member></struct></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><struct><member><name>Status</name>\
            <value>Maybe</value></member></struct></value></param></params></methodResponse>",
        b"<methodCall></methodCall>",
    ] {
        let e = decode_response::<String>(Format::XmlRpc, body, &L).unwrap_err();
        assert_eq!(
            e.kind,
            ProtocolErrorKind::BadEnvelope,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn xml_bare_response_for_list_methods() {
    let body = wire::xmlrpc::encode_bare_response(&Value::Array(vec![s("VM.start"), s("VM.stop")]));
    assert_eq!(
        wire::xmlrpc::decode_bare_response::<Vec<String>>(&body, &L).unwrap(),
        Response::Success(vec!["VM.start".to_string(), "VM.stop".to_string()])
    );
}

// ---------------------------------------------------------------------------------------
// XML-RPC encoding (docs/wire-protocol.md#types, what xapi writes)

fn enc_resp(v: &Value) -> String {
    String::from_utf8(encode_response(Format::XmlRpc, None, Ok(v))).unwrap()
}

fn enc_call(params: &[Value]) -> String {
    String::from_utf8(encode_call(Format::XmlRpc, "VM.start", params, 1)).unwrap()
}

#[test]
fn xml_response_style_writes_like_xapi() {
    let r = enc_resp(&st(&[
        ("s", s("a&b<c>\"d\"")),
        ("i", Value::Int(1 << 40)),
        ("b", Value::Bool(true)),
        ("f", Value::Bool(false)),
        ("d", Value::Double(0.25)),
        ("n", Value::Double(f64::NAN)),
        ("p", Value::Double(f64::INFINITY)),
        ("m", Value::Double(f64::NEG_INFINITY)),
        ("t", Value::DateTime("20261121T10:11:12Z".into())),
        ("a", Value::Array(vec![])),
    ]));
    assert!(
        r.starts_with(
            "<?xml version=\"1.0\"?><methodResponse><params><param><value>\
        <struct><member><name>Status</name><value>Success</value></member><member><name>Value\
        </name>"
        ),
        "{r}"
    );
    for part in [
        "<value>a&amp;b&lt;c&gt;&quot;d&quot;</value>",
        "<value>1099511627776</value>",
        "<value><boolean>1</boolean></value>",
        "<value><boolean>0</boolean></value>",
        "<value><double>0.25</double></value>",
        "<value><double>nan</double></value>",
        "<value><double>inf</double></value>",
        "<value><double>-inf</double></value>",
        "<value><dateTime.iso8601>20261121T10:11:12Z</dateTime.iso8601></value>",
        "<value><array><data></data></array></value>",
    ] {
        assert!(r.contains(part), "{part} not in {r}");
    }
}

#[test]
fn xml_request_style_tags_ints_by_size() {
    let c = enc_call(&[
        Value::Int(5),
        Value::Int(i64::from(i32::MAX) + 1),
        Value::Int(-7),
    ]);
    assert_eq!(
        c,
        "<?xml version=\"1.0\"?><methodCall><methodName>VM.start</methodName><params>\
         <param><value><int>5</int></value></param>\
         <param><value><i8>2147483648</i8></value></param>\
         <param><value><int>-7</int></value></param></params></methodCall>"
    );
}

#[test]
fn xml_control_bytes_are_dropped_except_tab_lf_cr() {
    let r = enc_resp(&s("a\u{1}b\u{1f}c\td\ne\rf"));
    assert!(r.contains("<value>abc\td\ne&#13;f</value>"), "{r}");
    assert_eq!(
        xml::<String>(
            &r[r.find("<value>abc").unwrap()
                ..r.find("</member></struct></value></param>").unwrap()]
        )
        .unwrap(),
        "abc\td\ne\rf"
    );
}

#[test]
fn xml_failure_is_encoded_as_status_and_description() {
    let r = String::from_utf8(encode_response(
        Format::XmlRpc,
        None,
        Err(&["HOST_IS_SLAVE".to_string(), "10.0.0.1".to_string()]),
    ))
    .unwrap();
    assert!(
        r.contains(
            "<member><name>Status</name><value>Failure</value></member><member>\
        <name>ErrorDescription</name><value><array><data><value>HOST_IS_SLAVE</value>\
        <value>10.0.0.1</value></data></array></value></member>"
        ),
        "{r}"
    );
    assert_eq!(
        decode_response::<String>(Format::XmlRpc, r.as_bytes(), &L).unwrap(),
        Response::Failure(vec!["HOST_IS_SLAVE".into(), "10.0.0.1".into()])
    );
}

#[test]
fn xml_call_round_trip_keeps_types() {
    let params = vec![
        s("OpaqueRef:NULL"),
        Value::Int(i64::MAX),
        Value::Bool(true),
        Value::Double(-0.5),
        Value::DateTime("19700101T00:00:00Z".into()),
        st(&[("k", Value::Array(vec![s(""), Value::Nil]))]),
    ];
    let body = encode_call(Format::XmlRpc, "VM.set_x", &params, 0);
    let call = decode_call(false, &body, &L).unwrap();
    assert_eq!(call.method, "VM.set_x");
    assert_eq!(call.params, params);
    assert_eq!(call.format, Format::XmlRpc);
    assert_eq!(call.id, None);
    // Untagged params stay strings for the server to coerce.
    let body = b"<methodCall><methodName>VM.get_all</methodName><params><param><value>12\
        </value></param></params></methodCall>";
    assert_eq!(decode_call(false, body, &L).unwrap().params, vec![s("12")]);
    let body = b"<methodCall><methodName>system.listMethods</methodName></methodCall>";
    assert_eq!(decode_call(false, body, &L).unwrap().params, vec![]);
}

#[test]
fn xml_task_result_fragment() {
    let v = wire::xmlrpc::decode_value(
        b"<value><array><data><value>OpaqueRef:a</value></data></array></value>",
        &L,
    )
    .unwrap();
    assert_eq!(v, Value::Array(vec![s("OpaqueRef:a")]));
}

// ---------------------------------------------------------------------------------------
// JSON-RPC (docs/wire-protocol.md#envelopes, docs/wire-protocol.md#types)

#[test]
fn json_response_shapes() {
    let v1_ok = br#"{"result": "OpaqueRef:x", "error": null, "id": 1}"#;
    let v1_err = br#"{"result": null, "error": ["SESSION_INVALID", "OpaqueRef:s"], "id": 1}"#;
    let v2_ok = br#"{"jsonrpc": "2.0", "result": 5, "id": 1}"#;
    let v2_err =
        b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"HOST_IS_SLAVE\",\"data\":[\
            \"10.0.0.1\"]},\"id\":1}";
    let pre = br#"{"jsonrpc":"2.0","error":["HOST_STILL_BOOTING"],"id":0}"#;
    let f = Format::JsonRpc(JsonVersion::V1);
    assert_eq!(
        decode_response::<String>(f, v1_ok, &L).unwrap(),
        Response::Success("OpaqueRef:x".into())
    );
    assert_eq!(
        decode_response::<String>(f, v1_err, &L).unwrap(),
        Response::Failure(vec!["SESSION_INVALID".into(), "OpaqueRef:s".into()])
    );
    assert_eq!(
        decode_response::<i64>(f, v2_ok, &L).unwrap(),
        Response::Success(5)
    );
    assert_eq!(
        decode_response::<i64>(f, v2_err, &L).unwrap(),
        Response::Failure(vec!["HOST_IS_SLAVE".into(), "10.0.0.1".into()])
    );
    assert_eq!(
        decode_response::<i64>(f, pre, &L).unwrap(),
        Response::Failure(vec!["HOST_STILL_BOOTING".into()])
    );
    let e = decode_response::<i64>(f, br#"{"id":1}"#, &L).unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::BadEnvelope);
    // Error objects that are not XenAPI failures are broken replies, not failures.
    for broken in [
        &br#"{"jsonrpc":"2.0","error":{"code":"1","message":"X","data":[]},"id":1}"#[..],
        br#"{"jsonrpc":"2.0","error":{"code":1.5,"message":"X"},"id":1}"#,
        br#"{"jsonrpc":"2.0","error":{"message":"X"},"id":1}"#,
        br#"{"jsonrpc":"2.0","error":{"code":1,"message":["X"]},"id":1}"#,
        br#"{"jsonrpc":"2.0","error":{"code":1},"id":1}"#,
        br#"{"result":5,"error":["SESSION_INVALID"],"id":1}"#,
        br#"{"jsonrpc":"2.0","result":5,"error":{"code":1,"message":"X"},"id":1}"#,
    ] {
        let e = decode_response::<i64>(f, broken, &L).unwrap_err();
        assert_eq!(
            e.kind,
            ProtocolErrorKind::BadEnvelope,
            "{}",
            String::from_utf8_lossy(broken)
        );
    }
}

#[test]
fn json_void_and_lenient_numbers() {
    json::<IgnoredAny>("\"\"").unwrap();
    json::<()>("\"\"").unwrap();
    assert_eq!(json::<i64>("\"42\"").unwrap(), 42);
    assert_eq!(json::<f64>("3").unwrap(), 3.0);
    assert_eq!(json::<f64>("\"0.5\"").unwrap(), 0.5);
    assert_eq!(json::<Option<i64>>("null").unwrap(), None);
    assert_eq!(
        json::<Value>("[1, 1.5, \"x\", true, null]").unwrap(),
        Value::Array(vec![
            Value::Int(1),
            Value::Double(1.5),
            s("x"),
            Value::Bool(true),
            Value::Nil
        ])
    );
    let e = json::<i64>("\"abc\"").unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::WrongType);
}

#[test]
fn json_bare_nan_and_infinity_decode() {
    #[derive(Deserialize, Debug)]
    struct Metrics {
        load: f64,
        up: f64,
        down: f64,
        name: String,
        other: HashMap<String, String>,
    }
    let body = b"{\"jsonrpc\":\"2.0\",\"result\":{\"load\":NaN,\"up\":Infinity,\"down\
        \":-Infinity,\"name\":\"NaN Infinity \\\" NaN\",\"other\":{\"k\":\"-Infinity\"}},\"id\
        \":1}";
    let Response::Success(m) =
        decode_response::<Metrics>(Format::JsonRpc(JsonVersion::V2), body, &L).unwrap()
    else {
        panic!()
    };
    assert!(m.load.is_nan());
    assert_eq!(m.up, f64::INFINITY);
    assert_eq!(m.down, f64::NEG_INFINITY);
    assert_eq!(m.name, "NaN Infinity \" NaN");
    assert_eq!(m.other["k"], "-Infinity");
    // As a Value the bare tokens stay doubles.
    let v: Value = json("[NaN, -Infinity, \"NaN\"]").unwrap();
    let Value::Array(items) = v else { panic!() };
    assert!(matches!(items[0], Value::Double(d) if d.is_nan()));
    assert_eq!(items[1], Value::Double(f64::NEG_INFINITY));
    assert_eq!(items[2], s("NaN"));
    // A string that merely starts with an escaped NUL stays a string.
    let v: Value = json(r#"["\u0000NaN", 1]"#).unwrap();
    assert_eq!(v, Value::Array(vec![s("\u{0}NaN"), Value::Int(1)]));
}

#[test]
fn json_encoding_of_values() {
    let v = st(&[
        ("i", Value::Int(i64::MIN)),
        ("s", s("a\"b")),
        ("b", Value::Bool(false)),
        ("d", Value::Double(0.1)),
        ("n", Value::Double(f64::NAN)),
        ("p", Value::Double(f64::INFINITY)),
        ("m", Value::Double(f64::NEG_INFINITY)),
        ("t", Value::DateTime("20261121T10:11:12Z".into())),
        ("a", Value::Array(vec![Value::Nil])),
    ]);
    let id = serde_json::json!(7);
    let out = String::from_utf8(encode_response(
        Format::JsonRpc(JsonVersion::V2),
        Some(&id),
        Ok(&v),
    ))
    .unwrap();
    assert_eq!(
        out,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"i\":-9223372036854775808,\"s\":\"a\\\"b\",\"b\
            \":false,\"d\":0.1,\"n\":NaN,\"p\":Infinity,\"m\":-Infinity,\"t\":\
            \"20261121T10:11:12Z\",\"a\":[null]},\"id\":7}"
    );
    let out = String::from_utf8(encode_response(
        Format::JsonRpc(JsonVersion::V1),
        Some(&id),
        Ok(&s("x")),
    ))
    .unwrap();
    assert_eq!(out, r#"{"result":"x","error":null,"id":7}"#);
    let err = ["SESSION_INVALID".to_string(), "r".to_string()];
    let out = String::from_utf8(encode_response(
        Format::JsonRpc(JsonVersion::V1),
        Some(&id),
        Err(&err),
    ))
    .unwrap();
    assert_eq!(
        out,
        r#"{"result":null,"error":["SESSION_INVALID","r"],"id":7}"#
    );
    let sid = serde_json::json!("abc");
    let out = String::from_utf8(encode_response(
        Format::JsonRpc(JsonVersion::V2),
        Some(&sid),
        Err(&err),
    ))
    .unwrap();
    assert_eq!(
        out,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"SESSION_INVALID\",\"data\
            \":[\"r\"]},\"id\":\"abc\"}"
    );
}

#[test]
fn json_calls_both_versions() {
    let params = vec![
        s("OpaqueRef:s"),
        Value::Int(1 << 40),
        Value::Double(f64::NAN),
    ];
    let v2 = encode_call(Format::JsonRpc(JsonVersion::V2), "VM.start", &params, 9);
    assert!(v2.starts_with(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"VM.start\",\"params\":[\
        \"OpaqueRef:s\",1099511627776,NaN],\"id\":9}"
    ));
    let call = decode_call(true, &v2, &L).unwrap();
    assert_eq!(call.method, "VM.start");
    assert_eq!(call.format, Format::JsonRpc(JsonVersion::V2));
    assert_eq!(call.id, Some(serde_json::json!(9)));
    assert_eq!(call.params[..2], params[..2]);
    assert!(matches!(call.params[2], Value::Double(d) if d.is_nan()));
    let v1 = encode_call(
        Format::JsonRpc(JsonVersion::V1),
        "session.logout",
        &params[..1],
        3,
    );
    assert_eq!(
        v1,
        br#"{"method":"session.logout","params":["OpaqueRef:s"],"id":3}"#
    );
    let call = decode_call(true, &v1, &L).unwrap();
    assert_eq!(call.format, Format::JsonRpc(JsonVersion::V1));

    // 2.0 params: object → one struct param; absent/null → none.
    let c = decode_call(
        true,
        br#"{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":"x"}"#,
        &L,
    )
    .unwrap();
    assert_eq!(c.params, vec![st(&[("a", Value::Int(1))])]);
    let c = decode_call(true, br#"{"jsonrpc":"2.0","method":"m","id":1}"#, &L).unwrap();
    assert!(c.params.is_empty());
    let c = decode_call(
        true,
        br#"{"jsonrpc":"2.0","method":"m","params":null,"id":1}"#,
        &L,
    )
    .unwrap();
    assert!(c.params.is_empty());
    // Refused: notifications, 1.0 without array params, other versions.
    for (body, kind) in [
        (
            &br#"{"jsonrpc":"2.0","method":"m","params":[]}"#[..],
            ProtocolErrorKind::BadEnvelope,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":[],"id":null}"#,
            ProtocolErrorKind::BadEnvelope,
        ),
        (
            br#"{"method":"m","params":{"a":1},"id":1}"#,
            ProtocolErrorKind::BadEnvelope,
        ),
        (br#"{"method":"m","id":1}"#, ProtocolErrorKind::BadEnvelope),
        (
            br#"{"jsonrpc":"1.5","method":"m","params":[],"id":1}"#,
            ProtocolErrorKind::Malformed,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":[],"id":1"#,
            ProtocolErrorKind::Malformed,
        ),
    ] {
        assert_eq!(
            decode_call(true, body, &L).unwrap_err().kind,
            kind,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Value conversions

#[test]
fn to_value_and_from_value() {
    #[derive(serde::Serialize, Deserialize, Debug, PartialEq)]
    enum Mode {
        #[serde(rename = "balance-slb")]
        BalanceSlb,
        Lacp,
    }
    #[derive(serde::Serialize, Deserialize, Debug, PartialEq)]
    struct R {
        a: i64,
        b: u64,
        c: f32,
        d: Option<String>,
        e: Mode,
        f: Vec<(i32, bool)>,
        g: std::collections::BTreeMap<i64, String>,
        t: DateTime,
        u: (),
    }
    let r = R {
        a: -1,
        b: 7,
        c: 0.5,
        d: None,
        e: Mode::BalanceSlb,
        f: vec![(1, true)],
        g: std::collections::BTreeMap::from([(3, "x".to_string())]),
        t: DateTime::parse("20261121T10:11:12Z").unwrap(),
        u: (),
    };
    let v = to_value(&r).unwrap();
    assert_eq!(
        v,
        st(&[
            ("a", Value::Int(-1)),
            ("b", Value::Int(7)),
            ("c", Value::Double(0.5)),
            ("d", Value::Nil),
            ("e", s("balance-slb")),
            (
                "f",
                Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Bool(true)])])
            ),
            ("g", st(&[("3", s("x"))])),
            ("t", Value::DateTime("20261121T10:11:12Z".into())),
            ("u", Value::Nil),
        ])
    );
    assert_eq!(from_value::<R>(v).unwrap(), r);
    assert!(to_value(&u64::MAX).is_err());
    // Lenient like xapi: digit strings, numeric strings, case-insensitive enums, datetimes
    // from strings.
    assert_eq!(from_value::<i64>(s("12")).unwrap(), 12);
    assert_eq!(
        from_value::<u64>(s("18446744073709551615")).unwrap(),
        u64::MAX
    );
    assert!(from_value::<f64>(s("nan")).unwrap().is_nan());
    assert_eq!(from_value::<f64>(s("Infinity")).unwrap(), f64::INFINITY);
    assert_eq!(from_value::<f64>(Value::Int(2)).unwrap(), 2.0);
    assert_eq!(from_value::<Mode>(s("LACP")).unwrap(), Mode::Lacp);
    assert_eq!(
        from_value::<String>(Value::DateTime("x".into())).unwrap(),
        "x"
    );
    assert_eq!(
        from_value::<DateTime>(s("2026-11-21T10:11:12Z")).unwrap(),
        DateTime::parse("20261121T10:11:12Z").unwrap()
    );
    let e = from_value::<HashMap<String, i64>>(st(&[("mem", s("x"))])).unwrap_err();
    assert_eq!(e.kind, ProtocolErrorKind::WrongType);
    assert!(e.message.contains("at mem"), "{}", e.message);
}

#[test]
fn value_serde_through_json() {
    let v = st(&[("a", Value::Array(vec![Value::Int(1), s("x"), Value::Nil]))]);
    let text = serde_json::to_string(&v).unwrap();
    assert_eq!(text, r#"{"a":[1,"x",null]}"#);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
}

#[test]
fn typed_params_serialize_straight_to_xml() {
    #[derive(serde::Serialize)]
    enum Mode {
        #[serde(rename = "balance-slb")]
        BalanceSlb,
    }
    #[derive(serde::Serialize)]
    struct Args {
        name_label: String,
        memory: i64,
        ha: bool,
        t: DateTime,
        mode: Mode,
        keys: std::collections::BTreeMap<i64, String>,
    }
    let args = Args {
        name_label: "a<b".into(),
        memory: 1 << 33,
        ha: true,
        t: DateTime::parse("20261121T10:11:12Z").unwrap(),
        mode: Mode::BalanceSlb,
        keys: [(1, "x".to_string())].into(),
    };
    for style in [
        wire::xmlrpc::IntStyle::Request,
        wire::xmlrpc::IntStyle::Response,
    ] {
        let mut direct = Vec::new();
        wire::xmlrpc::to_xml(&mut direct, &args, style).unwrap();
        let mut via = Vec::new();
        wire::xmlrpc::write_value(&mut via, &to_value(&args).unwrap(), style);
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(via).unwrap()
        );
    }
    let mut out = Vec::new();
    wire::xmlrpc::to_xml(&mut out, &args, wire::xmlrpc::IntStyle::Request).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("<member><name>memory</name><value><i8>8589934592</i8></value></member>"));
    assert!(out.contains(
        "<member><name>t</name><value><dateTime.iso8601>20261121T10:11:12Z</dateTime.iso8601>\
            </value></member>"
    ));
    assert!(out.contains("<member><name>mode</name><value>balance-slb</value></member>"));
    assert!(out.contains(
        "<member><name>keys</name><value><struct><member><name>1</name>\
        <value>x</value></member></struct></value></member>"
    ));
}
