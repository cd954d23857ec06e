//! The dynamic call layer against the simulator over both protocols: every message's
//! parameter types, references by uuid or name, constructors completed from defaults,
//! arity and type errors, typed results that do not depend on the protocol.

use std::time::Duration;

mod support;

use std::sync::Arc;

use support::{Behaviour, FakeHost, Reply, Sessions};
use xenpool::dynamic::{self, Dyn, EnumValue, Method, RefValue};
use xenpool::meta::{self, Ty};
use xenpool::wire::{Call, Value};
use xenpool::{ConnectOptions, Connection, Credentials, Error, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

const PROTOCOLS: [Protocol; 2] = [Protocol::JsonRpc, Protocol::XmlRpc];

async fn start(scenario: &str) -> Simulator {
    Simulator::builder()
        .scenario(Scenario::builtin(scenario).unwrap())
        .auth_failure_delay(Duration::from_millis(10))
        .start()
        .await
        .unwrap()
}

async fn login(sim: &Simulator, host: &str, protocol: Protocol) -> Connection {
    let info = sim.host(host).unwrap();
    Connection::login(
        &info.url,
        Credentials::new("root", info.password.as_str()),
        ConnectOptions {
            tls: Tls::Pinned(info.fingerprint.unwrap()),
            protocol,
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn call(c: &Connection, method: &str, args: &[Dyn]) -> Dyn {
    dynamic::call(c, method, args)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn text(s: &str) -> Dyn {
    Dyn::String(s.to_string())
}

#[tokio::test]
async fn results_are_typed_the_same_over_both_protocols() {
    let sim = start("single").await;
    let mut seen = Vec::new();
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        // A VM by name: the reference is looked up, int64 is an integer even over XML-RPC.
        let memory = call(&c, "VM.get_memory_static_max", &[text("db")]).await;
        assert_eq!(memory, Dyn::Int(4096 << 20), "{protocol:?}");
        let state = call(&c, "VM.get_power_state", &[text("db")]).await;
        assert_eq!(
            state,
            Dyn::Enum(EnumValue {
                enumeration: "vm_power_state",
                value: "Halted".into()
            })
        );
        let records = call(&c, "VM.get_all_records", &[]).await;
        let Dyn::Map(pairs) = &records else {
            panic!("{records:?}")
        };
        let (key, db) = pairs
            .iter()
            .find(|(_, r)| matches!(r, Dyn::Record(r) if r.field("name_label") == Some(text("db"))))
            .expect("db is listed");
        assert!(matches!(key, Dyn::Ref(RefValue { class: "VM", .. })));
        let Dyn::Record(db) = db else { unreachable!() };
        assert_eq!(db.class_name(), "VM");
        assert_eq!(db.field("VCPUs_max"), Some(Dyn::Int(4)));
        assert!(matches!(db.field("resident_on"), Some(Dyn::Ref(r)) if r.is_null()));
        assert_eq!(db.field("no_such_field"), None);
        // Datetimes come back parsed.
        let host = call(&c, "host.get_all", &[]).await;
        let Dyn::Array(hosts) = host else { panic!() };
        let time = call(&c, "host.get_servertime", &[hosts[0].clone()]).await;
        assert!(matches!(time, Dyn::DateTime(_)), "{time:?}");
        // Async forms return the task.
        let task = call(&c, "Async.VM.get_possible_hosts", &[text("web")]).await;
        assert!(
            matches!(task, Dyn::Ref(RefValue { class: "task", .. })),
            "{task:?}"
        );
        seen.push((memory, state));
        c.logout().await.unwrap();
    }
    assert_eq!(seen[0], seen[1], "both protocols agree");
}

#[tokio::test]
async fn references_by_uuid_or_name_and_their_failures() {
    let sim = start("single").await;
    let c = login(&sim, "xen1", Protocol::JsonRpc).await;
    let Dyn::String(uuid) = call(&c, "VM.get_uuid", &[text("web")]).await else {
        panic!()
    };
    let by_uuid = call(&c, "VM.get_name_label", &[text(&uuid)]).await;
    assert_eq!(by_uuid, text("web"));

    let missing = dynamic::call(&c, "VM.get_name_label", &[text("nope")])
        .await
        .unwrap_err();
    assert!(matches!(&missing, Error::NotFound { class, key } if class == "VM" && key == "nope"));
    assert_eq!(missing.code(), "NOT_FOUND");
    assert_eq!(missing.params(), ["VM", "nope"]);

    // Two VMs of the same name: ambiguous.
    call(&c, "VM.set_name_label", &[text("db"), text("web")]).await;
    let twice = dynamic::call(&c, "VM.get_uuid", &[text("web")])
        .await
        .unwrap_err();
    assert_eq!(twice.code(), "AMBIGUOUS_NAME");
    assert_eq!(twice.params(), ["VM", "web", "2"]);
    assert!(!twice.may_have_reached_host());
    c.logout().await.unwrap();
}

#[tokio::test]
async fn constructors_take_defaults_unquoted() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let record = Dyn::map([("name_label", text("dyn-net"))]);
        let net = call(&c, "network.create", &[record]).await;
        let Dyn::Record(r) = call(&c, "network.get_record", std::slice::from_ref(&net)).await
        else {
            panic!()
        };
        assert_eq!(r.field("name_label"), Some(text("dyn-net")));
        // Defaults are the values, not their datamodel rendering (`""`, `"0:0"`).
        assert_eq!(r.field("name_description"), Some(text("")));
        assert_eq!(r.field("MTU"), Some(Dyn::Int(1500)));
        assert_eq!(r.field("managed"), Some(Dyn::Bool(true)));
        call(&c, "network.destroy", &[net]).await;

        let unknown = dynamic::call(&c, "network.create", &[Dyn::map([("colour", text("red"))])])
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "INVALID_ARGUMENT", "{unknown}");
        assert!(unknown.to_string().contains("colour"));
        c.logout().await.unwrap();
    }
    // The parse itself, for the two literals that used to keep their quotes.
    let session = meta::class("session").unwrap();
    let sid = session.field("auth_user_sid").unwrap();
    assert_eq!(
        sid.default_value(),
        Some(xenpool::wire::Value::String(String::new()))
    );
    let generation = meta::class("pool")
        .and_then(|p| p.field("redo_log_vdi"))
        .and_then(|f| f.default_value());
    assert_eq!(
        generation,
        Some(xenpool::wire::Value::String("OpaqueRef:NULL".into()))
    );
    let g = meta::classes()
        .iter()
        .flat_map(|c| c.fields)
        .find(|f| f.default == Some("\"0:0\""))
        .expect("a field defaults to \"0:0\"");
    assert_eq!(
        g.default_value(),
        Some(xenpool::wire::Value::String("0:0".into()))
    );
}

#[tokio::test]
async fn arity_types_and_names_are_checked_before_sending() {
    let sim = start("single").await;
    let c = login(&sim, "xen1", Protocol::XmlRpc).await;
    let few = dynamic::call(&c, "VM.start", &[text("web")])
        .await
        .unwrap_err();
    assert_eq!(few.code(), "INVALID_ARGUMENT");
    assert!(few.to_string().contains("takes 3 arguments"), "{few}");
    let optional = dynamic::call(&c, "host.disable", &[]).await.unwrap_err();
    assert!(
        optional
            .to_string()
            .contains("takes 1 to 2 arguments (host, [auto_enable])"),
        "{optional}"
    );
    let wrong = dynamic::call(&c, "VM.set_VCPUs_max", &[text("web"), text("four")])
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "WRONG_TYPE");
    assert_eq!(wrong.params(), ["value", "an integer", "string"]);
    let bad_enum = dynamic::call(
        &c,
        "Bond.create",
        &[text("x"), Dyn::Array(vec![]), text(""), text("fast")],
    )
    .await
    .unwrap_err();
    assert_eq!(bad_enum.code(), "INVALID_ARGUMENT");
    assert!(bad_enum.to_string().contains("balance-slb"), "{bad_enum}");
    let unknown = dynamic::call(&c, "VM.strat", &[]).await.unwrap_err();
    assert_eq!(unknown.code(), "UNKNOWN_METHOD");
    assert!(
        unknown.params().iter().any(|s| s == "VM.start"),
        "{:?}",
        unknown.params()
    );
    assert!(
        Method::find("Async.VM.get_power_state").is_err(),
        "no async form"
    );
    // Enum values in any case, class names in any case.
    let halted = call(
        &c,
        "VM.get_all_records_where",
        &[text("field \"power_state\"=\"Halted\"")],
    )
    .await;
    assert!(matches!(halted, Dyn::Map(ref m) if !m.is_empty()));
    let by_case = call(&c, "vm.get_by_name_label", &[text("web")]).await;
    assert!(matches!(by_case, Dyn::Array(ref a) if a.len() == 1));
    // A message the datamodel lacks goes through the untyped call and fails as xapi says.
    let raw = dynamic::call_untyped(&c, "VM.levitate", true, &[])
        .await
        .unwrap_err();
    assert_eq!(raw.code(), "MESSAGE_METHOD_UNKNOWN");
    c.logout().await.unwrap();
}

