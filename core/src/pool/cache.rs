//! An object cache kept current by `event.from`: bootstrapped with an `event.inject` token
//! followed by `get_all_records` (so no change between the two is missed), refetched when
//! the host reports lost events, with `wait_for` to wait until an object satisfies a
//! condition.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::call::Caller;
use crate::error::{Error, Result};
use crate::event::{EventOperation, EventWatcher, WatchItem};
use crate::generated::Pool;
use crate::types::{Ref, XenClass};
use crate::wire::{self, Value};

type Tables = HashMap<String, HashMap<String, Value>>;

struct Inner {
    tables: RwLock<Tables>,
    changes: tokio::sync::watch::Sender<u64>,
    /// Set when the connection was closed: the cache no longer follows events.
    stopped: AtomicBool,
}

/// Records of the watched classes, kept up to date in the background.
pub struct ObjectCache {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ObjectCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: HashMap<String, usize> = self
            .inner
            .tables
            .read()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.len())).collect())
            .unwrap_or_default();
        f.debug_struct("ObjectCache")
            .field("objects", &counts)
            .finish()
    }
}

impl Drop for ObjectCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads every record of `classes` after taking a token, so the event stream from that
/// token covers anything that changes during the reads.
async fn bootstrap<C: Caller>(caller: &C, classes: &[String]) -> Result<(Tables, String)> {
    let pool = Pool::get_all(caller)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid_argument("pool", "no pool object"))?;
    let token: String = caller
        .call(
            "event.inject",
            true,
            vec![
                Value::String("pool".into()),
                Value::String(pool.into_string()),
            ],
        )
        .await?;
    let mut tables = Tables::new();
    for class in classes {
        let records: HashMap<String, Value> = caller
            .call(&format!("{class}.get_all_records"), true, vec![])
            .await?;
        tables.insert(class.to_ascii_lowercase(), records);
    }
    Ok((tables, token))
}

impl ObjectCache {
    /// Starts caching `classes` (wire names such as `VM`, `host`, `PIF`).
    pub async fn start<C: Caller + Clone + 'static>(caller: C, classes: &[&str]) -> Result<Self> {
        let classes: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        let (tables, token) = bootstrap(&caller, &classes).await?;
        let inner = Arc::new(Inner {
            tables: RwLock::new(tables),
            changes: tokio::sync::watch::Sender::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            let subscriptions: Vec<String> =
                classes.iter().map(|c| c.to_ascii_lowercase()).collect();
            let mut watcher =
                EventWatcher::from_token(caller.clone(), subscriptions.clone(), &token);
            loop {
                match watcher.next().await {
                    Ok(WatchItem::Events(events)) => {
                        if let Ok(mut tables) = shared.tables.write() {
                            for e in events {
                                let table = tables.entry(e.class.clone()).or_default();
                                match (e.operation, e.snapshot) {
                                    (EventOperation::Del, _) => {
                                        table.remove(&e.reference);
                                    }
                                    (_, Some(snapshot)) => {
                                        table.insert(e.reference, snapshot);
                                    }
                                    (_, None) => {}
                                }
                            }
                        }
                        shared.changes.send_modify(|n| *n += 1);
                    }
                    Ok(WatchItem::Resync) => match bootstrap(&caller, &classes).await {
                        Ok((tables, token)) => {
                            if let Ok(mut t) = shared.tables.write() {
                                *t = tables;
                            }
                            watcher = EventWatcher::from_token(
                                caller.clone(),
                                subscriptions.clone(),
                                &token,
                            );
                            shared.changes.send_modify(|n| *n += 1);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "object cache: refetch failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                    // The connection was closed: nothing more will come; wake the waiters.
                    Err(Error::SessionClosed) => {
                        shared.stopped.store(true, Ordering::SeqCst);
                        shared.changes.send_modify(|n| *n += 1);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "object cache: event.from failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(ObjectCache { inner, task })
    }

    /// Decodes a cached record; one that does not fit its type is reported, not dropped.
    fn decode<T: DeserializeOwned>(class: &str, reference: &str, value: Value) -> Result<T> {
        wire::from_value(value).map_err(|e| {
            Error::Protocol(wire::ProtocolError::new(
                e.kind,
                format!("cached {class} record {reference}: {}", e.message),
            ))
        })
    }

    /// The cached record of an object (`Ok(None)` when it is not cached).
    pub fn get<C: XenClass>(&self, r: &Ref<C>) -> Result<Option<C::Record>> {
        self.get_value(C::WIRE_NAME, r.as_str())
            .map(|v| Self::decode(C::WIRE_NAME, r.as_str(), v))
            .transpose()
    }

    /// Every cached object of class `C`; fails on the first record that does not decode.
    pub fn all<C: XenClass>(&self) -> Result<HashMap<Ref<C>, C::Record>> {
        let Ok(tables) = self.inner.tables.read() else {
            return Err(Error::Internal(
                "the object cache's lock was poisoned".into(),
            ));
        };
        tables
            .get(&C::WIRE_NAME.to_ascii_lowercase())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        let record = Self::decode(C::WIRE_NAME, k, v.clone())?;
                        Ok((Ref::new(k.clone()), record))
                    })
                    .collect()
            })
            .unwrap_or_else(|| Ok(HashMap::new()))
    }

    /// True once the cache stopped following events (its connection was closed).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Waits until the object's record satisfies `predicate` (returning that record), or
    /// fails with [`Error::Timeout`].
    pub async fn wait_for<C: XenClass>(
        &self,
        r: &Ref<C>,
        predicate: impl Fn(&C::Record) -> bool,
        timeout: Duration,
    ) -> Result<C::Record> {
        // A record that does not decode satisfies the wait, so its error is reported
        // rather than waited out until the timeout.
        let value = self
            .wait_until(
                C::WIRE_NAME,
                r.as_str(),
                |v| {
                    wire::from_value::<C::Record>(v.clone())
                        .map(|record| predicate(&record))
                        .unwrap_or(true)
                },
                timeout,
            )
            .await?;
        Self::decode(C::WIRE_NAME, r.as_str(), value)
    }

    /// The cached record of `class` (wire name, any case) `reference`, untyped.
    pub fn get_value(&self, class: &str, reference: &str) -> Option<Value> {
        let tables = self.inner.tables.read().ok()?;
        tables
            .get(&class.to_ascii_lowercase())?
            .get(reference)
            .cloned()
    }

    /// [`ObjectCache::wait_for`] for dynamic callers (the REPL, the bindings): the record
    /// as a [`Value`].
    pub async fn wait_until(
        &self,
        class: &str,
        reference: &str,
        predicate: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value> {
        let mut changes = self.inner.changes.subscribe();
        let wait = async {
            loop {
                if let Some(record) = self.get_value(class, reference)
                    && predicate(&record)
                {
                    return Ok(record);
                }
                if self.is_stopped() || changes.changed().await.is_err() {
                    return Err(Error::SessionClosed);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                url: "the event cache".into(),
                method: format!("waiting for {class} {reference}"),
                after: timeout,
                may_have_reached_host: false,
            })?
    }
}
