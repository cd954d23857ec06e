//! Eject a member: running VMs are live-migrated away first; the warnings are shown.
use xenpool::generated::{Host, Vm};
use xenpool::pool::OpOptions;
use xenpool::pool::ops::{self, EjectOptions};
use xenpool_examples::{lab, pool_of, progress, small_vm};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = pool_of(&sim, &["intel1", "intel2", "intel3"]).await?;
    let intel3 = Host::get_by_name_label(&pool, "intel3").await?.remove(0);
    let vm = Vm::create(&pool, &small_vm("app", 1)).await?;
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
