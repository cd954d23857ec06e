//! The session under `xenpool.XenAPI`, the drop-in for the official client: values go out
//! and come back as they are on the wire (XML-RPC by default, so int64 are strings as
//! the official client shows them).

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use xenpool::connect_spec::{self, ConnectSpec};
use xenpool::meta::{self, Ty};
use xenpool::wire::Value;
use xenpool::{Caller, Connection, Error, LoginKind, Secret};

use crate::convert;
use crate::errors;
use crate::wait::block;

/// A session logged in by `login_with_password`, calls untyped.
#[pyclass(module = "xenpool._native", frozen)]
pub struct RawSession {
    conn: Mutex<Option<Connection>>,
}

impl RawSession {
    fn conn(&self) -> xenpool::Result<Connection> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("session lock poisoned".into()))?
            .clone()
            .ok_or(Error::SessionClosed)
    }
}

impl Drop for RawSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.lock().ok().and_then(|mut c| c.take()) {
            xenpool::blocking::runtime().spawn(async move {
                let _ = conn.logout().await;
            });
        }
    }
}

#[pymethods]
impl RawSession {
    /// Logs in (`local` for `slave_local_login_with_password`).
    #[staticmethod]
    #[pyo3(signature = (url, user, password, *, insecure = true, protocol = "xml",
        timeout = 120.0, originator = None, local = false))]
    #[allow(clippy::too_many_arguments)]
    fn login(
        py: Python<'_>,
        url: &str,
        user: &str,
        password: String,
        insecure: bool,
        protocol: &str,
        timeout: f64,
        originator: Option<String>,
        local: bool,
    ) -> PyResult<RawSession> {
        let spec = ConnectSpec {
            user: Some(user.to_string()),
            password: Some(Secret::new(password)),
            insecure,
            protocol: Some(protocol.to_string()),
            timeout: Some(
                connect_spec::seconds("timeout", timeout).map_err(|e| errors::to_py(py, e))?,
            ),
            ..ConnectSpec::new(url)
        };
        let mut spec = spec.resolve(None).map_err(|e| errors::to_py(py, e))?;
        spec.options.originator = originator;
        let kind = match local {
            true => LoginKind::LocalEmergency,
            false => LoginKind::Pool,
        };
        let conn = block(py, "session.login_with_password", move |_| spec.login(kind))?;
        Ok(RawSession {
            conn: Mutex::new(Some(conn)),
        })
    }

    /// The session reference, as `login_with_password` returns it.
    #[getter]
    fn session_ref(&self) -> Option<String> {
        self.conn().ok().map(|c| c.session_ref())
    }

    /// Calls `method` with the session reference first (`with_session`) and `args` as
    /// they are; the result as on the wire.
    #[pyo3(signature = (method, args, with_session = true))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        method: String,
        args: &Bound<'py, PyTuple>,
        with_session: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = args
            .iter()
            .map(|a| convert::raw_from_py(&a))
            .collect::<PyResult<Vec<_>>>()?;
        let conn = self.conn().map_err(|e| errors::to_py(py, e))?;
        let what = method.clone();
        let value = block(py, &what, move |_| async move {
            let value = conn.call::<Value>(&method, with_session, params).await?;
            Ok(
                match meta::method(&method).and_then(|(_, m, _)| m.result.as_ref()) {
                    Some(ty) => datetimes_tagged(ty, value),
                    None => value,
                },
            )
        })?;
        convert::raw_to_py(py, value)
    }

    /// Logs out.
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        let conn = self.conn.lock().ok().and_then(|mut c| c.take());
        match conn {
            Some(conn) => block(
                py,
                "session.logout",
                move |_| async move { conn.logout().await },
            ),
            None => Ok(()),
        }
    }
}

/// The result with its datetimes tagged again (the core's decoding into [`Value`] keeps
/// XML-RPC `dateTime.iso8601` as text), so they come out as `xmlrpc.client.DateTime`
/// as from the official client. Only the datamodel's result type says where they are.
fn datetimes_tagged(ty: &Ty, value: Value) -> Value {
    match (ty, value) {
        (Ty::DateTime, Value::String(s)) => Value::DateTime(s),
        (Ty::Option(inner), v) => datetimes_tagged(inner, v),
        (Ty::Set(inner), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| datetimes_tagged(inner, v))
                .collect(),
        ),
        (Ty::Map(_, inner), Value::Struct(members)) => Value::Struct(
            members
                .into_iter()
                .map(|(k, v)| (k, datetimes_tagged(inner, v)))
                .collect(),
        ),
        (Ty::Record(class), Value::Struct(members)) => match meta::class(class) {
            Some(c) => Value::Struct(
                members
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match c.field(&k) {
                            Some(f) => datetimes_tagged(&f.ty, v),
                            None => v,
                        };
                        (k, v)
                    })
                    .collect(),
            ),
            None => Value::Struct(members),
        },
        (_, v) => v,
    }
}
