//! Core's event-fed object cache. A JS predicate cannot run on a runtime thread, so a wait
//! hands the JS layer the records that changed (all of them first) and JS tests them;
//! core keeps the deadline and says when the cache stopped.

use std::sync::Arc;
use std::time::Duration;

use xenpool::dynamic::Dyn;
use xenpool::pool::cache;

use crate::convert::{NativeResult, to_text};
use crate::error::{invalid, to_napi};
use crate::session::{Session, encode};
use crate::{cancellable, take_cancel};

/// Records of some classes, kept up to date from `event.from`.
#[napi]
pub struct ObjectCache {
    inner: Arc<cache::ObjectCache>,
}

#[napi]
impl Session {
    /// Starts an object cache of `classes` (wire names, any case).
    #[napi]
    pub async fn cache(
        &self,
        classes: Vec<String>,
        cancel: Option<u32>,
    ) -> napi::Result<ObjectCache> {
        let token = self.call_token(cancel)?;
        let target = self.target.clone();
        let start = async move {
            let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
            cache::ObjectCache::start(target, &classes).await
        };
        let inner = cancellable(&token, "starting the object cache", start).await?;
        Ok(ObjectCache {
            inner: Arc::new(inner),
        })
    }
}

/// `{ reference: record, … }`, records typed by their class.
fn by_reference(records: Vec<cache::Cached>) -> Dyn {
    Dyn::map(records.into_iter().map(|c| {
        let record = c.to_dyn();
        (c.reference, record)
    }))
}

#[napi]
impl ObjectCache {
    /// The classes followed, as the datamodel spells them.
    #[napi(getter)]
    pub fn classes(&self) -> Vec<String> {
        self.inner.classes().iter().map(|c| c.to_string()).collect()
    }

    /// The cached record of `reference` as `[text, fixups]` (of class `className` when
    /// given), or `null`.
    #[napi]
    pub fn get(&self, reference: String, class_name: Option<String>) -> Option<Vec<String>> {
        self.inner
            .lookup(&reference)
            .filter(|c| class_name.is_none_or(|class| c.class.eq_ignore_ascii_case(&class)))
            .map(|c| to_text(&c.to_dyn()))
    }

    /// Every cached record of class `className`, as `[text, fixups]` of
    /// `{ reference: record }`.
    #[napi]
    pub fn all(&self, class_name: String) -> napi::Result<Vec<String>> {
        let records = self.inner.all_values(&class_name).map_err(to_napi)?;
        Ok(to_text(&by_reference(records)))
    }

    /// Starts a wait on `target` (a class this cache follows, or a reference) that fails
    /// with `TIMEOUT` after `timeoutMs`.
    #[napi]
    pub fn wait(&self, target: String, timeout_ms: f64) -> napi::Result<CacheWait> {
        let timeout = Duration::try_from_secs_f64(timeout_ms / 1000.0).map_err(|_| {
            invalid(
                "timeoutMs",
                "timeoutMs is a number of milliseconds, 0 or more",
            )
        })?;
        let wait = self
            .inner
            .wait(self.inner.target(&target), timeout)
            .map_err(to_napi)?;
        Ok(CacheWait {
            inner: Arc::new(tokio::sync::Mutex::new(wait)),
        })
    }

    /// Stops following events: waits in progress reject with `SESSION_CLOSED`.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// One wait in progress on the cache.
#[napi]
pub struct CacheWait {
    inner: Arc<tokio::sync::Mutex<cache::CacheWait>>,
}

#[napi]
impl CacheWait {
    /// The target's records that changed since the previous call (every current one on
    /// the first) as `{ reference: record }`, waiting for a change when there are none.
    /// Rejects with `TIMEOUT` at the deadline, `SESSION_CLOSED` once the cache stops,
    /// `CANCELLED` when `cancel` trips.
    #[napi]
    pub async fn next(&self, cancel: Option<u32>) -> napi::Result<NativeResult> {
        let token = take_cancel(cancel);
        let wait = self.inner.clone();
        let what = (wait.try_lock().map(|w| w.what()))
            .unwrap_or_else(|_| "waiting on the object cache".into());
        let records =
            cancellable(&token, &what, async move { wait.lock().await.next().await }).await?;
        encode(by_reference(records)).await
    }
}
