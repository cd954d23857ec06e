//! VMs: power operations, placement checks (`assert_can_boot_here`) and live migration
//! (`VM.pool_migrate`, checks in xapi's order: pool-operations.md §(g)).

use std::sync::Arc;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use super::{Ctx, Handler, Registry, flag, s, string_map, text, void};
use crate::db::{Db, NULL_REF};
use crate::dispatch::Caller;
use crate::failure::{Failure, Outcome};
use crate::profile::map_get;
use crate::sim::Sim;
use crate::world::{World, record};
use xenpool::pool::features;

/// Registers the VM messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "VM.start",
        Handler::Sync(|ctx, args| start(ctx, &args[0], None, flag(&args[1]))),
    );
    r.insert(
        "VM.start_on",
        Handler::Sync(|ctx, args| start(ctx, &args[0], Some(&args[1]), flag(&args[2]))),
    );
    r.insert("VM.clean_shutdown", Handler::Sync(shutdown));
    r.insert("VM.hard_shutdown", Handler::Sync(shutdown));
    r.insert("VM.shutdown", Handler::Sync(shutdown));
    r.insert("VM.clean_reboot", Handler::Sync(reboot));
    r.insert("VM.hard_reboot", Handler::Sync(reboot));
    r.insert("VM.suspend", Handler::Sync(suspend));
    r.insert(
        "VM.resume",
        Handler::Sync(|ctx, args| resume(ctx, &args[0], None)),
    );
    r.insert(
        "VM.resume_on",
        Handler::Sync(|ctx, args| resume(ctx, &args[0], Some(&args[1]))),
    );
    r.insert(
        "VM.pause",
        Handler::Sync(|ctx, args| set_power(ctx, &args[0], "Running", "Paused")),
    );
    r.insert(
        "VM.unpause",
        Handler::Sync(|ctx, args| set_power(ctx, &args[0], "Paused", "Running")),
    );
    r.insert(
        "VM.assert_can_boot_here",
        Handler::Sync(assert_can_boot_here_msg),
    );
    r.insert(
        "VM.pool_migrate",
        Handler::Async(|sim, caller, args| pool_migrate(sim, caller, args).boxed()),
    );
    r.insert(
        "VM.set_ha_restart_priority",
        Handler::Sync(set_ha_restart_priority),
    );
    r.insert("VM.get_possible_hosts", Handler::Sync(possible_hosts));
}

const GIB: i64 = 1 << 30;

/// Memory a VM needs on a host (dynamic_min based, as xapi reserves).
pub fn needed_memory(db: &Db, vm: &str) -> i64 {
    match db.get_field("VM", vm, "memory_dynamic_min") {
        Some(Value::Int(m)) => *m,
        _ => 0,
    }
}

/// Free memory on a host: total minus the control domain's share and resident guests.
pub fn free_memory(db: &Db, host: &str) -> i64 {
    let metrics = db.str_field("host", host, "metrics");
    let total = match db.get_field("host_metrics", &metrics, "memory_total") {
        Some(Value::Int(t)) => *t,
        _ => 0,
    };
    let used: i64 = db
        .find("VM", |r| {
            r.get("resident_on").and_then(Value::as_str) == Some(host)
                && r.get("is_control_domain") != Some(&Value::Bool(true))
        })
        .iter()
        .map(|vm| needed_memory(db, vm))
        .sum();
    total - 4 * GIB - used
}

/// Recomputes `host_metrics.memory_free` after placements change.
pub fn refresh_free_memory(db: &mut Db, host: &str) {
    let free = free_memory(db, host);
    let metrics = db.str_field("host", host, "metrics");
    db.update("host_metrics", &metrics, |r| {
        r.insert("memory_free".into(), Value::Int(free.max(0)));
    });
}

/// True when the host's metrics say it is live.
pub fn host_live(db: &Db, host: &str) -> bool {
    let metrics = db.str_field("host", host, "metrics");
    flag(
        db.get_field("host_metrics", &metrics, "live")
            .unwrap_or(&Value::Nil),
    )
}

