//! Pool operations on a [`PoolConnection`]: eject, pool-wide bonds and their repair after a
//! join, shared NFS storage, live migration and evacuation, HA and recovery from a lost
//! coordinator. Each has a dry run returning its [`Plan`] and reports progress.

use std::collections::HashMap;

use serde::Serialize;

use super::connection::PoolConnection;
use super::plan::{OpOptions, Plan, Progress, run_task};
use super::report::plural;
use super::views::{HostView, PoolSnapshot, VmView};
use crate::connection::Connection;
use crate::error::{Error, MemberError, Result};
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
/// told otherwise. The host reboots into a fresh install (docs/pool-operations.md#eject).
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
        let coordinator = snap.coordinator_name();
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
            progress.step(format!(
                "evacuating {} from {name}",
                plural(running.len(), "VM")
            ));
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
        let coordinator = snap.coordinator_name();
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
/// docs/pool-operations.md#bonds-after-a-join), which are the wrong NICs when hosts are cabled
/// differently.
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
        let coordinator = snap.coordinator_name();
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
            .ok_or_else(|| Error::invalid_argument("pool", "the pool has no coordinator"))?;
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
        let disks = snap_vm_srs(pool, &v.r).await?;
        problems.extend(placement_problems(&snap, &v, &disks, &target));
        if !problems.is_empty() {
            return Err(refused(&operation, problems));
        }
        let coordinator = snap.coordinator_name();
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

/// Why `vm` (whose disks are on `disks`) cannot run on `target`: not enough free memory,
/// or a disk on storage the target has no plugged PBD for.
fn placement_problems(
    snap: &PoolSnapshot,
    vm: &VmView<'_>,
    disks: &[Ref<Sr>],
    target: &HostView<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let needed = vm.record.memory_dynamic_min;
    let same_host = vm.record.resident_on == target.r;
    if !same_host && target.memory_free() < needed {
        problems.push(format!(
            "{} has {} MiB free; {} needs {} MiB",
            target.name(),
            target.memory_free() >> 20,
            vm.name(),
            needed >> 20
        ));
    }
    for sr in disks {
        let reachable = snap
            .pbds
            .values()
            .any(|p| &p.sr == sr && p.host == target.r && p.currently_attached);
        if !reachable {
            let name = snap
                .srs
                .get(sr)
                .map(|s| s.name_label.clone())
                .unwrap_or_else(|| sr.to_string());
            problems.push(format!(
                "{} has a disk on {name}, which {} cannot reach: put VM disks on shared \
                 storage",
                vm.name(),
                target.name()
            ));
        }
    }
    problems
}

