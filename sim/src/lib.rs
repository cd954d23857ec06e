//! xenpool-sim: a multi-host XenAPI simulator over real sockets.
//!
//! Each simulated host has its own loopback address (127.0.0.N on one port, so that
//! `master_address` is a bare address as in real pools) or, where extra loopback addresses
//! are unavailable, its own port on 127.0.0.1. Pools share a database; members answer
//! `HOST_IS_SLAVE`. Start one with [`Simulator::builder`].

pub mod call;
pub mod control;
pub mod db;
pub mod dispatch;
pub mod failure;
pub mod handlers;
pub mod model;
pub mod profile;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod values;
pub mod world;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indexmap::IndexMap;
use xenpool::wire::Value;

pub use scenario::Scenario;
pub use world::Config;

use crate::db::Db;
use crate::profile::{HostProfile, build_standalone, create_vm, uuid_for};
use crate::server::HostServer;
use crate::sim::Sim;
use crate::world::{SimHost, World, record};

/// How hosts are given network identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Addressing {
    /// 127.0.0.N on one shared port (as real pools: addresses without ports).
    #[default]
    LoopbackAddresses,
    /// 127.0.0.1 with one port per host, for systems with a single loopback address.
    DistinctPorts,
}

/// Configures and starts a [`Simulator`].
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    scenario: Option<Scenario>,
    addressing: Addressing,
    port: u16,
    tls: bool,
    config: Config,
    control: bool,
    vms: Option<usize>,
}

/// What went wrong starting a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// A socket could not be bound.
    #[error("cannot listen on {address}: {message}")]
    Bind {
        /// Where.
        address: String,
        /// Why.
        message: String,
    },
    /// No such host in the simulation.
    #[error("no simulated host named {0:?}")]
    UnknownHost(String),
}

/// Everything a client needs to reach one simulated host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostInfo {
    /// Scenario name of the host.
    pub name: String,
    /// Its uuid.
    pub uuid: String,
    /// Its address (what `master_address` names).
    pub address: String,
    /// Its port.
    pub port: u16,
    /// `https://address:port` (or `http://` in plain mode).
    pub url: String,
    /// User name to log in with.
    pub username: String,
    /// The current root password of its pool.
    pub password: String,
    /// SHA-256 fingerprint of its certificate (HTTPS mode).
    pub fingerprint: Option<xenpool::Fingerprint>,
    /// Whether it is running.
    pub alive: bool,
    /// `None` for a coordinator, else the coordinator's address.
    pub master_address: Option<String>,
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        SimulatorBuilder {
            scenario: None,
            addressing: Addressing::default(),
            port: 0,
            tls: true,
            config: Config::default(),
            control: false,
            vms: None,
        }
    }
}

