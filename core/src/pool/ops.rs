//! Pool operations on a [`PoolConnection`]: eject, pool-wide bonds and their repair after a
//! join, shared NFS storage, live migration and evacuation, HA and recovery from a lost
//! coordinator. Each has a dry run returning its [`Plan`] and reports progress.

use std::collections::HashMap;

use serde::Serialize;

use super::connection::PoolConnection;
use super::plan::{OpOptions, Plan, Progress, run_task};
use super::views::PoolSnapshot;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::generated::{
    Bond, BondCreateOptions, BondMode, Host, Network, NetworkRecord, Pif, Pool, Sr, Vm,
};
use crate::secret::Credentials;
use crate::transport::ConnectOptions;
use crate::types::Ref;

fn refused(operation: &str, problems: Vec<String>) -> Error {
    Error::Refused {
        operation: operation.to_string(),
        problems,
    }
}

/// What [`eject`] did.
#[derive(Debug, Clone, Serialize)]
pub struct EjectOutcome {
    /// The calls made (or, in a dry run, to be made).
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// VMs moved off the host first.
    pub evacuated: Vec<String>,
}

/// How to eject.
#[derive(Debug, Clone)]
pub struct EjectOptions {
    /// Live-migrate running VMs away first (default). Without it, running VMs refuse the eject.
    pub evacuate: bool,
}

impl Default for EjectOptions {
    fn default() -> Self {
        EjectOptions { evacuate: true }
    }
}

/// Removes a member from the pool, found by uuid, name or address as `xe host-list` users
/// name hosts. The coordinator is refused. Running VMs are live-migrated away first unless
/// told otherwise. The host reboots into a fresh install (pool-operations.md §(b)).
pub async fn eject(
    pool: &PoolConnection,
    host: &str,
    eject: &EjectOptions,
    options: &OpOptions,
) -> Result<EjectOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let target = snap.find_host(host)?;
        let name = target.name().to_string();
        if target.is_coordinator() {
            return Err(refused(
                &format!("eject {name}"),
                vec![format!(
                    "{name} is the pool coordinator: designate another host as coordinator first \
                 (pool.designate_new_master)"
                )],
            ));
        }
        let running: Vec<String> = target
            .resident_vms()
            .iter()
            .filter(|v| v.is_active())
            .map(|v| v.name().to_string())
            .collect();
        if !running.is_empty() && !eject.evacuate {
            return Err(refused(
                &format!("eject {name}"),
                vec![format!(
                    "VMs are running on {name}: {}; migrate or shut them down, or let eject \
                 evacuate them",
                    running.join(", ")
                )],
            ));
        }
        let mut plan = Plan::new(format!("eject {name}"));
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        if !running.is_empty() {
            plan.call(
                &coordinator,
                "host.disable",
                &[&name],
                "stop new VMs landing on it",
            );
            plan.call(
                &coordinator,
                "Async.host.evacuate",
                &[&name],
                format!("live-migrate {} away", running.join(", ")),
            );
        }
        plan.call(
            &coordinator,
            "Async.pool.eject",
            &[&name],
            "remove it from the pool",
        );
        plan.warn(format!(
            "{name} reboots into a fresh installation: its VMs, local storage, bonds, VLANs and \
         other network settings are gone; only its management interface keeps its IP \
         configuration, so if that changes, reach it through IPMI or the console"
        ));
        plan.warn(format!(
            "{name} keeps the pool's root password, not the one it had before joining"
        ));
        if options.dry_run {
            return Ok(EjectOutcome {
                plan,
                executed: false,
                evacuated: running,
            });
        }
        let host_ref = target.r.clone();
        let mut progress = Progress::new(options, plan.calls.len());
        if !running.is_empty() {
            progress.step(format!("disabling {name}"));
            Host::disable(pool, &host_ref).await?;
            progress.step(format!("evacuating {} VMs from {name}", running.len()));
            run_task(pool, Host::async_evacuate(pool, &host_ref), options).await?;
        }
        progress.step(format!("ejecting {name}"));
        run_task(pool, Pool::async_eject(pool, &host_ref), options).await?;
        let _ = pool.refresh_members().await;
        Ok(EjectOutcome {
            plan,
            executed: true,
            evacuated: running,
        })
    })
    .await
}

