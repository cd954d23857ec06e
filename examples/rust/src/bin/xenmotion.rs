//! XenMotion: live-migrate a VM with pre-checks, then evacuate a host for maintenance.
use xenpool::generated::{Host, Vm};
use xenpool::pool::PoolSnapshot;
use xenpool::pool::ops;
use xenpool_examples::{lab, pool_of, progress, small_vm};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = pool_of(&sim, &["intel1", "intel2", "intel3"]).await?;
    let intel2 = Host::get_by_name_label(&pool, "intel2").await?.remove(0);
    let vm = Vm::create(&pool, &small_vm("db", 2)).await?;
    Vm::start_on(&pool, &vm, &intel2, false, false).await?;
    ops::migrate(&pool, "db", "intel3", &progress()).await?;
    let moved = ops::evacuate(&pool, "intel3", &progress()).await?;
    for (vm, to) in moved.detail.moved {
        println!("{vm} moved to {to}");
    }
    let snap = PoolSnapshot::fetch(&pool).await?;
    println!(
        "intel3 enabled: {}",
        snap.find_host("intel3")?.record.enabled
    );
    pool.close().await
}
