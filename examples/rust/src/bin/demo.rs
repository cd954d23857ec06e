//! The main demo: the whole pooling story on the embedded simulator, narrated.
use std::time::Instant;

use xenpool::generated::{BondMode, Host, Vm};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{OpOptions, PoolSnapshot, ValidateOptions, create_pool, join, validate_join};
use xenpool_examples::{access, lab, progress, small_vm};

fn title(t: &str) {
    println!("\n== {t}");
}

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    title("The lab: standalone hosts on loopback");
    for h in sim.hosts() {
        println!("  {:<10} {}", h.name, h.url);
    }

    title("Create a pool of three Intel hosts (each checked first)");
    let (pool, created) = create_pool(
        "production",
        "demo",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &progress(),
    )
    .await?;
    println!("  joined: {}", created.joined.join(", "));

    title("Check a host with a running VM: every problem at once");
    let busy = access(&sim, "busy");
    let report = validate_join(
        &pool,
        &busy.url,
        &busy.credentials,
        &ValidateOptions {
            connect: busy.options.clone(),
            ..Default::default()
        },
    )
    .await?;
    println!("{report}");

    title("An AMD host is refused, with the reason");
    if let Err(e) = join(&pool, &access(&sim, "amd1"), false, &OpOptions::default()).await {
        println!("  {e}");
    }

    title("A pool-wide storage bond, then another CPU model forced in");
    ops::create_bond(
        &pool,
        &["eth2", "eth3"],
        BondMode::Lacp,
        "Storage",
        &OpOptions::default(),
    )
    .await?;
    join(&pool, &access(&sim, "intel-old"), true, &progress()).await?;
    for p in ops::check_bonds(&PoolSnapshot::fetch(&pool).await?) {
        println!(
            "  {}: bond uses {:?}, should use {:?} ({})",
            p.host, p.members, p.expected, p.reason
        );
    }
    ops::repair_bonds(&pool, &progress()).await?;

    title("Shared NFS storage as the default SR");
    ops::create_nfs_sr(
        &pool,
        "shared",
        "nfs.example",
        "/exports/vms",
        None,
        &progress(),
    )
    .await?;

    title("XenMotion");
    let intel2 = Host::get_by_name_label(&pool, "intel2").await?.remove(0);
    let vm = Vm::create(&pool, &small_vm("web", 1)).await?;
    Vm::start_on(&pool, &vm, &intel2, false, false).await?;
    ops::migrate(&pool, "web", "intel3", &progress()).await?;

    title("Eject intel3 (its VM is evacuated first)");
    let plan = ops::eject(
        &pool,
        "intel3",
        &EjectOptions::default(),
        &OpOptions::dry_run(),
    )
    .await?;
    print!("{}", plan.plan);
    ops::eject(&pool, "intel3", &EjectOptions::default(), &progress()).await?;

    title("HA, then the coordinator dies");
    Vm::set_ha_restart_priority(&pool, &vm, "restart").await?;
    let ha = ops::enable_ha(&pool, None, &progress()).await?;
    println!(
        "  tolerating {} host failure(s); coordinator {}",
        ha.failures_to_tolerate,
        pool.coordinator_address()
    );
    sim.kill("intel1").expect("a simulated host");
    let started = Instant::now();
    let snap = PoolSnapshot::fetch(&pool).await?;
    println!(
        "  {} ms later the same handle talks to {}:",
        started.elapsed().as_millis(),
        pool.coordinator_address()
    );
    for h in snap.hosts() {
        println!(
            "    {:<10} live={:<5} coordinator={}",
            h.name(),
            h.is_live(),
            h.is_coordinator()
        );
    }
    pool.close().await?;
    println!(
        "\nsessions left open on the simulator: {}",
        sim.session_count()
    );
    Ok(())
}
