//! Explicit message handlers, one module per area, and the registry dispatch uses.
//!
//! A handler module works on the world and database layers (`crate::world`, `crate::db`,
//! `crate::model`) through the call interface in `crate::call`; it never imports another
//! handler module or `crate::dispatch` (tests/layering.rs checks this), so behaviour two
//! areas need lives in `crate::model`.

pub mod event;
pub mod generic;
pub mod host;
pub mod message;
pub mod network;
pub mod pool;
pub mod session;
pub mod storage;
pub mod task;
pub mod vm;

use std::sync::OnceLock;

use crate::call::{Handler, Registry};

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
