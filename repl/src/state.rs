//! What every shell function shares: the pool connection, the host book, the remembered
//! secrets, the output, and the Ctrl-C epoch of the command running now.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use xenpool::pool::{ObjectCache, PoolConnection, PoolSnapshot};

use crate::cancel::Epoch;
use rhai::Dynamic;

use crate::errors::{Fallible, XenError, raise};
use crate::hostbook::HostBook;
use crate::output::Output;
use crate::secrets::Secrets;

/// The shell's live state.
pub struct State {
    pool: RefCell<PoolConnection>,
    /// Resolves host arguments.
    pub book: HostBook,
    /// Passwords seen this session.
    pub secrets: Secrets,
    /// Where results go.
    pub out: Output,
    /// When the running command started (Ctrl-C after it cancels it).
    pub epoch: RefCell<Epoch>,
    caches: RefCell<HashMap<String, Rc<ObjectCache>>>,
    names: RefCell<Option<(Instant, Vec<String>)>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("coordinator", &self.pool.borrow().coordinator_address())
            .finish_non_exhaustive()
    }
}

impl State {
    /// State around a connected pool.
    pub fn new(pool: PoolConnection, book: HostBook, secrets: Secrets, out: Output) -> Self {
        State {
            pool: RefCell::new(pool),
            book,
            secrets,
            out,
            epoch: RefCell::new(Epoch::now()),
            caches: RefCell::new(HashMap::new()),
            names: RefCell::new(None),
        }
    }

    /// The current pool connection (cheap to clone; clones share the session).
    pub fn pool(&self) -> PoolConnection {
        self.pool.borrow().clone()
    }

    /// Switches to another pool (after a join, a new pool or a recovery). The old
    /// session is logged out.
    pub fn switch(&self, pool: PoolConnection) {
        let old = self.pool.replace(pool);
        self.caches.borrow_mut().clear();
        *self.names.borrow_mut() = None;
        let _ = self.run_quietly(async move { old.close().await });
    }

