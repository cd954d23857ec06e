//! `xenpool._native`: the Rust half of the `xenpool` Python package. A thin layer over
//! the core's dynamic call layer and pool workflows: value conversion in and out, one
//! error mapping, and calls that run off the GIL on the core's runtime.

use pyo3::prelude::*;

/// mimalloc for the Rust side of the module, as in the shell: a decoded `get_all_records`
/// is hundreds of thousands of small allocations, and the system allocator's share of the
/// decode is about a third (`core/benches/decode.rs`). Python's and Node's own heaps are
/// untouched: values cross by copy.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod compat;
mod convert;
mod errors;
mod events;
mod metadata;
mod pool;
mod session;
mod simulator;
mod wait;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Async calls run on the same runtime as blocking ones (it survives fork).
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(xenpool::blocking::runtime());
    // The TLS stack's one-time seeding runs while Python builds the package's classes.
    xenpool::tls::warm_up();
    m.add_class::<session::Session>()?;
    m.add_class::<convert::Record>()?;
    m.add_class::<events::EventWatcher>()?;
    m.add_class::<pool::Pool>()?;
    m.add_class::<pool::ObjectCache>()?;
    m.add_class::<simulator::Simulator>()?;
    m.add_class::<compat::RawSession>()?;
    m.add_function(wrap_pyfunction!(metadata::classes, m)?)?;
    m.add_function(wrap_pyfunction!(metadata::enums, m)?)?;
    m.add_function(wrap_pyfunction!(metadata::errors, m)?)?;
    m.add_function(wrap_pyfunction!(metadata::error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(metadata::suggest, m)?)?;
    m.add_function(wrap_pyfunction!(metadata::find_method, m)?)?;
    m.add_function(wrap_pyfunction!(session::fetch_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(pool::recover_lost_coordinator, m)?)?;
    m.add_function(wrap_pyfunction!(pool::create_pool, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
