//! An object cache kept current by `event.from`: bootstrapped with an `event.inject` token
//! followed by `get_all_records` (so no change between the two is missed), refetched when
//! the host reports lost events.
//!
//! Waiting comes in two forms, each typed and dynamic: one object until its record
//! satisfies a condition ([`ObjectCache::wait_for`]), or any object of a class, resolving
//! with the first that does ([`ObjectCache::wait_for_any`]). Both run on [`CacheWait`],
//! which hands out the records that changed since the last look, so a front end whose
//! condition cannot run on a runtime thread (a JS function) tests them itself while the
//! cache keeps the deadline and reports the stop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::call::Caller;
use crate::dynamic::{self, Dyn};
use crate::error::{Error, Result};
use crate::event::{EventOperation, EventWatcher, WatchItem};
use crate::generated::Pool;
use crate::meta::{self, Ty};
use crate::types::{Ref, XenClass};
use crate::wire::{self, Value};

/// A record and the cache generation that last wrote it.
struct Entry {
    record: Value,
    version: u64,
}

/// Records by reference, per lower-case class name (as `event.from` names classes).
type Tables = HashMap<String, HashMap<String, Entry>>;

struct Inner {
    /// The classes followed, as the datamodel spells them.
    classes: Vec<&'static str>,
    tables: RwLock<Tables>,
    /// The generation: bumped after every change to `tables`.
    changes: watch::Sender<u64>,
    /// Set when the cache stopped following events (closed, or its connection was).
    stopped: AtomicBool,
}

impl Inner {
    /// Applies `change` to the tables, stamping what it writes with the next generation,
    /// then announces that generation.
    fn update(&self, change: impl FnOnce(&mut Tables, u64)) {
        let next = *self.changes.borrow() + 1;
        if let Ok(mut tables) = self.tables.write() {
            change(&mut tables, next);
        }
        self.changes.send_replace(next);
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.changes.send_modify(|n| *n += 1);
    }
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
        self.close();
    }
}

/// What a wait watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitTarget {
    /// The object with this reference, whatever its class (references are unique).
    Object(String),
    /// Every object of this class (wire name, any case).
    Class(String),
}

/// A cached record, with its class and reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    /// The class, as the datamodel spells it (`VM`).
    pub class: &'static str,
    /// The object's reference.
    pub reference: String,
    /// The record as it came from the host.
    pub record: Value,
}

impl Cached {
    /// The record typed by the datamodel, for the front ends.
    pub fn to_dyn(&self) -> Dyn {
        dynamic::typed(&Ty::Record(self.class), self.record.clone())
    }

    /// The record decoded as `T`; one that does not fit is reported, not dropped.
    fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        wire::from_value(self.record.clone()).map_err(|e| {
            Error::Protocol(wire::ProtocolError::new(
                e.kind,
                format!(
                    "cached {} record {}: {}",
                    self.class, self.reference, e.message
                ),
            ))
        })
    }
}

/// A wait in progress on an [`ObjectCache`]: [`CacheWait::next`] hands out the target's
/// records, all of them first, then those that changed since the previous call, until the
/// deadline. Cancel it by dropping it, e.g. under [`crate::CancelToken::run`].
pub struct CacheWait {
    inner: Arc<Inner>,
    target: WaitTarget,
    changes: watch::Receiver<u64>,
    /// The generation seen by the previous call (`None` before the first).
    seen: Option<u64>,
    deadline: Instant,
    timeout: Duration,
}

impl std::fmt::Debug for CacheWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheWait")
            .field("target", &self.target)
            .field("seen", &self.seen)
            .finish()
    }
}

impl CacheWait {
    /// The target's records written since the previous call (every current one on the
    /// first call), waiting for a change when there are none. Fails with
    /// [`Error::Timeout`] (naming the target) at the deadline and with
    /// [`Error::SessionClosed`] once the cache stops.
    pub async fn next(&mut self) -> Result<Vec<Cached>> {
        loop {
            // The generation is read before the tables: a change written after this read
            // is stamped later and wakes `changed()` below.
            let now = *self.changes.borrow_and_update();
            let found = self.changed_since(self.seen);
            self.seen = Some(now);
            if !found.is_empty() {
                return Ok(found);
            }
            if self.inner.stopped.load(Ordering::SeqCst) {
                return Err(Error::SessionClosed);
            }
            match tokio::time::timeout_at(self.deadline, self.changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::SessionClosed),
                Err(_) => return Err(self.timed_out()),
            }
        }
    }

    fn changed_since(&self, seen: Option<u64>) -> Vec<Cached> {
        let Ok(tables) = self.inner.tables.read() else {
            return Vec::new();
        };
        let fresh = |e: &Entry| seen.is_none_or(|s| e.version > s);
        match &self.target {
            WaitTarget::Object(reference) => tables
                .iter()
                .find_map(|(class, table)| Some((class, table.get(reference)?)))
                .filter(|(_, e)| fresh(e))
                .map(|(class, e)| cached(canonical(class), reference, &e.record))
                .into_iter()
                .collect(),
            WaitTarget::Class(class) => {
                let name = canonical(class);
                tables
                    .get(&class.to_ascii_lowercase())
                    .into_iter()
                    .flatten()
                    .filter(|(_, e)| fresh(e))
                    .map(|(r, e)| cached(name, r, &e.record))
                    .collect()
            }
        }
    }

    /// What is waited for, for errors: `waiting for VM OpaqueRef:…` (the class once the
    /// object is cached), `waiting for any VM`.
    pub fn what(&self) -> String {
        match &self.target {
            WaitTarget::Object(reference) => {
                let class = self.inner.tables.read().ok().and_then(|t| {
                    t.iter()
                        .find(|(_, t)| t.contains_key(reference))
                        .map(|(c, _)| canonical(c))
                });
                match class {
                    Some(class) => format!("waiting for {class} {reference}"),
                    None => format!("waiting for {reference}"),
                }
            }
            WaitTarget::Class(class) => format!("waiting for any {}", canonical(class)),
        }
    }

    fn timed_out(&self) -> Error {
        Error::Timeout {
            url: "the object cache".into(),
            method: self.what(),
            after: self.timeout,
            may_have_reached_host: false,
        }
    }
}

