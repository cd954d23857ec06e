//! The API as it evolves, on the wire of a scripted host over both protocols: optional
//! trailing parameters (datamodel `required: false`) are left out unless the caller sets
//! them, so the same call works against hosts that predate them; and what hosts newer than
//! this datamodel send (record fields, enum values, messages) still works.

mod support;

use std::sync::Arc;

use support::{Behaviour, FakeHost, Reply, Sessions};
use xenpool::generated::{
    Host, HostDisableOptions, HostEvacuateOptions, PoolSyncUpdatesOptions, Vm, VmPowerState,
};
use xenpool::wire::{Call, Value};
use xenpool::{Caller, ConnectOptions, Connection, Credentials, Error, Protocol, Ref, Tls};

const PROTOCOLS: [Protocol; 2] = [Protocol::JsonRpc, Protocol::XmlRpc];

/// A host that accepts any call after login and answers with an empty string (a `void`, or
/// a task reference for `Async.` calls).
async fn recording_host() -> FakeHost {
    let sessions = Sessions::new("secret");
    FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            if let Some(r) = sessions.handle(call) {
                return r;
            }
            if let Some(r) = sessions.check(call) {
                return r;
            }
            match call.method.as_str() {
                "VM.get_record" => Reply::Ok(future_vm()),
                "VM.levitate" => Reply::Ok(Value::String("floating".into())),
                m if m.starts_with("Async.") => Reply::Ok(Value::String("OpaqueRef:task".into())),
                _ => Reply::Ok(Value::String(String::new())),
            }
        }),
    )
    .await
}

async fn login(host: &FakeHost, protocol: Protocol) -> Connection {
    let options = ConnectOptions {
        tls: Tls::Pinned(host.fingerprint),
        protocol,
        ..ConnectOptions::default()
    };
    Connection::login(&host.url(), Credentials::new("root", "secret"), options)
        .await
        .unwrap()
}

/// The parameters (session first) of the last call of `method` the host saw.
fn last_params(host: &FakeHost, method: &str) -> Vec<Value> {
    let seen = host.seen.lock().unwrap();
    let call = seen
        .iter()
        .rev()
        .filter_map(|s| s.call.as_ref())
        .find(|c| c.method == method)
        .unwrap_or_else(|| panic!("{method} was not called"));
    call.params.clone()
}

#[tokio::test]
async fn omitted_optional_parameters_stay_off_the_wire_and_set_ones_are_sent() {
    let host = recording_host().await;
    let h: Ref<Host> = Ref::new("OpaqueRef:h1");
    for protocol in PROTOCOLS {
        let c = login(&host, protocol).await;
        Host::disable(&c, &h).await.unwrap();
        assert_eq!(last_params(&host, "host.disable").len(), 2, "{protocol:?}");

        Host::disable_with(&c, &h, &HostDisableOptions::default())
            .await
            .unwrap();
        assert_eq!(last_params(&host, "host.disable").len(), 2, "nothing set");

        let auto = HostDisableOptions {
            auto_enable: Some(false),
        };
        Host::disable_with(&c, &h, &auto).await.unwrap();
        let sent = last_params(&host, "host.disable");
        assert_eq!(sent.len(), 3, "{protocol:?}");
        assert_eq!(sent[1], Value::String("OpaqueRef:h1".into()));
        assert_eq!(sent[2], Value::Bool(false));

        // The async form carries the same parameters.
        let task = Host::async_disable_with(&c, &h, &auto).await.unwrap();
        assert_eq!(task.as_str(), "OpaqueRef:task");
        assert_eq!(last_params(&host, "Async.host.disable").len(), 3);
        Host::async_evacuate(&c, &h).await.unwrap();
        assert_eq!(last_params(&host, "Async.host.evacuate").len(), 2);

        // Only the prefix up to the last one set is sent.
        let network = HostEvacuateOptions {
            network: Some(Ref::null()),
            evacuate_batch_size: None,
        };
        Host::evacuate_with(&c, &h, &network).await.unwrap();
        let sent = last_params(&host, "host.evacuate");
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[2], Value::String("OpaqueRef:NULL".into()));
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn a_gap_in_the_optional_tail_is_refused_before_sending() {
    let host = recording_host().await;
    let c = login(&host, Protocol::JsonRpc).await;
    let before = host.methods().len();
    let gap = HostEvacuateOptions {
        network: None,
        evacuate_batch_size: Some(4),
    };
    let err = Host::evacuate_with(&c, &Ref::new("OpaqueRef:h1"), &gap)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("network") && text.contains("evacuate_batch_size"),
        "{text}"
    );
    assert!(!err.may_have_reached_host());
    assert_eq!(host.methods().len(), before, "nothing was sent");
    c.logout().await.unwrap();
}

#[test]
fn options_hide_secret_parameters_from_debug() {
    let options = PoolSyncUpdatesOptions {
        token: Some("tok-hunter2".into()),
        token_id: Some("id-hunter2".into()),
        username: Some("admin".into()),
        password: Some("pw-hunter2".into()),
    };
    let text = format!("{options:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("admin"), "{text}");
}

/// A VM record from a host newer than this datamodel: a field it lacks and a power state
/// it does not know.
fn future_vm() -> Value {
    Value::Struct(
        [
            ("uuid", Value::String("u-1".into())),
            ("name_label", Value::String("web".into())),
            ("power_state", Value::String("Levitating".into())),
            ("memory_static_max", Value::Int(1 << 30)),
            ("a_field_from_the_future", Value::Bool(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

#[tokio::test]
async fn what_newer_hosts_send_still_works() {
    let host = recording_host().await;
    for protocol in PROTOCOLS {
        let c = login(&host, protocol).await;
        let vm = Vm::get_record(&c, &Ref::new("OpaqueRef:vm")).await.unwrap();
        assert_eq!(vm.name_label, "web");
        assert_eq!(vm.memory_static_max, 1 << 30);
        assert_eq!(vm.power_state, VmPowerState::Unknown("Levitating".into()));
        assert_eq!(vm.power_state.wire(), "Levitating");
        // A message this datamodel lacks, through the raw call.
        let answer: String = c
            .call(
                "VM.levitate",
                true,
                vec![Value::String("OpaqueRef:vm".into())],
            )
            .await
            .unwrap();
        assert_eq!(answer, "floating", "{protocol:?}");
        c.logout().await.unwrap();
    }
}