    /// Runs `future` on the shared runtime; Ctrl-C abandons it with a `CANCELLED` error.
    /// Cancellation ends the whole entry (a script cannot catch it).
    pub fn run<F: Future>(&self, what: &str, future: F) -> Fallible<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Only a wait_for condition runs while another call is in flight.
            return Err(XenError::invalid(
                "condition",
                "a wait_for condition cannot contact the pool: compute such values before wait_for",
            )
            .into_rhai());
        }
        let epoch = self.epoch.borrow().clone();
        match xenpool::blocking::block_on(epoch.run(future)) {
            Ok(Some(out)) => Ok(out),
            Ok(None) => Err(Box::new(rhai::EvalAltResult::ErrorTerminated(
                Dynamic::from(format!(
                    "{what} cancelled (Ctrl-C); the session is still logged in, but an operation \
                     may have partly happened: check pool() and hosts()"
                )),
                rhai::Position::NONE,
            ))),
            Err(e) => Err(raise(e)),
        }
    }

    /// Logs out (when the shell ends).
    pub fn close(&self) {
        let pool = self.pool();
        self.run_quietly(async move { pool.close().await });
    }

    /// Runs a fallible library call.
    pub fn call<T, F: Future<Output = xenpool::Result<T>>>(
        &self,
        what: &str,
        future: F,
    ) -> Fallible<T> {
        self.run(what, future)?
            .map_err(|e| self.readable(XenError::from(e)).into_rhai())
    }

    /// The error with every reference in its message shown as `name (uuid)`, as `xe`
    /// shows objects (references the pool no longer knows stay as they are). A reference
    /// among the parameters is looked up in the class its declared name says first.
    /// `params` keep the wire values for scripts.
    pub fn readable(&self, mut e: XenError) -> XenError {
        let names = xenpool::generated::ErrorCode::from_wire(&e.code).param_names();
        let hint = |reference: &str| {
            e.params
                .iter()
                .position(|p| p == reference)
                .and_then(|i| names.get(i).copied())
        };
        e.message = self.readable_text(&e.message, &hint);
        e
    }

    /// `text` with every `OpaqueRef:…` in it shown as `name (uuid)` where the pool knows
    /// it; `hint` may name the class a reference belongs to.
    pub fn readable_text(&self, text: &str, hint: &dyn Fn(&str) -> Option<&'static str>) -> String {
        if !text.contains("OpaqueRef:") || tokio::runtime::Handle::try_current().is_ok() {
            return text.to_string();
        }
        let mut refs: Vec<&str> = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("OpaqueRef:") {
            let tail = &rest[i..];
            let end = "OpaqueRef:".len()
                + tail["OpaqueRef:".len()..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .unwrap_or(tail.len() - "OpaqueRef:".len());
            let reference = &tail[..end];
            // NULL is xapi's "no object"; nothing to look up.
            if !refs.contains(&reference) && reference != "OpaqueRef:NULL" {
                refs.push(reference);
            }
            rest = &tail[end..];
        }
        let mut out = text.to_string();
        for reference in refs {
            if let Some(shown) = self.describe_ref(hint(reference), reference) {
                out = out.replace(reference, &shown);
            }
        }
        out
    }

    /// `name (uuid)` (or `Class uuid` for nameless objects) for a reference of any class,
    /// the reference itself when the pool does not know it.
    pub fn describe(&self, reference: &str) -> String {
        if !reference.starts_with("OpaqueRef:") {
            return reference.to_string();
        }
        self.describe_ref(None, reference)
            .unwrap_or_else(|| reference.to_string())
    }

    /// `name (uuid)` for a reference: the class its error parameter is named after first,
    /// then the classes errors usually name.
    fn describe_ref(&self, param_name: Option<&str>, reference: &str) -> Option<String> {
        const USUAL: &[&str] = &[
            "VM", "host", "SR", "VDI", "network", "pool", "PIF", "VBD", "VIF", "Bond", "PBD",
            "task",
        ];
        let named = param_name
            .and_then(xenpool::meta::class_ignore_case)
            .map(|c| c.name);
        let classes: Vec<&'static str> = named
            .into_iter()
            .chain(USUAL.iter().copied().filter(|c| Some(*c) != named))
            .collect();
        let pool = self.pool();
        let reference = reference.to_string();
        let found = self.run_quietly(async move {
            for class in classes {
                let method = format!("{class}.get_record");
                let arg = [xenpool::dynamic::Dyn::String(reference.clone())];
                let Ok(record) = xenpool::dynamic::call_untyped(&pool, &method, true, &arg).await
                else {
                    continue;
                };
                let field = |name: &str| match &record {
                    xenpool::dynamic::Dyn::Map(pairs) => pairs.iter().find_map(|(k, v)| {
                        (k.as_str() == Some(name)).then(|| v.as_str().unwrap_or("").to_string())
                    }),
                    _ => None,
                };
                if let Some(uuid) = field("uuid") {
                    return Ok(Some(match field("name_label") {
                        Some(name) if !name.is_empty() => format!("{name} ({uuid})"),
                        _ => format!("{class} {uuid}"),
                    }));
                }
            }
            Ok::<_, xenpool::Error>(None)
        });
        found.flatten()
    }

    /// Best effort, bounded to a few seconds, errors ignored (logouts, completion data).
    pub fn run_quietly<T, F: Future<Output = xenpool::Result<T>>>(&self, future: F) -> Option<T> {
        // Built inside the runtime: a timer needs its clock.
        let bounded = async move { tokio::time::timeout(Duration::from_secs(3), future).await };
        match xenpool::blocking::block_on(Epoch::now().run(bounded)) {
            Ok(Some(Ok(Ok(v)))) => Some(v),
            _ => None,
        }
    }

    /// A fresh snapshot of the pool.
    pub fn snapshot(&self) -> Fallible<PoolSnapshot> {
        let pool = self.pool();
        self.call("reading the pool", async move {
            PoolSnapshot::fetch(&pool).await
        })
    }

    /// The event-fed object cache for `class` (wire name), started on first use.
    pub fn cache(&self, class: &str) -> Fallible<Rc<ObjectCache>> {
        let key = class.to_ascii_lowercase();
        if let Some(cache) = self.caches.borrow().get(&key) {
            return Ok(cache.clone());
        }
        let pool = self.pool();
        let wire = class.to_string();
        let cache = Rc::new(self.call("starting the event cache", async move {
            ObjectCache::start(pool, &[wire.as_str()]).await
        })?);
        self.caches.borrow_mut().insert(key, cache.clone());
        Ok(cache)
    }

    /// Host and VM names of the pool plus simulated hosts, for completion (refreshed at
    /// most every few seconds; never blocks long).
    pub fn completion_names(&self) -> Vec<String> {
        if let Some((at, names)) = &*self.names.borrow()
            && at.elapsed() < Duration::from_secs(5)
        {
            return names.clone();
        }
        let pool = self.pool();
        let mut names = self.book.names();
        // Two reads, not a whole snapshot: Tab must stay quick.
        let read = async move {
            use xenpool::generated::{Host, Vm};
            Ok((
                Host::get_all_records(&pool).await?,
                Vm::get_all_records(&pool).await?,
            ))
        };
        if let Some((hosts, vms)) = self.run_quietly(read) {
            names.extend(hosts.into_values().map(|h| h.name_label));
            names.extend(
                vms.into_values()
                    .filter(|v| !v.is_a_template && !v.is_control_domain)
                    .map(|v| v.name_label),
            );
        }
        names.sort();
        names.dedup();
        *self.names.borrow_mut() = Some((Instant::now(), names.clone()));
        names
    }
}
