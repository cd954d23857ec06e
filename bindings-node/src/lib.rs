//! Node.js bindings of xenpool: a thin layer over core's dynamic call layer, pool
//! workflows, event watcher and the in-process simulator. Values cross as JSON text (see
//! [`convert`]); errors cross as a JSON description the JS layer turns into `XenAPIError`.
//! The idiomatic API (Proxy-based `xenapi`, async iterators, AbortSignal) lives in
//! `lib/xenpool.js`.

// napi-derive registers exports only outside `cfg(test)`: unit tests see them as unused.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
extern crate napi_derive;

/// mimalloc for the Rust side of the module, as in the shell: a decoded `get_all_records`
/// is hundreds of thousands of small allocations, and the system allocator's share of the
/// decode is about a third (`core/benches/decode.rs`). Python's and Node's own heaps are
/// untouched: values cross by copy.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cache;
mod convert;
mod error;
mod events;
mod js_text;
mod options;
mod pool;
mod session;
mod sim;
mod typings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use xenpool::CancelToken;

/// The runtime every call runs on. Worker threads get large stacks: core's workflows and
/// the per-class record decoding make deep futures, which overflow tokio's 2 MiB default
/// in debug builds.
#[napi_derive::module_init]
fn init() {
    // The TLS stack's one-time seeding runs while the program goes on loading.
    xenpool::tls::warm_up();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(16 * 1024 * 1024)
        .thread_name("xenpool")
        .build();
    match runtime {
        Ok(rt) => {
            let _ = RUNTIME.set(rt.handle().clone());
            napi::bindgen_prelude::create_custom_tokio_runtime(rt);
        }
        Err(e) => eprintln!("xenpool: cannot start the async runtime: {e}"),
    }
}

static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// Runs `f` inside the runtime (for code that spawns, from the JS thread); outside it
/// when there is none (module unloading).
pub(crate) fn in_runtime<T>(f: impl FnOnce() -> T) -> T {
    let _guard = RUNTIME.get().map(|h| h.enter());
    f()
}

fn cancels() -> &'static Mutex<HashMap<u32, CancelToken>> {
    static CANCELS: OnceLock<Mutex<HashMap<u32, CancelToken>>> = OnceLock::new();
    CANCELS.get_or_init(Default::default)
}

/// A fresh cancellation handle for one call; pass its id to the call, trip it with
/// [`cancel`], forget it with [`release_cancel`] when the call ends.
#[napi]
pub fn new_cancel() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut map) = cancels().lock() {
        map.insert(id, CancelToken::new());
    }
    id
}

/// Trips the handle `id` (an `AbortSignal` fired); unknown ids are ignored.
#[napi]
pub fn cancel(id: u32) {
    if let Ok(map) = cancels().lock()
        && let Some(token) = map.get(&id)
    {
        token.cancel();
    }
}

/// Forgets the handle `id` (its call ended).
#[napi]
pub fn release_cancel(id: u32) {
    if let Ok(mut map) = cancels().lock() {
        map.remove(&id);
    }
}

/// The handle `id` (a fresh one when there is none).
pub(crate) fn take_cancel(id: Option<u32>) -> CancelToken {
    id.and_then(|id| cancels().lock().ok()?.get(&id).cloned())
        .unwrap_or_default()
}

/// The error codes of core's contract that are not XenAPI failures.
#[napi]
pub fn error_codes() -> Vec<String> {
    xenpool::error::codes::ALL
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// Runs `future` under `token`, or fails with `CANCELLED` naming `what`.
pub(crate) async fn cancellable<T>(
    token: &CancelToken,
    what: &str,
    future: impl Future<Output = xenpool::Result<T>>,
) -> napi::Result<T> {
    token.run(what, future).await.map_err(error::to_napi)
}
