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

/// A pool connection to one lab host (standalone hosts are pools of one).
pub async fn connect(
    sim: &Simulator,
    name: &str,
) -> xenpool::Result<xenpool::pool::PoolConnection> {
    let host = access(sim, name);
    xenpool::pool::PoolConnection::connect(&host.url, host.credentials, host.options).await
}

/// Prints progress events as `[step/total] message`.
pub fn progress() -> xenpool::pool::OpOptions {
    xenpool::pool::OpOptions::default()
        .with_progress(|e| println!("  [{}/{}] {}", e.step, e.total, e.message))
}

/// A pool of the named lab hosts, the first as coordinator (every member checked first).
pub async fn pool_of(
    sim: &Simulator,
    names: &[&str],
) -> xenpool::Result<xenpool::pool::PoolConnection> {
    let members: Vec<HostAccess> = names[1..].iter().map(|n| access(sim, n)).collect();
    let (pool, outcome) = xenpool::pool::create_pool(
        "lab-pool",
        "",
        &access(sim, names[0]),
        &members,
        false,
        &Default::default(),
    )
    .await?;
    assert!(outcome.is_complete(), "the pool formed: {outcome:?}");
    Ok(pool)
}

/// A small VM record (`gib` GiB of memory, one vCPU), ready for `Vm::create`.
pub fn small_vm(name: &str, gib: i64) -> xenpool::generated::VmRecord {
    let memory = gib << 30;
    xenpool::generated::VmRecord {
        name_label: name.into(),
        memory_static_max: memory,
        memory_dynamic_max: memory,
        memory_dynamic_min: memory,
        memory_static_min: memory / 2,
        vcpus_max: 1,
        vcpus_at_startup: 1,
        ..Default::default()
    }
}