/// A bond created on one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostBond {
    /// Host name.
    pub host: String,
    /// The bond.
    pub bond: String,
    /// Member devices.
    pub members: Vec<String>,
}

/// What [`create_bond`] did.
#[derive(Debug, Clone, Serialize)]
pub struct BondOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// The bond network.
    pub network: String,
    /// Bonds per host.
    pub bonds: Vec<HostBond>,
}

/// Creates a bond over the NICs named `devices` on every host of the pool, all carrying
/// one new network — what XenCenter does for a pool-wide bond.
pub async fn create_bond(
    pool: &PoolConnection,
    devices: &[&str],
    mode: BondMode,
    network_name: &str,
    options: &OpOptions,
) -> Result<BondOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let operation = format!("bond {} as {network_name}", devices.join("+"));
        let mut problems = Vec::new();
        let mut members: Vec<(String, Ref<Host>, Vec<Ref<Pif>>)> = Vec::new();
        for host in snap.hosts() {
            let mut pifs = Vec::new();
            for d in devices {
                match host.nic(d) {
                    Some(p) if p.bond().is_some() => {
                        problems.push(format!("{} {d} is already in a bond", host.name()))
                    }
                    Some(p) => pifs.push(p.r.clone()),
                    None => problems.push(format!("{} has no NIC {d}", host.name())),
                }
            }
            members.push((host.name().to_string(), host.r.clone(), pifs));
        }
        if devices.is_empty() {
            problems.push("a bond needs at least one NIC".into());
        }
        if !problems.is_empty() {
            return Err(refused(&operation, problems));
        }
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let mut plan = Plan::new(&operation);
        plan.call(
            &coordinator,
            "network.create",
            &[network_name],
            "the network the bonds carry",
        );
        for (host, _, _) in &members {
            plan.call(
                &coordinator,
                "Bond.create",
                &[&format!("{host}: {}", devices.join("+")), mode.wire()],
                format!("bond on {host}"),
            );
        }
        if options.dry_run {
            return Ok(BondOutcome {
                plan,
                executed: false,
                network: network_name.into(),
                bonds: vec![],
            });
        }
        let mut progress = Progress::new(options, plan.calls.len());
        progress.step(format!("creating network {network_name}"));
        let network = Network::create(
            pool,
            &NetworkRecord {
                name_label: network_name.into(),
                ..Default::default()
            },
        )
        .await?;
        let mut bonds = Vec::new();
        for (host, _, pifs) in members {
            progress.step(format!("bonding {} on {host}", devices.join("+")));
            let optional = BondCreateOptions {
                mode: Some(mode.clone()),
                properties: None,
            };
            let bond = Bond::create_with(pool, &network, &pifs, "", &optional).await?;
            bonds.push(HostBond {
                host,
                bond: bond.into_string(),
                members: devices.iter().map(|d| d.to_string()).collect(),
            });
        }
        Ok(BondOutcome {
            plan,
            executed: true,
            network: network_name.into(),
            bonds,
        })
    })
    .await
}

/// A member's bond that does not match the coordinator's bond on the same network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BondProblem {
    /// Host name.
    pub host: String,
    /// The bond network's name.
    pub network: String,
    /// The member's bond, if it has one.
    pub bond: Option<String>,
    /// Devices now in the bond.
    pub members: Vec<String>,
    /// Devices that should be, judged by the coordinator's bond (link speeds).
    pub expected: Vec<String>,
    /// What is wrong.
    pub reason: String,
}

