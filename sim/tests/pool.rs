//! Pool semantics with xapi's exact errors: joins (every failing lab host), eject,
//! coordinator changes, emergency recovery, bonds, shared NFS storage, live migration,
//! evacuation and HA failover.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{PROTOCOLS, login, start};
use xenpool::generated::{
    Bond, BondCreateOptions, BondMode, Host, Network, Pif, Pool, Sr, Vm, VmPowerState,
};
use xenpool::{Caller, Connection, ErrorCode, Protocol, Ref};
use xenpool_sim::Simulator;

async fn join(
    sim: &Simulator,
    joiner: &str,
    master: &str,
    protocol: Protocol,
    force: bool,
) -> xenpool::Result<()> {
    let c = login(sim, joiner, protocol).await;
    let address = sim.host(master).unwrap().address;
    let password = sim.host(master).unwrap().password;
    let r = if force {
        Pool::join_force(&c, &address, "root", &password).await
    } else {
        Pool::join(&c, &address, "root", &password).await
    };
    let _ = c.logout().await; // the joiner's session is gone after a successful join
    r
}

/// (host, expected code, expected params) for every lab host xapi refuses.
const REFUSALS: &[(&str, &str, &[&str])] = &[
    ("amd1", "HOSTS_NOT_HOMOGENEOUS", &["CPUs differ"]),
    ("busy", "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", &[]),
    (
        "midop",
        "JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS",
        &[],
    ),
    ("nfs-host", "JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS", &[]),
    ("bonded", "POOL_JOINING_HOST_HAS_BONDS", &[]),
    ("oldver", "HOSTS_NOT_COMPATIBLE", &[]),
    (
        "nohotfix",
        "HOSTS_NOT_HOMOGENEOUS",
        &["Updates on local host nohotfix and pool host intel1 differ"],
    ),
    (
        "nolinux",
        "HOSTS_NOT_HOMOGENEOUS",
        &["Software version differs"],
    ),
    (
        "pooled-a",
        "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS",
        &[],
    ),
];

