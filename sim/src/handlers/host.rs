//! Hosts: disable/enable, evacuation (plan first, then live migrations), per-host clocks,
//! `host.destroy` for dead members (docs/pool-operations.md#host-maintenance,
//! docs/pool-operations.md#removing-a-dead-host).

use std::sync::Arc;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::db::Db;
use crate::failure::{Failure, Outcome};
use crate::model::membership::remove_host_objects;
use crate::model::migration::migrate;
use crate::model::placement::{
    assert_can_boot_here, force_halt, free_memory, host_live, needed_memory,
};
use crate::sim::{Caller, Sim};
use crate::values::{flag, s, text, void};
use crate::world::World;

/// Registers the host messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "host.disable",
        Handler::Sync(|ctx, args| set_enabled(ctx, args, false)),
    );
    r.insert(
        "host.enable",
        Handler::Sync(|ctx, args| set_enabled(ctx, args, true)),
    );
    r.insert(
        "host.evacuate",
        Handler::Async(|sim, caller, args| evacuate(sim, caller, args).boxed()),
    );
    r.insert(
        "host.assert_can_evacuate",
        Handler::Sync(assert_can_evacuate),
    );
    r.insert(
        "host.get_vms_which_prevent_evacuation",
        Handler::Sync(vms_preventing),
    );
    r.insert(
        "host.get_servertime",
        Handler::Sync(|ctx, args| servertime(ctx, args, true)),
    );
    r.insert(
        "host.get_server_localtime",
        Handler::Sync(|ctx, args| servertime(ctx, args, false)),
    );
    r.insert(
        "host.compute_free_memory",
        Handler::Sync(|ctx, args| {
            let host = ctx.existing("host", &args[0])?;
            Ok(Value::Int(free_memory(ctx.db(), &host).max(0)))
        }),
    );
    r.insert(
        "host.get_management_interface",
        Handler::Sync(management_interface),
    );
    r.insert("host.destroy", Handler::Sync(destroy));
    r.insert(
        "host.get_server_certificate",
        Handler::Sync(|ctx, args| {
            let host = ctx.existing("host", &args[0])?;
            let pool = ctx.pool_id();
            let index = ctx
                .world
                .host_by_ref(pool, &host)
                .ok_or_else(|| Failure::handle_invalid("host", &host))?;
            Ok(s(ctx.world.hosts[index]
                .certificate_pem
                .clone()
                .unwrap_or_default()))
        }),
    );
    r.insert("host.declare_dead", Handler::Sync(declare_dead));
    r.insert(
        "host.reboot",
        Handler::Async(|sim, caller, args| reboot(sim, caller, args).boxed()),
    );
}

fn ha_enabled(db: &Db) -> bool {
    let pool = World::pool_ref(db);
    flag(
        db.get_field("pool", &pool, "ha_enabled")
            .unwrap_or(&Value::Nil),
    )
}

fn set_enabled(ctx: &mut Ctx<'_>, args: Vec<Value>, enabled: bool) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let db = ctx.db();
    if enabled && !host_live(db, &host) {
        return Err(Failure::code(ErrorCode::HostNotLive));
    }
    db.update("host", &host, |r| {
        r.insert("enabled".into(), Value::Bool(enabled));
    });
    void()
}

fn resident_guests(db: &Db, host: &str) -> Vec<String> {
    db.find("VM", |r| {
        r.get("resident_on").and_then(Value::as_str) == Some(host)
            && r.get("is_control_domain") != Some(&Value::Bool(true))
    })
}

/// Per-VM failures of an evacuation plan.
pub type VmFailures = Vec<(String, Failure)>;