fn cpu_compatible(db: &Db, vm: &str, host: &str) -> Result<(), String> {
    let vm_rec = db.get("VM", vm).cloned().unwrap_or_default();
    let host_rec = db.get("host", host).cloned().unwrap_or_default();
    let vm_vendor = map_get(&vm_rec, "last_boot_CPU_flags", "vendor");
    let host_vendor = map_get(&host_rec, "cpu_info", "vendor");
    if vm_vendor.is_empty() {
        return Ok(());
    }
    if vm_vendor != host_vendor {
        return Err(format!(
            "VM last booted on a CPU from vendor {vm_vendor}, the host's is {host_vendor}"
        ));
    }
    let vm_features =
        features::parse(&map_get(&vm_rec, "last_boot_CPU_flags", "features")).unwrap_or_default();
    let host_features =
        features::parse(&map_get(&host_rec, "cpu_info", "features_hvm_host")).unwrap_or_default();
    let missing = vm_features
        .iter()
        .enumerate()
        .any(|(i, w)| w & !host_features.get(i).copied().unwrap_or(0) != 0);
    if missing {
        return Err("VM last booted on a host with features this host lacks".into());
    }
    Ok(())
}

/// xapi's `assert_can_boot_here`: host live and enabled, every disk's SR attached on the
/// host, every network reachable, enough memory and pCPUs, and optionally the CPU check.
pub fn assert_can_boot_here(
    db: &Db,
    vm: &str,
    host: &str,
    check_cpu: bool,
    same_host: bool,
) -> Result<(), Failure> {
    if check_cpu && db.str_field("VM", vm, "power_state") != "Halted" {
        cpu_compatible(db, vm, host).map_err(|reason| {
            Failure::new(
                ErrorCode::VmIncompatibleWithThisHost,
                [vm, host, reason.as_str()],
            )
        })?;
    }
    if !host_live(db, host) {
        return Err(Failure::code(ErrorCode::HostNotLive));
    }
    if !same_host && !flag(db.get_field("host", host, "enabled").unwrap_or(&Value::Nil)) {
        return Err(Failure::new(ErrorCode::HostDisabled, [host]));
    }
    let mut srs: Vec<String> = db
        .find("VBD", |r| {
            r.get("VM").and_then(Value::as_str) == Some(vm)
                && r.get("empty") != Some(&Value::Bool(true))
        })
        .iter()
        .map(|vbd| db.str_field("VDI", &db.str_field("VBD", vbd, "VDI"), "SR"))
        .filter(|sr| !sr.is_empty() && sr != NULL_REF)
        .collect();
    let suspend = db.str_field("VM", vm, "suspend_VDI");
    if suspend != NULL_REF && !suspend.is_empty() {
        srs.push(db.str_field("VDI", &suspend, "SR"));
    }
    for sr in srs {
        let attached = db
            .find("PBD", |r| {
                r.get("SR").and_then(Value::as_str) == Some(&sr)
                    && r.get("host").and_then(Value::as_str) == Some(host)
            })
            .iter()
            .any(|p| {
                flag(
                    db.get_field("PBD", p, "currently_attached")
                        .unwrap_or(&Value::Nil),
                )
            });
        if !attached {
            return Err(Failure::new(ErrorCode::VmRequiresSr, [vm, sr.as_str()]));
        }
    }
    for vif in db.find("VIF", |r| r.get("VM").and_then(Value::as_str) == Some(vm)) {
        let network = db.str_field("VIF", &vif, "network");
        let internal = db
            .find("PIF", |r| {
                r.get("network").and_then(Value::as_str) == Some(&network)
            })
            .is_empty();
        let reachable = internal
            || !db
                .find("PIF", |r| {
                    r.get("network").and_then(Value::as_str) == Some(&network)
                        && r.get("host").and_then(Value::as_str) == Some(host)
                })
                .is_empty();
        if !reachable {
            return Err(Failure::new(
                ErrorCode::VmRequiresNetwork,
                [vm, network.as_str()],
            ));
        }
    }
    if !same_host {
        let needed = needed_memory(db, vm);
        let available = free_memory(db, host);
        if needed > available {
            return Err(Failure::new(
                ErrorCode::HostNotEnoughFreeMemory,
                [needed.to_string(), available.max(0).to_string()],
            ));
        }
    }
    let vcpus = match db.get_field("VM", vm, "VCPUs_max") {
        Some(Value::Int(v)) => *v,
        _ => 1,
    };
    let pcpus: i64 = map_get(
        db.get("host", host).unwrap_or(&IndexMap::new()),
        "cpu_info",
        "cpu_count",
    )
    .parse()
    .unwrap_or(0);
    if vcpus > pcpus {
        return Err(Failure::new(
            ErrorCode::HostNotEnoughPcpus,
            [vcpus.to_string(), pcpus.to_string()],
        ));
    }
    Ok(())
}

