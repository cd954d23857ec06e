//! `Pool`: the core's failover-aware pool connection and its workflows. Every workflow
//! takes `dry_run` (the plan, nothing changed) and `progress` (a callable receiving
//! `(step, total, message)`); outcomes come back as the core serialises them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use serde::Serialize;
use xenpool::Error;
use xenpool::dynamic::{Dyn, RefValue};
use xenpool::pool::cache::WaitTarget;
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{JoinPolicy, OpOptions, PoolConnection, PoolSnapshot, ValidateOptions};

use crate::errors;
use crate::session::{Access, Session};
use crate::wait::block;

/// An outcome as JSON text (the Python side wraps it in its classes).
fn json(value: &impl Serialize) -> xenpool::Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serialising: {e}")))
}

/// Operation options from `dry_run` and a Python progress callable.
fn op_options(dry_run: bool, progress: Option<Py<PyAny>>) -> OpOptions {
    let mut options = OpOptions {
        dry_run,
        ..Default::default()
    };
    if let Some(callback) = progress {
        let callback = Arc::new(callback);
        options = options.with_progress(move |event| {
            Python::attach(|py| {
                let args = (event.step, event.total, event.message.as_str());
                if let Err(e) = callback.call1(py, args) {
                    // A failing progress bar must not abort the pool operation.
                    e.write_unraisable(py, None);
                }
            })
        });
    }
    options
}

/// A pool connection.
#[pyclass(module = "xenpool._native", frozen)]
pub struct Pool {
    inner: PoolConnection,
}

fn map<T>(py: Python<'_>, r: xenpool::Result<T>) -> PyResult<T> {
    r.map_err(|e| errors::to_py(py, e))
}

impl Pool {
    /// Runs a workflow with its options on a clone of the connection; its outcome as JSON.
    fn op<F, Fut>(
        &self,
        py: Python<'_>,
        what: &str,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
        workflow: F,
    ) -> PyResult<String>
    where
        F: FnOnce(PoolConnection, OpOptions) -> Fut,
        Fut: Future<Output = xenpool::Result<String>> + Send + 'static,
    {
        let pool = self.inner.clone();
        let options = op_options(dry_run, progress);
        block(py, what, move |_| workflow(pool, options))
    }
}

#[pymethods]
impl Pool {
    /// Logs into the pool through `access` (any member: redirects followed) and learns
    /// the members for failover.
    #[staticmethod]
    fn connect(py: Python<'_>, access: Access) -> PyResult<Pool> {
        let spec = map(py, access.resolve(py))?;
        let inner = block(py, "Pool.connect", move |_| spec.connect_pool())?;
        Ok(Pool { inner })
    }

    /// A session sharing this connection (calls fail over with it).
    fn session(&self) -> Session {
        Session::from_conn(self.inner.clone().into(), None)
    }

    /// The coordinator's address now.
    #[getter]
    fn coordinator_address(&self) -> String {
        self.inner.coordinator_address()
    }

    /// The members as last learnt: `(name, address)` pairs.
    fn members(&self) -> Vec<(String, String)> {
        self.inner
            .members()
            .into_iter()
            .map(|m| (m.name, m.address))
            .collect()
    }

    /// Looks for a new coordinator among the members now.
    fn failover(&self, py: Python<'_>) -> PyResult<()> {
        let pool = self.inner.clone();
        block(
            py,
            "failover",
            move |_| async move { pool.failover().await },
        )
    }

    /// The join pre-flight for a candidate host: a report as JSON.
    fn validate_join(&self, py: Python<'_>, candidate: Access) -> PyResult<String> {
        let host = map(py, candidate.resolve(py))?;
        let pool = self.inner.clone();
        block(py, "validate_join", move |_| async move {
            let host = host.access().await?;
            let options = ValidateOptions {
                connect: host.options.clone(),
                ..Default::default()
            };
            let report =
                xenpool::pool::validate_join(&pool, &host.url, &host.credentials, &options).await?;
            json(&report)
        })
    }

