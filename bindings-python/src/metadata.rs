//! The datamodel's metadata for Python: the proxies of `session.xenapi`, the record
//! classes and the generated `.pyi` stubs are all built from it.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use xenpool::meta::{self, Ty};

/// A type as nested tuples: `("ref", "VM")`, `("map", k, v)`, `("int",)`.
fn ty<'py>(py: Python<'py>, t: &Ty) -> PyResult<Bound<'py, PyTuple>> {
    let s = |x: &str| PyString::new(py, x).into_any();
    let items = match t {
        Ty::String => vec![s("string")],
        Ty::Int => vec![s("int")],
        Ty::Float => vec![s("float")],
        Ty::Bool => vec![s("bool")],
        Ty::DateTime => vec![s("datetime")],
        Ty::Enum(n) => vec![s("enum"), s(n)],
        Ty::Ref(c) => vec![s("ref"), s(c)],
        Ty::Record(c) => vec![s("record"), s(c)],
        Ty::Opaque(t) => vec![s("opaque"), s(t)],
        Ty::Set(i) => vec![s("set"), ty(py, i)?.into_any()],
        Ty::Option(i) => vec![s("option"), ty(py, i)?.into_any()],
        Ty::Map(k, v) => vec![s("map"), ty(py, k)?.into_any(), ty(py, v)?.into_any()],
    };
    PyTuple::new(py, items)
}

/// Every class: `(name, fields, messages)`; a field is `(name, type, qualifier)`, a
/// message `(name, params, result, is_async, session)` with params `(name, type,
/// required)` and `result` a type or `None` (void).
#[pyfunction]
pub fn classes(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for c in meta::classes() {
        let fields = PyList::empty(py);
        for f in c.fields {
            fields.append((f.name, ty(py, &f.ty)?, f.qualifier.as_str()))?;
        }
        let messages = PyList::empty(py);
        for m in c.messages {
            let params = PyList::empty(py);
            for p in m.params {
                params.append((p.name, ty(py, &p.ty)?, p.required))?;
            }
            let result = match &m.result {
                Some(t) => Some(ty(py, t)?),
                None => None,
            };
            messages.append((m.name, params, result, m.is_async, m.session))?;
        }
        out.append((c.name, fields, messages))?;
    }
    Ok(out)
}

/// Every enum: name → values.
#[pyfunction]
pub fn enums(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for e in meta::api().enums {
        d.set_item(e.name, e.values.to_vec())?;
    }
    Ok(d)
}

/// Every XenAPI error code: code → names of its parameters.
#[pyfunction]
pub fn errors(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for e in meta::api().errors {
        d.set_item(e.code, e.params.to_vec())?;
    }
    Ok(d)
}

/// The codes of errors that are not XenAPI failures (`TRANSPORT`, `TIMEOUT`, …).
#[pyfunction]
pub fn error_codes() -> Vec<&'static str> {
    xenpool::error::codes::ALL.to_vec()
}

/// The known method names closest to `name`.
#[pyfunction]
pub fn suggest(name: &str) -> Vec<String> {
    xenpool::dynamic::suggest(name)
}

/// Resolves `Class.message` / `Async.Class.message`: `(class, message, is_async)`, or
/// the `UnknownMethod` error (an `AttributeError`) with the closest names.
#[pyfunction]
pub fn find_method(py: Python<'_>, name: &str) -> PyResult<(&'static str, &'static str, bool)> {
    xenpool::dynamic::Method::find(name)
        .map(|m| (m.class.name, m.message.name, m.is_async))
        .map_err(|e| crate::errors::to_py(py, e))
}
