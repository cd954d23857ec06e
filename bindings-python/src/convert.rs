//! Values in and out: Python objects to the core's [`Dyn`] (checked against the datamodel
//! by the core), and [`Dyn`] results to Python objects. Records stay typed Rust records
//! behind a [`Record`] handle; a field becomes a Python object when it is read.

use std::sync::OnceLock;

use chrono::{Datelike, Timelike};
use pyo3::exceptions::{PyAttributeError, PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};
use xenpool::dynamic::{self, Dyn};
use xenpool::wire::Value;

/// Python types the conversion builds, imported once from `xenpool._types`.
struct Types {
    reference: Py<PyAny>,
    enumeration: Py<PyAny>,
    datetime: Py<PyAny>,
    utc: Py<PyAny>,
    records: Py<PyDict>,
    xmlrpc_datetime: Py<PyAny>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let t = py.import("xenpool._types")?;
        let dt = py.import("datetime")?;
        Ok(Types {
            reference: t.getattr("Ref")?.unbind(),
            enumeration: t.getattr("EnumValue")?.unbind(),
            datetime: dt.getattr("datetime")?.unbind(),
            utc: dt.getattr("timezone")?.getattr("utc")?.unbind(),
            records: t.getattr("RECORD_TYPES")?.cast_into::<PyDict>()?.unbind(),
            xmlrpc_datetime: py.import("xmlrpc.client")?.getattr("DateTime")?.unbind(),
        })
    })
}

/// A typed XenAPI record: fields are read on access (`vm.name_label`), `to_dict()`
/// converts them all. Python subclasses per class (`VMRecord`) add the attributes.
#[pyclass(module = "xenpool._native", subclass, frozen)]
pub struct Record {
    inner: OnceLock<dynamic::Record>,
}

impl Record {
    fn record(&self) -> PyResult<&dynamic::Record> {
        self.inner
            .get()
            .ok_or_else(|| PyTypeError::new_err("an empty record (records come from calls)"))
    }
}

#[pymethods]
impl Record {
    #[new]
    fn new() -> Self {
        Record {
            inner: OnceLock::new(),
        }
    }

    /// The XenAPI class's wire name (`VM`).
    #[getter]
    fn class_name(&self) -> PyResult<&'static str> {
        Ok(self.record()?.class_name())
    }

    /// The field `name` (wire name), converted; `AttributeError` if the class has none.
    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let record = self.record()?;
        match record.field(name) {
            Some(v) => to_py(py, v),
            None => Err(PyAttributeError::new_err(format!(
                "{} records have no field {name:?}",
                record.class_name()
            ))),
        }
    }

    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, name)
    }

    /// Every field as a dict (wire names; absent optional fields left out).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.record()?.fields() {
            dict.set_item(name, to_py(py, value)?)?;
        }
        Ok(dict)
    }

    /// The field names, in datamodel order.
    fn field_names(&self) -> PyResult<Vec<&'static str>> {
        Ok(self
            .record()?
            .0
            .class()
            .fields
            .iter()
            .map(|f| f.name)
            .collect())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        match other.cast::<Record>() {
            Ok(o) => Ok(self.record()? == o.get().record()?),
            Err(_) => Ok(false),
        }
    }

    fn __ne__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.__eq__(other).map(|e| !e)
    }

    fn __repr__(&self) -> PyResult<String> {
        let record = self.record()?;
        let mut parts = Vec::new();
        for name in ["uuid", "name_label", "power_state", "hostname"] {
            if let Some(v @ (Dyn::String(_) | Dyn::Enum(_))) = record.field(name) {
                parts.push(format!("{name}={:?}", v.as_str().unwrap_or_default()));
            }
        }
        Ok(format!(
            "{}Record({})",
            record.class_name(),
            parts.join(", ")
        ))
    }
}

/// Wraps a typed record in its class's Python type.
fn record_to_py<'py>(py: Python<'py>, record: dynamic::Record) -> PyResult<Bound<'py, PyAny>> {
    let types = types(py)?;
    let obj = match types.records.bind(py).get_item(record.class_name())? {
        Some(ty) => ty.call0()?,
        None => Bound::new(py, Record::new())?.into_any(),
    };
    let handle = obj.cast::<Record>()?;
    let _ = handle.get().inner.set(record);
    Ok(obj)
}

/// Containers from this many items up are built with the cyclic GC paused.
const BIG: usize = 1024;

