//! The generator's output for a small hostile datamodel (keywords as names, odd enum values,
//! enum- and ref-keyed maps, options, opaque types) compiles and behaves.

#[allow(dead_code, unused_imports)]
mod generated {
    include!("fixtures/adversarial/generated.rs");
}

use std::collections::HashMap;
use std::str::FromStr;

use generated::{BondMode, CasePair, ErrorCode, Match, Mod, ModRecord, metadata::API};
use xenpool::meta::{Lifecycle, Qualifier, Ty};
use xenpool::{Ref, XenClass};

#[test]
fn enum_values_parse_case_insensitively() {
    assert_eq!(
        BondMode::from_str("BALANCE-SLB").unwrap(),
        BondMode::BalanceSlb
    );
    assert_eq!(
        BondMode::from_str("balance-slb").unwrap(),
        BondMode::BalanceSlb
    );
    assert_eq!(
        "Active-Backup".parse::<BondMode>().unwrap(),
        BondMode::ActiveBackup
    );
    assert_eq!(BondMode::from_wire("802.3AD"), BondMode::V8023ad);
    assert_eq!(
        BondMode::from_wire("round-robin"),
        BondMode::Unknown("round-robin".into())
    );
    assert_eq!(BondMode::BalanceSlb.wire(), "balance-slb");
    assert_eq!(BondMode::V8023ad.to_string(), "802.3ad");
    assert_eq!(BondMode::Unknown("x".into()).wire(), "x");
    assert_eq!(
        BondMode::WIRE_VALUES,
        &["balance-slb", "active-backup", "802.3ad", "lacp"]
    );
    assert_eq!(
        BondMode::default(),
        BondMode::BalanceSlb,
        "the first value in datamodel order"
    );
    assert_eq!(Match::from_wire("YES"), Match::Yes);
}

#[test]
fn values_differing_only_in_case_stay_distinct() {
    // Exact spelling wins; otherwise the first value equal ignoring case.
    assert_eq!(CasePair::from_wire("Foo"), CasePair::Foo);
    assert_eq!(CasePair::from_wire("foo"), CasePair::Foo2);
    assert_eq!(CasePair::from_wire("FOO"), CasePair::Foo3);
    assert_eq!(CasePair::from_wire("fOO"), CasePair::Foo);
    assert_eq!(CasePair::Foo2.wire(), "foo");
    // A value named like the fallback, or like a keyword, gets a `Value` suffix.
    assert_eq!(CasePair::from_wire("UNKNOWN"), CasePair::UnknownValue);
    assert_eq!(CasePair::from_wire("self"), CasePair::SelfValue);
    assert_eq!(CasePair::from_wire("ipv4"), CasePair::Ipv4);
    assert_eq!(CasePair::RestartHvm.wire(), "restartHVM");
}

