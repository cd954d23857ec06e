//! The pooling documentation's stories through xenpool's workflows, against the simulator:
//! create a pool, refuse an AMD host with the reason, force-join another CPU model and
//! repair its bonds, add shared NFS storage, live-migrate, eject with evacuation, enable HA,
//! lose the coordinator — and leak no session.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::access;
use xenpool::generated::{BondMode, Host, Vm, VmRecord};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{JoinPolicy, OpOptions, PoolSnapshot, create_pool, join};
use xenpool::{Credentials, Error, ErrorCode, Tls};
use xenpool_sim::{Config, Scenario, Simulator};

async fn lab() -> Simulator {
    Simulator::builder()
        .scenario(Scenario::builtin("lab").unwrap())
        .config(Config {
            auth_failure_delay: Duration::from_millis(50),
            xapi_restart_delay: Duration::from_millis(20),
            ha_election_delay: Duration::from_millis(500),
            operation_time: Duration::from_millis(20),
            ..Config::default()
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seed_story() {
    Box::pin(seed_story()).await
}

async fn seed_story() {
    let sim = lab().await;
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = steps.clone();
    let progress = OpOptions::default().with_progress(move |e| {
        seen.lock()
            .unwrap()
            .push((e.step, e.total, e.message.clone()))
    });

    // A dry run plans without changing anything.
    let (_, dry) = create_pool(
        "lab-pool",
        "the lab",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &OpOptions::dry_run(),
    )
    .await
    .unwrap();
    assert!(!dry.executed);
    assert!(dry.plan.calls.iter().any(|c| c.method == "pool.join"));
    assert!(
        dry.plan
            .calls
            .iter()
            .all(|c| !c.args.iter().any(|a| a.contains("xenroot"))),
        "passwords are masked in plans"
    );
    assert_eq!(sim.host("intel2").unwrap().master_address, None);

    // 1. Create a pool of three.
    let (pool, created) = create_pool(
        "lab-pool",
        "the lab",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &progress,
    )
    .await
    .unwrap();
    assert!(created.is_complete(), "{created:?}");
    assert_eq!(created.joined, ["intel2", "intel3"]);
    let (last_step, total, _) = steps.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last_step, total, "progress reaches the end");
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert_eq!(snap.pool().name(), "lab-pool");
    assert_eq!(snap.hosts().len(), 3);
    assert!(snap.hosts().iter().all(|h| h.record.enabled));

    // 2. An AMD host is refused, with the reason, before anything is sent.
    let refused = join(&pool, &access(&sim, "amd1"), false, &OpOptions::default())
        .await
        .unwrap_err();
    let Error::Refused { problems, .. } = &refused else {
        panic!("{refused:?}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.check == "cpu_vendor" && p.message.contains("AuthenticAMD")),
        "{problems:?}"
    );
    assert!(
        refused.params().contains(&"cpu_vendor".to_string()),
        "{refused}"
    );
    assert_eq!(sim.host("amd1").unwrap().master_address, None);
    // Force alone does not make a cross-vendor pool (pool.join_force would); the override
    // has to be named, and only counts with force.
    let forced = join(&pool, &access(&sim, "amd1"), true, &OpOptions::default())
        .await
        .unwrap_err();
    let Error::Refused { problems, .. } = &forced else {
        panic!("{forced:?}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("allow_cross_vendor"),
        "{problems:?}"
    );
    let override_alone = JoinPolicy {
        force: false,
        allow_cross_vendor: true,
    };
    let err = join(
        &pool,
        &access(&sim, "amd1"),
        override_alone,
        &OpOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), xenpool::error::codes::INVALID_ARGUMENT, "{err}");
    let cross_vendor = JoinPolicy {
        force: true,
        allow_cross_vendor: true,
    };
    let plan = join(
        &pool,
        &access(&sim, "amd1"),
        cross_vendor,
        &OpOptions::dry_run(),
    )
    .await
    .unwrap();
    assert!(
        plan.plan
            .warnings
            .iter()
            .any(|w| w.contains("Same CPU vendor") && w.contains("unsupported")),
        "{:?}",
        plan.plan.warnings
    );
    assert_eq!(plan.forced_past.len(), 1);
    assert_eq!(sim.host("amd1").unwrap().master_address, None, "a dry run");

    // 3. A pool-wide storage bond, then a host of another CPU model forced in: its bond
    //    lands on the wrong NICs (copied by position), and is repaired.
    let bonds = ops::create_bond(
        &pool,
        &["eth2", "eth3"],
        BondMode::Lacp,
        "Storage",
        &OpOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(bonds.bonds.len(), 3);
    let not_forced = join(
        &pool,
        &access(&sim, "intel-old"),
        false,
        &OpOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(not_forced, Error::Refused { .. }),
        "another CPU model needs force"
    );
    let forced = join(
        &pool,
        &access(&sim, "intel-old"),
        true,
        &OpOptions::default(),
    )
    .await
    .unwrap();
    assert!(forced.notes.iter().any(|n| n.contains("password")));
    // What force went past is said, by name.
    let past: Vec<&str> = forced.forced_past.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(past, ["cpu_homogeneous"], "{forced:?}");
    assert!(
        forced
            .notes
            .iter()
            .any(|n| n.starts_with("forced past: Same CPU model and features")),
        "{:?}",
        forced.notes
    );
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    let problems = ops::check_bonds(&snap);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].host, "intel-old");
    assert_eq!(problems[0].expected, ["eth0", "eth1"], "its 10G NICs");
    let dry = ops::repair_bonds(&pool, &OpOptions::dry_run())
        .await
        .unwrap();
    assert!(dry.plan.calls.iter().any(|c| c.method == "Bond.destroy"));
    ops::repair_bonds(&pool, &OpOptions::default())
        .await
        .unwrap();
    assert!(ops::check_bonds(&PoolSnapshot::fetch(&pool).await.unwrap()).is_empty());
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    let old = snap.find_host("intel-old").unwrap();
    assert!(
        old.management_pif()
            .is_some_and(|p| p.record.device == "eth2"),
        "management back on its own NIC"
    );

    // 4. Shared NFS storage, the default SR.
    let sr = ops::create_nfs_sr(
        &pool,
        "lab-nfs",
        "nfs.lab",
        "/exports/lab",
        None,
        &OpOptions::default(),
    )
    .await
    .unwrap();
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    let default = snap.pool().default_sr().unwrap();
    assert_eq!(Some(default.r.as_str().to_string()), sr.sr);
    assert!(default.reaches_every_host());

    // 5. Live-migrate a VM.
    let intel3 = snap.find_host("intel3").unwrap().r.clone();
    let vm = Vm::create(
        &pool,
        &VmRecord {
            name_label: "web".into(),
            memory_static_max: 1 << 30,
            memory_dynamic_max: 1 << 30,
            memory_dynamic_min: 1 << 30,
            memory_static_min: 1 << 29,
            vcpus_max: 1,
            vcpus_at_startup: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Vm::start_on(&pool, &vm, &intel3, false, false)
        .await
        .unwrap();
    let refused = ops::migrate(&pool, "web", "amd1", &OpOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::NotFound { class, key } if class == "host" && key == "amd1"),
        "amd1 is not in the pool: {refused}"
    );
    let moved = ops::migrate(&pool, "web", "intel2", &OpOptions::default())
        .await
        .unwrap();
    assert_eq!(moved.moved, [("web".to_string(), "intel2".to_string())]);
    // Back to intel3, then eject intel3: the VM is evacuated first.
    ops::migrate(&pool, "web", "intel3", &OpOptions::default())
        .await
        .unwrap();

    // 6. Eject a member: the coordinator is refused; VMs are evacuated; the warnings are said.
    let master_eject = ops::eject(
        &pool,
        "intel1",
        &EjectOptions::default(),
        &OpOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(master_eject, Error::Refused { .. }));
    let unknown = ops::eject(
        &pool,
        "no-such-host",
        &EjectOptions::default(),
        &OpOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(unknown.to_string().contains("no-such-host"));
    let ejected = ops::eject(
        &pool,
        "intel3",
        &EjectOptions::default(),
        &OpOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(ejected.evacuated, ["web"]);
    assert!(ejected.plan.warnings.iter().any(|w| w.contains("IPMI")));
    assert!(
        ejected
            .plan
            .warnings
            .iter()
            .any(|w| w.contains("root password"))
    );
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert_eq!(snap.hosts().len(), 3);
    assert!(
        snap.find_vm("web")
            .unwrap()
            .resident_on()
            .is_some_and(|h| h.name() != "intel3")
    );

    // 7. HA, then the coordinator dies: the handle carries on with the new one.
    Vm::set_ha_restart_priority(&pool, &vm, "restart")
        .await
        .unwrap();
    let ha = ops::enable_ha(&pool, None, &OpOptions::default())
        .await
        .unwrap();
    assert!(ha.failures_to_tolerate >= 1);
    let baseline = sim.session_count();
    sim.kill("intel1").unwrap();
    let started = Instant::now();
    let hosts = Host::get_all_records(&pool)
        .await
        .expect("reads carry on after the failover");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(hosts.len(), 3);
    assert_ne!(
        pool.coordinator_address(),
        sim.host("intel1").unwrap().address
    );
    assert_eq!(
        sim.session_count(),
        baseline,
        "the session moved, nothing leaked"
    );
    pool.close().await.unwrap();
    assert_eq!(sim.session_count(), 0, "every session logged out");
}

#[tokio::test]
async fn state_changing_calls_are_not_retried_blindly() {
    let sim = lab().await;
    let (pool, _) = create_pool(
        "p",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2")],
        false,
        &OpOptions::default(),
    )
    .await
    .unwrap();
    // Without HA a dead coordinator leaves members in emergency mode: no failover target.
    let pool = pool.with_failover_timeout(Duration::from_secs(1));
    // A VM without disks on the coordinator-to-die, to restart elsewhere after recovery.
    running_vm(&pool, "app", "intel1", None).await;
    // A state-changing call in flight when the coordinator dies may have happened: it is
    // reported as such even though no member took over.
    let hosts = Host::get_all(&pool).await.unwrap();
    sim.drop_connections("intel1", true).unwrap();
    let err = Host::set_name_description(&pool, &hosts[0], "rack 9")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INDETERMINATE", "{err}");
    assert!(err.may_have_reached_host());
    sim.drop_connections("intel1", false).unwrap();
    sim.kill("intel1").unwrap();
    let err = Host::get_all(&pool).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("HA is off") && message.contains("recover_lost_coordinator"),
        "{message}"
    );
    // Recover: a dry run contacts nothing; then make intel2 the coordinator, declare the
    // dead one dead and restart its VM, and carry on.
    let member = access(&sim, "intel2");
    let recovery = ops::RecoveryOptions { restart_vms: true };
    let (none, dry) = ops::recover_lost_coordinator(
        &member.url,
        member.credentials.clone(),
        member.options.clone(),
        recovery,
        &OpOptions::dry_run(),
    )
    .await
    .unwrap();
    assert!(none.is_none() && !dry.executed);
    assert!(
        dry.plan
            .calls
            .iter()
            .any(|c| c.method == "host.declare_dead")
    );
    let (pool2, outcome) = ops::recover_lost_coordinator(
        &member.url,
        member.credentials.clone(),
        member.options.clone(),
        recovery,
        &OpOptions::default(),
    )
    .await
    .unwrap();
    let pool2 = pool2.expect("a pool after a real run");
    assert!(outcome.recovered.is_empty(), "intel1 is dead");
    assert_eq!(outcome.declared_dead, ["intel1"]);
    assert_eq!(
        outcome.restarted,
        [("app".to_string(), "intel2".to_string())],
        "{outcome:?}"
    );
    assert!(outcome.not_restarted.is_empty());
    assert_eq!(Host::get_all(&pool2).await.unwrap().len(), 2);
    pool2.close().await.unwrap();
    assert!(xenpool::pool::connection::is_idempotent("VM.get_record"));
    assert!(!xenpool::pool::connection::is_idempotent("pool.join"));
    assert!(!xenpool::pool::connection::is_idempotent(
        "Async.VM.get_record"
    ));
}

#[tokio::test]
async fn bad_input_gives_clear_typed_errors() {
    let sim = lab().await;
    let h = sim.host("intel1").unwrap();
    let tls = Tls::Pinned(h.fingerprint.unwrap());
    let wrong =
        xenpool::generated::Pool::connect(&h.url, Credentials::new("root", "nope"), tls.clone())
            .await
            .unwrap_err();
    assert!(wrong.is_code(&ErrorCode::SessionAuthenticationFailed));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = xenpool::generated::Pool::connect(
        &format!("https://127.0.0.1:{port}"),
        Credentials::new("root", "x"),
        tls.clone(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            unreachable,
            Error::Transport {
                may_have_reached_host: false,
                ..
            }
        ),
        "{unreachable}"
    );
    let pool = xenpool::generated::Pool::connect(
        &h.url,
        Credentials::new("root", h.password.as_str()),
        tls,
    )
    .await
    .unwrap();
    join(&pool, &access(&sim, "intel2"), false, &OpOptions::default())
        .await
        .unwrap();
    let again = join(&pool, &access(&sim, "intel2"), false, &OpOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(again, Error::Refused { .. }), "{again}");
    assert!(again.to_string().to_lowercase().contains("pool"), "{again}");
    let no_vm = ops::migrate(&pool, "ghost", "intel2", &OpOptions::default())
        .await
        .unwrap_err();
    assert!(no_vm.to_string().contains("ghost"));
    assert_eq!(no_vm.code(), xenpool::error::codes::NOT_FOUND);
    assert_eq!(no_vm.params(), ["VM", "ghost"]);
    pool.close().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn create_pool_needs_a_standalone_coordinator_and_reports_partial_results() {
    let sim = Arc::new(lab().await);
    // A member that dies once the first member joined: the pool exists, half made.
    let killer = sim.clone();
    let options = OpOptions::default().with_progress(move |e| {
        if e.message.contains("intel2") && e.message.contains("join") {
            let _ = killer.kill("intel3");
        }
    });
    let err = create_pool(
        "half",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &options,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "POOL_PARTIAL", "{err}");
    let Error::PartialPool {
        done,
        failed,
        not_attempted,
        ..
    } = &err
    else {
        unreachable!()
    };
    assert_eq!(done, &["intel2"]);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].member, "intel3");
    assert!(failed[0].error.may_have_reached_host() || failed[0].error.code() == "TRANSPORT");
    assert!(not_attempted.is_empty());
    assert_eq!(err.params(), ["create pool half", "intel3"]);

    // intel1 now coordinates two hosts: it cannot found another pool.
    let again = create_pool(
        "again",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "nfs-host")],
        false,
        &OpOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(again.code(), "REFUSED", "{again}");
    assert!(
        again
            .to_string()
            .contains("intel1 already coordinates a pool of 2 hosts"),
        "{again}"
    );
}

/// A 1 GiB VM started on `host`, with a 1 GiB disk on the SR with uuid `sr` when given
/// (through the pool workflow the shell's `create_vm` uses).
async fn running_vm(
    pool: &xenpool::pool::PoolConnection,
    name: &str,
    host: &str,
    sr: Option<&str>,
) {
    let spec = ops::VmSpec {
        disk_gib: sr.map(|_| 1),
        sr: sr.map(str::to_string),
        host: Some(host.to_string()),
        start: true,
        ..ops::VmSpec::new(name)
    };
    let made = ops::create_vm(pool, &spec, &OpOptions::default())
        .await
        .unwrap();
    assert_eq!(made.resident_on.as_deref(), Some(host));
}

#[tokio::test]
async fn evacuate_names_the_real_blocker_and_leaves_the_host_enabled() {
    let sim = lab().await;
    let (pool, _) = create_pool(
        "evac",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2")],
        false,
        &OpOptions::default(),
    )
    .await
    .unwrap();
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    let intel2 = snap.find_host("intel2").unwrap().r.clone();
    // intel2's own local SR: only intel2 has a PBD for it.
    let local = snap
        .pbds
        .values()
        .filter(|p| p.host == intel2)
        .map(|p| p.sr.clone())
        .find(|sr| {
            snap.srs
                .get(sr)
                .is_some_and(|s| !s.shared && s.name_label == "Local storage")
        })
        .expect("intel2 has local storage");
    let local = snap.srs[&local].uuid.clone();
    running_vm(&pool, "db", "intel2", Some(&local)).await;
    running_vm(&pool, "web", "intel2", None).await;

    for options in [OpOptions::dry_run(), OpOptions::default()] {
        let err = ops::evacuate(&pool, "intel2", &options).await.unwrap_err();
        let Error::Refused { problems, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(problems.len(), 1, "only db is stuck: {problems:?}");
        assert_eq!(problems[0].check, "storage");
        assert!(
            problems[0]
                .message
                .starts_with("db has a disk on Local storage, which intel1 cannot reach"),
            "{problems:?}"
        );
        assert!(!problems[0].message.contains("OpaqueRef"), "{problems:?}");
    }
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert!(
        snap.find_host("intel2").unwrap().record.enabled,
        "a refused evacuation leaves the host as it was"
    );

    // Without the pinned VM the evacuation goes ahead; the host stays in maintenance
    // until enabled again.
    Vm::hard_shutdown(&pool, &snap.find_vm("db").unwrap().r)
        .await
        .unwrap();
    let dry = ops::evacuate(&pool, "intel2", &OpOptions::dry_run())
        .await
        .unwrap();
    assert_eq!(dry.moved, [("web".to_string(), "intel1".to_string())]);
    let done = ops::evacuate(&pool, "intel2", &OpOptions::default())
        .await
        .unwrap();
    assert_eq!(done.moved, [("web".to_string(), "intel1".to_string())]);
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert!(!snap.find_host("intel2").unwrap().record.enabled);
    ops::enable_host(&pool, "intel2").await.unwrap();
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert!(snap.find_host("intel2").unwrap().record.enabled);
    ops::disable_host(&pool, "intel2").await.unwrap();
    // A VM spec that cannot run is refused before anything is created.
    let bad = ops::VmSpec {
        vcpus: 0,
        memory_mib: 8,
        ..ops::VmSpec::new("broken")
    };
    let err = ops::create_vm(&pool, &bad, &OpOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), xenpool::error::codes::INVALID_ARGUMENT, "{err}");
    assert!(err.to_string().contains("vcpus is 0"), "{err}");
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert!(snap.find_vm("broken").is_err(), "nothing was created");
    let snap = PoolSnapshot::fetch(&pool).await.unwrap();
    assert!(!snap.find_host("intel2").unwrap().record.enabled);
    pool.close().await.unwrap();
}
