//! Repair bonds after a join: xapi copies the coordinator's bonds by NIC position, which
//! bonds the wrong NICs on a host cabled differently.
use xenpool::generated::BondMode;
use xenpool::pool::ops;
use xenpool::pool::{OpOptions, PoolSnapshot, join};
use xenpool_examples::{access, lab, pool_of, progress};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = pool_of(&sim, &["intel1", "intel2"]).await?;
    ops::create_bond(
        &pool,
        &["eth2", "eth3"],
        BondMode::Lacp,
        "Storage",
        &OpOptions::default(),
    )
    .await?;
    join(
        &pool,
        &access(&sim, "intel-old"),
        true,
        &OpOptions::default(),
    )
    .await?;
    for p in ops::check_bonds(&PoolSnapshot::fetch(&pool).await?) {
        println!(
            "{}: bond on {} uses {:?}, should use {:?} ({})",
            p.host, p.network, p.members, p.expected, p.reason
        );
    }
    ops::repair_bonds(&pool, &progress()).await?;
    println!(
        "problems left: {}",
        ops::check_bonds(&PoolSnapshot::fetch(&pool).await?).len()
    );
    pool.close().await
}
