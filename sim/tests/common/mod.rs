//! Shared set-up: a simulator on loopback and typed connections to its hosts.
#![allow(dead_code)]

use std::time::Duration;

use xenpool::{ConnectOptions, Connection, Credentials, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

/// Both encodings every wire test runs over.
pub const PROTOCOLS: [Protocol; 2] = [Protocol::JsonRpc, Protocol::XmlRpc];

/// Starts a simulator for `scenario` with a short wrong-password delay.
pub async fn start(scenario: &str) -> Simulator {
    Simulator::builder()
        .scenario(Scenario::builtin(scenario).expect("built-in scenario"))
        .auth_failure_delay(Duration::from_millis(50))
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(50),
            xapi_restart_delay: Duration::from_millis(20),
            ha_election_delay: Duration::from_millis(300),
            operation_time: Duration::from_millis(20),
            ..Default::default()
        })
        .start()
        .await
        .expect("simulator starts")
}

/// Options pinned to the host's certificate.
pub fn options(sim: &Simulator, host: &str, protocol: Protocol) -> ConnectOptions {
    let info = sim.host(host).expect("host");
    ConnectOptions {
        tls: Tls::Pinned(info.fingerprint.expect("https")),
        protocol,
        ..ConnectOptions::default()
    }
}

/// Logs into `host` as root with its pool's password.
pub async fn login(sim: &Simulator, host: &str, protocol: Protocol) -> Connection {
    let info = sim.host(host).expect("host");
    Connection::login(
        &info.url,
        Credentials::new("root", info.password.as_str()),
        options(sim, host, protocol),
    )
    .await
    .unwrap_or_else(|e| panic!("login to {host}: {e}"))
}

/// Polls `condition` every 20 ms until it holds; fails naming `what` after `within`.
pub async fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
