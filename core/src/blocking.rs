//! A synchronous facade for the REPL, the bindings and scripts: each call blocks on a
//! shared tokio runtime owned by the library.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::call::Caller;
use crate::error::{Error, Result};
use crate::secret::Credentials;
use crate::tls::Fingerprint;
use crate::transport::ConnectOptions;
use crate::wire::Value;

/// The runtime every blocking call runs on (two workers: decoding big responses happens
/// on its blocking pool, not on the caller's thread).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xenpool")
            .enable_all()
            .build()
            .expect("the operating system refused to start the xenpool runtime threads")
    })
}

/// Runs a future to completion on the shared runtime. Refuses (instead of panicking)
/// when called from inside an async runtime, where the async API must be used.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InvalidArgument(
            "the blocking API was called from inside an async runtime; use the async API there"
                .into(),
        ));
    }
    Ok(runtime().block_on(future))
}

/// A blocking session. Logs out when dropped.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: crate::Connection,
}

impl Connection {
    /// See [`crate::Connection::login`].
    pub fn login(url: &str, credentials: Credentials, options: ConnectOptions) -> Result<Self> {
        let inner = block_on(crate::Connection::login(url, credentials, options))??;
        Ok(Connection { inner })
    }

    /// See [`crate::Connection::login_local_emergency`].
    pub fn login_local_emergency(
        url: &str,
        credentials: Credentials,
        options: ConnectOptions,
    ) -> Result<Self> {
        let inner = block_on(crate::Connection::login_local_emergency(
            url,
            credentials,
            options,
        ))??;
        Ok(Connection { inner })
    }

    /// The async connection underneath, for [`Connection::run`].
    pub fn inner(&self) -> &crate::Connection {
        &self.inner
    }

    /// Runs any async API call to completion, e.g.
    /// `conn.run(Vm::get_all_records(conn.inner()))`.
    pub fn run<F: Future>(&self, future: F) -> Result<F::Output> {
        block_on(future)
    }

    /// A raw call with typed result.
    pub fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T> {
        block_on(self.inner.call(method, true, params))?
    }

    /// A raw call with an explicit session flag and timeout, returning a dynamic [`Value`].
    pub fn call_value(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        block_on(
            self.inner
                .call_with_timeout(method, with_session, params, timeout),
        )?
    }

    /// Logs out now.
    pub fn logout(&self) -> Result<()> {
        block_on(self.inner.logout())?
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The async connection's own drop spawns its logout only inside a runtime; from
        // synchronous code, log out here while the runtime is certainly available.
        if self.inner.is_last_handle() && tokio::runtime::Handle::try_current().is_err() {
            let _ = runtime().block_on(self.inner.logout());
        }
    }
}

/// See [`crate::fetch_fingerprint`].
pub fn fetch_fingerprint(address: &str, timeout: Duration) -> Result<Fingerprint> {
    block_on(crate::tls::fetch_fingerprint(address, timeout))?
}
