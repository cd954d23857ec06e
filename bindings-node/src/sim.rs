//! `startSimulator()`: the in-process multi-host XenAPI simulator, for users' own tests.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use xenpool_sim::{Addressing, Simulator};

use crate::convert::to_json_text;
use crate::error::invalid;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SimOptions {
    scenario: Option<String>,
    vms: Option<usize>,
    plain_http: bool,
    distinct_ports: bool,
    auth_failure_delay_ms: Option<u64>,
}

/// A running simulator.
#[napi]
pub struct SimulatorHandle {
    sim: Mutex<Option<Simulator>>,
}

fn sim_error(e: impl std::fmt::Display) -> napi::Error {
    invalid("simulator", e.to_string())
}

/// Starts a simulator (`scenario`: a built-in name such as `lab`, `pool16`, `single`, or a
/// TOML path; `vms`: generated VMs in total; `plainHttp`; `distinctPorts`;
/// `authFailureDelayMs`: how long a wrong password waits, 5 s by default as xapi).
#[napi]
pub async fn start_simulator(options: Option<String>) -> napi::Result<SimulatorHandle> {
    let o: SimOptions = match options {
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| invalid("options", format!("options: {e}")))?
        }
        None => SimOptions::default(),
    };
    let mut builder = Simulator::builder()
        .scenario_named(o.scenario.as_deref().unwrap_or("lab"))
        .map_err(sim_error)?;
    if let Some(n) = o.vms {
        builder = builder.vms(n);
    }
    if o.plain_http {
        builder = builder.plain_http();
    }
    if let Some(ms) = o.auth_failure_delay_ms {
        builder = builder.auth_failure_delay(Duration::from_millis(ms));
    }
    if o.distinct_ports {
        builder = builder.addressing(Addressing::DistinctPorts);
    }
    let sim = builder.start().await.map_err(sim_error)?;
    Ok(SimulatorHandle {
        sim: Mutex::new(Some(sim)),
    })
}

impl SimulatorHandle {
    fn get(&self) -> napi::Result<Simulator> {
        self.sim
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| invalid("simulator", "the simulator was stopped"))
    }
}

#[napi]
impl SimulatorHandle {
    /// Every host: name, uuid, address, url, username, password, fingerprint, alive,
    /// masterAddress (JSON).
    #[napi]
    pub fn hosts(&self) -> napi::Result<String> {
        let hosts: Vec<_> = self
            .get()?
            .hosts()
            .into_iter()
            .map(|h| {
                serde_json::json!({
                    "name": h.name,
                    "uuid": h.uuid,
                    "address": h.address,
                    "port": h.port,
                    "url": h.url,
                    "username": h.username,
                    "password": h.password,
                    "fingerprint": h.fingerprint.map(|f| f.to_string()),
                    "alive": h.alive,
                    "masterAddress": h.master_address,
                })
            })
            .collect();
        Ok(to_json_text(&hosts))
    }

    /// Kills a host (with HA on, the pool elects a new coordinator after a delay).
    #[napi]
    pub fn kill(&self, host: String) -> napi::Result<()> {
        let sim = self.get()?;
        crate::in_runtime(|| sim.kill(&host)).map_err(sim_error)
    }

    /// Restarts a killed host.
    #[napi]
    pub async fn restart(&self, host: String) -> napi::Result<()> {
        self.get()?.restart(&host).await.map_err(sim_error)
    }

    /// Adds latency before each reply of a host.
    #[napi]
    pub fn set_latency(&self, host: String, ms: u32) -> napi::Result<()> {
        self.get()?
            .set_latency(&host, Duration::from_millis(ms.into()))
            .map_err(sim_error)
    }

    /// Rebuilds the world from the scenario.
    #[napi]
    pub fn reset(&self) -> napi::Result<()> {
        self.get()?.reset();
        Ok(())
    }

    /// Sessions alive in the whole simulation.
    #[napi]
    pub fn session_count(&self) -> napi::Result<u32> {
        Ok(self.get()?.session_count() as u32)
    }

    /// Stops every host.
    #[napi]
    pub fn stop(&self) {
        let sim = self.sim.lock().ok().and_then(|mut s| s.take());
        crate::in_runtime(move || drop(sim));
    }
}
