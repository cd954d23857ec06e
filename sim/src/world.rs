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
    /// Where it really listens (`https://127.0.0.2:PORT`): what its address resolves to.
    pub url: String,
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
    /// Legacy `event.register` queues, by session.
    pub event_registrations: HashMap<String, crate::db::events::Registration>,
    /// Hosts already reported with `HOST_CLOCK_SKEW_DETECTED` (re-armed below half the
    /// limit, as xapi's `db_gc.ml` does).
    pub clock_skew_reported: HashSet<String>,
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

    /// The host a `master_address` names. xapi treats the whole string as a host name on
    /// its one HTTPS port (`xapi_pool.ml` `rpc`), so only a host's exact address resolves:
    /// `127.0.0.2:443` names no host. In distinct-ports mode a host's address is its
    /// `127.0.0.1:PORT` string, which resolves through the same map.
    pub fn resolve(&self, master_address: &str) -> Option<usize> {
        self.host_by_address(master_address)
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

    /// The coordinator compares every member's clock with its own and raises the alert
    /// `HOST_CLOCK_SKEW_DETECTED` (priority 3) once a member is more than 300 s off,
    /// re-armed when the skew falls below 150 s (`db_gc.ml` `detect_clock_skew`,
    /// `xapi_globs.ml` `max_clock_skew`).
    pub fn check_clock_skew(&mut self, pool: PoolId) {
        const MAX_CLOCK_SKEW: i64 = 300;
        let Some(coordinator) = self.coordinator(pool) else {
            return;
        };
        let reference = self.hosts[coordinator].clock_offset;
        for member in self.members(pool) {
            let skew = (self.hosts[member].clock_offset - reference).abs();
            let uuid = self.hosts[member].uuid.clone();
            if skew > MAX_CLOCK_SKEW && self.clock_skew_reported.insert(uuid.clone()) {
                let name = self.hosts[member].name.clone();
                let db = &mut self.pools.get_mut(&pool).expect("pool").db;
                let pool_name = db.str_field("pool", &World::pool_ref(db), "name_label");
                crate::model::messages::add(
                    db,
                    "HOST_CLOCK_SKEW_DETECTED",
                    3,
                    "Host",
                    &uuid,
                    &format!(
                        "The clock of host '{name}' is {skew} s away from the coordinator's \
                         in pool '{pool_name}'; VM operations and performance data may suffer."
                    ),
                );
            } else if skew < MAX_CLOCK_SKEW / 2 {
                self.clock_skew_reported.remove(&uuid);
            }
        }
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
