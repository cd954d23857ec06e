//! A synchronous facade for the REPL, the bindings and scripts: each call blocks on a
//! shared tokio runtime owned by the library.

use std::future::Future;
use std::sync::Mutex;
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
///
/// It survives `fork` (Python's multiprocessing): a child process gets a runtime of its
/// own on first use, since the parent's worker threads do not exist there. Connections
/// opened before the fork belong to the parent; open new ones in the child.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match *slot {
        Some((owner, runtime)) if owner == pid => runtime,
        _ => {
            // The parent's runtime (if any) is leaked in a child: dropping it would wait
            // for threads that were not copied by fork.
            let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("xenpool")
                    .enable_all()
                    .build()
                    .expect("the operating system refused to start the xenpool runtime threads"),
            ));
            *slot = Some((pid, runtime));
            runtime
        }
    }
}

/// Runs a future to completion on the shared runtime. Refuses (instead of panicking)
/// when called from inside an async runtime, where the async API must be used.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::invalid_argument(
            "runtime",
            "the blocking API was called from inside an async runtime; use the async API there",
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

/// The pool workflows, blocking: a [`crate::pool::PoolConnection`] whose methods wait.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: crate::pool::PoolConnection,
}

use crate::generated::BondMode;
use crate::pool::membership::{CreatePoolOutcome, HostAccess, JoinOutcome};
use crate::pool::ops::{
    self, BondOutcome, BondProblem, EjectOptions, EjectOutcome, HaOutcome, MoveOutcome,
    RepairOutcome, SrOutcome,
};
use crate::pool::{JoinReport, OpOptions, Outcome, PoolSnapshot, ValidateOptions};

impl Pool {
    /// See [`crate::generated::Pool::connect`].
    pub fn connect(url: &str, credentials: Credentials, options: ConnectOptions) -> Result<Self> {
        Ok(Pool {
            inner: block_on(crate::pool::PoolConnection::connect(
                url,
                credentials,
                options,
            ))??,
        })
    }

    /// See [`crate::pool::create_pool`].
    pub fn create(
        name: &str,
        description: &str,
        master: &HostAccess,
        members: &[HostAccess],
        force: bool,
        options: &OpOptions,
    ) -> Result<(Self, CreatePoolOutcome)> {
        let (inner, outcome) = block_on(crate::pool::create_pool(
            name,
            description,
            master,
            members,
            force,
            options,
        ))??;
        Ok((Pool { inner }, outcome))
    }

    /// The async connection underneath.
    pub fn inner(&self) -> &crate::pool::PoolConnection {
        &self.inner
    }

    /// Reads a snapshot of the pool.
    pub fn snapshot(&self) -> Result<PoolSnapshot> {
        block_on(PoolSnapshot::fetch(&self.inner))?
    }

    /// See [`crate::pool::validate_join`].
    pub fn validate_join(&self, candidate: &HostAccess) -> Result<JoinReport> {
        let options = ValidateOptions {
            connect: candidate.options.clone(),
            ..Default::default()
        };
        block_on(crate::pool::validate_join(
            &self.inner,
            &candidate.url,
            &candidate.credentials,
            &options,
        ))?
    }

    /// See [`crate::pool::join`].
    pub fn join(
        &self,
        candidate: &HostAccess,
        policy: impl Into<crate::pool::JoinPolicy>,
        options: &OpOptions,
    ) -> Result<JoinOutcome> {
        let policy = policy.into();
        block_on(crate::pool::join(&self.inner, candidate, policy, options))?
    }

    /// See [`ops::eject`].
    pub fn eject(
        &self,
        host: &str,
        eject: &EjectOptions,
        options: &OpOptions,
    ) -> Result<EjectOutcome> {
        block_on(ops::eject(&self.inner, host, eject, options))?
    }

    /// See [`ops::create_bond`].
    pub fn create_bond(
        &self,
        devices: &[&str],
        mode: BondMode,
        network: &str,
        options: &OpOptions,
    ) -> Result<BondOutcome> {
        block_on(ops::create_bond(
            &self.inner,
            devices,
            mode,
            network,
            options,
        ))?
    }

    /// See [`ops::check_bonds`].
    pub fn check_bonds(&self) -> Result<Vec<BondProblem>> {
        Ok(ops::check_bonds(&self.snapshot()?))
    }

    /// See [`ops::repair_bonds`].
    pub fn repair_bonds(&self, options: &OpOptions) -> Result<RepairOutcome> {
        block_on(ops::repair_bonds(&self.inner, options))?
    }

    /// See [`ops::create_nfs_sr`].
    pub fn create_nfs_sr(
        &self,
        name: &str,
        server: &str,
        path: &str,
        nfs_version: Option<&str>,
        options: &OpOptions,
    ) -> Result<SrOutcome> {
        block_on(ops::create_nfs_sr(
            &self.inner,
            name,
            server,
            path,
            nfs_version,
            options,
        ))?
    }

    /// See [`ops::migrate`].
    pub fn migrate(&self, vm: &str, host: &str, options: &OpOptions) -> Result<MoveOutcome> {
        block_on(ops::migrate(&self.inner, vm, host, options))?
    }

    /// See [`ops::evacuate`].
    pub fn evacuate(&self, host: &str, options: &OpOptions) -> Result<MoveOutcome> {
        block_on(ops::evacuate(&self.inner, host, options))?
    }

    /// See [`ops::enable_ha`].
    pub fn enable_ha(&self, heartbeat_sr: Option<&str>, options: &OpOptions) -> Result<HaOutcome> {
        block_on(ops::enable_ha(&self.inner, heartbeat_sr, options))?
    }

    /// See [`ops::disable_ha`].
    pub fn disable_ha(&self, options: &OpOptions) -> Result<Outcome<()>> {
        block_on(ops::disable_ha(&self.inner, options))?
    }

    /// A raw call on the pool with a dynamic result.
    pub fn call_value(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
    ) -> Result<Value> {
        block_on(self.inner.call(method, with_session, params))?
    }

    /// Logs out.
    pub fn close(&self) -> Result<()> {
        block_on(self.inner.close())?
    }
}