#[test]
fn enums_deserialize_through_serde() {
    let v: Vec<BondMode> =
        serde_json::from_str(r#"["LACP", "active-backup", "new-mode"]"#).unwrap();
    assert_eq!(
        v,
        [
            BondMode::Lacp,
            BondMode::ActiveBackup,
            BondMode::Unknown("new-mode".into())
        ]
    );
    assert_eq!(
        serde_json::to_string(&BondMode::BalanceSlb).unwrap(),
        r#""balance-slb""#
    );
    assert!(serde_json::from_str::<BondMode>("3").is_err());
}

#[test]
fn record_defaults_follow_the_datamodel() {
    let r = ModRecord::default();
    assert_eq!(
        r.type_,
        BondMode::BalanceSlb,
        "single enum default from the datamodel"
    );
    assert_eq!(
        r.fallback_mode,
        CasePair::default(),
        "a default that names no value: the first value"
    );
    assert_eq!(
        r.match_,
        Match::Yes,
        "no datamodel default: the first value"
    );
    assert!(r.self_.is_null());
    assert_eq!(r.maybe, None);
    assert_eq!(r.snapshot, xenpool::wire::Value::Struct(Default::default()));
}

#[test]
fn records_decode_partial_input_with_keyword_and_renamed_fields() {
    let r: ModRecord = serde_json::from_value(serde_json::json!({
        "type": "ACTIVE-BACKUP",
        "self": "OpaqueRef:1",
        "ref": "r",
        "match": "no",
        "MAC": "aa:bb",
        "VCPUs_max": 4,
        "ids": [1, 2],
        "weights": {"3": 0.5},
        "by_mode": {"lacp": "x", "balance-slb": "y"},
        "by_ref": {"OpaqueRef:2": ["OpaqueRef:t"]},
        "nested": {"a": {"b": "c"}},
        "sets": [["a"], []],
        "maybe": "here",
        "stat": {"uuid": "u", "progress": 0.25},
        "snapshot": {"any": [1, "two"]},
        "created": "20261121T10:11:12Z",
        "a_field_from_the_future": true
    }))
    .unwrap();
    assert_eq!(r.type_, BondMode::ActiveBackup);
    assert_eq!(r.self_, Ref::<Mod>::new("OpaqueRef:1"));
    assert_eq!(r.match_, Match::No);
    assert_eq!(r.mac, "aa:bb");
    assert_eq!(r.vcpus_max, 4);
    assert_eq!(r.weights, HashMap::from([(3, 0.5)]));
    assert_eq!(r.by_mode[&BondMode::BalanceSlb], "y");
    assert_eq!(
        r.by_ref[&Ref::new("OpaqueRef:2")],
        [Ref::new("OpaqueRef:t")]
    );
    assert_eq!(r.nested["a"]["b"], "c");
    assert_eq!(r.maybe.as_deref(), Some("here"));
    assert_eq!(r.stat.as_ref().map(|s| s.progress), Some(0.25));
    assert!(matches!(&r.snapshot, xenpool::wire::Value::Struct(m) if m.contains_key("any")));
    assert_eq!(r.created.to_wire(), "20261121T10:11:12Z");
    assert!(
        r.enabled,
        "a missing member takes the datamodel default (true here)"
    );

    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(back["type"], "active-backup");
    assert_eq!(back["VCPUs_max"], 4);
    let none = serde_json::to_value(ModRecord::default()).unwrap();
    assert!(none.get("maybe").is_none(), "absent options are omitted");
}

#[test]
fn markers_and_error_codes() {
    assert_eq!(Mod::WIRE_NAME, "mod");
    assert_eq!(generated::Task::WIRE_NAME, "task");
    assert_eq!(
        ErrorCode::from_wire("HOST_IS_SLAVE"),
        ErrorCode::HostIsSlave
    );
    assert_eq!(ErrorCode::from_wire("UNKNOWN"), ErrorCode::UnknownValue);
    assert_eq!(
        ErrorCode::from_wire("NEW_CODE"),
        ErrorCode::Unknown("NEW_CODE".into())
    );
    assert_eq!(
        ErrorCode::SrBackendFailure73.to_string(),
        "SR_BACKEND_FAILURE_73"
    );
    assert_eq!(
        ErrorCode::TypeError.param_names(),
        ["type", "Self", "ref", "source", "VM"]
    );
    assert!(ErrorCode::Undeclared.param_names().is_empty());
    for code in ErrorCode::ALL {
        assert_eq!(&ErrorCode::from_wire(code.wire()), code);
    }
    assert_eq!(ErrorCode::ALL.len(), 7);
}

#[test]
fn metadata_describes_the_fixture() {
    let class = API.class("mod").unwrap();
    assert_eq!(class.rust_name, "Mod");
    assert_eq!(API.class_ignore_case("MOD").unwrap().name, "mod");
    assert!(API.class("MOD").is_none());

    let field = class.field("type").unwrap();
    assert_eq!(field.ty, Ty::Enum("bond_mode"));
    assert_eq!(field.qualifier, Qualifier::Rw);
    assert_eq!(field.default, Some("balance-slb"));
    assert_eq!(
        class.field("enabled").unwrap().lifecycle,
        Lifecycle::Removed
    );
    assert_eq!(
        class.field("snapshot").unwrap().ty,
        Ty::Opaque("<class> record")
    );
    assert_eq!(
        class.field("by_ref").unwrap().ty,
        Ty::Map(&Ty::Ref("mod"), &Ty::Set(&Ty::Ref("task")))
    );

    let m = API.message("mod", "type").unwrap();
    let names: Vec<_> = m.params.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "self", "type", "ref", "match", "c", "where", "at", "ratio", "n", "opt"
        ]
    );
    assert!(m.is_async && m.session && !m.implicit && !m.hidden);
    assert_eq!(m.result, None);
    assert_eq!(m.errors, ["TYPE_ERROR", "HOST_IS_SLAVE"]);

    let login = API.message("session", "login_with_password").unwrap();
    assert!(!login.session);
    assert_eq!(login.params.len(), 2);

    for class in ["mod", "task"] {
        let w = API.message(class, "get_all_records_where").unwrap();
        assert!(w.hidden && w.implicit && !w.is_async);
        assert_eq!(w.params[0].name, "expr");
        let w = API.message(class, "get_all_where").unwrap();
        assert_eq!(w.result.unwrap().to_string(), format!("{class} ref set"));
    }
    assert!(
        API.message("session", "get_all_where").is_none(),
        "only classes with get_all_records"
    );

    assert_eq!(API.enumeration("bond_mode").unwrap().rust_name, "BondMode");
    assert_eq!(API.enumeration("case_pair").unwrap().values.len(), 7);
    let e = API.error("OTHER_ERROR").unwrap();
    assert_eq!(e.params, ["vm", "Master IP address"]);
    assert!(e.declared);
    assert!(!API.error("UNDECLARED").unwrap().declared);
}

