//! The call interface between dispatch and the handlers: what a handler receives and the
//! registry type it is entered in.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use xenpool::meta::MessageMeta;
use xenpool::wire::Value;

use crate::db::Db;
use crate::failure::{Failure, Outcome};
use crate::sim::{Caller, Sim};
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
