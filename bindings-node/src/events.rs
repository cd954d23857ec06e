//! `event.from` as a stream the JS layer turns into an async iterator.

use std::sync::Arc;
use std::time::Duration;

use xenpool::dynamic::{self, Dyn};
use xenpool::event::{EventOperation, EventWatcher};
use xenpool::meta::{self, Ty};
use xenpool::pool::AnyConnection;

use crate::convert::NativeResult;
use crate::session::{Session, encode};
use crate::{cancellable, take_cancel};

/// Watches classes with `event.from`, keeping the token between calls.
#[napi]
pub struct EventStream {
    watcher: Arc<tokio::sync::Mutex<EventWatcher<AnyConnection>>>,
    token: xenpool::CancelToken,
}

#[napi]
impl Session {
    /// Watches `classes` (`vm`, `host`, `*`), from `token` or from the beginning (the
    /// first batch then announces every existing object). `pollSeconds` bounds each
    /// `event.from` call on the host.
    #[napi]
    pub fn events(
        &self,
        classes: Vec<String>,
        token: Option<String>,
        poll_seconds: Option<f64>,
    ) -> EventStream {
        let mut watcher =
            EventWatcher::from_token(self.target.clone(), classes, token.as_deref().unwrap_or(""));
        if let Some(s) = poll_seconds.filter(|s| *s > 0.0) {
            watcher = watcher.with_poll_timeout(Duration::from_secs_f64(s));
        }
        EventStream {
            watcher: Arc::new(tokio::sync::Mutex::new(watcher)),
            token: self.token.child(),
        }
    }
}

#[napi]
impl EventStream {
    /// One `event.from` call: an array of events (`id`, `class`, `operation`, `ref`,
    /// `snapshot`; empty when the host's poll timed out), or `null` when the host lost the
    /// token and the stream starts again from scratch.
    #[napi]
    pub async fn poll(&self, cancel: Option<u32>) -> napi::Result<NativeResult> {
        let own = take_cancel(cancel);
        let stream = self.token.clone();
        let watcher = self.watcher.clone();
        let item = cancellable(&stream, "event.from", async move {
            let mut w = watcher.lock().await;
            own.run("event.from", w.poll_once()).await
        })
        .await?;
        let value = match item {
            None => Dyn::Null,
            Some(batch) => Dyn::Array(
                batch
                    .events
                    .into_iter()
                    .map(|e| {
                        let snapshot = match (e.snapshot, meta::class_ignore_case(&e.class)) {
                            (Some(v), Some(c)) => dynamic::typed(&Ty::Record(c.name), v),
                            (Some(v), None) => dynamic::untyped(v),
                            (None, _) => Dyn::Null,
                        };
                        let operation = match e.operation {
                            EventOperation::Add => "add",
                            EventOperation::Mod => "mod",
                            EventOperation::Del => "del",
                        };
                        Dyn::map([
                            ("id", Dyn::String(e.id)),
                            ("class", Dyn::String(e.class)),
                            ("operation", Dyn::from(operation)),
                            ("ref", Dyn::String(e.reference)),
                            ("snapshot", snapshot),
                        ])
                    })
                    .collect(),
            ),
        };
        encode(value).await
    }

    /// The token to resume from.
    #[napi]
    pub async fn token(&self) -> String {
        self.watcher.lock().await.token().to_string()
    }

    /// Stops the stream: a pending `next()` ends with `CANCELLED`.
    #[napi]
    pub fn close(&self) {
        self.token.cancel();
    }
}