/// Finds members whose bonds sit on the wrong NICs. After a join, xapi copies each of the
/// coordinator's bonds onto the NICs at the same positions (the N of `xenbrN`,
/// pool-operations.md §(e)), which are the wrong NICs when hosts are cabled differently.
/// The coordinator's bond is the reference: a member's bond should use as many NICs of the
/// same link speeds, none of them carrying management.
pub fn check_bonds(snap: &PoolSnapshot) -> Vec<BondProblem> {
    let Some(master) = snap.pool().master() else {
        return vec![];
    };
    let mut problems = Vec::new();
    for reference in master.pifs().into_iter().filter_map(|p| p.bond_master_of()) {
        let Some(network) = reference.network() else {
            continue;
        };
        let mut wanted: Vec<i64> = reference.members().iter().map(|m| m.speed_mbps()).collect();
        wanted.sort_unstable();
        for host in snap.hosts().into_iter().filter(|h| !h.is_coordinator()) {
            let bond = host
                .pifs()
                .into_iter()
                .filter(|p| p.record.network == network.r)
                .find_map(|p| p.bond_master_of());
            let members: Vec<String> = bond
                .as_ref()
                .map(|b| {
                    b.members()
                        .iter()
                        .map(|m| m.record.device.clone())
                        .collect()
                })
                .unwrap_or_default();
            let mut speeds: Vec<i64> = bond
                .as_ref()
                .map(|b| b.members().iter().map(|m| m.speed_mbps()).collect())
                .unwrap_or_default();
            speeds.sort_unstable();
            let mut expected = Vec::new();
            // The right NICs: physical ones, free or in this bond, never the one that
            // carries (or, once the bond is gone, gets back) management.
            let bond_ref = bond.as_ref().map(|b| b.r.clone());
            let management_member = bond
                .as_ref()
                .filter(|b| b.master().is_some_and(|m| m.record.management))
                .map(|b| b.record.primary_slave.clone());
            let mut free: Vec<_> = host
                .pifs()
                .into_iter()
                .filter(|p| p.record.physical && !p.record.management)
                .filter(|p| p.bond().map(|b| b.r) == bond_ref || p.bond().is_none())
                .filter(|p| management_member.as_ref() != Some(&p.r))
                .collect();
            free.sort_by(|a, b| a.record.device.cmp(&b.record.device));
            for speed in &wanted {
                if let Some(i) = free.iter().position(|p| p.speed_mbps() == *speed) {
                    expected.push(free.remove(i).record.device.clone());
                }
            }
            let reason = match &bond {
                None => Some("no bond on this network".to_string()),
                Some(_) if speeds != wanted => Some(format!(
                    "bonded NICs run at {speeds:?} Mbit/s; the coordinator's bond uses {wanted:?}"
                )),
                Some(b)
                    if b.master().is_some_and(|m| m.record.management)
                        && !reference.master().is_some_and(|m| m.record.management) =>
                {
                    Some("the bond took over the management interface".to_string())
                }
                _ => None,
            };
            if let Some(reason) = reason {
                problems.push(BondProblem {
                    host: host.name().to_string(),
                    network: network.record.name_label.clone(),
                    bond: bond.map(|b| b.r.into_string()),
                    members,
                    expected,
                    reason,
                });
            }
        }
    }
    problems
}

/// What [`repair_bonds`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RepairOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// The problems found (and, unless a dry run, repaired).
    pub problems: Vec<BondProblem>,
}

