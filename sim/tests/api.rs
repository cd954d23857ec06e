//! The simulator through xenpool's typed client, over JSON-RPC and XML-RPC: implicit
//! messages, errors for bad input, sessions, tasks and events.

mod common;

use std::time::Duration;

use common::{PROTOCOLS, login, start};
use xenpool::generated::{Host, Network, NetworkRecord, Task, Vm, VmPowerState};
use xenpool::task::{WaitOptions, wait};
use xenpool::wire::Value;
use xenpool::{Caller, ErrorCode, Ref};

#[tokio::test]
async fn typed_records_come_back_typed() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let hosts = Host::get_all_records(&c).await.unwrap();
        assert_eq!(hosts.len(), 1);
        let (host_ref, host) = hosts.into_iter().next().unwrap();
        assert_eq!(host.name_label, "xen1");
        assert_eq!(
            host.api_version_major, 2,
            "int64 arrives as a number, not a string"
        );
        assert!(host.enabled);
        assert_eq!(host.address, sim.host("xen1").unwrap().address);
        let vms = Vm::get_all_records(&c).await.unwrap();
        let guests: Vec<_> = vms.values().filter(|v| !v.is_control_domain).collect();
        assert_eq!(guests.len(), 2);
        assert!(guests.iter().all(|v| v.power_state == VmPowerState::Halted));
        assert!(
            guests
                .iter()
                .any(|v| v.name_label == "db" && v.memory_static_max == 4096 << 20)
        );
        // Relations are kept: the host lists its PIFs, each PIF names the host.
        assert_eq!(Host::get_pifs(&c, &host_ref).await.unwrap().len(), 2);
        let time = Host::get_servertime(&c, &host_ref).await.unwrap();
        assert!((time.0 - chrono::Utc::now()).num_seconds().abs() < 5);
        c.logout().await.unwrap();
    }
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn implicit_messages_behave_like_xapi() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let web = Vm::get_by_name_label(&c, "web").await.unwrap();
        assert_eq!(web.len(), 1);
        let web = &web[0];
        let uuid = Vm::get_uuid(&c, web).await.unwrap();
        assert_eq!(&Vm::get_by_uuid(&c, &uuid).await.unwrap(), web);

        Vm::set_name_label(&c, web, "web-renamed").await.unwrap();
        assert_eq!(Vm::get_name_label(&c, web).await.unwrap(), "web-renamed");
        Vm::set_name_label(&c, web, "web").await.unwrap();

        Vm::add_to_other_config(&c, web, "owner", "ops")
            .await
            .unwrap();
        let dup = Vm::add_to_other_config(&c, web, "owner", "dev")
            .await
            .unwrap_err();
        assert!(dup.is_code(&ErrorCode::MapDuplicateKey), "{dup}");
        assert_eq!(
            dup.api().unwrap().params,
            ["VM", "other_config", uuid.as_str(), "owner"]
        );
        Vm::remove_from_other_config(&c, web, "owner")
            .await
            .unwrap();
        assert!(
            !Vm::get_other_config(&c, web)
                .await
                .unwrap()
                .contains_key("owner")
        );

        Vm::add_tags(&c, web, "prod").await.unwrap();
        assert_eq!(Vm::get_tags(&c, web).await.unwrap(), ["prod"]);
        Vm::remove_tags(&c, web, "prod").await.unwrap();

        let halted = Vm::get_all_records_where(
            &c,
            r#"field "power_state" = "Halted" and field "is_control_domain" = "false""#,
        )
        .await
        .unwrap();
        assert_eq!(halted.len(), 2);
        let bad = Vm::get_all_records_where(&c, "field name")
            .await
            .unwrap_err();
        assert!(bad.is_code(&ErrorCode::InvalidValue));

        let missing = Vm::get_record(&c, &Ref::new("OpaqueRef:nope"))
            .await
            .unwrap_err();
        assert!(missing.is_code(&ErrorCode::HandleInvalid));
        assert_eq!(missing.api().unwrap().params, ["VM", "OpaqueRef:nope"]);
        let nouuid = Vm::get_by_uuid(&c, "00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err();
        assert!(nouuid.is_code(&ErrorCode::UuidInvalid));

        // Implicit constructor and destructor.
        let net = Network::create(
            &c,
            &NetworkRecord {
                name_label: "internal".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(
            Network::get_bridge(&c, &net)
                .await
                .unwrap()
                .starts_with("xapi")
        );
        Network::destroy(&c, &net).await.unwrap();
        assert!(
            Network::get_record(&c, &net)
                .await
                .unwrap_err()
                .is_code(&ErrorCode::HandleInvalid)
        );
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn bad_calls_get_xapi_shaped_errors_and_the_server_keeps_serving() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let err = c
            .call::<Value>("VM.get_all", true, vec![Value::String("extra".into())])
            .await
            .unwrap_err();
        assert!(
            err.is_code(&ErrorCode::MessageParameterCountMismatch),
            "{err}"
        );
        assert_eq!(err.api().unwrap().params, ["VM.get_all", "0", "1"]);

        let err = c.call::<Value>("VM.fly", true, vec![]).await.unwrap_err();
        assert!(err.is_code(&ErrorCode::MessageMethodUnknown), "{err}");

        let err = c
            .call::<Value>("VM.get_record", true, vec![Value::Int(5)])
            .await
            .unwrap_err();
        assert!(
            err.is_code(&ErrorCode::InternalError),
            "wrong types are xapi's unmarshal failure: {err}"
        );

        let err = c
            .call::<Value>(
                "VM.checkpoint",
                true,
                vec![
                    Value::String("OpaqueRef:x".into()),
                    Value::String("n".into()),
                ],
            )
            .await
            .unwrap_err();
        assert!(err.is_code(&ErrorCode::NotImplemented), "{err}");

        let err = c
            .call::<Value>(
                "Async.VM.get_record",
                true,
                vec![Value::String("OpaqueRef:x".into())],
            )
            .await
            .unwrap_err();
        assert_eq!(err.api().unwrap().description()[0], "Fault");

        // A session that does not exist.
        let err = c
            .call_with_timeout::<Value>(
                "VM.get_all",
                false,
                vec![Value::String("OpaqueRef:forged".into())],
                None,
            )
            .await
            .unwrap_err();
        assert!(err.is_code(&ErrorCode::SessionInvalid), "{err}");
        assert!(!Vm::get_all(&c).await.unwrap().is_empty(), "still serving");
        c.logout().await.unwrap();
    }
    // Garbage bodies get xapi's HTTP 500 and the host keeps serving.
    let url = sim.host("xen1").unwrap().url;
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    for (path, body) in [
        ("/", "<methodCall><methodName>x"),
        ("/jsonrpc", "{\"method\": 1}"),
        ("/", "<!DOCTYPE x [<!ENTITY a \"b\">]><methodCall/>"),
    ] {
        let r = client
            .post(format!("{url}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500, "{path} {body}");
    }
    let c = login(&sim, "xen1", PROTOCOLS[0]).await;
    assert!(!Vm::get_all(&c).await.unwrap().is_empty());
    c.logout().await.unwrap();
}

#[tokio::test]
async fn wrong_passwords_and_session_accounting() {
    let sim = start("single").await;
    let info = sim.host("xen1").unwrap();
    let opts = common::options(&sim, "xen1", PROTOCOLS[0]);
    let err =
        xenpool::Connection::login(&info.url, xenpool::Credentials::new("root", "nope"), opts)
            .await
            .unwrap_err();
    assert!(err.is_code(&ErrorCode::SessionAuthenticationFailed));
    assert_eq!(
        err.api().unwrap().params,
        ["root", "Authentication failure"]
    );
    let conns: Vec<_> =
        futures::future::join_all((0..5).map(|_| login(&sim, "xen1", PROTOCOLS[1]))).await;
    assert_eq!(sim.session_count(), 5);
    for c in &conns {
        c.logout().await.unwrap();
    }
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn async_calls_run_as_tasks_with_results_and_failures() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let web = Vm::get_by_name_label(&c, "web").await.unwrap().remove(0);
        let task = Vm::async_start(&c, &web, false, false).await.unwrap();
        let outcome = wait(
            &c,
            &task,
            &WaitOptions {
                timeout: Some(Duration::from_secs(10)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(outcome.record.progress, 1.0);
        assert_eq!(
            Vm::get_power_state(&c, &web).await.unwrap(),
            VmPowerState::Running
        );
        assert!(
            Task::get_record(&c, &task)
                .await
                .unwrap_err()
                .is_code(&ErrorCode::HandleInvalid),
            "destroyed after waiting"
        );

        // A failing task reports the failure as the error it carries.
        let task = Vm::async_start(&c, &web, false, false).await.unwrap();
        let err = wait(&c, &task, &WaitOptions::default()).await.unwrap_err();
        assert!(err.is_code(&ErrorCode::VmBadPowerState), "{err}");
        assert_eq!(err.api().unwrap().params[1..], ["halted", "running"]);
        assert_eq!(err.api().unwrap().method, "Async.VM.start");

        // Results come back typed from task.result's XML-RPC fragment, even over JSON-RPC.
        let task = Network::async_create(
            &c,
            &NetworkRecord {
                name_label: "via-task".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let outcome = wait(&c, &task, &WaitOptions::default()).await.unwrap();
        let net: Ref<Network> = outcome.result().unwrap();
        assert_eq!(Network::get_name_label(&c, &net).await.unwrap(), "via-task");
        Network::destroy(&c, &net).await.unwrap();
        Vm::hard_shutdown(&c, &web).await.unwrap();
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn event_from_reports_changes_with_tokens() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let mut watcher =
            xenpool::event::EventWatcher::new(&c, ["vm"]).with_poll_timeout(Duration::from_secs(5));
        // The first batch announces every VM.
        let xenpool::event::WatchItem::Events(first) = watcher.next().await.unwrap() else {
            panic!("resync")
        };
        assert_eq!(first.len(), 3);
        assert!(
            first
                .iter()
                .all(|e| e.operation == xenpool::event::EventOperation::Add && e.class == "vm")
        );
        let web = Vm::get_by_name_label(&c, "web").await.unwrap().remove(0);
        // A change after the first batch is in the next one.
        Vm::set_name_description(&c, &web, "changed").await.unwrap();
        let xenpool::event::WatchItem::Events(changes) = watcher.next().await.unwrap() else {
            panic!("resync")
        };
        let change = changes
            .iter()
            .find(|e| e.reference == web.as_str())
            .expect("an event for web");
        assert_eq!(change.operation, xenpool::event::EventOperation::Mod);
        let record: xenpool::generated::VmRecord = change.snapshot_as().unwrap().unwrap();
        assert_eq!(record.name_description, "changed");

        // A garbled token is the typed parse failure.
        let err = c
            .call::<Value>(
                "event.from",
                true,
                vec![
                    Value::Array(vec![Value::String("vm".into())]),
                    Value::String("garbage".into()),
                    Value::Double(0.1),
                ],
            )
            .await
            .unwrap_err();
        assert!(err.is_code(&ErrorCode::EventFromTokenParseFailure));
        // An empty batch after the timeout, with a fresh token.
        let batch: xenpool::event::EventBatch = c
            .call(
                "event.from",
                true,
                vec![
                    Value::Array(vec![Value::String("pool".into())]),
                    Value::String(watcher.token().into()),
                    Value::Double(0.2),
                ],
            )
            .await
            .unwrap();
        assert!(batch.events.is_empty());
        assert!(!batch.token.is_empty());
        let token = c
            .call::<String>(
                "event.inject",
                true,
                vec![
                    Value::String("VM".into()),
                    Value::String(web.as_str().into()),
                ],
            )
            .await
            .unwrap();
        assert!(token.contains(','));
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn many_clients_and_long_polls_at_once_leave_nothing_behind() {
    let sim = start("single").await;
    let mut jobs = Vec::new();
    for i in 0..24 {
        let sim = sim.clone();
        jobs.push(tokio::spawn(async move {
            let c = login(&sim, "xen1", PROTOCOLS[i % 2]).await;
            if i % 4 == 0 {
                let _: xenpool::event::EventBatch = c
                    .call_with_timeout(
                        "event.from",
                        true,
                        vec![
                            Value::Array(vec![Value::String("host".into())]),
                            Value::String("00000000000000999999,00000000000000000000".into()),
                            Value::Double(0.5),
                        ],
                        Some(Duration::from_secs(10)),
                    )
                    .await
                    .unwrap();
            } else {
                for _ in 0..10 {
                    assert!(!Vm::get_all_records(&c).await.unwrap().is_empty());
                }
            }
            c.logout().await.unwrap();
        }));
    }
    for j in jobs {
        j.await.unwrap();
    }
    assert_eq!(sim.session_count(), 0);
}