/// The SRs holding each VM's disks, from the VBD and VDI tables read once: an evacuation
/// asks about every VM on a host, and one round trip per disk would be hundreds of them.
async fn disk_srs_by_vm(pool: &PoolConnection) -> Result<HashMap<Ref<Vm>, Vec<Ref<Sr>>>> {
    use crate::generated::{Vbd, Vdi};
    let vbds = Vbd::get_all_records(pool).await?;
    let vdis = Vdi::get_all_records(pool).await?;
    let mut by_vm: HashMap<Ref<Vm>, Vec<Ref<Sr>>> = HashMap::new();
    for vbd in vbds.into_values() {
        // An empty CD drive holds no disk.
        if vbd.empty || vbd.vdi.is_null() {
            continue;
        }
        let Some(vdi) = vdis.get(&vbd.vdi) else {
            continue;
        };
        let srs = by_vm.entry(vbd.vm).or_default();
        if !srs.contains(&vdi.sr) {
            srs.push(vdi.sr.clone());
        }
    }
    Ok(by_vm)
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

/// Disables a host and live-migrates every VM off it (maintenance mode). Refused, with
/// nothing changed, when a running VM has nowhere to go (each VM's own reason: a disk on
/// the host's local storage, not enough memory elsewhere). The host stays disabled after
/// a successful evacuation (`enable_host` ends maintenance); when the evacuation fails
/// it is enabled again, and the error says so if that failed too.
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
        let operation = format!("evacuate {name}");
        let active: Vec<VmView<'_>> = target
            .resident_vms()
            .into_iter()
            .filter(|v| v.is_active())
            .collect();
        let others: Vec<HostView<'_>> = snap
            .hosts()
            .into_iter()
            .filter(|h| h.r != target.r && h.record.enabled && h.is_live())
            .collect();
        // Where each VM could go, or why it cannot go anywhere.
        let mut destinations = Vec::new();
        let mut problems = Vec::new();
        let disks_by_vm = if active.is_empty() {
            HashMap::new()
        } else {
            disk_srs_by_vm(pool).await?
        };
        for vm in &active {
            let disks = disks_by_vm
                .get(&vm.r)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut reasons = Vec::new();
            let to = others.iter().find(|h| {
                let p = placement_problems(&snap, vm, disks, h);
                let fits = p.is_empty();
                reasons.extend(p);
                fits
            });
            match to {
                Some(h) => destinations.push((vm.name().to_string(), h.name().to_string())),
                None if others.is_empty() => problems.push(format!(
                    "{} has nowhere to go: no other host is enabled and live",
                    vm.name()
                )),
                None => {
                    reasons.dedup();
                    problems.extend(reasons);
                }
            }
        }
        if !problems.is_empty() {
            return Err(refused(&operation, problems));
        }
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new(&operation);
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
            format!("live-migrate {} to other hosts", plural(active.len(), "VM")),
        );
        for (vm, to) in &destinations {
            plan.warn(format!("{vm} can move to {to} (xapi picks the host)"));
        }
        plan.warn(format!(
            "{name} stays disabled until enabled again (enable_host)"
        ));
        if options.dry_run {
            return Ok(MoveOutcome {
                plan,
                executed: false,
                moved: destinations,
            });
        }
        let vms: Vec<String> = active.iter().map(|v| v.name().to_string()).collect();
        let host_ref = target.r.clone();
        let mut progress = Progress::new(options, 2);
        progress.step(format!("disabling {name}"));
        Host::disable(pool, &host_ref).await?;
        progress.step(format!("evacuating {}", plural(vms.len(), "VM")));
        if let Err(error) = run_task(pool, Host::async_evacuate(pool, &host_ref), options).await {
            // Leave the host as it was found: a failed evacuation is not maintenance.
            return Err(match Host::enable(pool, &host_ref).await {
                Ok(()) => error,
                Err(enable) => Error::PartialPool {
                    operation,
                    done: vec![format!("{name} disabled")],
                    failed: vec![
                        MemberError {
                            member: name.clone(),
                            error: Box::new(error),
                        },
                        MemberError {
                            member: format!("{name} (enabling it again)"),
                            error: Box::new(enable),
                        },
                    ],
                    not_attempted: vec![],
                },
            });
        }
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

/// Takes a host out of maintenance: `host.enable` (by name, uuid or address).
pub async fn enable_host(pool: &PoolConnection, host: &str) -> Result<()> {
    let snap = PoolSnapshot::fetch(pool).await?;
    let h = snap.find_host(host)?;
    Host::enable(pool, &h.r).await
}

/// Puts a host in maintenance without moving its VMs: `host.disable` (no new VMs land
/// on it).
pub async fn disable_host(pool: &PoolConnection, host: &str) -> Result<()> {
    let snap = PoolSnapshot::fetch(pool).await?;
    let h = snap.find_host(host)?;
    Host::disable(pool, &h.r).await
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
        let coordinator = snap.coordinator_name();
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

/// What [`recover_lost_coordinator`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// The members that now follow the new coordinator.
    pub recovered: Vec<String>,
    /// Hosts declared dead (`host.declare_dead`): the old coordinator, when asked to
    /// restart its VMs.
    pub declared_dead: Vec<String>,
    /// VMs that ran on a dead host, started again, with the host each now runs on.
    pub restarted: Vec<(String, String)>,
    /// VMs that ran on a dead host and could not start elsewhere, with the reason (e.g. a
    /// disk on the dead host's local storage).
    pub not_restarted: Vec<(String, String)>,
}

/// How far [`recover_lost_coordinator`] goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// After the recovery, declare the hosts that are not live dead (`host.declare_dead`:
    /// their VMs are reset to Halted) and start those VMs on the surviving hosts, as the
    /// pooling documentation describes for a pool without HA. Only when the old
    /// coordinator is gone for good: a dead host that comes back would run them twice.
    pub restart_vms: bool,
}