/// Repairs the bonds [`check_bonds`] finds: destroys each wrong bond and creates it again
/// on the proper NICs and network, with the coordinator's mode and properties.
pub async fn repair_bonds(pool: &PoolConnection, options: &OpOptions) -> Result<RepairOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let problems = check_bonds(&snap);
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let mut plan = Plan::new("repair bonds");
        let mut actions = Vec::new();
        for problem in &problems {
            if problem.expected.is_empty() {
                plan.warn(format!(
                    "{}: no free NICs match the coordinator's bond on {}; fix the cabling",
                    problem.host, problem.network
                ));
                continue;
            }
            let host = snap.find_host(&problem.host)?;
            let network = snap
                .networks
                .iter()
                .find(|(_, n)| n.name_label == problem.network)
                .map(|(r, _)| r.clone());
            let reference = snap.pool().master().and_then(|m| {
                m.pifs()
                    .into_iter()
                    .filter_map(|p| p.bond_master_of())
                    .find(|b| b.network().map(|n| n.r) == network)
            });
            let (Some(network), Some(reference)) = (network, reference) else {
                continue;
            };
            if let Some(bond) = &problem.bond {
                plan.call(
                    &coordinator,
                    "Bond.destroy",
                    &[bond],
                    format!(
                        "remove {}'s bond over {}",
                        problem.host,
                        problem.members.join("+")
                    ),
                );
            }
            plan.call(
                &coordinator,
                "Bond.create",
                &[
                    &format!("{}: {}", problem.host, problem.expected.join("+")),
                    reference.record.mode.wire(),
                ],
                format!("bond the right NICs of {}", problem.host),
            );
            let pifs: Vec<Ref<Pif>> = problem
                .expected
                .iter()
                .filter_map(|d| host.nic(d))
                .map(|p| p.r.clone())
                .collect();
            actions.push((
                problem.bond.clone().map(Ref::<Bond>::new),
                network,
                pifs,
                reference.record.mode.clone(),
                reference.record.properties.clone(),
                problem.host.clone(),
            ));
        }
        if options.dry_run || actions.is_empty() {
            return Ok(RepairOutcome {
                plan,
                executed: !options.dry_run,
                problems,
            });
        }
        let mut progress = Progress::new(options, plan.calls.len());
        for (bond, network, pifs, mode, properties, host) in actions {
            if let Some(bond) = bond {
                progress.step(format!("destroying the wrong bond on {host}"));
                Bond::destroy(pool, &bond).await?;
            }
            progress.step(format!("bonding the right NICs on {host}"));
            let optional = BondCreateOptions {
                mode: Some(mode),
                properties: Some(properties),
            };
            Bond::create_with(pool, &network, &pifs, "", &optional).await?;
        }
        Ok(RepairOutcome {
            plan,
            executed: true,
            problems,
        })
    })
    .await
}

/// What [`create_nfs_sr`] did.
#[derive(Debug, Clone, Serialize)]
pub struct SrOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// The new SR.
    pub sr: Option<String>,
}

/// Creates an NFS SR shared by every host (a plugged PBD on each) and makes it the pool's
/// default SR (also for suspend images and crash dumps).
pub async fn create_nfs_sr(
    pool: &PoolConnection,
    name: &str,
    server: &str,
    serverpath: &str,
    nfs_version: Option<&str>,
    options: &OpOptions,
) -> Result<SrOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let mut problems = Vec::new();
        if server.is_empty() {
            problems.push("the NFS server is missing".to_string());
        }
        if !serverpath.starts_with('/') {
            problems.push(format!("the export path {serverpath:?} must be absolute"));
        }
        if let Some(v) = nfs_version
            && v != "3"
            && !v.starts_with('4')
        {
            problems.push(format!(
                "NFS version {v} is not supported (3, 4, 4.0 or 4.1)"
            ));
        }
        if snap.srs.values().any(|s| s.name_label == name) {
            problems.push(format!("an SR named {name:?} already exists"));
        }
        if !problems.is_empty() {
            return Err(refused(&format!("create NFS SR {name}"), problems));
        }
        let master = snap
            .pool()
            .master()
            .ok_or_else(|| Error::InvalidArgument("the pool has no coordinator".into()))?;
        let mut plan = Plan::new(format!("create NFS SR {name} on {server}:{serverpath}"));
        plan.call(
            master.name(),
            "Async.SR.create",
            &[
                master.name(),
                &format!("server={server} serverpath={serverpath}"),
                name,
                "nfs",
                "shared=true",
            ],
            "one PBD per host, all plugged",
        );
        plan.call(
            master.name(),
            "pool.set_default_SR",
            &[name],
            "new VM disks go there",
        );
        plan.call(
            master.name(),
            "pool.set_suspend_image_SR",
            &[name],
            "suspend images too",
        );
        plan.call(
            master.name(),
            "pool.set_crash_dump_SR",
            &[name],
            "and crash dumps",
        );
        if options.dry_run {
            return Ok(SrOutcome {
                plan,
                executed: false,
                sr: None,
            });
        }
        let mut progress = Progress::new(options, plan.calls.len());
        let mut config = HashMap::from([
            ("server".to_string(), server.to_string()),
            ("serverpath".to_string(), serverpath.to_string()),
        ]);
        if let Some(v) = nfs_version {
            config.insert("nfsversion".into(), v.into());
        }
        progress.step(format!("creating {name} and plugging it on every host"));
        let outcome = run_task(
            pool,
            Sr::async_create(pool, &master.r, &config, 0, name, "", "nfs", "user", true),
            options,
        )
        .await?;
        let sr: Ref<Sr> = outcome.result()?;
        progress.step("setting it as the default SR");
        Pool::set_default_sr(pool, &snap.pool_ref, &sr).await?;
        progress.step("using it for suspend images");
        Pool::set_suspend_image_sr(pool, &snap.pool_ref, &sr).await?;
        progress.step("using it for crash dumps");
        Pool::set_crash_dump_sr(pool, &snap.pool_ref, &sr).await?;
        let after = PoolSnapshot::fetch(pool).await?;
        let view = after
            .srs
            .get_key_value(&sr)
            .map(|(r, _)| after.find_sr(&after.srs[r].uuid));
        if let Some(Ok(v)) = view
            && !v.reaches_every_host()
        {
            return Err(Error::Refused {
                operation: format!("create NFS SR {name}"),
                problems: vec!["the SR was created but is not plugged on every host".into()],
            });
        }
        Ok(SrOutcome {
            plan,
            executed: true,
            sr: Some(sr.into_string()),
        })
    })
    .await
}