/// Plans where each resident guest goes: other enabled hosts, bin-packed by free memory.
/// Returns `(vm, target)` pairs, or the per-VM errors.
pub fn evacuation_plan(db: &Db, host: &str) -> Result<Vec<(String, String)>, VmFailures> {
    let targets: Vec<String> = db
        .all("host")
        .filter(|(h, r)| *h != host && r.get("enabled") == Some(&Value::Bool(true)))
        .map(|(h, _)| h.clone())
        .filter(|h| host_live(db, h))
        .collect();
    let mut reserved: IndexMap<String, i64> = IndexMap::new();
    let mut plan = Vec::new();
    let mut errors = Vec::new();
    let ha = ha_enabled(db);
    for guest in resident_guests(db, host) {
        if ha && db.str_field("VM", &guest, "ha_restart_priority") != "restart" {
            errors.push((
                guest.clone(),
                Failure::new(ErrorCode::HostEvacuateVmNotHaProtected, [guest.clone()]),
            ));
            continue;
        }
        if targets.is_empty() {
            errors.push((
                guest.clone(),
                Failure::new(ErrorCode::NoHostsAvailable, [guest.clone()]),
            ));
            continue;
        }
        let need = needed_memory(db, &guest);
        let mut last = None;
        let chosen =
            targets
                .iter()
                .find(|t| match assert_can_boot_here(db, &guest, t, true, false) {
                    Ok(())
                        if free_memory(db, t) - reserved.get(*t).copied().unwrap_or(0) >= need =>
                    {
                        true
                    }
                    Ok(()) => {
                        last = Some(Failure::new(
                            ErrorCode::HostNotEnoughFreeMemory,
                            [guest.clone()],
                        ));
                        false
                    }
                    Err(e) => {
                        last = Some(e);
                        false
                    }
                });
        match chosen {
            Some(t) => {
                *reserved.entry(t.clone()).or_default() += need;
                plan.push((guest, t.clone()));
            }
            None => errors.push((
                guest.clone(),
                last.unwrap_or_else(|| Failure::new(ErrorCode::NoHostsAvailable, [guest.clone()])),
            )),
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

async fn evacuate(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let host = text(&args[0]);
    let plan = {
        let mut world = sim.world();
        let db = world.db(caller.host);
        if !db.exists("host", &host) {
            return Err(Failure::handle_invalid("host", &host));
        }
        evacuation_plan(db, &host).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .map(|(_, e)| e)
                .unwrap_or_else(|| Failure::internal("empty plan"))
        })?
    };
    let total = plan.len().max(1) as f64;
    for (i, (guest, target)) in plan.into_iter().enumerate() {
        let sub = Caller {
            task: None,
            ..(*caller).clone()
        };
        match migrate(&sim, &sub, &guest, &target, false).await {
            // A VM that stopped meanwhile is no longer in the way.
            Err(e) if e.wire_code() == "VM_BAD_POWER_STATE" => {}
            other => {
                other?;
            }
        }
        sim.progress(&caller, (i + 1) as f64 / total);
    }
    let world = sim.world();
    if !resident_guests(&world.pool(caller.host).db, &host).is_empty() {
        return Err(Failure::internal(
            "VMs are still resident on the host after evacuation",
        ));
    }
    void()
}

fn assert_can_evacuate(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    match evacuation_plan(ctx.db(), &host) {
        Ok(_) => void(),
        Err(errors) => {
            let text = errors
                .iter()
                .map(|(_, f)| f.0.join(","))
                .collect::<Vec<_>>()
                .join("|");
            Err(Failure::new(ErrorCode::CannotEvacuateHost, [text]))
        }
    }
}

fn vms_preventing(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let errors = evacuation_plan(ctx.db(), &host).err().unwrap_or_default();
    Ok(Value::Struct(
        errors
            .into_iter()
            .map(|(vm, f)| (vm, Value::Array(f.0.into_iter().map(s).collect())))
            .collect(),
    ))
}

fn servertime(ctx: &mut Ctx<'_>, args: Vec<Value>, utc: bool) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let pool = ctx.pool_id();
    let index = ctx
        .world
        .host_by_ref(pool, &host)
        .ok_or_else(|| Failure::handle_invalid("host", &host))?;
    let now = ctx.world.host_time(index);
    // Local time has no zone suffix (docs/wire-protocol.md#datetimes); simulated hosts run on UTC.
    Ok(Value::DateTime(if utc {
        now.format("%Y%m%dT%H:%M:%SZ").to_string()
    } else {
        now.format("%Y%m%dT%H:%M:%S").to_string()
    }))
}

fn management_interface(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let db = ctx.db();
    db.find("PIF", |r| {
        r.get("host").and_then(Value::as_str) == Some(&host)
            && r.get("management") == Some(&Value::Bool(true))
    })
    .into_iter()
    .next()
    .map(s)
    .ok_or_else(|| Failure::new(ErrorCode::HostHasNoManagementIp, Vec::<String>::new()))
}

fn destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let pool = ctx.pool_id();
    let live = ctx
        .world
        .host_by_ref(pool, &host)
        .is_some_and(|i| ctx.world.hosts[i].alive)
        || host == ctx.host_ref();
    let db = ctx.db();
    if live {
        return Err(Failure::new(ErrorCode::HostIsLive, [host]));
    }
    if ha_enabled(db) {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    if !resident_guests(db, &host).is_empty() {
        return Err(Failure::new(ErrorCode::HostHasResidentVms, [host]));
    }
    remove_host_objects(db, &host);
    if let Some(i) = ctx.world.host_by_ref(pool, &host) {
        // The dead host's process is gone from the pool; it comes back standalone if restarted.
        ctx.world.hosts[i].host_ref = String::new();
    }
    void()
}

/// `host.declare_dead` (`xapi_host.ml`): for a host that is down for good. Refused while the
/// host answers, or for the coordinator itself (`HOST_IS_LIVE`); then every guest that was
/// resident there is reset to Halted (as `VM.power_state_reset` does) and the host is
/// disabled, so the guests can be started elsewhere.
fn declare_dead(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let pool = ctx.pool_id();
    let alive = ctx
        .world
        .host_by_ref(pool, &host)
        .is_some_and(|i| ctx.world.hosts[i].alive);
    if alive || host == ctx.host_ref() {
        return Err(Failure::new(ErrorCode::HostIsLive, [host]));
    }
    let db = ctx.db();
    for guest in resident_guests(db, &host) {
        force_halt(db, &guest);
    }
    db.update("host", &host, |r| {
        r.insert("enabled".into(), Value::Bool(false));
    });
    void()
}

/// `host.reboot` (`xapi_host.ml`): the host must be disabled first (`HOST_NOT_DISABLED`).
/// The call returns, then the host goes away (its guests stop), and comes back enabled
/// after the xapi restart delay.
async fn reboot(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let host = text(&args[0]);
    let (index, delay) = {
        let mut world = sim.world();
        let pool = world.hosts[caller.host].pool;
        let db = world.db(caller.host);
        if !db.exists("host", &host) {
            return Err(Failure::handle_invalid("host", &host));
        }
        if flag(
            db.get_field("host", &host, "enabled")
                .unwrap_or(&Value::Nil),
        ) {
            return Err(Failure::code(ErrorCode::HostNotDisabled));
        }
        let index = world
            .host_by_ref(pool, &host)
            .ok_or_else(|| Failure::handle_invalid("host", &host))?;
        (index, world.config.xapi_restart_delay)
    };
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        set_up(&sim, index, &host, false);
        tokio::time::sleep(delay).await;
        set_up(&sim, index, &host, true);
    });
    void()
}

/// A rebooting host going down (guests stop, not live) or coming back (live, enabled).
fn set_up(sim: &Sim, index: usize, host: &str, up: bool) {
    let mut world = sim.world();
    world.hosts[index].alive = up;
    let db = world.db(index);
    if !up {
        for guest in resident_guests(db, host) {
            force_halt(db, &guest);
        }
    }
    let metrics = db.str_field("host", host, "metrics");
    db.update("host_metrics", &metrics, |r| {
        r.insert("live".into(), Value::Bool(up));
    });
    if up {
        db.update("host", host, |r| {
            r.insert("enabled".into(), Value::Bool(true));
        });
    }
}
