//! The shared simulator state that every connection and handler works on.

use std::sync::{Arc, Mutex, MutexGuard};

use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::failure::{Failure, Outcome};
use crate::model::membership::make_coordinator;
use crate::model::messages::add as add_message;
use crate::model::placement;
use crate::world::{World, record};

/// Who is calling, once the session is checked.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The serving host (index into `World::hosts`).
    pub host: usize,
    /// The session reference, for messages that take one.
    pub session: Option<String>,
    /// True for a `slave_local_login` session.
    pub local: bool,
    /// `class.message`, without `Async.`.
    pub method: String,
    /// The task of an `Async.` call.
    pub task: Option<String>,
}

/// A handle on the simulated world (cheap to clone).
#[derive(Clone)]
pub struct Sim(Arc<Inner>);

struct Inner {
    world: Mutex<World>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sim")
    }
}

impl Sim {
    /// Wraps a world.
    pub fn new(world: World) -> Self {
        Sim(Arc::new(Inner {
            world: Mutex::new(world),
        }))
    }

    /// Locks the world. Never hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        // A handler that panicked left the world as it was mid-change; keep serving.
        self.0
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// xapi's `Session_check.check`: a local session is good on its own host; otherwise a
    /// member answers `HOST_IS_SLAVE [coordinator]`, and the coordinator checks the
    /// session exists. Returns whether the session is a local one.
    pub fn check_session(&self, host: usize, session: &str) -> Result<bool, Failure> {
        let world = self.world();
        let h = &world.hosts[host];
        if h.local_sessions.contains(session) {
            return Ok(true);
        }
        if let Some(master) = &h.master_address {
            return Err(Failure::new(ErrorCode::HostIsSlave, [master.clone()]));
        }
        if world.pool(host).db.exists("session", session) {
            Ok(false)
        } else {
            Err(Failure::new(ErrorCode::SessionInvalid, [session]))
        }
    }

    /// The xapi version `host` runs (`software_version["xapi"]`, e.g. `24.19`).
    pub fn host_xapi_version(&self, host: usize) -> String {
        self.world().hosts[host].profile.version.xapi.clone()
    }

    /// The failure every non-emergency call gets on a member that lost its coordinator.
    pub fn emergency_error(&self, host: usize) -> Option<Failure> {
        let world = self.world();
        let master = world.hosts[host].master_address.as_ref()?;
        let reachable = world
            .host_by_address(master)
            .is_some_and(|m| world.hosts[m].alive);
        (!reachable).then(|| Failure::code(ErrorCode::HostStillBooting))
    }

    /// Creates the task of an `Async.` call, pending.
    pub fn create_task(&self, caller: &Caller, label: &str) -> String {
        let mut world = self.world();
        let host_ref = world.hosts[caller.host].host_ref.clone();
        let now = xenpool::DateTime::now().to_wire();
        world.db(caller.host).create(
            "task",
            record([
                ("name_label", Value::String(label.to_string())),
                ("status", Value::String("pending".into())),
                ("created", Value::DateTime(now)),
                ("resident_on", Value::String(host_ref)),
                ("progress", Value::Double(0.0)),
                // xapi's default for a task without a type (`datamodel.ml`).
                ("type", Value::String("<none/>".into())),
                (
                    "allowed_operations",
                    Value::Array(vec![Value::String("cancel".into())]),
                ),
            ]),
        )
    }

    /// Records a task's outcome: the result as an XML-RPC `<value>` fragment even for
    /// JSON-RPC users (docs/wire-protocol.md#tasks), or the failure in `error_info`.
    pub fn finish_task(&self, caller: &Caller, task: &str, outcome: Outcome) {
        let mut world = self.world();
        let now = xenpool::DateTime::now().to_wire();
        world.db(caller.host).update("task", task, |r| {
            r.insert("progress".into(), Value::Double(1.0));
            r.insert("finished".into(), Value::DateTime(now));
            r.insert("allowed_operations".into(), Value::Array(vec![]));
            match outcome {
                Ok(value) => {
                    r.insert("status".into(), Value::String("success".into()));
                    r.insert(
                        "result".into(),
                        Value::String(xenpool::wire::encode_value_fragment(&value)),
                    );
                }
                Err(Failure(description)) => {
                    let cancelled = description.first().is_some_and(|c| c == "TASK_CANCELLED");
                    r.insert(
                        "status".into(),
                        Value::String(if cancelled { "cancelled" } else { "failure" }.into()),
                    );
                    r.insert(
                        "error_info".into(),
                        Value::Array(description.into_iter().map(Value::String).collect()),
                    );
                }
            }
        });
    }

    /// Sets the progress (0..1) of the caller's task, if the call is asynchronous.
    pub fn progress(&self, caller: &Caller, progress: f64) {
        if let Some(task) = &caller.task {
            let mut world = self.world();
            world.db(caller.host).update("task", task, |r| {
                r.insert("progress".into(), Value::Double(progress.clamp(0.0, 1.0)));
            });
        }
    }