#[tokio::test]
async fn every_failing_lab_host_is_refused_with_xapis_code() {
    let sim = start("lab").await;
    for (i, (host, code, params)) in REFUSALS.iter().enumerate() {
        let protocol = PROTOCOLS[i % 2];
        let err = join(&sim, host, "intel1", protocol, false)
            .await
            .unwrap_err();
        let api = err.api().unwrap_or_else(|| panic!("{host}: {err}"));
        assert_eq!(api.code.wire(), *code, "{host}");
        assert_eq!(api.params, *params, "{host}");
    }
    // A member of another pool: the session check answers first.
    let info = sim.host("pooled-b").unwrap();
    let err = Connection::login(
        &info.url,
        xenpool::Credentials::new("root", info.password.as_str()),
        xenpool::ConnectOptions {
            tls: xenpool::Tls::Insecure,
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
    .err();
    assert!(
        err.is_none(),
        "the client follows HOST_IS_SLAVE to pooled-a"
    );
    // Nothing joined.
    let c = login(&sim, "intel1", PROTOCOLS[0]).await;
    assert_eq!(Host::get_all(&c).await.unwrap().len(), 1);
    c.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn join_force_skips_only_the_homogeneity_check() {
    let sim = start("lab").await;
    join(&sim, "amd1", "intel1", Protocol::XmlRpc, true)
        .await
        .expect("forced join of another vendor");
    for host in ["oldver", "nohotfix"] {
        assert!(
            join(&sim, host, "intel1", Protocol::JsonRpc, true)
                .await
                .is_err(),
            "{host} is refused even when forced"
        );
    }
    let c = login(&sim, "intel1", Protocol::JsonRpc).await;
    assert_eq!(Host::get_all(&c).await.unwrap().len(), 2);
    c.logout().await.unwrap();
}

#[tokio::test]
async fn a_joined_host_is_a_member_with_the_pools_password_and_storage() {
    let sim = start("lab").await;
    for (i, host) in [
        "intel2",
        "intel3",
        "suspended",
        "dhcp",
        "skewed",
        "intel-old",
    ]
    .iter()
    .enumerate()
    {
        join(&sim, host, "intel1", PROTOCOLS[i % 2], false)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
    }
    let master = sim.host("intel1").unwrap();
    for host in ["intel2", "skewed"] {
        let info = sim.host(host).unwrap();
        assert_eq!(
            info.master_address.as_deref(),
            Some(master.address.as_str())
        );
        // The client follows HOST_IS_SLAVE from the member to the coordinator.
        let c = login(&sim, host, Protocol::XmlRpc).await;
        assert_eq!(c.host_address(), master.address);
        c.logout().await.unwrap();
    }
    let c = login(&sim, "intel1", Protocol::JsonRpc).await;
    let hosts = Host::get_all_records(&c).await.unwrap();
    assert_eq!(hosts.len(), 7);
    // Networks were matched by bridge: one xenbr0 for the whole pool.
    let nets = Network::get_all_records_where(&c, r#"field "bridge" = "xenbr0""#)
        .await
        .unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets.values().next().unwrap().pifs.len(), 7);
    // The suspended VM came along; its local SR stays local.
    let sleeper = &Vm::get_by_name_label(&c, "sleeper").await.unwrap()[0];
    assert_eq!(
        Vm::get_power_state(&c, sleeper).await.unwrap(),
        VmPowerState::Suspended
    );
    // CPU features were levelled down to what intel-old has.
    let pool = Pool::get_all(&c).await.unwrap().remove(0);
    let levelled = Pool::get_cpu_info(&c, &pool).await.unwrap();
    assert!(
        levelled["features_hvm_host"].starts_with("17cbfbff"),
        "{levelled:?}"
    );
    // A shared NFS SR now reaches every host.
    let host_refs: Vec<_> = hosts.keys().cloned().collect();
    let sr = Sr::create(
        &c,
        &host_refs[0],
        &HashMap::from([
            ("server".into(), "nfs.lab".into()),
            ("serverpath".into(), "/exports/pool".into()),
        ]),
        0,
        "pool-nfs",
        "",
        "nfs",
        "user",
        true,
    )
    .await
    .unwrap();
    let pbds = Sr::get_pbds(&c, &sr).await.unwrap();
    assert_eq!(pbds.len(), 7);
    for p in &pbds {
        assert!(
            xenpool::generated::Pbd::get_currently_attached(&c, p)
                .await
                .unwrap()
        );
    }
    let missing = Sr::create(
        &c,
        &host_refs[0],
        &HashMap::from([("server".into(), "nfs.lab".into())]),
        0,
        "x",
        "",
        "nfs",
        "user",
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(missing.api().unwrap().code.wire(), "SR_BACKEND_FAILURE_101");
    let unknown = Sr::create(
        &c,
        &host_refs[0],
        &HashMap::new(),
        0,
        "x",
        "",
        "zfs-magic",
        "user",
        true,
    )
    .await
    .unwrap_err();
    assert!(unknown.is_code(&ErrorCode::SrUnknownDriver));
    c.logout().await.unwrap();
}

#[tokio::test]
async fn eject_refuses_the_master_and_resets_the_member() {
    let sim = start("lab").await;
    join(&sim, "intel2", "intel1", Protocol::JsonRpc, false)
        .await
        .unwrap();
    let c = login(&sim, "intel1", Protocol::XmlRpc).await;
    let pool = Pool::get_all(&c).await.unwrap().remove(0);
    let master = Pool::get_master(&c, &pool).await.unwrap();
    let err = Pool::eject(&c, &master).await.unwrap_err();
    assert!(err.is_code(&ErrorCode::InternalError));
    assert_eq!(err.api().unwrap().params, ["Xapi_pool.Cannot_eject_master"]);
    let member = Host::get_by_name_label(&c, "intel2")
        .await
        .unwrap()
        .remove(0);
    Pool::eject(&c, &member).await.unwrap();
    assert_eq!(Host::get_all(&c).await.unwrap().len(), 1);
    c.logout().await.unwrap();
    // Back as a fresh standalone host (after xapi's restart) with its uuid, and the pool's
    // password.
    common::eventually("intel2 is back standalone", Duration::from_secs(10), || {
        let info = sim.host("intel2").unwrap();
        info.alive && info.master_address.is_none()
    })
    .await;
    let info = sim.host("intel2").unwrap();
    assert_eq!(info.master_address, None);
    let c = login(&sim, "intel2", Protocol::JsonRpc).await;
    let hosts = Host::get_all_records(&c).await.unwrap();
    assert_eq!(hosts.values().next().unwrap().uuid, info.uuid);
    c.logout().await.unwrap();
}

#[tokio::test]
async fn bonds_follow_xapis_rules_and_move_management() {
    let sim = start("lab").await;
    let c = login(&sim, "intel1", Protocol::JsonRpc).await;
    let pif = |dev: &'static str| {
        let c = c.clone();
        async move {
            Pif::get_all_records_where(&c, &format!(r#"field "device" = "{dev}""#))
                .await
                .unwrap()
                .into_keys()
                .next()
                .unwrap()
        }
    };
    let (eth0, eth1, eth2) = (pif("eth0").await, pif("eth1").await, pif("eth2").await);
    let net = Network::create(
        &c,
        &xenpool::generated::NetworkRecord {
            name_label: "bond net".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let none = Bond::create_with(
        &c,
        &net,
        &[],
        "",
        &bond_options(BondMode::ActiveBackup, None),
    )
    .await
    .unwrap_err();
    assert!(none.is_code(&ErrorCode::PifBondNeedsMoreMembers));
    let bad_mac = Bond::create_with(
        &c,
        &net,
        &[eth0.clone(), eth1.clone()],
        "zz",
        &bond_options(BondMode::ActiveBackup, None),
    )
    .await
    .unwrap_err();
    assert!(bad_mac.is_code(&ErrorCode::MacInvalid), "{bad_mac}");
    let bad_prop = Bond::create_with(
        &c,
        &net,
        &[eth0.clone(), eth1.clone()],
        "",
        &bond_options(
            BondMode::BalanceSlb,
            Some(HashMap::from([("lacp-time".into(), "fast".into())])),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad_prop.api().unwrap().params,
        ["properties", "lacp-time = fast"]
    );
    let bond = Bond::create_with(
        &c,
        &net,
        &[eth0.clone(), eth1.clone()],
        "",
        &bond_options(BondMode::Lacp, None),
    )
    .await
    .unwrap();
    let rec = Bond::get_record(&c, &bond).await.unwrap();
    assert_eq!(rec.properties["lacp-time"], "slow", "defaults filled in");
    assert_eq!(rec.slaves.len(), 2);
    // Management moved from eth0 onto the bond PIF, with its IP.
    assert!(Pif::get_management(&c, &rec.master).await.unwrap());
    assert!(!Pif::get_management(&c, &eth0).await.unwrap());
    assert_eq!(
        Pif::get_ip(&c, &rec.master).await.unwrap(),
        sim.host("intel1").unwrap().address
    );
    let again = Bond::create_with(
        &c,
        &net,
        std::slice::from_ref(&eth2),
        "",
        &bond_options(BondMode::ActiveBackup, None),
    )
    .await
    .unwrap_err();
    assert!(again.is_code(&ErrorCode::NetworkAlreadyConnected));
    Bond::destroy(&c, &bond).await.unwrap();
    assert!(
        Pif::get_management(&c, &eth0).await.unwrap(),
        "management is back on the primary member"
    );
    c.logout().await.unwrap();
}

#[tokio::test]
async fn live_migration_checks_and_evacuation() {
    let sim = start("pool16").await;
    let c = login(&sim, "node1", Protocol::JsonRpc).await;
    let hosts = Host::get_all_records(&c).await.unwrap();
    assert_eq!(hosts.len(), 16);
    let node2 = Host::get_by_name_label(&c, "node2")
        .await
        .unwrap()
        .remove(0);
    let node3 = Host::get_by_name_label(&c, "node3")
        .await
        .unwrap()
        .remove(0);
    let on_node2: Vec<Ref<Vm>> = Vm::get_all_records(&c)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, v)| v.resident_on == node2 && !v.is_control_domain)
        .map(|(r, _)| r)
        .collect();
    assert!(!on_node2.is_empty());
    let vm = &on_node2[0];
    Vm::pool_migrate(&c, vm, &node3, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(Vm::get_resident_on(&c, vm).await.unwrap(), node3);
    // A halted VM cannot be live-migrated.
    let halted = Vm::get_all_records_where(
        &c,
        r#"field "power_state" = "Halted" and field "is_control_domain" = "false""#,
    )
    .await
    .unwrap()
    .into_keys()
    .next()
    .unwrap();
    let err = Vm::pool_migrate(&c, &halted, &node3, &HashMap::new())
        .await
        .unwrap_err();
    assert!(err.is_code(&ErrorCode::VmBadPowerState));
    // Not enough memory: a VM bigger than any host.
    Vm::set_memory_dynamic_min(&c, vm, 600 << 30).await.ok();
    // Evacuate node2: every guest leaves, the host is empty.
    Host::disable(&c, &node2).await.unwrap();
    Host::evacuate(&c, &node2).await.unwrap();
    let left = Vm::get_all_records(&c)
        .await
        .unwrap()
        .into_values()
        .filter(|v| v.resident_on == node2 && !v.is_control_domain)
        .count();
    assert_eq!(left, 0);
    // A disabled host cannot receive VMs.
    let err = Vm::pool_migrate(&c, vm, &node2, &HashMap::new())
        .await
        .unwrap_err();
    assert!(err.is_code(&ErrorCode::HostDisabled), "{err}");
    c.logout().await.unwrap();
}

#[tokio::test]
async fn designate_new_master_and_emergency_recovery() {
    let sim = start("lab").await;
    join(&sim, "intel2", "intel1", Protocol::JsonRpc, false)
        .await
        .unwrap();
    join(&sim, "intel3", "intel1", Protocol::JsonRpc, false)
        .await
        .unwrap();
    let c = login(&sim, "intel1", Protocol::JsonRpc).await;
    let intel2 = Host::get_by_name_label(&c, "intel2")
        .await
        .unwrap()
        .remove(0);
    Pool::designate_new_master(&c, &intel2).await.unwrap();
    // The old coordinator now redirects; the connection follows on its own.
    assert_eq!(Host::get_all(&c).await.unwrap().len(), 3);
    assert_eq!(c.host_address(), sim.host("intel2").unwrap().address);
    c.logout().await.unwrap();

    // The coordinator dies without HA: members are in emergency mode.
    sim.kill("intel2").unwrap();
    let info = sim.host("intel3").unwrap();
    let opts = common::options(&sim, "intel3", Protocol::XmlRpc);
    let err = Connection::login(
        &info.url,
        xenpool::Credentials::new("root", info.password.as_str()),
        opts.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.is_code(&ErrorCode::HostStillBooting), "{err}");
    // Emergency: promote intel3 with a local session, then recover the others.
    let local = Connection::login_local_emergency(
        &info.url,
        xenpool::Credentials::new("root", info.password.as_str()),
        opts,
    )
    .await
    .unwrap();
    Pool::emergency_transition_to_master(&local).await.unwrap();
    local.logout().await.unwrap();
    let c = login(&sim, "intel3", Protocol::JsonRpc).await;
    let recovered = Pool::recover_slaves(&c).await.unwrap();
    assert_eq!(recovered.len(), 1, "intel1 is alive and follows intel3 now");
    assert_eq!(
        sim.host("intel1").unwrap().master_address.as_deref(),
        Some(info.address.as_str())
    );
    c.logout().await.unwrap();
}

#[tokio::test]
async fn ha_restarts_protected_vms_and_elects_a_new_coordinator() {
    let sim = start("pool16").await;
    let c = login(&sim, "node1", Protocol::JsonRpc).await;
    let pool = Pool::get_all(&c).await.unwrap().remove(0);
    let sr = Pool::get_default_sr(&c, &pool).await.unwrap();
    // Protect the VMs running on node1.
    let node1 = Host::get_by_name_label(&c, "node1")
        .await
        .unwrap()
        .remove(0);
    let protected: Vec<Ref<Vm>> = Vm::get_all_records(&c)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, v)| v.resident_on == node1 && !v.is_control_domain)
        .map(|(r, _)| r)
        .take(3)
        .collect();
    for vm in &protected {
        Vm::set_ha_restart_priority(&c, vm, "restart")
            .await
            .unwrap();
    }
    let local_sr = Sr::get_by_name_label(&c, "Local storage")
        .await
        .unwrap()
        .remove(0);
    let err = Pool::enable_ha(&c, &[local_sr], &HashMap::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().code.wire(),
        "SR_NO_PBDS",
        "a local SR cannot hold the heartbeat"
    );
    Pool::enable_ha(&c, &[sr], &HashMap::new()).await.unwrap();
    assert!(Pool::get_ha_enabled(&c, &pool).await.unwrap());
    assert!(
        Pool::ha_compute_max_host_failures_to_tolerate(&c)
            .await
            .unwrap()
            >= 1
    );
    let baseline = sim.session_count();
    c.logout().await.unwrap();
    assert_eq!(sim.session_count(), baseline - 1);

    sim.kill("node1").unwrap();
    common::eventually(
        "HA elects a new coordinator",
        Duration::from_secs(10),
        || {
            sim.hosts()
                .iter()
                .any(|h| h.name != "node1" && h.alive && h.master_address.is_none())
        },
    )
    .await;
    let new_master = sim
        .hosts()
        .into_iter()
        .find(|h| h.alive && h.master_address.is_none())
        .expect("a coordinator");
    assert_ne!(new_master.name, "node1");
    let c = login(&sim, &new_master.name, Protocol::XmlRpc).await;
    for vm in &protected {
        assert_eq!(
            Vm::get_power_state(&c, vm).await.unwrap(),
            VmPowerState::Running
        );
        assert_ne!(Vm::get_resident_on(&c, vm).await.unwrap(), node1);
    }
    let metrics = Host::get_metrics(&c, &node1).await.unwrap();
    assert!(
        !xenpool::generated::HostMetrics::get_live(&c, &metrics)
            .await
            .unwrap()
    );
    c.logout().await.unwrap();
    // The old coordinator comes back as a member.
    sim.restart("node1").await.unwrap();
    assert_eq!(
        sim.host("node1").unwrap().master_address.as_deref(),
        Some(new_master.address.as_str())
    );
    let _ = c
        .call::<xenpool::wire::Value>("pool.get_all", true, vec![])
        .await;
}

fn bond_options(mode: BondMode, properties: Option<HashMap<String, String>>) -> BondCreateOptions {
    BondCreateOptions {
        mode: Some(mode),
        properties,
    }
}