/// The coordinator is gone and HA is off: make the member at `member_url` the coordinator
/// (`pool.emergency_transition_to_master` with an emergency local login), then point the
/// other members at it (`pool.recover_slaves`); with `restart_vms`, also declare the hosts
/// that stay down dead and start their VMs elsewhere. Returns a connection to the new pool
/// (none in a dry run, which changes and contacts nothing).
pub async fn recover_lost_coordinator(
    member_url: &str,
    credentials: Credentials,
    connect: ConnectOptions,
    recovery: RecoveryOptions,
    options: &OpOptions,
) -> Result<(Option<PoolConnection>, RecoveryOutcome)> {
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
        if recovery.restart_vms {
            plan.call(
                member_url,
                "host.declare_dead",
                &["each host that is not live"],
                "its VMs are reset to Halted",
            );
            plan.call(
                member_url,
                "VM.start",
                &["each VM that ran there"],
                "the VMs run again on the surviving hosts (xapi picks where)",
            );
            plan.warn(
                "declare a host dead only when it is gone for good: if it comes back, its VMs \
                 run twice and corrupt their disks",
            );
        }
        plan.warn(
            "do this only when the old coordinator is really gone: if it comes back, two hosts \
             think they coordinate",
        );
        let mut outcome = RecoveryOutcome {
            plan,
            executed: false,
            recovered: vec![],
            declared_dead: vec![],
            restarted: vec![],
            not_restarted: vec![],
        };
        if options.dry_run {
            return Ok((None, outcome));
        }
        outcome.executed = true;
        let mut progress = Progress::new(options, if recovery.restart_vms { 5 } else { 3 });
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
        outcome.recovered = recovered
            .iter()
            .filter_map(|h| snap.host(h).map(|v| v.name().to_string()))
            .collect();
        let _ = pool.refresh_members().await;
        if recovery.restart_vms {
            restart_vms_of_dead_hosts(&pool, &snap, &mut outcome, &mut progress).await?;
        }
        Ok((Some(pool), outcome))
    })
    .await
}

/// Declares every host that is not live dead and starts the VMs that ran there on the
/// hosts that are.
async fn restart_vms_of_dead_hosts(
    pool: &PoolConnection,
    snap: &PoolSnapshot,
    outcome: &mut RecoveryOutcome,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let dead: Vec<HostView<'_>> = snap.hosts().into_iter().filter(|h| !h.is_live()).collect();
    progress.step(format!(
        "declaring {} dead",
        if dead.is_empty() {
            "no host".to_string()
        } else {
            dead.iter().map(|h| h.name()).collect::<Vec<_>>().join(", ")
        }
    ));
    let mut lost = Vec::new();
    for host in &dead {
        lost.extend(
            host.resident_vms()
                .into_iter()
                .filter(|v| v.is_active())
                .map(|v| (v.r.clone(), v.name().to_string())),
        );
        Host::declare_dead(pool, &host.r).await?;
        outcome.declared_dead.push(host.name().to_string());
    }
    progress.step(format!("starting {} elsewhere", plural(lost.len(), "VM")));
    for (vm, name) in lost {
        match Vm::start(pool, &vm, false, false).await {
            Ok(()) => {
                let on = Vm::get_resident_on(pool, &vm).await?;
                let host = snap
                    .host(&on)
                    .map_or_else(|| on.to_string(), |h| h.name().to_string());
                outcome.restarted.push((name, host));
            }
            Err(e) => outcome.not_restarted.push((name, e.to_string())),
        }
    }
    Ok(())
}

/// A VM to make with [`create_vm`]: a minimal HVM guest without an operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    /// `name_label`.
    pub name: String,
    /// Memory (static and dynamic maximum and minimum alike), MiB.
    pub memory_mib: i64,
    /// vCPUs (at start-up and maximum).
    pub vcpus: i64,
    /// A disk of this size, GiB, when given.
    pub disk_gib: Option<i64>,
    /// Where the disk goes (SR name or uuid); the pool's default SR when `None`.
    pub sr: Option<String>,
    /// Start it (on this host when `host` is given, else where xapi chooses).
    pub start: bool,
    /// The host to start it on (name, uuid or address).
    pub host: Option<String>,
}

impl VmSpec {
    /// A VM called `name` with 1 GiB of memory, 1 vCPU, no disk, not started.
    pub fn new(name: impl Into<String>) -> Self {
        VmSpec {
            name: name.into(),
            memory_mib: 1024,
            vcpus: 1,
            disk_gib: None,
            sr: None,
            start: false,
            host: None,
        }
    }
}

/// What [`create_vm`] did.
#[derive(Debug, Clone, Serialize)]
pub struct VmOutcome {
    /// The calls.
    pub plan: Plan,
    /// Whether anything ran.
    pub executed: bool,
    /// The new VM's uuid (empty in a dry run).
    pub uuid: String,
    /// The host it runs on, when started.
    pub resident_on: Option<String>,
}