/// The datamodel's spelling of a class name given in any case.
fn canonical(class: &str) -> &'static str {
    meta::class_ignore_case(class).map_or("", |c| c.name)
}

fn cached(class: &'static str, reference: &str, record: &Value) -> Cached {
    Cached {
        class,
        reference: reference.to_string(),
        record: record.clone(),
    }
}

/// Reads every record of `classes` after taking a token, so the event stream from that
/// token covers anything that changes during the reads.
async fn bootstrap<C: Caller>(
    caller: &C,
    classes: &[&'static str],
) -> Result<(HashMap<String, HashMap<String, Value>>, String)> {
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
    let mut tables = HashMap::new();
    for class in classes {
        let records: HashMap<String, Value> = caller
            .call(&format!("{class}.get_all_records"), true, vec![])
            .await?;
        tables.insert(class.to_ascii_lowercase(), records);
    }
    Ok((tables, token))
}

/// Replaces every table, stamping each record with `version`.
fn replace(tables: &mut Tables, fetched: HashMap<String, HashMap<String, Value>>, version: u64) {
    *tables = fetched
        .into_iter()
        .map(|(class, records)| {
            let table = records
                .into_iter()
                .map(|(r, record)| (r, Entry { record, version }))
                .collect();
            (class, table)
        })
        .collect();
}

impl ObjectCache {
    /// Starts caching `classes` (wire names such as `VM`, `host`, `PIF`, in any case).
    pub async fn start<C: Caller + Clone + 'static>(caller: C, classes: &[&str]) -> Result<Self> {
        let classes = classes
            .iter()
            .map(|c| {
                meta::class_ignore_case(c).map(|m| m.name).ok_or_else(|| {
                    Error::invalid_argument("classes", format!("no XenAPI class {c}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (fetched, token) = bootstrap(&caller, &classes).await?;
        let mut tables = Tables::new();
        replace(&mut tables, fetched, 0);
        let inner = Arc::new(Inner {
            classes: classes.clone(),
            tables: RwLock::new(tables),
            changes: watch::Sender::new(0),
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
                    Ok(WatchItem::Events(events)) => shared.update(|tables, version| {
                        for e in events {
                            let table = tables.entry(e.class.clone()).or_default();
                            match (e.operation, e.snapshot) {
                                (EventOperation::Del, _) => {
                                    table.remove(&e.reference);
                                }
                                (_, Some(record)) => {
                                    table.insert(e.reference, Entry { record, version });
                                }
                                (_, None) => {}
                            }
                        }
                    }),
                    Ok(WatchItem::Resync) => match bootstrap(&caller, &classes).await {
                        Ok((fetched, token)) => {
                            shared.update(|tables, version| replace(tables, fetched, version));
                            watcher = EventWatcher::from_token(
                                caller.clone(),
                                subscriptions.clone(),
                                &token,
                            );
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "object cache: refetch failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                    // The connection was closed: nothing more will come; wake the waiters.
                    Err(Error::SessionClosed) => {
                        shared.stop();
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

    /// The classes followed, as the datamodel spells them.
    pub fn classes(&self) -> &[&'static str] {
        &self.inner.classes
    }

    /// Stops following events; waits in progress end with [`Error::SessionClosed`].
    pub fn close(&self) {
        self.task.abort();
        self.inner.stop();
    }

    /// True once the cache stopped following events (closed, or its connection was).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// The cached record of an object (`Ok(None)` when it is not cached).
    pub fn get<C: XenClass>(&self, r: &Ref<C>) -> Result<Option<C::Record>> {
        self.get_value(C::WIRE_NAME, r.as_str())
            .map(|record| cached(C::WIRE_NAME, r.as_str(), &record).decode())
            .transpose()
    }

    /// Every cached object of class `C`; fails on the first record that does not decode.
    pub fn all<C: XenClass>(&self) -> Result<HashMap<Ref<C>, C::Record>> {
        self.all_values(C::WIRE_NAME)?
            .into_iter()
            .map(|c| Ok((Ref::new(c.reference.clone()), c.decode()?)))
            .collect()
    }

    /// The cached record of `class` (wire name, any case) `reference`, untyped.
    pub fn get_value(&self, class: &str, reference: &str) -> Option<Value> {
        let tables = self.inner.tables.read().ok()?;
        tables
            .get(&class.to_ascii_lowercase())?
            .get(reference)
            .map(|e| e.record.clone())
    }

    /// The cached object with this reference, whatever its class.
    pub fn lookup(&self, reference: &str) -> Option<Cached> {
        let tables = self.inner.tables.read().ok()?;
        tables.iter().find_map(|(class, t)| {
            Some(cached(
                canonical(class),
                reference,
                &t.get(reference)?.record,
            ))
        })
    }

    /// Every cached object of `class` (wire name, any case), untyped.
    pub fn all_values(&self, class: &str) -> Result<Vec<Cached>> {
        let Ok(tables) = self.inner.tables.read() else {
            return Err(Error::Internal(
                "the object cache's lock was poisoned".into(),
            ));
        };
        let name = canonical(class);
        Ok(tables
            .get(&class.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .map(|(r, e)| cached(name, r, &e.record))
            .collect())
    }

    /// What `text` names for a wait: a class (a datamodel class name, any case),
    /// otherwise a reference. For front ends where both arrive as strings.
    pub fn target(&self, text: &str) -> WaitTarget {
        match meta::class_ignore_case(text) {
            Some(class) => WaitTarget::Class(class.name.to_string()),
            None => WaitTarget::Object(text.to_string()),
        }
    }

    /// Starts a wait on `target` that fails with [`Error::Timeout`] after `timeout`;
    /// `INVALID_ARGUMENT` for a class this cache does not follow (it would never change).
    pub fn wait(&self, target: WaitTarget, timeout: Duration) -> Result<CacheWait> {
        if let WaitTarget::Class(class) = &target
            && !self
                .inner
                .classes
                .iter()
                .any(|c| c.eq_ignore_ascii_case(class))
        {
            return Err(Error::invalid_argument(
                "target",
                format!(
                    "the object cache follows {}, not {class}",
                    self.inner.classes.join(", ")
                ),
            ));
        }
        Ok(CacheWait {
            inner: self.inner.clone(),
            target,
            changes: self.inner.changes.subscribe(),
            seen: None,
            deadline: Instant::now() + timeout,
            timeout,
        })
    }

    /// Waits until the record of `target` (one object), or of any object of the class
    /// `target` names, satisfies `predicate`; returns the first that does. The dynamic
    /// form of [`ObjectCache::wait_for`] and [`ObjectCache::wait_for_any`], for the shell
    /// and the bindings.
    pub async fn wait_for_value(
        &self,
        target: WaitTarget,
        mut predicate: impl FnMut(&Cached) -> bool,
        timeout: Duration,
    ) -> Result<Cached> {
        let mut wait = self.wait(target, timeout)?;
        loop {
            if let Some(found) = wait.next().await?.into_iter().find(|c| predicate(c)) {
                return Ok(found);
            }
        }
    }

    /// Waits until the object's record satisfies `predicate` (returning that record), or
    /// fails with [`Error::Timeout`]; a record that is already there and satisfies it
    /// returns at once.
    pub async fn wait_for<C: XenClass>(
        &self,
        r: &Ref<C>,
        predicate: impl Fn(&C::Record) -> bool,
        timeout: Duration,
    ) -> Result<C::Record> {
        let target = WaitTarget::Object(r.as_str().to_string());
        // A record that does not decode ends the wait, so its error is reported rather
        // than waited out until the timeout.
        let found = self
            .wait_for_value(
                target,
                |c| c.decode::<C::Record>().map_or(true, |r| predicate(&r)),
                timeout,
            )
            .await?;
        found.decode()
    }

    /// Waits until some object of class `C` satisfies `predicate` (given its reference
    /// and record), returning the first that does, or fails with [`Error::Timeout`].
    pub async fn wait_for_any<C: XenClass>(
        &self,
        predicate: impl Fn(&Ref<C>, &C::Record) -> bool,
        timeout: Duration,
    ) -> Result<(Ref<C>, C::Record)> {
        let target = WaitTarget::Class(C::WIRE_NAME.to_string());
        let found = self
            .wait_for_value(
                target,
                |c| {
                    let r = Ref::new(c.reference.clone());
                    c.decode::<C::Record>()
                        .map_or(true, |rec| predicate(&r, &rec))
                },
                timeout,
            )
            .await?;
        Ok((Ref::new(found.reference.clone()), found.decode()?))
    }
}
