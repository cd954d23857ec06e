//! VMs: power operations, placement checks (`assert_can_boot_here`) and live migration
//! (`VM.pool_migrate`, checks in xapi's order: docs/pool-operations.md#live-migration).

use std::sync::Arc;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::db::NULL_REF;
use crate::db::lifecycle;
use crate::failure::{Failure, Outcome};
use crate::model::migration::migrate;
use crate::model::placement::{
    CHILD_SETS, assert_can_boot_here, candidate_hosts, force_halt, halt, needed_memory, place,
    refresh_free_memory, set_vbds_attached,
};
use crate::sim::{Caller, Sim};
use crate::values::{flag, s, string_map, text, void};
use crate::world::{World, record};

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
    for (method, op) in [
        ("VM.clean_shutdown", "clean_shutdown"),
        ("VM.hard_shutdown", "hard_shutdown"),
        ("VM.shutdown", "shutdown"),
    ] {
        r.insert(method, shutdown_handler(op));
    }
    r.insert(
        "VM.clean_reboot",
        Handler::Sync(|ctx, args| reboot(ctx, &args[0], "clean_reboot")),
    );
    r.insert(
        "VM.hard_reboot",
        Handler::Sync(|ctx, args| reboot(ctx, &args[0], "hard_reboot")),
    );
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
        Handler::Sync(|ctx, args| set_power(ctx, &args[0], "pause", "Paused")),
    );
    r.insert(
        "VM.unpause",
        Handler::Sync(|ctx, args| set_power(ctx, &args[0], "unpause", "Running")),
    );
    r.insert(
        "VM.clone",
        Handler::Sync(|ctx, args| clone(ctx, &args[0], &args[1], None)),
    );
    r.insert(
        "VM.copy",
        Handler::Sync(|ctx, args| clone(ctx, &args[0], &args[1], Some(&args[2]))),
    );
    r.insert("VM.set_VCPUs_max", Handler::Sync(set_vcpus_max));
    r.insert("VM.power_state_reset", Handler::Sync(power_state_reset));
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

/// The operation checks of xapi's `check_operation_error` (from the one power-state table),
/// then, for a VM resident on another host, that host must be reachable: xapi forwards
/// the call there and answers `HOST_OFFLINE` when it is down (`message_forwarding.ml`
/// `check_live`).
fn check_op(ctx: &mut Ctx<'_>, vm: &str, op: &str) -> Result<(), Failure> {
    let record = ctx.db().get("VM", vm).cloned().unwrap_or_default();
    lifecycle::check(vm, &record, op)?;
    let resident = ctx.db().str_field("VM", vm, "resident_on");
    let pool = ctx.pool_id();
    if resident != ctx.host_ref()
        && let Some(i) = ctx.world.host_by_ref(pool, &resident)
        && !ctx.world.hosts[i].alive
    {
        return Err(Failure::new(ErrorCode::HostOffline, [resident]));
    }
    Ok(())
}

fn start(ctx: &mut Ctx<'_>, vm: &Value, on: Option<&Value>, force: bool) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    let target = match on {
        Some(h) => Some(ctx.existing("host", h)?),
        None => None,
    };
    check_op(
        ctx,
        &vm,
        if target.is_some() {
            "start_on"
        } else {
            "start"
        },
    )?;
    let db = ctx.db();
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
                    // A VM that cannot boot anywhere says so, whatever the host.
                    Err(e) if is_vm_fault(&e) => return Err(e),
                    Err(e) => last = e,
                }
            }
            chosen.ok_or(last)?
        }
    };
    place(db, &vm, &host);
    void()
}

fn is_vm_fault(f: &Failure) -> bool {
    matches!(
        f.wire_code(),
        "INVALID_VALUE"
            | "VALUE_NOT_SUPPORTED"
            | "MEMORY_CONSTRAINT_VIOLATION"
            | "VM_MEMORY_SIZE_TOO_LOW"
    )
}

fn shutdown_handler(op: &'static str) -> Handler {
    match op {
        "clean_shutdown" => Handler::Sync(|ctx, args| shutdown(ctx, &args[0], "clean_shutdown")),
        "hard_shutdown" => Handler::Sync(|ctx, args| shutdown(ctx, &args[0], "hard_shutdown")),
        _ => Handler::Sync(|ctx, args| shutdown(ctx, &args[0], "shutdown")),
    }
}

fn shutdown(ctx: &mut Ctx<'_>, vm: &Value, op: &str) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    check_op(ctx, &vm, op)?;
    let db = ctx.db();
    if db.str_field("VM", &vm, "power_state") == "Suspended" {
        let suspend = db.str_field("VM", &vm, "suspend_VDI");
        if suspend != NULL_REF {
            db.delete("VDI", &suspend);
            db.set_field("VM", &vm, "suspend_VDI", s(NULL_REF));
        }
    }
    halt(db, &vm);
    void()
}

fn reboot(ctx: &mut Ctx<'_>, vm: &Value, op: &str) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    check_op(ctx, &vm, op)?;
    let db = ctx.db();
    db.update("VM", &vm, |r| {
        r.insert("power_state".into(), s("Running"));
    });
    void()
}

