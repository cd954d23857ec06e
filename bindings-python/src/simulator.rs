//! The in-process simulator for `xenpool.testing`: real sockets on loopback addresses,
//! served by a runtime of its own so the simulated hosts never wait on client calls.

use std::time::Duration;

use pyo3::exceptions::{PyKeyError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use xenpool_sim::{Addressing, Scenario, SimError};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xenpool-sim")
            .enable_all()
            .build()
            .expect("the operating system refused to start the simulator's threads")
    })
}

fn sim_err(e: SimError) -> PyErr {
    match e {
        SimError::UnknownHost(_) => PyKeyError::new_err(e.to_string()),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// A running simulated pool landscape; stops when closed or collected.
#[pyclass(module = "xenpool._native", frozen)]
pub struct Simulator {
    inner: std::sync::Mutex<Option<xenpool_sim::Simulator>>,
}

impl Simulator {
    fn sim(&self) -> PyResult<xenpool_sim::Simulator> {
        self.inner
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| PyRuntimeError::new_err("the simulator was stopped"))
    }
}

#[pymethods]
impl Simulator {
    /// Starts `scenario` (a built-in name or a TOML path) on loopback addresses.
    #[staticmethod]
    #[pyo3(signature = (scenario = "lab", *, vms = None, tls = true, distinct_ports = false))]
    fn start(
        py: Python<'_>,
        scenario: &str,
        vms: Option<usize>,
        tls: bool,
        distinct_ports: bool,
    ) -> PyResult<Simulator> {
        let scenario = Scenario::load(scenario).map_err(|e| sim_err(e.into()))?;
        let sim = py.detach(|| {
            runtime().block_on(async move {
                let mut b = xenpool_sim::Simulator::builder()
                    .scenario(scenario)
                    .auth_failure_delay(Duration::from_millis(10));
                if let Some(n) = vms {
                    b = b.vms(n);
                }
                if !tls {
                    b = b.plain_http();
                }
                if distinct_ports {
                    b = b.addressing(Addressing::DistinctPorts);
                }
                b.start().await
            })
        });
        Ok(Simulator {
            inner: std::sync::Mutex::new(Some(sim.map_err(sim_err)?)),
        })
    }

    /// Every host: name, uuid, address, port, url, username, password, fingerprint, alive,
    /// master_address.
    fn hosts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for h in self.sim()?.hosts() {
            let d = PyDict::new(py);
            d.set_item("name", h.name)?;
            d.set_item("uuid", h.uuid)?;
            d.set_item("address", h.address)?;
            d.set_item("port", h.port)?;
            d.set_item("url", h.url)?;
            d.set_item("username", h.username)?;
            d.set_item("password", h.password)?;
            d.set_item("fingerprint", h.fingerprint.map(|f| f.to_string()))?;
            d.set_item("alive", h.alive)?;
            d.set_item("master_address", h.master_address)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// Sessions alive in the whole simulation.
    fn session_count(&self) -> PyResult<usize> {
        Ok(self.sim()?.session_count())
    }

    /// Delays every reply of `host` by `seconds`.
    fn set_latency(&self, host: &str, seconds: f64) -> PyResult<()> {
        self.sim()?
            .set_latency(host, Duration::from_secs_f64(seconds.max(0.0)))
            .map_err(sim_err)
    }

    /// Kills `host` (its sockets close; HA reacts after its election delay).
    fn kill(&self, host: &str) -> PyResult<()> {
        let sim = self.sim()?;
        let _guard = runtime().enter();
        sim.kill(host).map_err(sim_err)
    }

    /// Restarts a killed host on its old address.
    fn restart(&self, py: Python<'_>, host: &str) -> PyResult<()> {
        let sim = self.sim()?;
        let host = host.to_string();
        py.detach(|| runtime().block_on(async move { sim.restart(&host).await }))
            .map_err(sim_err)
    }

    /// Back to the scenario's initial state.
    fn reset(&self) -> PyResult<()> {
        let sim = self.sim()?;
        let _guard = runtime().enter();
        sim.reset();
        Ok(())
    }

    /// Stops serving (also when the object is collected).
    fn stop(&self, py: Python<'_>) {
        let sim = self.inner.lock().ok().and_then(|mut s| s.take());
        if let Some(sim) = sim {
            py.detach(|| {
                let _guard = runtime().enter();
                drop(sim);
            });
        }
    }

    fn __repr__(&self) -> String {
        match self.sim() {
            Ok(s) => format!("Simulator(hosts={})", s.hosts().len()),
            Err(_) => "Simulator(stopped)".into(),
        }
    }
}