/// A sample argument of each datamodel type, and what the result side makes of its wire
/// form: for every parameter of every message, conversion in and typing out agree.
#[test]
fn every_parameter_type_round_trips() {
    fn sample(ty: &Ty) -> Dyn {
        match ty {
            Ty::String => text("some text"),
            Ty::Int => Dyn::Int(-(1 << 40)),
            Ty::Float => Dyn::Float(f64::INFINITY),
            Ty::Bool => Dyn::Bool(true),
            Ty::DateTime => Dyn::DateTime(xenpool::DateTime::parse("20261201T10:11:12Z").unwrap()),
            Ty::Enum(e) => Dyn::Enum(EnumValue {
                enumeration: meta::enumeration(e).unwrap().name,
                value: meta::enumeration(e)
                    .unwrap()
                    .values
                    .last()
                    .unwrap()
                    .to_string(),
            }),
            Ty::Ref(c) => Dyn::Ref(RefValue {
                class: meta::class(c).map_or("?", |c| c.name),
                reference: "OpaqueRef:abc".into(),
            }),
            Ty::Set(inner) => Dyn::Array(vec![sample(inner), sample(inner)]),
            Ty::Map(k, v) => Dyn::Map(vec![(sample(k), sample(v))]),
            Ty::Option(inner) => sample(inner),
            Ty::Record(_) | Ty::Opaque(_) => Dyn::Null,
        }
    }
    let mut checked = 0;
    for class in meta::classes() {
        for message in class.messages {
            for p in message.params {
                if matches!(p.ty, Ty::Record(_) | Ty::Opaque(_)) {
                    continue;
                }
                let value = sample(&p.ty);
                let wire = dynamic::encode(&p.ty, &value)
                    .unwrap_or_else(|e| panic!("{}.{} {}: {e}", class.name, message.name, p.name));
                let back = dynamic::typed(&p.ty, wire);
                assert_eq!(back, value, "{}.{} {}", class.name, message.name, p.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 2500, "{checked}");
}

#[tokio::test]
async fn lookups_take_one_call_per_class_however_many_arguments_name_objects() {
    let sessions = Sessions::new("secret");
    let host = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            if let Some(r) = sessions.handle(call) {
                return r;
            }
            let record = |uuid: &str, name: &str| {
                Value::Struct(
                    [("uuid", uuid), ("name_label", name), ("other", "ignored")]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), Value::String(v.into())))
                        .collect(),
                )
            };
            let table = |rows: Vec<(&str, Value)>| {
                Value::Struct(rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            };
            match call.method.as_str() {
                "host.get_all_records_where" => Reply::Ok(table(vec![
                    ("OpaqueRef:h1", record("u-h1", "node1")),
                    ("OpaqueRef:h2", record("u-h2", "node2")),
                ])),
                "VM.get_all_records_where" => Reply::Ok(table(vec![
                    ("OpaqueRef:v1", record("u-v1", "web")),
                    ("OpaqueRef:v2", record("u-v2", "db")),
                ])),
                "pool.ha_compute_vm_failover_plan" => Reply::Ok(Value::Struct(Default::default())),
                other => Reply::Fail(vec!["MESSAGE_METHOD_UNKNOWN".into(), other.into()]),
            }
        }),
    )
    .await;
    let c = Connection::login(
        &host.url(),
        Credentials::new("root", "secret"),
        ConnectOptions {
            tls: Tls::Pinned(host.fingerprint),
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    let hosts = Dyn::Array(vec![text("node1"), text("u-h2")]);
    let vms = Dyn::Array(vec![text("web"), text("db"), text("OpaqueRef:v9")]);
    call(&c, "pool.ha_compute_vm_failover_plan", &[hosts, vms]).await;
    let methods = host.methods();
    let lookups: Vec<&String> = methods.iter().filter(|m| m.ends_with("_where")).collect();
    assert_eq!(
        lookups,
        ["host.get_all_records_where", "VM.get_all_records_where"]
    );
    let seen = host.seen.lock().unwrap();
    let plan = seen
        .iter()
        .filter_map(|s| s.call.as_ref())
        .find(|c| c.method == "pool.ha_compute_vm_failover_plan")
        .unwrap();
    let refs = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(refs(&plan.params[1]), ["OpaqueRef:h1", "OpaqueRef:h2"]);
    assert_eq!(
        refs(&plan.params[2]),
        ["OpaqueRef:v1", "OpaqueRef:v2", "OpaqueRef:v9"]
    );
}

/// Entries `call_table` handed on, in order.
fn collecting() -> (
    dynamic::EntrySink,
    Arc<std::sync::Mutex<Vec<dynamic::Entry>>>,
) {
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    (
        Arc::new(move |e: dynamic::Entry| sink.lock().unwrap().push(e)),
        got,
    )
}

#[tokio::test]
async fn a_table_is_handed_on_record_by_record_as_the_whole_call_gives_it() {
    let sim = start("lab").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "intel1", protocol).await;
        for method in [
            "VM.get_all_records",
            "host.get_all_records",
            "PIF.get_all_records",
        ] {
            let table = dynamic::table_of(method).unwrap();
            assert!(table.by_ref);
            let (sink, got) = collecting();
            let n = dynamic::call_table(&c, method, &[], sink).await.unwrap();
            let Dyn::Map(whole) = dynamic::call(&c, method, &[]).await.unwrap() else {
                panic!("{method} is a map")
            };
            let got = got.lock().unwrap();
            assert_eq!(n, got.len());
            assert_eq!(got.len(), whole.len(), "{method} over {protocol:?}");
            for entry in got.iter() {
                let Some(Dyn::Ref(key)) = &entry.key else {
                    panic!("a get_all_records entry has its reference")
                };
                assert_eq!(key.class, table.class.name);
                let (_, record) = whole
                    .iter()
                    .find(|(k, _)| matches!(k, Dyn::Ref(r) if r.reference == key.reference))
                    .expect("the same references");
                assert!(matches!(record, Dyn::Record(r) if *r == entry.record));
            }
        }
    }
    assert!(dynamic::table_of("VM.get_record").is_none());
    assert!(dynamic::table_of("Async.VM.get_all_records").is_none());
    let c = login(&sim, "intel1", Protocol::JsonRpc).await;
    let (sink, _) = collecting();
    let err = dynamic::call_table(&c, "VM.get_all", &[], sink)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn either_kind_of_connection_calls_streams_tables_and_closes_as_its_own() {
    use xenpool::pool::{AnyConnection, PoolConnection};
    let sim = start("lab").await;
    let host = login(&sim, "intel1", Protocol::JsonRpc).await;
    let pool = PoolConnection::from_connection(login(&sim, "intel1", Protocol::XmlRpc).await)
        .await
        .unwrap();
    for conn in [AnyConnection::from(host), AnyConnection::from(pool)] {
        let is_pool = conn.pool().is_some();
        let Dyn::Array(vms) = dynamic::call(&conn, "VM.get_all", &[]).await.unwrap() else {
            panic!("VM.get_all is a set")
        };
        let (sink, got) = collecting();
        let n = dynamic::call_table(&conn, "VM.get_all_records", &[], sink)
            .await
            .unwrap();
        assert_eq!((n, got.lock().unwrap().len()), (vms.len(), vms.len()));
        conn.close().await.unwrap();
        let err = dynamic::call(&conn, "VM.get_all", &[]).await.unwrap_err();
        assert!(
            matches!(err, Error::SessionClosed),
            "pool: {is_pool}: {err}"
        );
    }
}