/// What [`migrate`] or [`evacuate`] did.
#[derive(Debug, Clone, Serialize)]
pub struct MoveOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// VMs moved, with their destinations.
    pub moved: Vec<(String, String)>,
}

/// Live-migrates a VM (by name or uuid) to a host (by name, uuid or address), after
/// checking what XenMotion needs: the VM running, its disks on storage the target
/// reaches, the target enabled and live with enough free memory.
pub async fn migrate(
    pool: &PoolConnection,
    vm: &str,
    host: &str,
    options: &OpOptions,
) -> Result<MoveOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let v = snap.find_vm(vm)?;
        let target = snap.find_host(host)?;
        let operation = format!("migrate {} to {}", v.name(), target.name());
        let mut problems = Vec::new();
        if !v.is_active() {
            problems.push(format!(
                "{} is {:?}; only a running VM can be live-migrated",
                v.name(),
                v.record.power_state
            ));
        }
        if !target.record.enabled {
            problems.push(format!(
                "{} is disabled (maintenance); enable it first",
                target.name()
            ));
        }
        if !target.is_live() {
            problems.push(format!("{} is not live", target.name()));
        }
        let needed = v.record.memory_dynamic_min;
        let same_host = v.record.resident_on == target.r;
        if !same_host && target.memory_free() < needed {
            problems.push(format!(
                "{} has {} MiB free; {} needs {} MiB",
                target.name(),
                target.memory_free() >> 20,
                v.name(),
                needed >> 20
            ));
        }
        let disks_srs: Vec<Ref<Sr>> = snap_vm_srs(pool, &v.r).await?;
        for sr in disks_srs {
            let reachable = snap
                .pbds
                .values()
                .any(|p| p.sr == sr && p.host == target.r && p.currently_attached);
            if !reachable {
                let name = snap
                    .srs
                    .get(&sr)
                    .map(|s| s.name_label.clone())
                    .unwrap_or_else(|| sr.to_string());
                problems.push(format!(
                "{} has a disk on {name}, which {} cannot reach: put VM disks on shared storage",
                v.name(),
                target.name()
            ));
            }
        }
        if !problems.is_empty() {
            return Err(refused(&operation, problems));
        }
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let mut plan = Plan::new(&operation);
        plan.call(
            &coordinator,
            "Async.VM.pool_migrate",
            &[v.name(), target.name(), "live=true"],
            "move the running VM",
        );
        let moved = vec![(v.name().to_string(), target.name().to_string())];
        if options.dry_run {
            return Ok(MoveOutcome {
                plan,
                executed: false,
                moved,
            });
        }
        let mut progress = Progress::new(options, 1);
        progress.step(operation.clone());
        run_task(
            pool,
            Vm::async_pool_migrate(
                pool,
                &v.r,
                &target.r,
                &HashMap::from([("live".into(), "true".into())]),
            ),
            options,
        )
        .await?;
        Ok(MoveOutcome {
            plan,
            executed: true,
            moved,
        })
    })
    .await
}