/// Makes a VM from a minimal spec (memory, vCPUs, an optional disk on a named or the
/// default SR) and optionally starts it, so that pool workflows have something to move.
/// The SR and host are resolved, and the sizes checked, before anything is created.
pub async fn create_vm(
    pool: &PoolConnection,
    spec: &VmSpec,
    options: &OpOptions,
) -> Result<VmOutcome> {
    use crate::generated::{Vbd, VbdMode, VbdRecord, VbdType, Vdi, VdiRecord, VdiType, VmRecord};
    Box::pin(async move {
        let operation = format!("create VM {}", spec.name);
        let mut problems = Vec::new();
        if spec.name.trim().is_empty() {
            problems.push("the VM needs a name".to_string());
        }
        if spec.memory_mib < 16 {
            problems.push(format!(
                "memory_mib is {}; a VM needs at least 16 MiB",
                spec.memory_mib
            ));
        }
        if spec.vcpus < 1 {
            problems.push(format!("vcpus is {}; a VM needs at least 1", spec.vcpus));
        }
        if spec.disk_gib.is_some_and(|g| g < 1) {
            problems.push("disk_gib must be at least 1".to_string());
        }
        if !problems.is_empty() {
            return Err(Error::invalid_argument(
                "spec",
                format!("{operation}: {}", problems.join("; ")),
            ));
        }
        let snap = PoolSnapshot::fetch(pool).await?;
        let sr = match (&spec.disk_gib, &spec.sr) {
            (None, _) => None,
            (Some(_), Some(name)) => Some(snap.find_sr(name)?),
            (Some(_), None) => Some(snap.pool().default_sr().ok_or_else(|| {
                refused(
                    &operation,
                    vec!["the pool has no default SR: name one for the disk (sr)".to_string()],
                )
            })?),
        };
        let host = spec
            .host
            .as_deref()
            .map(|h| snap.find_host(h))
            .transpose()?;
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new(&operation);
        plan.call(
            &coordinator,
            "VM.create",
            &[
                &spec.name,
                &format!("{} MiB", spec.memory_mib),
                &format!("{} vCPU", spec.vcpus),
            ],
            "the VM's record",
        );
        if let (Some(gib), Some(sr)) = (spec.disk_gib, &sr) {
            plan.call(
                &coordinator,
                "VDI.create",
                &[&format!("{gib} GiB"), &sr.record.name_label],
                "its disk",
            );
            plan.call(
                &coordinator,
                "VBD.create",
                &["0"],
                "the disk plugged into it",
            );
        }
        if spec.start {
            match &host {
                Some(h) => plan.call(&coordinator, "VM.start_on", &[h.name()], "start it there"),
                None => plan.call(&coordinator, "VM.start", &[], "start it where xapi chooses"),
            }
        }
        if options.dry_run {
            return Ok(VmOutcome {
                plan,
                executed: false,
                uuid: String::new(),
                resident_on: None,
            });
        }
        let bytes = spec.memory_mib << 20;
        let vm = Vm::create(
            pool,
            &VmRecord {
                name_label: spec.name.clone(),
                memory_static_max: bytes,
                memory_dynamic_max: bytes,
                memory_dynamic_min: bytes,
                memory_static_min: bytes,
                vcpus_max: spec.vcpus,
                vcpus_at_startup: spec.vcpus,
                hvm_boot_policy: "BIOS order".into(),
                ..Default::default()
            },
        )
        .await?;
        if let (Some(gib), Some(sr)) = (spec.disk_gib, &sr) {
            let vdi = Vdi::create(
                pool,
                &VdiRecord {
                    name_label: format!("{} disk", spec.name),
                    sr: sr.r.clone(),
                    virtual_size: gib << 30,
                    type_: VdiType::User,
                    ..Default::default()
                },
            )
            .await?;
            Vbd::create(
                pool,
                &VbdRecord {
                    vm: vm.clone(),
                    vdi,
                    userdevice: "0".into(),
                    mode: VbdMode::Rw,
                    type_: VbdType::Disk,
                    bootable: true,
                    ..Default::default()
                },
            )
            .await?;
        }
        let mut resident_on = None;
        if spec.start {
            match &host {
                Some(h) => Vm::start_on(pool, &vm, &h.r, false, false).await?,
                None => Vm::start(pool, &vm, false, false).await?,
            }
            let on = Vm::get_resident_on(pool, &vm).await?;
            resident_on = Some(
                snap.host(&on)
                    .map_or_else(|| on.to_string(), |h| h.name().to_string()),
            );
        }
        Ok(VmOutcome {
            plan,
            executed: true,
            uuid: Vm::get_uuid(pool, &vm).await?,
            resident_on,
        })
    })
    .await
}