/// A result, as Python objects: `int` for int64, aware `datetime`, `Ref` and `EnumValue`
/// (both `str`), lists, dicts and typed records.
///
/// A big result (10,000 VM records and their `Ref` keys) is tens of thousands of tracked
/// objects: building it with the GC on sets off a collection every 700 allocations, and
/// the older generations' walk every object the process holds. Nothing built here can
/// form a cycle, so the GC is paused while it is built (and left as the caller had it).
pub fn to_py(py: Python<'_>, value: Dyn) -> PyResult<Bound<'_, PyAny>> {
    let big = match &value {
        Dyn::Array(items) => items.len() >= BIG,
        Dyn::Map(pairs) => pairs.len() >= BIG,
        _ => false,
    };
    if !big {
        return build(py, value);
    }
    let gc = py.import("gc")?;
    let enabled = gc.call_method0("isenabled")?.is_truthy()?;
    if enabled {
        gc.call_method0("disable")?;
    }
    let built = build(py, value);
    if enabled {
        gc.call_method0("enable")?;
    }
    built
}

fn build(py: Python<'_>, value: Dyn) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Dyn::Null => py.None().into_bound(py),
        Dyn::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Dyn::Int(i) => i.into_pyobject(py)?.into_any(),
        Dyn::Float(f) => PyFloat::new(py, f).into_any(),
        Dyn::String(s) => PyString::new(py, &s).into_any(),
        Dyn::DateTime(d) => {
            let t = types(py)?;
            let d = d.0;
            t.datetime.bind(py).call1((
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.nanosecond().min(999_999_999) / 1000,
                t.utc.bind(py),
            ))?
        }
        Dyn::Enum(e) => types(py)?
            .enumeration
            .bind(py)
            .call1((e.value, e.enumeration))?,
        Dyn::Ref(r) => types(py)?
            .reference
            .bind(py)
            .call1((r.reference, r.class))?,
        Dyn::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(build(py, item)?)?;
            }
            list.into_any()
        }
        Dyn::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(build(py, k)?, build(py, v)?)?;
            }
            dict.into_any()
        }
        Dyn::Record(r) => record_to_py(py, r)?,
    })
}

/// A [`Dyn`] that becomes a Python object when handed back to Python (async results).
pub struct PyDyn(pub Dyn);

impl<'py> IntoPyObject<'py> for PyDyn {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.0)
    }
}

/// An argument: Python values as the core's neutral values (the datamodel decides what
/// they become on the wire and refuses what does not fit, naming the parameter).
pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Dyn> {
    if obj.is_none() {
        return Ok(Dyn::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Dyn::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<i64>()
            .map(Dyn::Int)
            .map_err(|_| PyOverflowError::new_err("XenAPI integers are 64-bit"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Dyn::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Dyn::String(s.to_str()?.to_string()));
    }
    if let Ok(r) = obj.cast::<Record>() {
        return Ok(Dyn::Record(r.get().record()?.clone()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut pairs = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            pairs.push((from_py(&k)?, from_py(&v)?));
        }
        return Ok(Dyn::Map(pairs));
    }
    if obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
    {
        return obj
            .try_iter()?
            .map(|item| from_py(&item?))
            .collect::<PyResult<Vec<_>>>()
            .map(Dyn::Array);
    }
    let py = obj.py();
    if obj.is_instance(types(py)?.datetime.bind(py))? {
        return Ok(Dyn::DateTime(datetime_from_py(obj)?));
    }
    Err(PyTypeError::new_err(format!(
        "cannot send a {} to XenAPI",
        obj.get_type().name()?
    )))
}

/// A `datetime` (naive ones are taken as UTC, as xapi does).
fn datetime_from_py(obj: &Bound<'_, PyAny>) -> PyResult<xenpool::DateTime> {
    let py = obj.py();
    let t = types(py)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("microsecond", 0)?;
    if obj.getattr("tzinfo")?.is_none() {
        kwargs.set_item("tzinfo", t.utc.bind(py))?;
    }
    let micros: u32 = obj.getattr("microsecond")?.extract()?;
    let whole: f64 = obj
        .call_method("replace", (), Some(&kwargs))?
        .call_method0("timestamp")?
        .extract()?;
    chrono::DateTime::from_timestamp(whole as i64, micros * 1000)
        .map(xenpool::DateTime)
        .ok_or_else(|| PyOverflowError::new_err("datetime out of range"))
}

/// A wire value as the official client shows it (compat module): XML-RPC's shapes, with
/// datetimes as `xmlrpc.client.DateTime`.
pub fn raw_to_py(py: Python<'_>, value: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Value::Nil => py.None().into_bound(py),
        Value::String(s) => PyString::new(py, &s).into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Int32(i) => i.into_pyobject(py)?.into_any(),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::Double(f) => PyFloat::new(py, f).into_any(),
        Value::DateTime(s) => types(py)?.xmlrpc_datetime.bind(py).call1((s,))?,
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(raw_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Struct(members) => {
            let dict = PyDict::new(py);
            for (k, v) in members {
                dict.set_item(k, raw_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python value sent as it is (compat module: the official client does no checking).
pub fn raw_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let py = obj.py();
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut members = indexmap::IndexMap::with_capacity(d.len());
        for (k, v) in d.iter() {
            members.insert(k.str()?.to_str()?.to_string(), raw_from_py(&v)?);
        }
        return Ok(Value::Struct(members));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj
            .try_iter()?
            .map(|i| raw_from_py(&i?))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if obj.is_instance(types(py)?.xmlrpc_datetime.bind(py))? {
        return Ok(Value::DateTime(obj.getattr("value")?.extract()?));
    }
    Ok(match from_py(obj)? {
        Dyn::Null => Value::Nil,
        Dyn::Bool(b) => Value::Bool(b),
        Dyn::Int(i) => Value::Int(i),
        Dyn::Float(f) => Value::Double(f),
        Dyn::String(s) => Value::String(s),
        Dyn::DateTime(d) => Value::DateTime(d.to_wire()),
        Dyn::Record(r) => r.0.to_wire(),
        other => {
            return Err(PyTypeError::new_err(format!(
                "cannot send a {} to XenAPI",
                other.kind()
            )));
        }
    })
}
