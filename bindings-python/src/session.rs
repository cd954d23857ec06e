//! `Session`: a logged-in session (or a pool's failover-aware connection) on which any
//! XenAPI message is called by name through the core's dynamic layer.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use xenpool::connect_spec::{self, ConnectSpec, ResolvedSpec};
use xenpool::dynamic::{self, Dyn, Method};
use xenpool::pool::AnyConnection;
use xenpool::task::WaitOptions;
use xenpool::wire::Value;
use xenpool::{Error, LoginKind, Result, Secret};

use crate::convert::{self, PyDyn};
use crate::errors;
use crate::wait::block;

/// How to reach a host, as Python gives it (`xenpool.Host`, or the keyword arguments of
/// `Session`): read attribute by attribute into core's [`ConnectSpec`], which applies every
/// rule (URL forms, password sources, certificate choice, protocol names).
#[derive(FromPyObject)]
pub struct Access {
    url: String,
    user: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    fingerprint: Option<String>,
    trust_on_first_use: bool,
    insecure: bool,
    timeout: f64,
    protocol: String,
}

impl Access {
    /// The spec resolved by core's rules. The password prompt is `getpass`, offered only
    /// when standard input is a terminal.
    pub fn resolve(&self, py: Python<'_>) -> Result<ResolvedSpec> {
        let spec = ConnectSpec {
            url: self.url.clone(),
            user: self.user.clone(),
            password: self.password.clone().map(Secret::new),
            password_file: self.password_file.clone(),
            fingerprint: self.fingerprint.clone(),
            trust_on_first_use: self.trust_on_first_use,
            insecure: self.insecure,
            protocol: Some(self.protocol.clone()),
            timeout: Some(connect_spec::seconds("timeout", self.timeout)?),
            ..Default::default()
        };
        let mut ask = |question: &str| -> std::io::Result<String> {
            py.import("getpass")
                .and_then(|m| m.getattr("getpass")?.call1((question,))?.extract())
                .map_err(|e| std::io::Error::other(e.to_string()))
        };
        match on_terminal(py) {
            true => spec.resolve(Some(&mut ask)),
            false => spec.resolve(None),
        }
    }
}

/// True when `sys.stdin` is a terminal (a prompt can be answered).
fn on_terminal(py: Python<'_>) -> bool {
    py.import("sys")
        .and_then(|sys| sys.getattr("stdin"))
        .and_then(|stdin| match stdin.is_none() {
            true => Ok(false),
            false => stdin.call_method0("isatty")?.extract(),
        })
        .unwrap_or(false)
}

/// Fetches the SHA-256 fingerprint of the certificate a host presents (for pinning); `url`
/// may be a bare host name, as everywhere.
#[pyfunction]
#[pyo3(signature = (url, timeout = 10.0))]
pub fn fetch_fingerprint(py: Python<'_>, url: &str, timeout: f64) -> PyResult<String> {
    let target = connect_spec::normalize_url(url)
        .and_then(|u| Ok((u, connect_spec::seconds("timeout", timeout)?)))
        .map_err(|e| errors::to_py(py, e));
    let (url, timeout) = target?;
    block(py, "fetch_fingerprint", move |_| async move {
        let f = xenpool::fetch_fingerprint(connect_spec::authority(&url), timeout).await?;
        Ok(f.to_string())
    })
}

/// A logged-in XenAPI session. Calls run off the GIL; Ctrl-C cancels a call and leaves
/// the session usable.
#[pyclass(module = "xenpool._native", frozen)]
pub struct Session {
    conn: Mutex<Option<AnyConnection>>,
    url: String,
    username: String,
    fingerprint: Option<String>,
}

impl Session {
    pub fn from_conn(conn: AnyConnection, fingerprint: Option<String>) -> Self {
        let c = conn.connection();
        Session {
            url: c.url(),
            username: c.username().to_string(),
            conn: Mutex::new(Some(conn)),
            fingerprint,
        }
    }

    /// The connection, or `SessionClosed`.
    pub fn conn(&self) -> Result<AnyConnection> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("session lock poisoned".into()))?
            .clone()
            .ok_or(Error::SessionClosed)
    }

    fn take(&self) -> Option<AnyConnection> {
        self.conn.lock().ok().and_then(|mut c| c.take())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropping the last handle inside the runtime logs out in the background.
        if let Some(conn) = self.take() {
            let _guard = xenpool::blocking::runtime().enter();
            let closing = conn.clone();
            xenpool::blocking::runtime().spawn(async move {
                let _ = closing.close().await;
            });
        }
    }
}