impl SimulatorBuilder {
    /// The scenario to load (default: the built-in `lab`).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = Some(scenario);
        self
    }

    /// A built-in scenario by name, or a TOML file path.
    pub fn scenario_named(mut self, name: &str) -> Result<Self, SimError> {
        self.scenario = Some(Scenario::load(name)?);
        Ok(self)
    }

    /// Generated VMs in total, spread over the scenario's VM groups.
    pub fn vms(mut self, total: usize) -> Self {
        self.vms = Some(total);
        self
    }

    /// Addressing mode.
    pub fn addressing(mut self, addressing: Addressing) -> Self {
        self.addressing = addressing;
        self
    }

    /// The port to use (0 = any free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serve plain HTTP instead of HTTPS.
    pub fn plain_http(mut self) -> Self {
        self.tls = false;
        self
    }

    /// Simulation tunables.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How long a wrong password takes to be refused (xapi: 5 s).
    pub fn auth_failure_delay(mut self, delay: Duration) -> Self {
        self.config.auth_failure_delay = delay;
        self
    }

    /// With HA on, how long after the coordinator dies a survivor is elected (xapi: its
    /// heartbeat timeout, 60 s by default; the simulator's default is 2 s). Until then the
    /// members answer as members of a dead coordinator.
    pub fn ha_election_delay(mut self, delay: Duration) -> Self {
        self.config.ha_election_delay = delay;
        self
    }

    /// Also serve the JSON control endpoint on 127.0.0.1.
    pub fn control_endpoint(mut self) -> Self {
        self.control = true;
        self
    }

    /// Binds every host and starts serving.
    pub async fn start(self) -> Result<Simulator, SimError> {
        let mut scenario = match self.scenario.clone() {
            Some(s) => s,
            None => Scenario::builtin("lab")?,
        };
        if let Some(n) = self.vms {
            scenario = scenario.with_generated_vms(n);
        }
        let listeners = bind_all(&scenario, self.addressing, self.port).await?;
        let endpoints: Vec<(String, u16)> = listeners
            .iter()
            .map(|(a, l)| (a.clone(), l.local_addr().map(|x| x.port()).unwrap_or(0)))
            .collect();
        let certs: Vec<Option<(tokio_rustls::TlsAcceptor, Certificate)>> = endpoints
            .iter()
            .map(|(a, _)| self.tls.then(|| make_tls(a)))
            .collect();
        let fingerprints: Vec<Option<Certificate>> = certs
            .iter()
            .map(|c| c.as_ref().map(|(_, f)| f.clone()))
            .collect();
        let world = build_world(
            &scenario,
            &endpoints,
            &fingerprints,
            self.addressing,
            self.config.clone(),
        );
        let sim = Sim::new(world);
        let mut servers = Vec::new();
        for (i, (_, listener)) in listeners.into_iter().enumerate() {
            servers.push(Some(server::spawn(
                sim.clone(),
                i,
                listener,
                certs[i].as_ref().map(|(a, _)| a.clone()),
            )));
        }
        let simulator = Simulator {
            inner: Arc::new(SimulatorInner {
                sim,
                servers: Mutex::new(servers),
                acceptors: certs.into_iter().map(|c| c.map(|(a, _)| a)).collect(),
                endpoints,
                fingerprints,
                scheme: if self.tls { "https" } else { "http" },
                addressing: self.addressing,
                scenario: Mutex::new(scenario),
                control: Mutex::new(None),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        if self.control {
            simulator.start_control().await?;
        }
        Ok(simulator)
    }
}

async fn bind_all(
    scenario: &Scenario,
    addressing: Addressing,
    port: u16,
) -> Result<Vec<(String, tokio::net::TcpListener)>, SimError> {
    let bind = |address: String, port: u16| async move {
        tokio::net::TcpListener::bind((address.as_str(), port))
            .await
            .map_err(|e| SimError::Bind {
                address: format!("{address}:{port}"),
                message: e.to_string(),
            })
    };
    let addresses: Vec<String> = scenario
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| match addressing {
            _ if !h.address.is_empty() => h.address.clone(),
            Addressing::LoopbackAddresses => format!("127.0.0.{}", i + 1),
            Addressing::DistinctPorts => "127.0.0.1".into(),
        })
        .collect();
    match addressing {
        Addressing::DistinctPorts => {
            let mut out = Vec::new();
            for (i, a) in addresses.into_iter().enumerate() {
                let p = if port == 0 { 0 } else { port + i as u16 };
                out.push((a.clone(), bind(a, p).await?));
            }
            Ok(out)
        }
        Addressing::LoopbackAddresses => {
            // One port for all: take a free one on the first address, then the same port on
            // the others; retry with another port if one of them is taken.
            let mut last = None;
            for _ in 0..20 {
                let first = bind(addresses[0].clone(), port).await?;
                let p = first.local_addr().map(|a| a.port()).unwrap_or(port);
                let mut out = vec![(addresses[0].clone(), first)];
                let mut ok = true;
                for a in &addresses[1..] {
                    match bind(a.clone(), p).await {
                        Ok(l) => out.push((a.clone(), l)),
                        Err(e) => {
                            last = Some(e);
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    return Ok(out);
                }
                if port != 0 {
                    break;
                }
            }
            Err(last.unwrap_or(SimError::Bind {
                address: addresses[0].clone(),
                message: "no common free port".into(),
            }))
        }
    }
}

/// A host's certificate: its fingerprint and PEM text.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// SHA-256 of the DER.
    pub fingerprint: xenpool::Fingerprint,
    /// The certificate, PEM.
    pub pem: String,
}

fn make_tls(address: &str) -> (tokio_rustls::TlsAcceptor, Certificate) {
    let cert = rcgen::generate_simple_self_signed(vec![address.to_string(), "localhost".into()])
        .expect("rcgen makes a certificate");
    let der = cert.cert.der().to_vec();
    let certificate = Certificate {
        fingerprint: xenpool::Fingerprint::of_der(&der),
        pem: cert.cert.pem(),
    };
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("default TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![der.into()], key)
    .expect("a fresh certificate and key match");
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        certificate,
    )
}

/// Builds the world a scenario describes: every host installed standalone, then pools
/// formed by the same merge a join performs, then shared storage, bonds, VMs and HA.
pub fn build_world(
    scenario: &Scenario,
    endpoints: &[(String, u16)],
    certificates: &[Option<Certificate>],
    addressing: Addressing,
    config: Config,
) -> World {
    let mut world = World::new(config);
    for (i, profile) in scenario.hosts.iter().enumerate() {
        let (address, port) = endpoints[i].clone();
        let host_address = host_address(&address, port, addressing);
        let uuid = uuid_for(&format!("{}/{}", scenario.name, profile.name));
        let mut db = Db::new();
        let built = build_standalone(&mut db, profile, &uuid, &host_address, i as u64 + 1);
        let pool = world.add_pool(db, profile.password.clone());
        let scheme = if certificates.get(i).is_some_and(Option::is_some) {
            "https"
        } else {
            "http"
        };
        let ip = if address.contains(':') {
            format!("[{address}]")
        } else {
            address.clone()
        };
        world.hosts.push(SimHost {
            name: profile.name.clone(),
            address: host_address,
            port,
            url: format!("{scheme}://{ip}:{port}"),
            pool,
            host_ref: built.host,
            uuid,
            alive: true,
            clock_offset: profile.clock_offset_secs,
            latency: Duration::ZERO,
            drop_connections: false,
            master_address: None,
            local_sessions: Default::default(),
            profile: profile.clone(),
            fingerprint: certificates
                .get(i)
                .cloned()
                .flatten()
                .map(|c| c.fingerprint),
            certificate_pem: certificates.get(i).cloned().flatten().map(|c| c.pem),
        });
    }
    for spec in &scenario.pools {
        let Some(master) = world.host_by_name(&spec.master) else {
            continue;
        };
        for member in &spec.members {
            if let Some(m) = world.host_by_name(member) {
                model::membership::merge_into_pool(&mut world, m, master);
            }
        }
        let pool_id = world.hosts[master].pool;
        let hosts: Vec<String> = world
            .members(pool_id)
            .iter()
            .map(|&i| world.hosts[i].host_ref.clone())
            .collect();
        let db = &mut world.pools.get_mut(&pool_id).expect("pool").db;
        let pool_ref = World::pool_ref(db);
        db.update("pool", &pool_ref, |r| {
            r.insert("name_label".into(), Value::String(spec.name.clone()));
        });
        let mut srs: IndexMap<String, String> = db
            .all("SR")
            .map(|(k, r)| {
                (
                    r.get("name_label")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    k.clone(),
                )
            })
            .collect();
        for sr in &spec.shared_srs {
            let sr_ref = profile::create_sr(
                db,
                &profile::SrProfile {
                    shared: true,
                    ..sr.clone()
                },
            );
            let mut device_config = IndexMap::new();
            if sr.kind == "nfs" {
                device_config.insert("server".to_string(), Value::String(sr.server.clone()));
                device_config.insert(
                    "serverpath".to_string(),
                    Value::String(sr.serverpath.clone()),
                );
            }
            for h in &hosts {
                db.create(
                    "PBD",
                    record([
                        ("host", Value::String(h.clone())),
                        ("SR", Value::String(sr_ref.clone())),
                        ("device_config", Value::Struct(device_config.clone())),
                        ("currently_attached", Value::Bool(true)),
                    ]),
                );
            }
            srs.insert(sr.name.clone(), sr_ref);
        }
        if let Some(first) = spec
            .shared_srs
            .first()
            .and_then(|s| srs.get(&s.name))
            .cloned()
        {
            db.update("pool", &pool_ref, |r| {
                for k in ["default_SR", "suspend_image_SR", "crash_dump_SR"] {
                    r.insert(k.into(), Value::String(first.clone()));
                }
            });
        }
        for (n, bond) in spec.bonds.iter().enumerate() {
            let network = db.create(
                "network",
                record([
                    (
                        "name_label",
                        Value::String(if bond.network.is_empty() {
                            format!("Bond {n}")
                        } else {
                            bond.network.clone()
                        }),
                    ),
                    ("bridge", Value::String(format!("xapi{n}"))),
                    ("MTU", Value::Int(1500)),
                    ("managed", Value::Bool(true)),
                ]),
            );
            for h in &hosts {
                let members: Vec<String> = bond
                    .members
                    .iter()
                    .filter_map(|d| {
                        db.find("PIF", |r| {
                            r.get("host").and_then(Value::as_str) == Some(h)
                                && r.get("device").and_then(Value::as_str) == Some(d)
                        })
                        .into_iter()
                        .next()
                    })
                    .collect();
                if !members.is_empty() {
                    let mode = if bond.mode.is_empty() {
                        "active-backup"
                    } else {
                        &bond.mode
                    };
                    model::network::make_bond(
                        db,
                        h,
                        &members,
                        mode,
                        &network,
                        None,
                        IndexMap::new(),
                    );
                }
            }
        }
        let cpu = world.hosts[master].profile.cpu.clone();
        let db = &mut world.pools.get_mut(&pool_id).expect("pool").db;
        let mut n = 0usize;
        for group in &spec.vm_groups {
            for _ in 0..group.count {
                n += 1;
                let vm = profile::VmProfile {
                    name: group.vm.name.replace("{n}", &n.to_string()),
                    ..group.vm.clone()
                };
                let host = &hosts[n % hosts.len()];
                create_vm(db, &vm, host, &srs, &cpu);
            }
        }
        for h in &hosts {
            model::placement::refresh_free_memory(db, h);
        }
        if spec.ha
            && let Some(sr) = spec
                .shared_srs
                .first()
                .and_then(|s| srs.get(&s.name))
                .cloned()
        {
            let statefile = db.create(
                "VDI",
                record([
                    ("name_label", Value::String("Statefile for HA".into())),
                    ("SR", Value::String(sr)),
                    ("type", Value::String("ha_statefile".into())),
                ]),
            );
            db.update("pool", &pool_ref, |r| {
                r.insert("ha_enabled".into(), Value::Bool(true));
                r.insert(
                    "ha_statefiles".into(),
                    Value::Array(vec![Value::String(statefile)]),
                );
                r.insert("ha_cluster_stack".into(), Value::String("xhad".into()));
                r.insert("ha_host_failures_to_tolerate".into(), Value::Int(1));
            });
        }
    }
    let pools: Vec<world::PoolId> = world.pools.keys().copied().collect();
    for pool in pools {
        world.check_clock_skew(pool);
    }
    world
}

fn host_address(address: &str, port: u16, addressing: Addressing) -> String {
    match addressing {
        Addressing::LoopbackAddresses => address.to_string(),
        Addressing::DistinctPorts => format!("{address}:{port}"),
    }
}

/// The shared part of a [`Simulator`] (the control endpoint holds it weakly).
pub struct SimulatorInner {
    sim: Sim,
    servers: Mutex<Vec<Option<HostServer>>>,
    acceptors: Vec<Option<tokio_rustls::TlsAcceptor>>,
    endpoints: Vec<(String, u16)>,
    fingerprints: Vec<Option<Certificate>>,
    scheme: &'static str,
    addressing: Addressing,
    scenario: Mutex<Scenario>,
    control: Mutex<Option<(HostServer, String)>>,
    /// The runtime the servers run on: control methods spawn and register listeners
    /// there, so they work from any thread, inside another runtime or none.
    runtime: tokio::runtime::Handle,
}

impl Drop for SimulatorInner {
    fn drop(&mut self) {
        if let Ok(servers) = self.servers.lock() {
            for s in servers.iter().flatten() {
                s.stop();
            }
        }
        if let Ok(Some((c, _))) = self.control.lock().as_deref() {
            c.stop();
        }
    }
}

/// A running simulator. Cloning shares it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<SimulatorInner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field(
                "hosts",
                &self
                    .hosts()
                    .iter()
                    .map(|h| h.url.clone())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Simulator {
    /// Re-creates a handle from the control endpoint's weak reference.
    pub fn from_inner(inner: Arc<SimulatorInner>) -> Self {
        Simulator { inner }
    }

    /// A builder with the `lab` scenario, HTTPS and 127.0.0.N addresses.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The simulated world (for assertions; never hold it across an `.await`).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.sim.world()
    }

    /// The shared state handle.
    pub fn sim(&self) -> &Sim {
        &self.inner.sim
    }

    /// Every host's endpoint and credentials.
    pub fn hosts(&self) -> Vec<HostInfo> {
        let world = self.world();
        world
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| HostInfo {
                name: h.name.clone(),
                uuid: h.uuid.clone(),
                address: h.address.clone(),
                port: h.port,
                url: format!(
                    "{}://{}:{}",
                    self.inner.scheme, self.inner.endpoints[i].0, h.port
                ),
                username: "root".into(),
                password: world
                    .pools
                    .get(&h.pool)
                    .map(|p| p.root_password.clone())
                    .unwrap_or_default(),
                fingerprint: self.inner.fingerprints[i].as_ref().map(|c| c.fingerprint),
                alive: h.alive,
                master_address: h.master_address.clone(),
            })
            .collect()
    }

    /// One host by scenario name or uuid.
    pub fn host(&self, name: &str) -> Result<HostInfo, SimError> {
        self.hosts()
            .into_iter()
            .find(|h| h.name == name || h.uuid == name)
            .ok_or_else(|| SimError::UnknownHost(name.into()))
    }

    fn index(&self, name: &str) -> Result<usize, SimError> {
        self.world()
            .host_by_name(name)
            .ok_or_else(|| SimError::UnknownHost(name.into()))
    }

    /// Sessions alive in the whole simulation (pool sessions and local ones).
    pub fn session_count(&self) -> usize {
        self.world().session_count()
    }

    /// Adds `latency` before every reply of a host.
    pub fn set_latency(&self, host: &str, latency: Duration) -> Result<(), SimError> {
        let i = self.index(host)?;
        self.world().hosts[i].latency = latency;
        Ok(())
    }

    /// Makes a host close every connection without answering (or stop doing so).
    pub fn drop_connections(&self, host: &str, drop: bool) -> Result<(), SimError> {
        let i = self.index(host)?;
        self.world().hosts[i].drop_connections = drop;
        Ok(())
    }

    /// Sets a host's clock offset from real time.
    pub fn skew_clock(&self, host: &str, seconds: i64) -> Result<(), SimError> {
        let i = self.index(host)?;
        let mut world = self.world();
        world.hosts[i].clock_offset = seconds;
        let pool = world.hosts[i].pool;
        world.check_clock_skew(pool);
        Ok(())
    }

    /// Kills a host: its listener and connections close. With HA on, the pool notices
    /// after the election delay: a survivor becomes coordinator if needed and protected
    /// VMs restart elsewhere. Without HA, members of a dead coordinator go into emergency
    /// mode.
    pub fn kill(&self, host: &str) -> Result<(), SimError> {
        let i = self.index(host)?;
        if let Some(Some(s)) = self
            .inner
            .servers
            .lock()
            .expect("servers")
            .get_mut(i)
            .map(Option::take)
        {
            s.stop();
        }
        let (ha, delay) = {
            let mut world = self.world();
            world.hosts[i].alive = false;
            let pool = world.hosts[i].pool;
            let db = &world.pools[&pool].db;
            let pool_ref = World::pool_ref(db);
            let ha = matches!(
                db.get_field("pool", &pool_ref, "ha_enabled"),
                Some(Value::Bool(true))
            );
            (ha, world.config.ha_election_delay)
        };
        if ha {
            let sim = self.inner.sim.clone();
            self.inner.runtime.spawn(async move {
                tokio::time::sleep(delay).await;
                sim.ha_host_failed(i);
            });
        }
        Ok(())
    }

    /// Restarts a killed host on its old address (async form of [`Simulator::revive`]).
    pub async fn restart(&self, host: &str) -> Result<(), SimError> {
        self.revive(host)
    }

    /// Restarts a killed host on its old address. Callable from any thread, inside a
    /// runtime or not.
    pub fn revive(&self, host: &str) -> Result<(), SimError> {
        let i = self.index(host)?;
        let mut servers = self.inner.servers.lock().expect("servers");
        if servers[i].is_some() {
            return Ok(());
        }
        let (address, port) = &self.inner.endpoints[i];
        let listener = self.listen(address, *port).map_err(|e| SimError::Bind {
            address: format!("{address}:{port}"),
            message: e.to_string(),
        })?;
        self.inner.sim.host_restarted(i);
        servers[i] = Some(self.serve(i, listener));
        Ok(())
    }

    /// Binds `address:port` and registers it with the simulator's runtime.
    fn listen(&self, address: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
        let _runtime = self.inner.runtime.enter();
        std::net::TcpListener::bind((address, port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
    }

    /// Serves host `i` on `listener`, on the simulator's runtime.
    fn serve(&self, i: usize, listener: tokio::net::TcpListener) -> HostServer {
        let _runtime = self.inner.runtime.enter();
        server::spawn(
            self.inner.sim.clone(),
            i,
            listener,
            self.inner.acceptors[i].clone(),
        )
    }

    /// Rebuilds the world from the current scenario (hosts keep their endpoints).
    pub fn reset(&self) {
        let scenario = self.inner.scenario.lock().expect("scenario").clone();
        self.replace(&scenario);
    }

    /// Loads another scenario with the same number of hosts (endpoints are reused).
    pub fn load(&self, scenario: Scenario) -> Result<(), SimError> {
        if scenario.hosts.len() != self.inner.endpoints.len() {
            return Err(SimError::Scenario(scenario::ScenarioError {
                name: scenario.name.clone(),
                message: format!(
                    "has {} hosts; this simulator serves {} (start a new one)",
                    scenario.hosts.len(),
                    self.inner.endpoints.len()
                ),
            }));
        }
        self.replace(&scenario);
        *self.inner.scenario.lock().expect("scenario") = scenario;
        Ok(())
    }

    fn replace(&self, scenario: &Scenario) {
        let config = self.world().config.clone();
        let world = build_world(
            scenario,
            &self.inner.endpoints,
            &self.inner.fingerprints,
            self.inner.addressing,
            config,
        );
        *self.world() = world;
        // Hosts killed before the reset come back, so the lab works again entirely.
        let mut servers = self.inner.servers.lock().expect("servers");
        for (i, slot) in servers.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let (address, port) = &self.inner.endpoints[i];
            match self.listen(address, *port) {
                Ok(listener) => *slot = Some(self.serve(i, listener)),
                Err(e) => tracing::warn!(%address, port, "cannot listen again after reset: {e}"),
            }
        }
    }

    /// The control endpoint's URL, if started.
    pub fn control_url(&self) -> Option<String> {
        self.inner
            .control
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, u)| u.clone()))
    }

    async fn start_control(&self) -> Result<(), SimError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| SimError::Bind {
                address: "127.0.0.1:0".into(),
                message: e.to_string(),
            })?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| SimError::Bind {
                address: "127.0.0.1".into(),
                message: e.to_string()
            })?
        );
        let server = control::spawn(Arc::downgrade(&self.inner), listener);
        *self.inner.control.lock().expect("control") = Some((server, url));
        Ok(())
    }

    /// The profile of a host, as the scenario describes it.
    pub fn profile(&self, host: &str) -> Result<HostProfile, SimError> {
        let i = self.index(host)?;
        Ok(self.world().hosts[i].profile.clone())
    }
}