/// Answers every call with one JSON-RPC body, decoded the way connections decode.
struct FixedReply(&'static str);

impl xenpool::Caller for FixedReply {
    async fn call_seeded<S>(
        &self,
        _: xenpool::CallRequest<'_>,
        seed: S,
    ) -> xenpool::Result<S::Value>
    where
        S: xenpool::wire::ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        let format = xenpool::wire::Format::JsonRpc(xenpool::wire::JsonVersion::V2);
        let limits = xenpool::wire::Limits::default();
        match xenpool::wire::decode_response_seeded(format, self.0.as_bytes(), &limits, seed)? {
            (xenpool::wire::Response::Success(v), _) => Ok(v),
            (xenpool::wire::Response::Failure(d), _) => {
                Err(Error::Api(xenpool::ApiError::from_description("fixed", d)))
            }
        }
    }
}

#[tokio::test]
async fn a_bare_nan_in_a_table_hands_on_each_record_once() {
    // xapi writes a NaN float bare; the JSON decoder stops there and reads the body again,
    // rewritten. The record before it was handed on in the first pass, not again.
    let body = r#"{"jsonrpc":"2.0","id":1,"result":{
        "OpaqueRef:a":{"uuid":"a","name_label":"one","HVM_shadow_multiplier":1.0},
        "OpaqueRef:b":{"uuid":"b","name_label":"two","HVM_shadow_multiplier":NaN},
        "OpaqueRef:c":{"uuid":"c","name_label":"three","HVM_shadow_multiplier":2.5}}}"#;
    let (sink, got) = collecting();
    let n = dynamic::call_table(&FixedReply(body), "VM.get_all_records", &[], sink)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let got = got.lock().unwrap();
    let names: Vec<Dyn> = got
        .iter()
        .map(|e| e.record.field("name_label").unwrap())
        .collect();
    assert_eq!(
        names
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    assert!(
        matches!(got[1].record.field("HVM_shadow_multiplier"), Some(Dyn::Float(f)) if f.is_nan())
    );
}

