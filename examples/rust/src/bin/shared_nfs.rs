//! Shared NFS storage: one SR, a plugged PBD on every host, the pool's default SR.
use xenpool::pool::PoolSnapshot;
use xenpool::pool::ops;
use xenpool_examples::{lab, pool_of, progress};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = pool_of(&sim, &["intel1", "intel2", "intel3"]).await?;
    ops::create_nfs_sr(
        &pool,
        "shared",
        "nfs.example",
        "/exports/vms",
        Some("4.1"),
        &progress(),
    )
    .await?;
    let snap = PoolSnapshot::fetch(&pool).await?;
    let sr = snap.pool().default_sr().expect("a default SR");
    println!(
        "default SR {} reaches every host: {}",
        sr.record.name_label,
        sr.reaches_every_host()
    );
    pool.close().await
}