fn suspend(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    check_op(ctx, &vm, "suspend")?;
    let db = ctx.db();
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
    check_op(
        ctx,
        &vm,
        if target.is_some() {
            "resume_on"
        } else {
            "resume"
        },
    )?;
    let db = ctx.db();
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

fn set_power(ctx: &mut Ctx<'_>, vm: &Value, op: &str, to: &str) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    check_op(ctx, &vm, op)?;
    ctx.db().update("VM", &vm, |r| {
        r.insert("power_state".into(), s(to));
    });
    void()
}

/// `VM.clone` (disks cloned on their SR) and `VM.copy` (disks copied to `sr`, or to their
/// own SR when it is the null reference): a new Halted VM with the same configuration
/// (`xapi_vm_clone.ml`). A template's clone is a template, as in xapi.
fn clone(ctx: &mut Ctx<'_>, vm: &Value, new_name: &Value, sr: Option<&Value>) -> Outcome {
    let vm = ctx.existing("VM", vm)?;
    let target_sr = match sr.map(text).filter(|r| r != NULL_REF && !r.is_empty()) {
        Some(r) => Some(ctx.existing("SR", &s(r))?),
        None => None,
    };
    check_op(ctx, &vm, if sr.is_some() { "copy" } else { "clone" })?;
    let db = ctx.db();
    let mut record = db.get("VM", &vm).cloned().unwrap_or_default();
    for field in ["uuid", "allowed_operations"] {
        record.shift_remove(field);
    }
    let metrics = db
        .get("VM_metrics", &db.str_field("VM", &vm, "metrics"))
        .cloned()
        .map(|mut m| {
            m.shift_remove("uuid");
            db.create("VM_metrics", m)
        })
        .unwrap_or_else(|| NULL_REF.to_string());
    record.insert("name_label".into(), new_name.clone());
    record.insert("metrics".into(), s(metrics));
    record.insert("resident_on".into(), s(NULL_REF));
    record.insert("domid".into(), Value::Int(-1));
    record.insert("current_operations".into(), Value::Struct(IndexMap::new()));
    record.insert("is_a_snapshot".into(), Value::Bool(false));
    record.insert("snapshot_of".into(), s(NULL_REF));
    for set in CHILD_SETS.iter().chain(&["attached_PCIs"]) {
        record.insert(set.to_string(), Value::Array(vec![]));
    }
    let new_vm = db.create("VM", record);
    for vbd in db.find("VBD", |r| r.get("VM").and_then(Value::as_str) == Some(&vm)) {
        let mut vbd_rec = db.get("VBD", &vbd).cloned().unwrap_or_default();
        let vdi = db.str_field("VBD", &vbd, "VDI");
        if let Some(mut vdi_rec) = db.get("VDI", &vdi).cloned() {
            vdi_rec.shift_remove("uuid");
            vdi_rec.insert("VBDs".into(), Value::Array(vec![]));
            vdi_rec.insert("location".into(), s(crate::db::new_uuid()));
            if let Some(sr) = &target_sr {
                vdi_rec.insert("SR".into(), s(sr.clone()));
            }
            vbd_rec.insert("VDI".into(), s(db.create("VDI", vdi_rec)));
        }
        vbd_rec.shift_remove("uuid");
        vbd_rec.insert("VM".into(), s(new_vm.clone()));
        vbd_rec.insert("currently_attached".into(), Value::Bool(false));
        db.create("VBD", vbd_rec);
    }
    for vif in db.find("VIF", |r| r.get("VM").and_then(Value::as_str) == Some(&vm)) {
        let mut vif_rec = db.get("VIF", &vif).cloned().unwrap_or_default();
        vif_rec.shift_remove("uuid");
        vif_rec.insert("VM".into(), s(new_vm.clone()));
        vif_rec.insert("currently_attached".into(), Value::Bool(false));
        db.create("VIF", vif_rec);
    }
    Ok(s(new_vm))
}

/// `VM.set_VCPUs_max`: Halted VMs only (from the table), at least one vCPU and no fewer
/// than `VCPUs_at_startup` (`xapi_vm.ml`).
fn set_vcpus_max(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    check_op(ctx, &vm, "changing_VCPUs")?;
    let value = match args[1] {
        Value::Int(v) => v,
        _ => 0,
    };
    let db = ctx.db();
    let at_startup = match db.get_field("VM", &vm, "VCPUs_at_startup") {
        Some(Value::Int(v)) => *v,
        _ => 1,
    };
    if value < 1 || value < at_startup {
        return Err(Failure::new(
            ErrorCode::InvalidValue,
            [
                "VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max".to_string(),
                value.to_string(),
            ],
        ));
    }
    db.update("VM", &vm, |r| {
        r.insert("VCPUs_max".into(), Value::Int(value));
    });
    void()
}

/// `VM.power_state_reset` (`xapi_vm.ml`): refused for control domains; a Running or
/// Paused VM is only reset when the host it runs on is dead (`HOST_IS_LIVE` otherwise;
/// on the coordinator itself the domain still exists: `DOMAIN_EXISTS`). It ends Halted.
fn power_state_reset(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vm = ctx.existing("VM", &args[0])?;
    let record = ctx.db().get("VM", &vm).cloned().unwrap_or_default();
    if matches!(record.get("is_control_domain"), Some(Value::Bool(true))) {
        return Err(Failure::new(ErrorCode::CannotResetControlDomain, [vm]));
    }
    let state = record.get("power_state").map(text).unwrap_or_default();
    if state == "Running" || state == "Paused" {
        let resident = record.get("resident_on").map(text).unwrap_or_default();
        if resident == ctx.host_ref() {
            return Err(Failure::new(ErrorCode::DomainExists, [vm]));
        }
        let pool = ctx.pool_id();
        let alive = ctx
            .world
            .host_by_ref(pool, &resident)
            .is_some_and(|i| ctx.world.hosts[i].alive);
        if alive {
            return Err(Failure::new(ErrorCode::HostIsLive, [resident]));
        }
    }
    force_halt(ctx.db(), &vm);
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
