//! The one mapping from core errors to the exceptions of `xenpool/exceptions.py`: core's
//! description of the error crosses as it is, the class is chosen there by code, and the
//! Rust source chain becomes `__cause__`.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use xenpool::Error;

/// The Python exception for `error`.
pub fn to_py(py: Python<'_>, error: Error) -> PyErr {
    match build(py, &error) {
        Ok(err) => err,
        // exceptions.py itself failed to load: still say what went wrong.
        Err(e) => {
            let fallback = PyRuntimeError::new_err(error.to_string());
            fallback.set_cause(py, Some(e));
            fallback
        }
    }
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let module = py.import("xenpool.exceptions")?;
    let description = serde_json::to_string(&error.describe())
        .map_err(|e| PyRuntimeError::new_err(format!("describing an error: {e}")))?;
    let exc = module.getattr("_from_native")?.call1((description,))?;
    // The Rust source chain, innermost last, as chained `NativeCause` exceptions.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let cause_type = module.getattr("NativeCause")?;
    let mut outer = exc.clone();
    for text in causes {
        let cause = cause_type.call1((text,))?;
        outer.setattr("__cause__", &cause)?;
        outer = cause;
    }
    Ok(PyErr::from_value(exc))
}
