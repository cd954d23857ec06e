//! Parameter counts as xapi checks them (docs/wire-protocol.md#parameters, `gen_server.ml`):
//! optional
//! trailing parameters may be left out; a host whose xapi predates a message's optional
//! tail refuses it with `MESSAGE_PARAMETER_COUNT_MISMATCH`; surplus parameters are ignored
//! by messages with an optional tail and refused by the others.

mod common;

use std::time::Duration;

use common::{PROTOCOLS, options};
use xenpool::generated::{Host, HostDisableOptions, HostEvacuateOptions};
use xenpool::wire::Value;
use xenpool::{Caller, Connection, Credentials, ErrorCode, Protocol, Ref};
use xenpool_sim::{Scenario, Simulator};

/// Two standalone hosts: `old` runs xapi 24.19 (before `host.disable` gained
/// `auto_enable` in 25.31.0), `new` runs 26.17.
async fn two_versions() -> Simulator {
    let scenario = Scenario::parse(
        "versions",
        r#"
name = "versions"
description = "one host before host.disable gained auto_enable, one after"

[[host]]
name = "old"
[host.version]
xapi = "24.19"

[[host]]
name = "new"
[host.version]
xapi = "26.17"
"#,
    )
    .unwrap();
    Simulator::builder()
        .scenario(scenario)
        .auth_failure_delay(Duration::from_millis(10))
        .start()
        .await
        .unwrap()
}

async fn login(sim: &Simulator, host: &str, protocol: Protocol) -> (Connection, Ref<Host>) {
    let info = sim.host(host).unwrap();
    let c = Connection::login(
        &info.url,
        Credentials::new("root", info.password.as_str()),
        options(sim, host, protocol),
    )
    .await
    .unwrap();
    let me = Host::get_all(&c).await.unwrap().remove(0);
    (c, me)
}

#[tokio::test]
async fn an_older_host_refuses_the_optional_tail_it_predates_and_a_newer_one_takes_it() {
    let sim = two_versions().await;
    let auto = HostDisableOptions {
        auto_enable: Some(true),
    };
    for protocol in PROTOCOLS {
        let (old, old_host) = login(&sim, "old", protocol).await;
        Host::disable(&old, &old_host).await.unwrap();
        Host::enable(&old, &old_host).await.unwrap();
        let err = Host::disable_with(&old, &old_host, &auto)
            .await
            .unwrap_err();
        let api = err.api().expect("a XenAPI failure");
        assert_eq!(api.code, ErrorCode::MessageParameterCountMismatch);
        assert_eq!(api.params, ["host.disable", "1", "2"], "{protocol:?}");
        assert!(Host::get_enabled(&old, &old_host).await.unwrap());

        let (new, new_host) = login(&sim, "new", protocol).await;
        Host::disable_with(&new, &new_host, &auto).await.unwrap();
        assert!(!Host::get_enabled(&new, &new_host).await.unwrap());
        Host::enable(&new, &new_host).await.unwrap();
        Host::disable(&new, &new_host).await.unwrap();
        Host::enable(&new, &new_host).await.unwrap();
        old.logout().await.unwrap();
        new.logout().await.unwrap();
    }
}

#[tokio::test]
async fn lab_hosts_take_optional_parameters_by_their_own_version() {
    // `host.evacuate` gained its tail by 23.27.0: the lab's 24.19 hosts know it, the
    // 8.2-era `oldver` (xapi 1.249) does not.
    let sim = common::start("lab").await;
    let network = HostEvacuateOptions {
        network: Some(Ref::null()),
        evacuate_batch_size: Some(2),
    };
    for protocol in PROTOCOLS {
        let current = common::login(&sim, "intel1", protocol).await;
        let me = Host::get_all(&current).await.unwrap().remove(0);
        Host::disable(&current, &me).await.unwrap();
        Host::evacuate_with(&current, &me, &network).await.unwrap();
        Host::evacuate(&current, &me).await.unwrap();
        Host::enable(&current, &me).await.unwrap();

        let old = common::login(&sim, "oldver", protocol).await;
        let me = Host::get_all(&old).await.unwrap().remove(0);
        Host::disable(&old, &me).await.unwrap();
        Host::evacuate(&old, &me).await.unwrap();
        let err = Host::evacuate_with(&old, &me, &network).await.unwrap_err();
        assert_eq!(
            err.api().unwrap().params,
            ["host.evacuate", "1", "3"],
            "{protocol:?}"
        );
        Host::enable(&old, &me).await.unwrap();
        current.logout().await.unwrap();
        old.logout().await.unwrap();
    }
}

#[tokio::test]
async fn surplus_parameters_are_refused_or_ignored_as_xapi_does() {
    let sim = common::start("single").await;
    for protocol in PROTOCOLS {
        let c = common::login(&sim, "xen1", protocol).await;
        let me = Host::get_all(&c).await.unwrap().remove(0);
        // No optional tail: the exact count or MESSAGE_PARAMETER_COUNT_MISMATCH.
        let err = c
            .call::<String>(
                "host.get_name_label",
                true,
                vec![Value::String(me.as_str().into()), Value::String("x".into())],
            )
            .await
            .unwrap_err();
        assert_eq!(err.api().unwrap().params, ["host.get_name_label", "1", "2"]);
        let err = c
            .call::<String>("host.get_name_label", true, vec![])
            .await
            .unwrap_err();
        assert_eq!(err.api().unwrap().params, ["host.get_name_label", "1", "0"]);
        // An optional tail: anything past it is ignored (`default_args` is read by index).
        let password = sim.host("xen1").unwrap().password;
        let surplus: Vec<Value> = ["root", password.as_str(), "1.1", "test", "surplus"]
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        let session: String = c
            .call("session.login_with_password", false, surplus)
            .await
            .unwrap();
        assert!(session.starts_with("OpaqueRef:"));
        c.call::<serde::de::IgnoredAny>("session.logout", false, vec![Value::String(session)])
            .await
            .unwrap();
        c.logout().await.unwrap();
    }
}