fn bad_power(vm: &str, expected: &str, actual: &str) -> Failure {
    Failure::new(
        ErrorCode::VmBadPowerState,
        [
            vm.to_string(),
            expected.to_ascii_lowercase(),
            actual.to_ascii_lowercase(),
        ],
    )
}

fn check_operation(db: &Db, vm: &str, op: &str) -> Result<(), Failure> {
    if let Some(Value::Struct(blocked)) = db.get_field("VM", vm, "blocked_operations")
        && let Some(reason) = blocked.get(op)
    {
        return Err(Failure::new(
            ErrorCode::OperationBlocked,
            [vm.to_string(), super::text(reason)],
        ));
    }
    if let Some(Value::Struct(current)) = db.get_field("VM", vm, "current_operations")
        && let Some((task, other)) = current.iter().next()
    {
        return Err(Failure::new(
            ErrorCode::OtherOperationInProgress,
            ["VM".to_string(), vm.to_string(), text(other), task.clone()],
        ));
    }
    if flag(
        db.get_field("VM", vm, "is_a_template")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::new(ErrorCode::VmIsTemplate, [vm]));
    }
    if flag(
        db.get_field("VM", vm, "is_control_domain")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::not_allowed(
            "Operation not allowed on a control domain",
        ));
    }
    Ok(())
}

/// Places a VM on a host as running.
pub fn place(db: &mut Db, vm: &str, host: &str) {
    let cpu = db.get("host", host).cloned().unwrap_or_default();
    let flags = Value::Struct(IndexMap::from([
        ("vendor".to_string(), s(map_get(&cpu, "cpu_info", "vendor"))),
        (
            "features".to_string(),
            s(map_get(&cpu, "cpu_info", "features_hvm_host")),
        ),
    ]));
    db.set_field("VM", vm, "resident_on", s(host));
    db.update("VM", vm, |r| {
        r.insert("power_state".into(), s("Running"));
        r.insert("last_boot_CPU_flags".into(), flags);
        r.insert("domid".into(), Value::Int(1));
    });
    set_vbds_attached(db, vm, true);
    refresh_free_memory(db, host);
}

/// Marks a VM halted, off any host.
pub fn halt(db: &mut Db, vm: &str) {
    let host = db.str_field("VM", vm, "resident_on");
    db.set_field("VM", vm, "resident_on", s(NULL_REF));
    db.update("VM", vm, |r| {
        r.insert("power_state".into(), s("Halted"));
        r.insert("domid".into(), Value::Int(-1));
    });
    set_vbds_attached(db, vm, false);
    if host != NULL_REF {
        refresh_free_memory(db, &host);
    }
}

fn set_vbds_attached(db: &mut Db, vm: &str, attached: bool) {
    for vbd in db.find("VBD", |r| r.get("VM").and_then(Value::as_str) == Some(vm)) {
        db.update("VBD", &vbd, |r| {
            r.insert("currently_attached".into(), Value::Bool(attached));
        });
    }
}

/// Hosts of the pool where the VM could start, affinity first.
pub fn candidate_hosts(db: &Db, vm: &str) -> Vec<String> {
    let affinity = db.str_field("VM", vm, "affinity");
    let mut hosts: Vec<String> = db.all("host").map(|(k, _)| k.clone()).collect();
    hosts.sort_by_key(|h| *h != affinity);
    hosts
}