/// A wrapper in the manner of a counting or logging one: it writes the one required method
/// and forwards it.
struct Counted<C> {
    inner: C,
    calls: std::sync::atomic::AtomicUsize,
}

impl<C: xenpool::Caller> xenpool::Caller for Counted<C> {
    async fn call_seeded<S>(
        &self,
        request: xenpool::CallRequest<'_>,
        seed: S,
    ) -> xenpool::Result<S::Value>
    where
        S: xenpool::wire::ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.call_seeded(request, seed).await
    }
}

#[tokio::test]
async fn a_wrapper_forwarding_the_caller_keeps_streaming() {
    // The reply breaks off in its second record. Streamed, the first record is handed on
    // before the decoder reaches the break; decoded whole first, nothing would be.
    let body = r#"{"jsonrpc":"2.0","id":1,"result":{
        "OpaqueRef:a":{"uuid":"a","name_label":"one"},
        "OpaqueRef:b":{"uuid":"b","name_label":"#;
    let wrapped = Counted {
        inner: FixedReply(body),
        calls: Default::default(),
    };
    async fn handed_on_before_the_break(caller: &impl xenpool::Caller) -> Vec<Dyn> {
        let (sink, got) = collecting();
        let err = dynamic::call_table(caller, "VM.get_all_records", &[], sink)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err}");
        let got = got.lock().unwrap();
        got.iter()
            .map(|e| e.record.field("name_label").unwrap())
            .collect()
    }
    let one = [Dyn::String("one".into())];
    assert_eq!(handed_on_before_the_break(&wrapped).await, one);
    // Through a reference to it too (the `&C` impl).
    assert_eq!(handed_on_before_the_break(&&wrapped).await, one);
    assert_eq!(wrapped.calls.load(std::sync::atomic::Ordering::Relaxed), 2);
}