async fn snap_vm_srs(pool: &PoolConnection, vm: &Ref<Vm>) -> Result<Vec<Ref<Sr>>> {
    use crate::generated::{Vbd, Vdi};
    let vbds = Vm::get_vbds(pool, vm).await?;
    let mut srs = Vec::new();
    for vbd in vbds {
        let rec = Vbd::get_record(pool, &vbd).await?;
        if rec.empty || rec.vdi.is_null() {
            continue;
        }
        let sr = Vdi::get_sr(pool, &rec.vdi).await?;
        if !srs.contains(&sr) {
            srs.push(sr);
        }
    }
    Ok(srs)
}

/// Disables a host and live-migrates every VM off it (maintenance mode). The host stays
/// disabled; `Host::enable` ends maintenance.
pub async fn evacuate(
    pool: &PoolConnection,
    host: &str,
    options: &OpOptions,
) -> Result<MoveOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let target = snap.find_host(host)?;
        let name = target.name().to_string();
        let vms: Vec<String> = target
            .resident_vms()
            .iter()
            .filter(|v| v.is_active())
            .map(|v| v.name().to_string())
            .collect();
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let mut plan = Plan::new(format!("evacuate {name}"));
        plan.call(
            &coordinator,
            "host.disable",
            &[&name],
            "no new VMs land on it",
        );
        plan.call(
            &coordinator,
            "Async.host.evacuate",
            &[&name],
            format!("live-migrate {} VMs to other hosts", vms.len()),
        );
        plan.warn(format!("{name} stays disabled until enabled again"));
        if options.dry_run {
            return Ok(MoveOutcome {
                plan,
                executed: false,
                moved: vms.into_iter().map(|v| (v, String::new())).collect(),
            });
        }
        let mut progress = Progress::new(options, 2);
        progress.step(format!("disabling {name}"));
        Host::disable(pool, &target.r).await?;
        progress.step(format!("evacuating {} VMs", vms.len()));
        run_task(pool, Host::async_evacuate(pool, &target.r), options).await?;
        let after = PoolSnapshot::fetch(pool).await?;
        let moved = vms
            .into_iter()
            .map(|v| {
                let to = after
                    .find_vm(&v)
                    .ok()
                    .and_then(|vm| vm.resident_on().map(|h| h.name().to_string()))
                    .unwrap_or_default();
                (v, to)
            })
            .collect();
        Ok(MoveOutcome {
            plan,
            executed: true,
            moved,
        })
    })
    .await
}

/// What [`enable_ha`] did.
#[derive(Debug, Clone, Serialize)]
pub struct HaOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// Host failures the pool now tolerates.
    pub failures_to_tolerate: i64,
}