fn start(ctx: &mut Ctx<'_>, vm: &Value, on: Option<&Value>, force: bool) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    let target = match on {
        Some(h) => Some(ctx.existing("host", h)?),
        None => None,
    };
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state != "Halted" {
        return Err(bad_power(&vm, "halted", &state));
    }
    check_operation(db, &vm, "start")?;
    let host = match target {
        Some(h) => {
            assert_can_boot_here(db, &vm, &h, !force, false)?;
            h
        }
        None => {
            let mut last = Failure::code(ErrorCode::NoHostsAvailable);
            let mut chosen = None;
            for h in candidate_hosts(db, &vm) {
                match assert_can_boot_here(db, &vm, &h, false, false) {
                    Ok(()) => {
                        chosen = Some(h);
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            chosen.ok_or(last)?
        }
    };
    place(db, &vm, &host);
    void()
}

fn shutdown(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state == "Halted" {
        return Err(bad_power(&vm, "running, paused, suspended", &state));
    }
    check_operation(db, &vm, "clean_shutdown")?;
    if state == "Suspended" {
        let suspend = db.str_field("VM", &vm, "suspend_VDI");
        if suspend != NULL_REF {
            db.delete("VDI", &suspend);
            db.set_field("VM", &vm, "suspend_VDI", s(NULL_REF));
        }
    }
    halt(db, &vm);
    void()
}

fn reboot(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state != "Running" {
        return Err(bad_power(&vm, "running", &state));
    }
    check_operation(db, &vm, "clean_reboot")?;
    void()
}

fn suspend(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state != "Running" {
        return Err(bad_power(&vm, "running", &state));
    }
    check_operation(db, &vm, "suspend")?;
    let host = db.str_field("VM", &vm, "resident_on");
    let sr = {
        let pool = World::pool_ref(db);
        db.str_field("pool", &pool, "suspend_image_SR")
    };
    let memory = needed_memory(db, &vm);
    let name = db.str_field("VM", &vm, "name_label");
    let image = db.create(
        "VDI",
        record([
            ("name_label", s(format!("Suspend image for {name}"))),
            ("SR", s(sr)),
            ("virtual_size", Value::Int(memory)),
            ("type", s("suspend")),
        ]),
    );
    db.set_field("VM", &vm, "suspend_VDI", s(image));
    db.set_field("VM", &vm, "resident_on", s(NULL_REF));
    db.update("VM", &vm, |r| {
        r.insert("power_state".into(), s("Suspended"));
    });
    set_vbds_attached(db, &vm, false);
    refresh_free_memory(db, &host);
    void()
}

fn resume(ctx: &mut Ctx<'_>, vm: &Value, on: Option<&Value>) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    let target = match on {
        Some(h) => Some(ctx.existing("host", h)?),
        None => None,
    };
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state != "Suspended" {
        return Err(bad_power(&vm, "suspended", &state));
    }
    let host = match target {
        Some(h) => {
            assert_can_boot_here(db, &vm, &h, true, false)?;
            h
        }
        None => candidate_hosts(db, &vm)
            .into_iter()
            .find(|h| assert_can_boot_here(db, &vm, h, true, false).is_ok())
            .ok_or_else(|| Failure::code(ErrorCode::NoHostsAvailable))?,
    };
    let image = db.str_field("VM", &vm, "suspend_VDI");
    place(db, &vm, &host);
    if image != NULL_REF {
        db.delete("VDI", &image);
        db.set_field("VM", &vm, "suspend_VDI", s(NULL_REF));
    }
    void()
}

fn set_power(ctx: &mut Ctx<'_>, vm: &Value, from: &str, to: &str) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    let db = ctx.db();
    let state = db.str_field("VM", &vm, "power_state");
    if state != from {
        return Err(bad_power(&vm, from, &state));
    }
    db.update("VM", &vm, |r| {
        r.insert("power_state".into(), s(to));
    });
    void()
}

fn assert_can_boot_here_msg(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let host = ctx.existing("host", &args[1])?;
    let db = ctx.db();
    let same = db.str_field("VM", &vm, "resident_on") == host;
    assert_can_boot_here(db, &vm, &host, true, same)?;
    void()
}

fn possible_hosts(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let db = ctx.db();
    let hosts = candidate_hosts(db, &vm)
        .into_iter()
        .filter(|h| assert_can_boot_here(db, &vm, h, true, false).is_ok())
        .map(s)
        .collect();
    Ok(Value::Array(hosts))
}

/// The checks of `VM.pool_migrate`, in xapi's order, without moving anything.
pub fn check_migrate(
    world: &World,
    pool: crate::world::PoolId,
    vm: &str,
    host: &str,
    force: bool,
) -> Result<(), Failure> {
    let db = &world.pools[&pool].db;
    if !db.exists("VM", vm) {
        return Err(Failure::handle_invalid("VM", vm));
    }
    if !db.exists("host", host) {
        return Err(Failure::handle_invalid("host", host));
    }
    let state = db.str_field("VM", vm, "power_state");
    if !force && state != "Halted" {
        cpu_compatible(db, vm, host).map_err(|reason| {
            Failure::new(
                ErrorCode::VmIncompatibleWithThisHost,
                [vm, host, reason.as_str()],
            )
        })?;
    }
    if let Some(Value::Struct(blocked)) = db.get_field("VM", vm, "blocked_operations")
        && let Some(reason) = blocked.get("pool_migrate")
    {
        return Err(Failure::new(
            ErrorCode::OperationBlocked,
            [vm.to_string(), text(reason)],
        ));
    }
    if state != "Running" {
        return Err(bad_power(vm, "running", &state));
    }
    check_operation(db, vm, "pool_migrate")?;
    let same = db.str_field("VM", vm, "resident_on") == host;
    assert_can_boot_here(db, vm, host, false, same)?;
    let pool_ref = World::pool_ref(db);
    if map_get(
        db.get("pool", &pool_ref).unwrap_or(&IndexMap::new()),
        "restrictions",
        "restrict_xen_motion",
    ) == "true"
    {
        return Err(Failure::new(ErrorCode::LicenceRestriction, ["Xen_motion"]));
    }
    // The target must be a running simulated host.
    if let Some(i) = world.host_by_ref(pool, host)
        && !world.hosts[i].alive
    {
        return Err(Failure::code(ErrorCode::HostNotLive));
    }
    Ok(())
}

/// Moves a running VM: `current_operations` shows the migration while it runs, then
/// `resident_on` changes and a `VM_MIGRATED` message is created.
pub async fn migrate(sim: &Sim, caller: &Caller, vm: &str, host: &str, force: bool) -> Outcome {
    let task = caller.task.clone().unwrap_or_else(crate::db::new_ref);
    let step = {
        let mut world = sim.world();
        let pool = world.hosts[caller.host].pool;
        check_migrate(&world, pool, vm, host, force)?;
        let db = world.db(caller.host);
        let t = task.clone();
        db.update("VM", vm, |r| {
            r.insert(
                "current_operations".into(),
                Value::Struct(IndexMap::from([(t, s("pool_migrate"))])),
            );
        });
        world.config.operation_time
    };
    for i in 1..=4 {
        tokio::time::sleep(step / 4).await;
        sim.progress(caller, f64::from(i) * 0.24);
    }
    let mut world = sim.world();
    let db = world.db(caller.host);
    let from = db.str_field("VM", vm, "resident_on");
    db.update("VM", vm, |r| {
        r.insert("current_operations".into(), Value::Struct(IndexMap::new()));
    });
    place(db, vm, host);
    refresh_free_memory(db, &from);
    let uuid = db.str_field("VM", vm, "uuid");
    db.create(
        "message",
        record([
            ("name", s("VM_MIGRATED")),
            ("priority", Value::Int(5)),
            ("cls", s("VM")),
            ("obj_uuid", s(uuid)),
            (
                "timestamp",
                Value::DateTime(xenpool::DateTime::now().to_wire()),
            ),
            ("body", s(format!("VM migrated from {from} to {host}"))),
        ]),
    );
    void()
}

async fn pool_migrate(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let vm = text(&args[0]);
    let host = text(&args[1]);
    let force = string_map(&args[2])
        .iter()
        .any(|(k, v)| k == "force" && v == "true");
    migrate(&sim, &caller, &vm, &host, force).await
}

fn set_ha_restart_priority(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let priority = text(&args[1]);
    if !["restart", "best-effort", ""].contains(&priority.as_str()) {
        return Err(Failure::new(
            ErrorCode::InvalidValue,
            ["ha_restart_priority".to_string(), priority],
        ));
    }
    let db = ctx.db();
    let running = db.str_field("VM", &vm, "power_state") == "Running";
    db.update("VM", &vm, |r| {
        r.insert("ha_restart_priority".into(), s(priority.clone()));
        if running {
            r.insert("ha_always_run".into(), Value::Bool(priority == "restart"));
        }
    });
    void()
}
