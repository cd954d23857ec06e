//! HA and master failover: enable HA on shared storage, kill the coordinator, and keep
//! working through the same handle on the new one.
use std::time::Instant;

use xenpool::generated::Host;
use xenpool::pool::OpOptions;
use xenpool::pool::ops;
use xenpool_examples::{lab, pool_of, progress};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = pool_of(&sim, &["intel1", "intel2", "intel3"]).await?;
    ops::create_nfs_sr(
        &pool,
        "heartbeat",
        "nfs.example",
        "/exports/ha",
        None,
        &OpOptions::default(),
    )
    .await?;
    let ha = ops::enable_ha(&pool, None, &progress()).await?;
    println!(
        "HA on, tolerating {} host failure(s)",
        ha.failures_to_tolerate
    );
    println!("coordinator: {}", pool.coordinator_address());
    sim.kill("intel1").expect("a simulated host");
    let started = Instant::now();
    let hosts = Host::get_all(&pool).await?;
    println!(
        "after the failover ({} ms): coordinator {}, {} hosts",
        started.elapsed().as_millis(),
        pool.coordinator_address(),
        hosts.len()
    );
    pool.close().await
}
