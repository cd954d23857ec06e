//! XenMotion: live-migrate a VM with pre-checks, then evacuate a host for maintenance.
use xenpool::generated::{Host, Vm, VmRecord};
use xenpool::pool::ops;
use xenpool::pool::{OpOptions, PoolSnapshot, create_pool};
use xenpool_examples::{access, lab, progress};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let (pool, _) = create_pool(
        "p",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &OpOptions::default(),
    )
    .await?;
    let intel2 = Host::get_by_name_label(&pool, "intel2").await?.remove(0);
    let vm = Vm::create(
        &pool,
        &VmRecord {
            name_label: "db".into(),
            memory_static_max: 2 << 30,
            memory_dynamic_max: 2 << 30,
            memory_dynamic_min: 2 << 30,
            memory_static_min: 1 << 30,
            vcpus_max: 2,
            vcpus_at_startup: 2,
            ..Default::default()
        },
    )
    .await?;
    Vm::start_on(&pool, &vm, &intel2, false, false).await?;
    ops::migrate(&pool, "db", "intel3", &progress()).await?;
    let moved = ops::evacuate(&pool, "intel3", &progress()).await?;
    for (vm, to) in moved.moved {
        println!("{vm} moved to {to}");
    }
    let snap = PoolSnapshot::fetch(&pool).await?;
    println!(
        "intel3 enabled: {}",
        snap.find_host("intel3")?.record.enabled
    );
    pool.close().await
}
