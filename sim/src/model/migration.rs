//! Live migration of a running VM inside a pool (`VM.pool_migrate`, host evacuation).

use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use super::messages;
use super::placement::{assert_can_boot_here, cpu_compatible, place, refresh_free_memory};
use crate::db::lifecycle;
use crate::failure::{Failure, Outcome};
use crate::profile::map_get;
use crate::sim::{Caller, Sim};
use crate::values::{s, void};
use crate::world::{PoolId, World};

/// The checks of `VM.pool_migrate`, in xapi's order, without moving anything.
pub fn check_migrate(
    world: &World,
    pool: PoolId,
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
    let record = db.get("VM", vm).cloned().unwrap_or_default();
    lifecycle::check(vm, &record, "pool_migrate")?;
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
    messages::add(
        db,
        "VM_MIGRATED",
        5,
        "VM",
        &uuid,
        &format!("VM migrated from {from} to {host}"),
    );
    void()
}