    /// Joins a host (`force`: past the documentation's advice, with `pool.join_force`;
    /// `allow_cross_vendor` as well for a CPU vendor mismatch).
    #[pyo3(signature = (candidate, force = false, dry_run = false, progress = None, allow_cross_vendor = false))]
    fn join(
        &self,
        py: Python<'_>,
        candidate: Access,
        force: bool,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
        allow_cross_vendor: bool,
    ) -> PyResult<String> {
        let host = map(py, candidate.resolve(py))?;
        let policy = JoinPolicy {
            force,
            allow_cross_vendor,
        };
        self.op(
            py,
            "join",
            dry_run,
            progress,
            move |pool, options| async move {
                let host = host.access().await?;
                json(&xenpool::pool::join(&pool, &host, policy, &options).await?)
            },
        )
    }

    /// Ejects a member (by name, uuid or address).
    #[pyo3(signature = (host, evacuate = true, dry_run = false, progress = None))]
    fn eject(
        &self,
        py: Python<'_>,
        host: String,
        evacuate: bool,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "eject",
            dry_run,
            progress,
            move |pool, options| async move {
                json(&ops::eject(&pool, &host, &EjectOptions { evacuate }, &options).await?)
            },
        )
    }

    /// A bond over `devices` on every host, on a new network `network`.
    #[pyo3(signature = (devices, mode, network, dry_run = false, progress = None))]
    fn create_bond(
        &self,
        py: Python<'_>,
        devices: Vec<String>,
        mode: &str,
        network: String,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        let mode = ops::bond_mode(mode);
        self.op(
            py,
            "create_bond",
            dry_run,
            progress,
            move |pool, options| async move {
                let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
                json(&ops::create_bond(&pool, &devices, mode, &network, &options).await?)
            },
        )
    }

    /// Bonds that differ between members, as JSON.
    fn check_bonds(&self, py: Python<'_>) -> PyResult<String> {
        let pool = self.inner.clone();
        block(py, "check_bonds", move |_| async move {
            json(&ops::check_bonds(&PoolSnapshot::fetch(&pool).await?))
        })
    }

    /// Brings every member's bonds in line with the coordinator's.
    #[pyo3(signature = (dry_run = false, progress = None))]
    fn repair_bonds(
        &self,
        py: Python<'_>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "repair_bonds",
            dry_run,
            progress,
            move |pool, options| async move { json(&ops::repair_bonds(&pool, &options).await?) },
        )
    }

    /// A shared NFS SR plugged on every host.
    #[pyo3(signature = (name, server, path, nfs_version = None, dry_run = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_nfs_sr(
        &self,
        py: Python<'_>,
        name: String,
        server: String,
        path: String,
        nfs_version: Option<String>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "create_nfs_sr",
            dry_run,
            progress,
            move |pool, options| async move {
                json(
                    &ops::create_nfs_sr(
                        &pool,
                        &name,
                        &server,
                        &path,
                        nfs_version.as_deref(),
                        &options,
                    )
                    .await?,
                )
            },
        )
    }

    /// Live-migrates a VM to a host.
    #[pyo3(signature = (vm, host, dry_run = false, progress = None))]
    fn migrate(
        &self,
        py: Python<'_>,
        vm: String,
        host: String,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(py, "migrate", dry_run, progress, move |pool, options| async move {
            json(&ops::migrate(&pool, &vm, &host, &options).await?)
        })
    }

    /// Moves every running VM off a host.
    #[pyo3(signature = (host, dry_run = false, progress = None))]
    fn evacuate(
        &self,
        py: Python<'_>,
        host: String,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "evacuate",
            dry_run,
            progress,
            move |pool, options| async move { json(&ops::evacuate(&pool, &host, &options).await?) },
        )
    }

    /// Enables HA (heartbeat on `heartbeat_sr`, or the default shared SR).
    #[pyo3(signature = (heartbeat_sr = None, dry_run = false, progress = None))]
    fn enable_ha(
        &self,
        py: Python<'_>,
        heartbeat_sr: Option<String>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "enable_ha",
            dry_run,
            progress,
            move |pool, options| async move {
                json(&ops::enable_ha(&pool, heartbeat_sr.as_deref(), &options).await?)
            },
        )
    }

    /// Disables HA; returns the plan.
    #[pyo3(signature = (dry_run = false, progress = None))]
    fn disable_ha(
        &self,
        py: Python<'_>,
        dry_run: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.op(
            py,
            "disable_ha",
            dry_run,
            progress,
            move |pool, options| async move { json(&ops::disable_ha(&pool, &options).await?) },
        )
    }

    /// What the overview picture shows, as JSON: hosts (coordinator, liveness, memory,
    /// VMs) and shared SRs.
    fn overview(&self, py: Python<'_>) -> PyResult<String> {
        let pool = self.inner.clone();
        block(py, "overview", move |_| async move {
            let snap = PoolSnapshot::fetch(&pool).await?;
            // The core summaries carry the derivation; this keeps the documented keys.
            let hosts: Vec<serde_json::Value> = snap
                .host_summaries()
                .into_iter()
                .map(|h| {
                    serde_json::json!({
                        "name": h.name,
                        "address": h.address,
                        "coordinator": h.coordinator,
                        "live": h.live,
                        "memory_total": h.memory_total,
                        "memory_free": h.memory_free,
                        "vms": h.vms,
                    })
                })
                .collect();
            let mut srs: Vec<serde_json::Value> = snap
                .sr_summaries()
                .into_iter()
                .filter(|s| s.pool_wide)
                .map(|s| {
                    serde_json::json!({
                        "name": s.name,
                        "type": s.kind,
                        "reaches_every_host": s.reaches_every_host,
                    })
                })
                .collect();
            srs.sort_by_key(|s| s["name"].as_str().unwrap_or("").to_string());
            json(&serde_json::json!({
                "name": snap.pool().name(),
                "ha_enabled": snap.pool.ha_enabled,
                "hosts": hosts,
                "shared_srs": srs,
            }))
        })
    }

    /// An event-fed cache of `classes` (`"VM"`, `"host"`, …).
    fn cache(&self, py: Python<'_>, classes: Vec<String>) -> PyResult<ObjectCache> {
        let pool = self.inner.clone();
        let inner = block(py, "cache", move |_| async move {
            let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
            xenpool::pool::cache::ObjectCache::start(pool, &classes).await
        })?;
        Ok(ObjectCache {
            inner: Arc::new(inner),
        })
    }

    /// Logs out.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let pool = self.inner.clone();
        block(py, "close", move |_| async move { pool.close().await })
    }

    fn __repr__(&self) -> String {
        format!(
            "Pool(coordinator={:?}, members={})",
            self.inner.coordinator_address(),
            self.inner.members().len()
        )
    }
}

