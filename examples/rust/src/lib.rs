//! Shared by the examples: start the embedded simulator and describe how to reach a host.
//! Against a real pool, replace `lab()` with your hosts' URLs, passwords and fingerprints.

use std::time::Duration;

use xenpool::pool::HostAccess;
use xenpool::{ConnectOptions, Credentials, Tls};
pub use xenpool_sim::Simulator;

/// Starts the `lab` scenario (standalone hosts for every pooling situation).
pub async fn lab() -> Simulator {
    xenpool_sim::Simulator::builder()
        .scenario(xenpool_sim::Scenario::builtin("lab").expect("built-in"))
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(100),
            ha_election_delay: Duration::from_millis(500),
            ..Default::default()
        })
        .start()
        .await
        .expect("the simulator starts")
}

/// How to reach a simulated host: its URL, root password and pinned certificate.
pub fn access(sim: &Simulator, name: &str) -> HostAccess {
    let h = sim.host(name).expect("a lab host");
    HostAccess::new(
        h.url,
        Credentials::new("root", h.password.as_str()),
        ConnectOptions {
            tls: Tls::Pinned(h.fingerprint.expect("https")),
            ..Default::default()
        },
    )
}

/// Prints progress events as `[step/total] message`.
pub fn progress() -> xenpool::pool::OpOptions {
    xenpool::pool::OpOptions::default()
        .with_progress(|e| println!("  [{}/{}] {}", e.step, e.total, e.message))
}
