//! Eject a member: running VMs are live-migrated away first; the warnings are shown.
use xenpool::generated::{Host, Vm, VmRecord};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{OpOptions, create_pool};
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
    let intel3 = Host::get_by_name_label(&pool, "intel3").await?.remove(0);
    let vm = Vm::create(
        &pool,
        &VmRecord {
            name_label: "app".into(),
            memory_static_max: 1 << 30,
            memory_dynamic_max: 1 << 30,
            memory_dynamic_min: 1 << 30,
            memory_static_min: 1 << 29,
            vcpus_max: 1,
            vcpus_at_startup: 1,
            ..Default::default()
        },
    )
    .await?;
    Vm::start_on(&pool, &vm, &intel3, false, false).await?;
    let plan = ops::eject(
        &pool,
        "intel3",
        &EjectOptions::default(),
        &OpOptions::dry_run(),
    )
    .await?;
    print!("{}", plan.plan);
    let outcome = ops::eject(&pool, "intel3", &EjectOptions::default(), &progress()).await?;
    println!("evacuated first: {}", outcome.evacuated.join(", "));
    pool.close().await
}
