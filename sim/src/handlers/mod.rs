//! Explicit message handlers, one module per area, and the registry dispatch uses.

pub mod event;
pub mod generic;
pub mod host;
pub mod lifecycle;
pub mod message;
pub mod network;
pub mod pool;
pub mod session;
pub mod storage;
pub mod task;
pub mod vm;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use xenpool::meta::MessageMeta;
use xenpool::wire::Value;

use crate::db::Db;
use crate::dispatch::Caller;
use crate::failure::{Failure, Outcome};
use crate::sim::Sim;
use crate::world::{PoolId, World};

/// What a synchronous handler works on: the locked world and who is calling.
pub struct Ctx<'a> {
    /// The whole simulation, locked.
    pub world: &'a mut World,
    /// The checked caller.
    pub caller: &'a Caller,
    /// The message being served.
    pub message: &'static MessageMeta,
    /// The simulator handle (for spawning follow-up work).
    pub sim: &'a Sim,
}

impl Ctx<'_> {
    /// The serving host's pool database.
    pub fn db(&mut self) -> &mut Db {
        self.world.db(self.caller.host)
    }

    /// The serving host's pool.
    pub fn pool_id(&self) -> PoolId {
        self.world.hosts[self.caller.host].pool
    }

    /// The serving host's `host` reference.
    pub fn host_ref(&self) -> String {
        self.world.hosts[self.caller.host].host_ref.clone()
    }

    /// A reference argument that must name an existing object of `class`.
    pub fn existing(&mut self, class: &str, arg: &Value) -> Result<String, Failure> {
        let r = arg.as_str().unwrap_or_default().to_string();
        if self.db().exists(class, &r) {
            Ok(r)
        } else {
            Err(Failure::handle_invalid(class, &r))
        }
    }
}

/// A synchronous handler: runs with the world locked.
pub type SyncFn = fn(&mut Ctx<'_>, Vec<Value>) -> Outcome;
/// An asynchronous handler: locks the world itself, briefly, as often as it needs.
pub type AsyncFn = fn(Sim, Arc<Caller>, Vec<Value>) -> BoxFuture<'static, Outcome>;

/// A message implementation.
#[derive(Clone, Copy)]
pub enum Handler {
    /// See [`SyncFn`].
    Sync(SyncFn),
    /// See [`AsyncFn`].
    Async(AsyncFn),
}

/// Wire method (`class.message`) → handler.
pub type Registry = HashMap<&'static str, Handler>;

/// Every explicit handler.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry::new();
        session::register(&mut r);
        task::register(&mut r);
        event::register(&mut r);
        pool::register(&mut r);
        host::register(&mut r);
        network::register(&mut r);
        storage::register(&mut r);
        vm::register(&mut r);
        message::register(&mut r);
        // Newer datamodels declare these map updates as custom messages; xapi's own
        // implementations only update the database (`xapi_vm.ml`, `xapi_task.ml`).
        for method in [
            "VM.add_to_other_config",
            "VM.remove_from_other_config",
            "task.add_to_other_config",
            "task.remove_from_other_config",
        ] {
            r.insert(method, Handler::Sync(generic::handle));
        }
        r
    })
}

/// The string in an argument (refs, strings, enums).
pub fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A bool argument.
pub fn flag(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// A string-map argument as pairs.
pub fn string_map(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Struct(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => vec![],
    }
}

/// A set-of-refs argument.
pub fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        _ => vec![],
    }
}

/// `Value::String` shorthand.
pub fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// The void result.
pub fn void() -> Outcome {
    Ok(Value::String(String::new()))
}
