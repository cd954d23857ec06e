//! A connection to a whole pool rather than one host: it follows `HOST_IS_SLAVE`,
//! remembers every member, and when the coordinator stops answering (HA election,
//! `designate_new_master`, emergency transition) probes the members and carries on with
//! the new coordinator. Reads are retried after a failover; a call that changes state and
//! may or may not have happened is never retried blindly ([`Error::Indeterminate`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::call::{CallRequest, Caller};
use crate::connection::Connection;
use crate::error::{BoxError, Error, Result};
use crate::generated::{ErrorCode, Host, Pool};
use crate::secret::Credentials;
use crate::tls::{Fingerprint, Tls};
use crate::transport::ConnectOptions;
use crate::wire::{ResultSeed, Value};

/// A pool member as remembered for failover.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// `host.name_label`.
    pub name: String,
    /// `host.address`, what `HOST_IS_SLAVE` and `pool.join` use.
    pub address: String,
    /// Its certificate fingerprint, learnt from the coordinator, for pinned connections.
    pub fingerprint: Option<Fingerprint>,
}

struct Inner {
    conn: Connection,
    members: Mutex<Vec<Member>>,
    /// Milliseconds; shared by every clone, so setting it affects them all.
    failover_timeout_ms: AtomicU64,
    /// Whether HA was on when the members were last read: it decides what a lost
    /// coordinator means (HA elects another; without HA nothing does).
    ha_enabled: AtomicBool,
    /// One failover at a time: concurrent calls that all lost the coordinator must not
    /// retarget the shared session against each other.
    failover_lock: tokio::sync::Mutex<()>,
}

/// A session on a pool that survives coordinator changes. Cheap to clone.
#[derive(Clone)]
pub struct PoolConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PoolConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolConnection")
            .field("coordinator", &self.coordinator_address())
            .field("members", &self.members())
            .finish()
    }
}

impl Pool {
    /// Connects to the pool that `address` (any member, or its coordinator) belongs to.
    pub async fn connect(
        address: &str,
        credentials: Credentials,
        tls: Tls,
    ) -> Result<PoolConnection> {
        PoolConnection::connect(
            address,
            credentials,
            ConnectOptions {
                tls,
                ..ConnectOptions::default()
            },
        )
        .await
    }
}

/// Methods that only read, so they can be sent again after a failover.
pub fn is_idempotent(method: &str) -> bool {
    if method.starts_with("Async.") {
        return false;
    }
    let message = method.split_once('.').map_or(method, |(_, m)| m);
    message.starts_with("get_")
        || message.starts_with("assert_")
        || message.starts_with("compute_")
        || message.starts_with("ha_compute_")
        || matches!(
            method,
            "event.from"
                | "event.get_current_id"
                | "event.inject"
                | "host.get_servertime"
                | "host.get_server_localtime"
        )
}

/// The SHA-256 fingerprint of a PEM certificate.
pub fn fingerprint_of_pem(pem: &str) -> Option<Fingerprint> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    Some(Fingerprint::of_der(der.as_ref()))
}

impl PoolConnection {
    /// Logs in through `address` and learns the members.
    pub async fn connect(
        address: &str,
        credentials: Credentials,
        options: ConnectOptions,
    ) -> Result<Self> {
        let conn = Connection::login(address, credentials, options).await?;
        Self::from_connection(conn).await
    }

    /// Wraps an existing session and learns the members.
    pub async fn from_connection(conn: Connection) -> Result<Self> {
        let pool = PoolConnection {
            inner: Arc::new(Inner {
                conn,
                members: Mutex::new(vec![]),
                failover_timeout_ms: AtomicU64::new(30_000),
                ha_enabled: AtomicBool::new(false),
                failover_lock: tokio::sync::Mutex::new(()),
            }),
        };
        pool.refresh_members().await?;
        Ok(pool)
    }