/// Converts a call's Python arguments.
fn arguments(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Dyn>> {
    args.iter().map(|a| convert::from_py(&a)).collect()
}

/// The future of a dynamic call.
async fn dynamic_call(conn: AnyConnection, method: String, args: Vec<Dyn>) -> Result<Dyn> {
    dynamic::call(&conn, &method, &args).await
}

/// The future waiting for an `Async.` call's task, its result typed by `method`'s.
pub async fn task_wait(
    conn: AnyConnection,
    task: String,
    method: String,
    timeout: Option<f64>,
    cancel: xenpool::CancelToken,
) -> Result<Dyn> {
    {
        let found = Method::find(&method)?;
        let options = WaitOptions {
            timeout: timeout.map(Duration::from_secs_f64),
            ..Default::default()
        };
        let task = xenpool::Ref::new(&task);
        let outcome =
            xenpool::task::wait_or_cancel(&conn, &task, &options, cancel.cancelled()).await?;
        let raw: Value = if outcome.raw_result.trim().is_empty() {
            Value::Nil
        } else {
            outcome.result()?
        };
        Ok(match found.message.result.as_ref() {
            Some(ty) => dynamic::typed(ty, raw),
            None => Dyn::Null,
        })
    }
}

#[pymethods]
impl Session {
    /// Logs in (`HOST_IS_SLAVE` followed to the coordinator); trust on first use pins the
    /// certificate the host presents now (read back from `fingerprint`).
    #[staticmethod]
    #[pyo3(signature = (access, emergency = false))]
    fn login(py: Python<'_>, access: Access, emergency: bool) -> PyResult<Session> {
        let mut spec = access.resolve(py).map_err(|e| errors::to_py(py, e))?;
        let kind = match emergency {
            true => LoginKind::LocalEmergency,
            false => LoginKind::Pool,
        };
        let (conn, fingerprint) = block(py, "session.login_with_password", move |_| async move {
            let fingerprint = spec.settle().await?.map(|f| f.to_string());
            Ok((spec.login(kind).await?, fingerprint))
        })?;
        Ok(Session::from_conn(AnyConnection::Host(conn), fingerprint))
    }

    /// Calls `Class.message` (or `Async.Class.message`) with arguments checked by the
    /// datamodel; blocks without the GIL.
    #[pyo3(signature = (method, *args))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: String,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = arguments(args)?;
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        let what = method.clone();
        let result = block(py, &what, move |_| dynamic_call(conn, method, args))?;
        convert::to_py(py, result)
    }

    /// [`Session::call`] as an awaitable.
    #[pyo3(signature = (method, *args))]
    fn call_async<'py>(
        &self,
        py: Python<'py>,
        method: String,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = arguments(args)?;
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            match dynamic_call(conn, method, args).await {
                Ok(v) => Ok(PyDyn(v)),
                Err(e) => Err(Python::attach(|py| errors::to_py(py, e))),
            }
        })
    }

    /// Waits for the task of an `Async.` call of `method`; its result typed as the
    /// message's. Ctrl-C cancels the task on the host.
    #[pyo3(signature = (task, method, timeout = None))]
    fn wait_task<'py>(
        &self,
        py: Python<'py>,
        task: String,
        method: String,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        let what = format!("waiting for {method}");
        let result = block(py, &what, move |cancel| {
            task_wait(conn, task, method, timeout, cancel)
        })?;
        convert::to_py(py, result)
    }

    /// [`Session::wait_task`] as an awaitable.
    #[pyo3(signature = (task, method, timeout = None))]
    fn wait_task_async<'py>(
        &self,
        py: Python<'py>,
        task: String,
        method: String,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let never = xenpool::CancelToken::new();
            match task_wait(conn, task, method, timeout, never).await {
                Ok(v) => Ok(PyDyn(v)),
                Err(e) => Err(Python::attach(|py| errors::to_py(py, e))),
            }
        })
    }

    /// Calls a message this datamodel does not know, arguments sent as they are.
    #[pyo3(signature = (method, *args, with_session = true))]
    fn call_untyped<'py>(
        &self,
        py: Python<'py>,
        method: String,
        args: &Bound<'py, PyTuple>,
        with_session: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = arguments(args)?;
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        let what = method.clone();
        let result = block(py, &what, move |_| async move {
            dynamic::call_untyped(&conn, &method, with_session, &args).await
        })?;
        convert::to_py(py, result)
    }

    /// Starts watching `event.from` for `classes` (`"vm"`, `"host"`, `"*"`).
    #[pyo3(signature = (classes, token = "", poll_timeout = 30.0))]
    fn events(
        &self,
        py: Python<'_>,
        classes: Vec<String>,
        token: &str,
        poll_timeout: f64,
    ) -> PyResult<crate::events::EventWatcher> {
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        Ok(crate::events::EventWatcher::new(
            conn,
            classes,
            token,
            poll_timeout,
        ))
    }

    /// Logs out (twice is harmless).
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        match self.take() {
            Some(conn) => block(
                py,
                "session.logout",
                move |_| async move { conn.close().await },
            ),
            None => Ok(()),
        }
    }

    /// [`Session::logout`] as an awaitable.
    fn logout_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let conn = self.take();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            if let Some(conn) = conn {
                conn.close()
                    .await
                    .map_err(|e| Python::attach(|py| errors::to_py(py, e)))?;
            }
            Ok(())
        })
    }

    /// True once logged out.
    #[getter]
    fn closed(&self) -> bool {
        self.conn().is_err()
    }

    /// The URL the session was opened on.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the host serving the session now (the coordinator).
    #[getter]
    fn coordinator_url(&self) -> Option<String> {
        self.conn().ok().map(|c| c.connection().url())
    }

    /// The user logged in.
    #[getter]
    fn username(&self) -> &str {
        &self.username
    }

    /// The pinned certificate fingerprint, if any (store it after trust on first use).
    #[getter]
    fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// The session reference (a bearer token: kept out of the repr).
    #[getter]
    fn session_ref(&self) -> Option<String> {
        self.conn().ok().map(|c| c.connection().session_ref())
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "open" };
        format!(
            "Session(url={:?}, user={:?}, {state})",
            self.url, self.username
        )
    }
}