/// Enables HA with a shared SR as heartbeat (the default SR when `heartbeat_sr` is None),
/// then sets the failures to tolerate to the most the pool can plan for.
pub async fn enable_ha(
    pool: &PoolConnection,
    heartbeat_sr: Option<&str>,
    options: &OpOptions,
) -> Result<HaOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let sr = match heartbeat_sr {
            Some(name) => snap.find_sr(name)?,
            None => snap.pool().default_sr().ok_or_else(|| {
                refused(
                    "enable HA",
                    vec!["the pool has no default SR; name a shared SR for the heartbeat".into()],
                )
            })?,
        };
        let mut problems = Vec::new();
        if snap.pool.ha_enabled {
            problems.push("HA is already enabled".to_string());
        }
        if !sr.record.shared || !sr.reaches_every_host() {
            problems.push(format!(
                "the heartbeat SR {} must be shared and plugged on every host",
                sr.record.name_label
            ));
        }
        if let Some(dead) = snap.hosts().iter().find(|h| !h.is_live()) {
            problems.push(format!("{} is offline", dead.name()));
        }
        if !problems.is_empty() {
            return Err(refused("enable HA", problems));
        }
        let coordinator = snap
            .pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let mut plan = Plan::new(format!(
            "enable HA with heartbeat on {}",
            sr.record.name_label
        ));
        plan.call(
            &coordinator,
            "Async.pool.enable_ha",
            &[&sr.record.name_label],
            "arm HA on every host",
        );
        plan.call(
            &coordinator,
            "pool.ha_compute_max_host_failures_to_tolerate",
            &[],
            "how many failures a plan covers",
        );
        plan.call(
            &coordinator,
            "pool.set_ha_host_failures_to_tolerate",
            &["<computed>"],
            "protect against that many",
        );
        plan.warn("only VMs with restart priority `restart` are restarted after a host failure");
        if options.dry_run {
            return Ok(HaOutcome {
                plan,
                executed: false,
                failures_to_tolerate: 0,
            });
        }
        let mut progress = Progress::new(options, 3);
        progress.step("enabling HA");
        run_task(
            pool,
            Pool::async_enable_ha(pool, std::slice::from_ref(&sr.r), &HashMap::new()),
            options,
        )
        .await?;
        progress.step("computing failures to tolerate");
        let n = Pool::ha_compute_max_host_failures_to_tolerate(pool).await?;
        progress.step(format!("tolerating {n} host failures"));
        Pool::set_ha_host_failures_to_tolerate(pool, &snap.pool_ref, n).await?;
        Ok(HaOutcome {
            plan,
            executed: true,
            failures_to_tolerate: n,
        })
    })
    .await
}

/// Disables HA.
pub async fn disable_ha(pool: &PoolConnection, options: &OpOptions) -> Result<Plan> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let mut plan = Plan::new("disable HA");
        plan.call(
            pool.coordinator_address(),
            "Async.pool.disable_ha",
            &[],
            "disarm HA on every host",
        );
        if !options.dry_run {
            Progress::new(options, 1).step("disabling HA");
            run_task(pool, Pool::async_disable_ha(pool), options).await?;
        }
        Ok(plan)
    })
    .await
}

/// What [`recover_lost_coordinator`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryOutcome {
    /// The calls.
    pub plan: Plan,
    /// The members that now follow the new coordinator.
    pub recovered: Vec<String>,
}

/// The coordinator is gone and HA is off: make the member at `member_url` the coordinator
/// (`pool.emergency_transition_to_master` with an emergency local login), then point the
/// other members at it (`pool.recover_slaves`). Returns a connection to the new pool.
pub async fn recover_lost_coordinator(
    member_url: &str,
    credentials: Credentials,
    connect: ConnectOptions,
    options: &OpOptions,
) -> Result<(PoolConnection, RecoveryOutcome)> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let mut plan = Plan::new(format!("make {member_url} the coordinator"));
        plan.call(
            member_url,
            "session.slave_local_login_with_password",
            &["root", "********"],
            "emergency access to the member",
        );
        plan.call(
            member_url,
            "pool.emergency_transition_to_master",
            &[],
            "it becomes the coordinator",
        );
        plan.call(
            member_url,
            "pool.recover_slaves",
            &[],
            "the other members follow it",
        );
        plan.warn(
            "do this only when the old coordinator is really gone: if it comes back, two hosts \
         think they coordinate",
        );
        if options.dry_run {
            return Err(Error::Refused {
                operation: plan.operation.clone(),
                problems: vec![format!("dry run:\n{plan}")],
            });
        }
        let mut progress = Progress::new(options, 3);
        progress.step("emergency login on the member");
        let local =
            Connection::login_local_emergency(member_url, credentials.clone(), connect.clone())
                .await?;
        progress.step("transition to coordinator");
        let transition = Pool::emergency_transition_to_master(&local).await;
        let _ = local.logout().await;
        transition?;
        progress.step("recovering the other members");
        let pool = PoolConnection::connect(member_url, credentials, connect).await?;
        let recovered = Pool::recover_slaves(&pool).await?;
        let snap = PoolSnapshot::fetch(&pool).await?;
        let names = recovered
            .iter()
            .filter_map(|h| snap.host(h).map(|v| v.name().to_string()))
            .collect();
        let _ = pool.refresh_members().await;
        Ok((
            pool,
            RecoveryOutcome {
                plan,
                recovered: names,
            },
        ))
    })
    .await
}