    /// How long to keep probing members for a new coordinator (30 s by default).
    pub fn with_failover_timeout(self, timeout: Duration) -> Self {
        self.inner.failover_timeout_ms.store(
            timeout.as_millis().try_into().unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self
    }

    fn failover_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.failover_timeout_ms.load(Ordering::Relaxed))
    }

    /// The session underneath (on the current coordinator).
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The members as last learnt.
    pub fn members(&self) -> Vec<Member> {
        self.inner
            .members
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The address of the host now serving the session.
    pub fn coordinator_address(&self) -> String {
        self.inner.conn.host_address()
    }

    /// Reads the members' addresses (and certificates, for pinned connections) again.
    pub async fn refresh_members(&self) -> Result<Vec<Member>> {
        let hosts = Host::get_all_records(&self.inner.conn).await?;
        let pinned = matches!(self.inner.conn.options().tls, Tls::Pinned(_));
        let mut members = Vec::with_capacity(hosts.len());
        for (host, record) in hosts {
            let fingerprint = if pinned {
                // Learnt over the pinned coordinator connection, so it can be trusted.
                Host::get_server_certificate(&self.inner.conn, &host)
                    .await
                    .ok()
                    .and_then(|pem| fingerprint_of_pem(&pem))
            } else {
                None
            };
            members.push(Member {
                name: record.name_label,
                address: record.address,
                fingerprint,
            });
        }
        members.sort_by(|a, b| a.address.cmp(&b.address));
        if let Ok(pools) = Pool::get_all_records(&self.inner.conn).await {
            let ha = pools.into_values().any(|p| p.ha_enabled);
            self.inner.ha_enabled.store(ha, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.inner.members.lock() {
            *m = members.clone();
        }
        Ok(members)
    }

    /// Logs out. Calls afterwards fail.
    pub async fn close(&self) -> Result<()> {
        self.inner.conn.logout().await
    }

    fn tls_for(&self, member: &Member) -> Option<Tls> {
        match &self.inner.conn.options().tls {
            Tls::Pinned(_) => member.fingerprint.map(Tls::Pinned),
            other => Some(other.clone()),
        }
    }

    /// True if the current coordinator still answers a trivial read.
    async fn coordinator_answers(&self) -> bool {
        self.inner
            .conn
            .call_with_timeout::<Value>("pool.get_all", true, vec![], Some(Duration::from_secs(3)))
            .await
            .is_ok()
    }

    /// Finds the new coordinator by probing the remembered members. Members in emergency
    /// mode (`HOST_STILL_BOOTING`: their coordinator is gone and none was elected yet) are
    /// asked again until the failover timeout.
    pub async fn failover(&self) -> Result<()> {
        let _one_at_a_time = self.inner.failover_lock.lock().await;
        // Another call may have found the new coordinator while this one waited.
        if self.coordinator_answers().await {
            return Ok(());
        }
        let dead = self.coordinator_address();
        let members = self.members();
        let deadline = Instant::now() + self.failover_timeout();
        let mut last_problem = String::from("no member to ask");
        let mut last_error: Option<Error> = None;
        while Instant::now() < deadline {
            for member in members
                .iter()
                .filter(|m| m.address != dead)
                .chain(members.iter().filter(|m| m.address == dead))
            {
                let Some(tls) = self.tls_for(member) else {
                    last_problem = format!("no pinned certificate for member {}", member.address);
                    last_error = None;
                    continue;
                };
                self.inner.conn.retarget(&member.address, tls)?;
                match self
                    .inner
                    .conn
                    .call_with_timeout::<Value>(
                        "pool.get_all",
                        true,
                        vec![],
                        Some(Duration::from_secs(3)),
                    )
                    .await
                {
                    Ok(_) => {
                        tracing::info!(
                            from = %dead,
                            to = %self.coordinator_address(),
                            "pool coordinator changed; carrying on"
                        );
                        let _ = self.refresh_members().await;
                        return Ok(());
                    }
                    Err(e) => {
                        last_problem = format!("{}: {e}", member.address);
                        last_error = Some(e);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let advice = if self.inner.ha_enabled.load(Ordering::Relaxed) {
            "HA is on, yet no member answered as coordinator: the surviving hosts may have \
             lost their quorum, or every host is down; bring hosts back up and HA elects a \
             coordinator"
        } else {
            "HA is off, so no member takes over by itself: when the coordinator is gone for \
             good, recover a member (xenpool's recover_lost_coordinator, the shell's \
             recover_coordinator(member); it uses pool.emergency_transition_to_master and \
             pool.recover_slaves)"
        };
        Err(Error::Transport {
            url: dead.clone(),
            message: format!(
                "the pool coordinator {dead} stopped answering and no member took over within \
                 {:?} (last: {last_problem}); {advice}",
                self.failover_timeout()
            ),
            may_have_reached_host: false,
            source: last_error.map(|e| Box::new(e) as BoxError),
        })
    }
}

fn lost_coordinator(e: &Error) -> bool {
    matches!(e, Error::Transport { .. } | Error::Timeout { .. })
        || e.is_code(&ErrorCode::HostStillBooting)
}

impl Caller for PoolConnection {
    async fn call_seeded<S>(&self, request: CallRequest<'_>, seed: S) -> Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        // The reply is read whole before its result is decoded, so a lost coordinator
        // never leaves a seed half fed: the retry below starts it afresh.
        let first = self
            .inner
            .conn
            .call_seeded(request.clone(), seed.clone())
            .await;
        let error = match first {
            Err(e) if lost_coordinator(&e) => e,
            other => return other,
        };
        // A slow call is not a dead coordinator.
        if matches!(error, Error::Timeout { .. }) && self.coordinator_answers().await {
            return Err(error);
        }
        let sent = error.may_have_reached_host();
        let changes_state = sent && !is_idempotent(request.method);
        if let Err(lost) = self.failover().await {
            // No coordinator to ask, but the call may have been carried out before it went:
            // report that, not the failover's own "never sent" error, so nobody retries a
            // `pool.join` blindly.
            return Err(match changes_state {
                true => Error::Indeterminate {
                    method: request.method.to_string(),
                    reason: format!(
                        "the coordinator stopped answering after the call was sent ({error}), \
                         and no member took over ({lost})"
                    ),
                },
                false => lost,
            });
        }
        if changes_state {
            return Err(Error::Indeterminate {
                method: request.method.to_string(),
                reason: format!(
                    "the coordinator stopped answering after the call was sent ({error}); now \
                     connected to {}",
                    self.coordinator_address()
                ),
            });
        }
        self.inner.conn.call_seeded(request, seed).await
    }
}