/// Forms a pool: `master` becomes the coordinator and `members` join it. Returns the
/// pool and the outcome as JSON.
#[pyfunction]
#[pyo3(signature = (name, description, master, members, force = false, dry_run = false, progress = None, allow_cross_vendor = false))]
#[allow(clippy::too_many_arguments)]
pub fn create_pool(
    py: Python<'_>,
    name: String,
    description: String,
    master: Access,
    members: Vec<Access>,
    force: bool,
    dry_run: bool,
    progress: Option<Py<PyAny>>,
    allow_cross_vendor: bool,
) -> PyResult<(Pool, String)> {
    let policy = JoinPolicy {
        force,
        allow_cross_vendor,
    };
    let master = map(py, master.resolve(py))?;
    let members = map(
        py,
        members
            .iter()
            .map(|m| m.resolve(py))
            .collect::<xenpool::Result<Vec<_>>>(),
    )?;
    let options = op_options(dry_run, progress);
    let (inner, outcome) = block(py, "create_pool", move |_| async move {
        let master = master.access().await?;
        let mut accesses = Vec::with_capacity(members.len());
        for member in members {
            accesses.push(member.access().await?);
        }
        let members = accesses;
        let (pool, outcome) =
            xenpool::pool::create_pool(&name, &description, &master, &members, policy, &options)
                .await?;
        Ok((pool, json(&outcome)?))
    })?;
    Ok((Pool { inner }, outcome))
}

