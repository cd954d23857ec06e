//! `event.from` as a Python iterator / async iterator (the core's watcher keeps the token
//! and recovers from `EVENTS_LOST`); snapshots come back as typed records.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use xenpool::dynamic::{self, Dyn};
use xenpool::event::{Event, EventOperation, WatchItem};
use xenpool::meta::{self, Ty};

use crate::convert;
use crate::errors;
use crate::wait::block;
use xenpool::pool::AnyConnection;

type Watcher = xenpool::event::EventWatcher<AnyConnection>;

/// A running `event.from` subscription.
#[pyclass(module = "xenpool._native", frozen)]
pub struct EventWatcher {
    inner: Arc<tokio::sync::Mutex<Watcher>>,
}

impl EventWatcher {
    pub fn new(conn: AnyConnection, classes: Vec<String>, token: &str, poll: f64) -> Self {
        let watcher = Watcher::from_token(conn, classes, token)
            .with_poll_timeout(Duration::from_secs_f64(poll.max(0.1)));
        EventWatcher {
            inner: Arc::new(tokio::sync::Mutex::new(watcher)),
        }
    }
}

/// One batch, ready to become Python dicts.
struct Batch(WatchItem);

fn event_to_py<'py>(py: Python<'py>, e: Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let class = meta::class_ignore_case(&e.class);
    let operation = match e.operation {
        EventOperation::Add => "add",
        EventOperation::Mod => "mod",
        EventOperation::Del => "del",
    };
    d.set_item("id", e.id)?;
    d.set_item("class_", class.map_or(e.class.as_str(), |c| c.name))?;
    d.set_item("operation", operation)?;
    let reference = match class {
        Some(c) => Dyn::Ref(xenpool::dynamic::RefValue {
            class: c.name,
            reference: e.reference,
        }),
        None => Dyn::String(e.reference),
    };
    d.set_item("ref", convert::to_py(py, reference)?)?;
    let snapshot = match (class, e.snapshot) {
        (Some(c), Some(v)) => dynamic::typed(&Ty::Record(c.name), v),
        (None, Some(v)) => dynamic::untyped(v),
        (_, None) => Dyn::Null,
    };
    d.set_item("snapshot", convert::to_py(py, snapshot)?)?;
    Ok(d)
}

impl<'py> IntoPyObject<'py> for Batch {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        match self.0 {
            WatchItem::Events(events) => {
                for e in events {
                    list.append(event_to_py(py, e)?)?;
                }
            }
            WatchItem::Resync => {
                let d = PyDict::new(py);
                d.set_item("operation", "resync")?;
                list.append(d)?;
            }
        }
        Ok(list)
    }
}

#[pymethods]
impl EventWatcher {
    /// Waits for the next changes: a list of event dicts (`operation == "resync"` when the
    /// host lost the token and everything is announced again).
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let inner = self.inner.clone();
        let item = block(py, "event.from", move |_| async move {
            inner.lock().await.next().await
        })?;
        Batch(item).into_pyobject(py)
    }

    /// [`EventWatcher::next_batch`] as an awaitable.
    fn next_batch_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let item = inner.lock().await.next().await;
            item.map(Batch)
                .map_err(|e| Python::attach(|py| errors::to_py(py, e)))
        })
    }

    /// The token to resume from.
    #[getter]
    fn token(&self) -> String {
        self.inner
            .try_lock()
            .map(|w| w.token().to_string())
            .unwrap_or_default()
    }
}
