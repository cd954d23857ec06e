//! `Session`: a logged-in session (or a pool's failover-aware connection) on which any
//! XenAPI message is called by name through the core's dynamic layer.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use xenpool::dynamic::{self, Dyn, Method};
use xenpool::pool::AnyConnection;
use xenpool::task::WaitOptions;
use xenpool::wire::Value;
use xenpool::{ConnectOptions, Connection, Credentials, Error, Fingerprint, Protocol, Result, Tls};

use crate::convert::{self, PyDyn};
use crate::errors;
use crate::wait::block;

/// Connection options from the keyword arguments every entry point takes.
pub fn connect_options(
    fingerprint: Option<&str>,
    insecure: bool,
    timeout: f64,
    protocol: &str,
) -> Result<ConnectOptions> {
    let tls = match (fingerprint, insecure) {
        (Some(f), _) => Tls::Pinned(f.parse::<Fingerprint>()?),
        (None, true) => Tls::Insecure,
        (None, false) => Tls::Verified,
    };
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "auto" => Protocol::Auto,
        "json" | "jsonrpc" | "json-rpc" => Protocol::JsonRpc,
        "xml" | "xmlrpc" | "xml-rpc" => Protocol::XmlRpc,
        other => {
            return Err(Error::InvalidArgument(format!(
                "protocol must be 'auto', 'json' or 'xml', not {other:?}"
            )));
        }
    };
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "timeout must be a positive number of seconds, not {timeout}"
        )));
    }
    Ok(ConnectOptions {
        tls,
        call_timeout: Duration::from_secs_f64(timeout),
        protocol,
        ..Default::default()
    })
}

/// The `https://address[:port]` a fingerprint is fetched from for trust on first use.
pub fn address_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:443")
    }
}

/// Fetches the SHA-256 fingerprint of the certificate a host presents (for pinning).
#[pyfunction]
#[pyo3(signature = (url, timeout = 10.0))]
pub fn fetch_fingerprint(py: Python<'_>, url: &str, timeout: f64) -> PyResult<String> {
    let address = address_of(url);
    block(py, "fetch_fingerprint", move |_| async move {
        let f = xenpool::fetch_fingerprint(&address, Duration::from_secs_f64(timeout)).await?;
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
    /// Logs in (`HOST_IS_SLAVE` followed to the coordinator).
    #[staticmethod]
    #[pyo3(signature = (url, user, password, *, fingerprint = None, trust_on_first_use = false,
        insecure = false, timeout = 120.0, protocol = "auto", emergency = false))]
    #[allow(clippy::too_many_arguments)]
    fn login(
        py: Python<'_>,
        url: &str,
        user: &str,
        password: String,
        fingerprint: Option<String>,
        trust_on_first_use: bool,
        insecure: bool,
        timeout: f64,
        protocol: &str,
        emergency: bool,
    ) -> PyResult<Session> {
        let fingerprint = match (fingerprint, trust_on_first_use) {
            (None, true) if url.starts_with("https") => Some(fetch_fingerprint(py, url, 10.0)?),
            (f, _) => f,
        };
        let options = connect_options(fingerprint.as_deref(), insecure, timeout, protocol)
            .map_err(|e| errors::to_py(py, e))?;
        let credentials = Credentials::new(user, password);
        let url = url.to_string();
        let conn = block(py, "session.login_with_password", move |_| async move {
            match emergency {
                true => Connection::login_local_emergency(&url, credentials, options).await,
                false => Connection::login(&url, credentials, options).await,
            }
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