/// The coordinator is gone (HA off): makes the member at `member` the coordinator and
/// points the others at it; `restart_vms` also declares the hosts that stay down dead and
/// starts their VMs elsewhere. Returns the new pool (None in a dry run) and the outcome
/// as JSON.
#[pyfunction]
#[pyo3(signature = (member, dry_run = false, progress = None, restart_vms = false))]
pub fn recover_lost_coordinator(
    py: Python<'_>,
    member: Access,
    dry_run: bool,
    progress: Option<Py<PyAny>>,
    restart_vms: bool,
) -> PyResult<(Option<Pool>, String)> {
    let host = map(py, member.resolve(py))?;
    let options = op_options(dry_run, progress);
    let recovery = ops::RecoveryOptions { restart_vms };
    let (inner, outcome) = block(py, "recover_lost_coordinator", move |_| async move {
        let host = host.access().await?;
        let (pool, outcome) = ops::recover_lost_coordinator(
            &host.url,
            host.credentials,
            host.options,
            recovery,
            &options,
        )
        .await?;
        Ok((pool, json(&outcome)?))
    })?;
    Ok((inner.map(|inner| Pool { inner }), outcome))
}

/// The event-fed cache: reads never call the host.
#[pyclass(module = "xenpool._native", frozen)]
pub struct ObjectCache {
    inner: Arc<xenpool::pool::cache::ObjectCache>,
}

fn class_of(class: &str) -> PyResult<&'static str> {
    xenpool::meta::class_ignore_case(class)
        .map(|c| c.name)
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(format!("no XenAPI class {class}")))
}

impl ObjectCache {
    /// Core's wait on `target`, the predicate called here, on the caller's thread, with
    /// each record handed over (all of them first, then those that change): the first
    /// record it accepts, with its reference. Waiting releases the GIL; Ctrl-C cancels.
    fn wait<'py>(
        &self,
        py: Python<'py>,
        target: WaitTarget,
        predicate: &Bound<'py, PyAny>,
        timeout: f64,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err("timeout is a number of seconds, 0 or more")
        })?;
        let wait = self
            .inner
            .wait(target, timeout)
            .map_err(|e| errors::to_py(py, e))?;
        let what = wait.what();
        let wait = Arc::new(tokio::sync::Mutex::new(wait));
        loop {
            let w = wait.clone();
            let changed = block(
                py,
                &what,
                move |_| async move { w.lock().await.next().await },
            )?;
            for c in changed {
                let record = crate::convert::to_py(py, c.to_dyn())?;
                if predicate.call1((&record,))?.is_truthy()? {
                    let reference = Dyn::Ref(RefValue {
                        class: c.class,
                        reference: c.reference,
                    });
                    return Ok((crate::convert::to_py(py, reference)?, record));
                }
            }
        }
    }
}

#[pymethods]
impl ObjectCache {
    /// The cached record of `reference`, typed, or `None`.
    fn get<'py>(
        &self,
        py: Python<'py>,
        class: &str,
        reference: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let class = class_of(class)?;
        let value = self
            .inner
            .get_value(class, reference)
            .map_or(Dyn::Null, |v| {
                xenpool::dynamic::typed(&xenpool::meta::Ty::Record(class), v)
            });
        crate::convert::to_py(py, value)
    }

    /// Waits (at most `timeout` seconds) until the record of `reference` satisfies
    /// `predicate` (a callable on the typed record); returns the record.
    #[pyo3(signature = (class, reference, predicate, timeout = 30.0))]
    fn wait_for<'py>(
        &self,
        py: Python<'py>,
        class: &str,
        reference: String,
        predicate: &Bound<'py, PyAny>,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        class_of(class)?;
        let target = WaitTarget::Object(reference);
        Ok(self.wait(py, target, predicate, timeout)?.1)
    }

    /// Waits (at most `timeout` seconds) until the record of some object of `class`
    /// satisfies `predicate`; returns `(reference, record)` of the first that does.
    #[pyo3(signature = (class, predicate, timeout = 30.0))]
    fn wait_for_any<'py>(
        &self,
        py: Python<'py>,
        class: &str,
        predicate: &Bound<'py, PyAny>,
        timeout: f64,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let target = WaitTarget::Class(class_of(class)?.to_string());
        self.wait(py, target, predicate, timeout)
    }

    /// Stops following events; waits in progress end with `SessionClosed`.
    fn close(&self) {
        self.inner.close();
    }
}