    /// True when the caller's task was asked to cancel.
    pub fn cancelling(&self, caller: &Caller) -> bool {
        let Some(task) = &caller.task else {
            return false;
        };
        let world = self.world();
        world
            .pool(caller.host)
            .db
            .get_field("task", task, "status")
            .and_then(Value::as_str)
            == Some("cancelling")
    }
}

impl Sim {
    /// HA noticed that a host died: it is marked dead, its guests are reset to Halted, a
    /// survivor takes over as coordinator if needed, and protected VMs restart on live hosts
    /// (docs/pool-operations.md#ha-failures).
    pub fn ha_host_failed(&self, index: usize) {
        let mut world = self.world();
        if world.hosts[index].alive {
            return; // restarted in the meantime
        }
        let pool = world.hosts[index].pool;
        let dead_ref = world.hosts[index].host_ref.clone();
        let was_master = world.coordinator(pool) == Some(index);
        if was_master {
            let survivor = world
                .members(pool)
                .into_iter()
                .find(|&i| world.hosts[i].alive);
            let Some(survivor) = survivor else { return };
            make_coordinator(&mut world, pool, survivor);
            let uuid = world.hosts[survivor].uuid.clone();
            add_message(
                &mut world.pools.get_mut(&pool).expect("pool").db,
                "POOL_MASTER_TRANSITION",
                1,
                "Host",
                &uuid,
                "This host is now the pool coordinator",
            );
        }
        let dead_uuid = world.hosts[index].uuid.clone();
        let db = &mut world.pools.get_mut(&pool).expect("pool").db;
        let metrics = db.str_field("host", &dead_ref, "metrics");
        db.update("host_metrics", &metrics, |r| {
            r.insert("live".into(), Value::Bool(false));
        });
        add_message(
            db,
            "HA_HOST_FAILED",
            2,
            "Host",
            &dead_uuid,
            "Host failed; HA is restarting its protected VMs",
        );
        let guests = db.find("VM", |r| {
            r.get("resident_on").and_then(Value::as_str) == Some(&dead_ref)
                && r.get("is_control_domain") != Some(&Value::Bool(true))
        });
        let mut protected = Vec::new();
        for vm in guests {
            placement::halt(db, &vm);
            let priority = db.str_field("VM", &vm, "ha_restart_priority");
            if priority == "restart" || priority == "best-effort" {
                protected.push((priority == "restart", vm));
            }
        }
        // `restart` VMs first, then best-effort ones if there is room.
        protected.sort_by_key(|(restart, _)| !restart);
        for (_, vm) in protected {
            let target = placement::candidate_hosts(db, &vm)
                .into_iter()
                .find(|h| placement::assert_can_boot_here(db, &vm, h, false, false).is_ok());
            if let Some(h) = target {
                placement::place(db, &vm, &h);
            }
        }
    }

    /// A killed host came back: it is live again and, if another host became coordinator
    /// meanwhile, it rejoins as that host's member.
    pub fn host_restarted(&self, index: usize) {
        let mut world = self.world();
        world.hosts[index].alive = true;
        let pool = world.hosts[index].pool;
        if let Some(coordinator) = world.coordinator(pool) {
            world.hosts[index].master_address =
                (coordinator != index).then(|| world.hosts[coordinator].address.clone());
        }
        let host_ref = world.hosts[index].host_ref.clone();
        let db = &mut world.pools.get_mut(&pool).expect("pool").db;
        let metrics = db.str_field("host", &host_ref, "metrics");
        db.update("host_metrics", &metrics, |r| {
            r.insert("live".into(), Value::Bool(true));
        });
    }

    /// After an eject: the host comes back as a fresh standalone install with the same
    /// uuid and management address, and the pool's root password (docs/pool-operations.md#eject).
    pub fn reset_to_standalone(&self, index: usize) {
        let mut world = self.world();
        let h = world.hosts[index].clone();
        let password = world
            .pools
            .get(&h.pool)
            .map(|p| p.root_password.clone())
            .unwrap_or_default();
        // A fresh install: no VMs, no bonds or VLANs, local storage only.
        let profile = crate::profile::HostProfile {
            vms: vec![],
            bonds: vec![],
            vlans: vec![],
            srs: h
                .profile
                .srs
                .iter()
                .filter(|s| !s.shared)
                .cloned()
                .collect(),
            ..h.profile.clone()
        };
        let mut db = crate::db::Db::new();
        let built = crate::profile::build_standalone(
            &mut db,
            &profile,
            &h.uuid,
            &h.address,
            index as u64 + 1,
        );
        let pool = world.add_pool(db, password);
        let host = &mut world.hosts[index];
        host.pool = pool;
        host.host_ref = built.host;
        host.master_address = None;
        host.local_sessions.clear();
    }
}
