//! The simulated world: hosts (each with its own address and view of its role) and pool
//! databases (one per pool, shared by its members as xapi's replicated database is).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use xenpool::wire::Value;

use crate::db::{Db, Record};
use crate::profile::HostProfile;

/// Identifies a pool database.
pub type PoolId = u64;

/// Tunables of the simulation.
#[derive(Debug, Clone)]
pub struct Config {
    /// xapi waits 5 s before answering a wrong password (xapi_session.ml).
    pub auth_failure_delay: Duration,
    /// How long a host's xapi is away while it restarts (after join, transitions).
    pub xapi_restart_delay: Duration,
    /// With HA on, how long after the coordinator dies a survivor takes over.
    pub ha_election_delay: Duration,
    /// Session caps per originator / per user / for the rest (xapi_globs.ml).
    pub max_sessions_per_originator: usize,
    /// See `max_sessions_per_originator`.
    pub max_sessions_per_user: usize,
    /// See `max_sessions_per_originator`.
    pub max_sessions_other: usize,
    /// How long simulated long operations (start, migrate, …) take in all.
    pub operation_time: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            auth_failure_delay: Duration::from_secs(5),
            xapi_restart_delay: Duration::from_millis(200),
            ha_election_delay: Duration::from_secs(2),
            max_sessions_per_originator: 500,
            max_sessions_per_user: 500,
            max_sessions_other: 400,
            operation_time: Duration::from_millis(50),
        }
    }
}

/// One simulated host.
#[derive(Debug, Clone)]
pub struct SimHost {
    /// Name in the scenario (also the host's `name_label` at start).
    pub name: String,
    /// The loopback address it listens on.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// The pool database it belongs to.
    pub pool: PoolId,
    /// Its `host` object in that database.
    pub host_ref: String,
    /// Its uuid (kept across join and eject, as xapi does).
    pub uuid: String,
    /// False while killed: connections are refused.
    pub alive: bool,
    /// Seconds its clock is ahead (negative: behind).
    pub clock_offset: i64,
    /// Delay added before every reply.
    pub latency: Duration,
    /// Close every connection without answering.
    pub drop_connections: bool,
    /// `pool.conf`: `None` = coordinator, `Some(address)` = member of that coordinator.
    pub master_address: Option<String>,
    /// Sessions from `slave_local_login_with_password`, valid on this host only.
    pub local_sessions: HashSet<String>,
    /// The host's hardware and software, to rebuild it after an eject.
    pub profile: HostProfile,
    /// Its TLS certificate's SHA-256 fingerprint.
    pub fingerprint: Option<xenpool::Fingerprint>,
    /// Its TLS certificate, PEM (HTTPS mode).
    pub certificate_pem: Option<String>,
}

/// A pool's database and the things that live beside it.
#[derive(Debug)]
pub struct PoolState {
    /// The objects.
    pub db: Db,
    /// The root password (members take the coordinator's).
    pub root_password: String,
}

/// Everything simulated.
#[derive(Debug, Default)]
pub struct World {
    /// Hosts, indexed by position.
    pub hosts: Vec<SimHost>,
    /// Pool databases.
    pub pools: HashMap<PoolId, PoolState>,
    next_pool: PoolId,
    /// Tunables.
    pub config: Config,
}

impl World {
    /// An empty world.
    pub fn new(config: Config) -> Self {
        World {
            config,
            ..Default::default()
        }
    }

    /// Adds a pool database and returns its id.
    pub fn add_pool(&mut self, db: Db, root_password: String) -> PoolId {
        self.next_pool += 1;
        self.pools
            .insert(self.next_pool, PoolState { db, root_password });
        self.next_pool
    }

    /// The host listening on `address` (exact match on the address string).
    pub fn host_by_address(&self, address: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.address == address)
    }

    /// The host with this scenario name or uuid.
    pub fn host_by_name(&self, name: &str) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.name == name || h.uuid == name)
    }

    /// The pool a host belongs to.
    pub fn pool(&self, host: usize) -> &PoolState {
        &self.pools[&self.hosts[host].pool]
    }

    /// The pool a host belongs to, mutably.
    pub fn pool_mut(&mut self, host: usize) -> &mut PoolState {
        let id = self.hosts[host].pool;
        self.pools.get_mut(&id).expect("every host has a pool")
    }

    /// The database of a host's pool.
    pub fn db(&mut self, host: usize) -> &mut Db {
        &mut self.pool_mut(host).db
    }

    /// Hosts in a pool.
    pub fn members(&self, pool: PoolId) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&i| self.hosts[i].pool == pool)
            .collect()
    }

    /// The host that the pool database names as coordinator.
    pub fn coordinator(&self, pool: PoolId) -> Option<usize> {
        let db = &self.pools.get(&pool)?.db;
        let (_, record) = db.all("pool").next()?;
        let master = record.get("master")?.as_str()?;
        self.hosts
            .iter()
            .position(|h| h.pool == pool && h.host_ref == master)
    }

    /// The pool object's reference in a database.
    pub fn pool_ref(db: &Db) -> String {
        db.all("pool")
            .next()
            .map(|(r, _)| r.clone())
            .unwrap_or_default()
    }

    /// The host's current time, with its clock offset.
    pub fn host_time(&self, host: usize) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.hosts[host].clock_offset)
    }

    /// The simulator host behind a `host` reference in a pool.
    pub fn host_by_ref(&self, pool: PoolId, host_ref: &str) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.pool == pool && h.host_ref == host_ref)
    }

    /// Number of live sessions in every pool database and on every host.
    pub fn session_count(&self) -> usize {
        self.pools
            .values()
            .map(|p| p.db.count("session"))
            .sum::<usize>()
            + self
                .hosts
                .iter()
                .map(|h| h.local_sessions.len())
                .sum::<usize>()
    }
}

/// Builds a record from `(field, value)` pairs.
pub fn record<I, K>(pairs: I) -> Record
where
    I: IntoIterator<Item = (K, Value)>,
    K: Into<String>,
{
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}
