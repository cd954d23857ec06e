//! Where VMs run: live migration of one VM, evacuation of a host (maintenance mode), and
//! taking a host in and out of maintenance. Each move is checked first against what
//! XenMotion needs (storage the target reaches, free memory, an enabled live target).

use std::collections::HashMap;

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress, refused, run_task};
use super::report::plural;
use super::views::{HostView, PoolSnapshot, VmView};
use crate::error::{Error, MemberError, Refusal, Result};
use crate::generated::{Host, Sr, Vm};
use crate::types::Ref;

/// What [`migrate`] or [`evacuate`] did.
pub type MoveOutcome = Outcome<Moved>;

/// [`migrate`] or [`evacuate`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
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
            problems.push(Refusal::new(
                "vm_running",
                format!(
                    "{} is {:?}; only a running VM can be live-migrated",
                    v.name(),
                    v.record.power_state
                ),
            ));
        }
        if !target.record.enabled {
            problems.push(Refusal::new(
                "host_enabled",
                format!(
                    "{} is disabled (maintenance); enable it first",
                    target.name()
                ),
            ));
        }
        if !target.is_live() {
            problems.push(Refusal::new(
                "host_live",
                format!("{} is not live", target.name()),
            ));
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
            return Ok(Outcome::dry_run(plan, Moved { moved }));
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
        Ok(Outcome::done(plan, Moved { moved }))
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
) -> Vec<Refusal> {
    let mut problems = Vec::new();
    let needed = vm.record.memory_dynamic_min;
    let same_host = vm.record.resident_on == target.r;
    if !same_host && target.memory_free() < needed {
        problems.push(Refusal::new(
            "memory",
            format!(
                "{} has {} MiB free; {} needs {} MiB",
                target.name(),
                target.memory_free() >> 20,
                vm.name(),
                needed >> 20
            ),
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
            problems.push(Refusal::new(
                "storage",
                format!(
                    "{} has a disk on {name}, which {} cannot reach: put VM disks on shared \
                     storage",
                    vm.name(),
                    target.name()
                ),
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
                None if others.is_empty() => problems.push(Refusal::new(
                    "other_hosts",
                    format!(
                        "{} has nowhere to go: no other host is enabled and live",
                        vm.name()
                    ),
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
            return Ok(Outcome::dry_run(
                plan,
                Moved {
                    moved: destinations,
                },
            ));
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
        Ok(Outcome::done(plan, Moved { moved }))
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