/// Every type renders back to its datamodel spelling.
#[test]
fn metadata_types_render_the_datamodel_spelling() {
    let dm: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/adversarial/datamodel.json")).unwrap();
    let mut checked = 0;
    for class in dm["classes"].as_array().unwrap() {
        let meta = API.class(class["name"].as_str().unwrap()).unwrap();
        for field in class["fields"].as_array().unwrap() {
            let f = meta.field(field["name"].as_str().unwrap()).unwrap();
            assert_eq!(f.ty.to_string(), field["type"].as_str().unwrap());
            checked += 1;
        }
        for message in class["messages"].as_array().unwrap() {
            let m = meta.message(message["name"].as_str().unwrap()).unwrap();
            let result = message["result"].as_str().unwrap();
            assert_eq!(
                m.result.map(|t| t.to_string()).unwrap_or("void".into()),
                result
            );
            let params: Vec<_> = message["params"].as_array().unwrap().iter().collect();
            let params = if m.session { &params[1..] } else { &params[..] };
            for (p, want) in m.params.iter().zip(params) {
                assert_eq!(p.ty.to_string(), want["type"].as_str().unwrap());
                checked += 1;
            }
        }
    }
    assert!(checked > 30);
}

fn assert_send<T: Send>(_: &T) {}

/// Generated futures are `Send`, so they can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send<C: xenpool::Caller>(c: &C) {
    let r = Ref::<Mod>::null();
    assert_send(&Mod::get_record(c, &r));
    let by = HashMap::new();
    let rec = generated::TaskRecord::default();
    let f = Mod::async_type_(
        c,
        &r,
        &BondMode::Lacp,
        "x",
        &[1],
        true,
        &by,
        xenpool::DateTime::UNSET,
        0.5,
        3,
        &rec,
    );
    assert_send(&f);
    assert_send(&Mod::from(c, &[], "", 1.0));
}

/// A caller that records what it was asked and answers with canned JSON (no wire encoding).
struct Fake {
    reply: serde_json::Value,
    seen: std::sync::Mutex<Vec<(String, bool, usize)>>,
}

impl xenpool::Caller for Fake {
    fn call_seeded<S>(
        &self,
        request: xenpool::CallRequest<'_>,
        seed: S,
    ) -> impl std::future::Future<Output = xenpool::Result<S::Value>> + Send
    where
        S: xenpool::wire::ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        self.seen.lock().unwrap().push((
            request.method.to_string(),
            request.with_session,
            request.params.len(),
        ));
        let result = seed
            .decode(self.reply.clone())
            .map_err(|e| xenpool::Error::invalid_argument("value", e.to_string()));
        async move { result }
    }
}

fn fake(reply: serde_json::Value) -> Fake {
    Fake {
        reply,
        seen: Default::default(),
    }
}

#[test]
fn parameterless_calls_reach_the_caller_with_wire_names() {
    use futures::executor::block_on;

    let c = fake(serde_json::json!({"OpaqueRef:1": {"type": "lacp", "VCPUs_max": 2}}));
    let all = block_on(Mod::get_all_records(&c)).unwrap();
    assert_eq!(all[&Ref::new("OpaqueRef:1")].type_, BondMode::Lacp);
    assert_eq!(all[&Ref::new("OpaqueRef:1")].vcpus_max, 2);

    let c = fake(serde_json::json!([4, 5]));
    assert_eq!(block_on(Mod::old(&c)).unwrap(), [4, 5]);
    assert_eq!(c.seen.lock().unwrap()[0], ("mod.old".to_string(), true, 0));

    let c = fake(serde_json::json!(""));
    block_on(generated::Session::logout(&c)).unwrap();
    assert_eq!(
        c.seen.lock().unwrap()[0],
        ("session.logout".to_string(), true, 0)
    );

    let c = fake(serde_json::json!({"events": [], "valid_ref_counts": {}, "token": "t"}));
    // An opaque result decodes as a dynamic Value.
    let batch = serde_json::from_value::<xenpool::wire::Value>(c.reply.clone()).unwrap();
    assert!(matches!(
        batch,
        xenpool::wire::Value::Struct(m) if m["token"] == xenpool::wire::Value::String("t".into())
    ));
}
