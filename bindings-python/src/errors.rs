//! The one mapping from core errors to the exceptions of `xenpool/exceptions.py`: the
//! class is chosen there by code, with the Rust source chain as `__cause__`.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
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
    let kwargs = PyDict::new(py);
    kwargs.set_item("message", error.to_string())?;
    kwargs.set_item("may_have_reached_host", error.may_have_reached_host())?;
    let method = match error {
        Error::Api(e) => Some(e.method.clone()),
        Error::Timeout { method, .. }
        | Error::Cancelled { method, .. }
        | Error::Indeterminate { method, .. }
        | Error::UnknownMethod { method, .. } => Some(method.clone()),
        Error::Refused { operation, .. } | Error::PartialPool { operation, .. } => {
            Some(operation.clone())
        }
        _ => None,
    };
    kwargs.set_item("method", method)?;
    if let Error::PartialPool { done, failed, .. } = error {
        kwargs.set_item("done", done.clone())?;
        // Each member's failure as (member, code, params, message): exceptions.py builds
        // the member's exception with the same mapping.
        let members: Vec<_> = failed
            .iter()
            .map(|m| {
                (
                    m.member.clone(),
                    m.error.code().to_string(),
                    m.error.params(),
                    m.error.to_string(),
                )
            })
            .collect();
        kwargs.set_item("failed", members)?;
    }
    let exc = module
        .getattr("_from_native")?
        .call((error.code(), error.params()), Some(&kwargs))?;
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
