//! Cancelling calls from outside: one handle that Ctrl-C in the shell, `KeyboardInterrupt`
//! in Python and an `AbortSignal` in Node all trip. Cancelling drops the call's future, so
//! its HTTP request is cut; the connection stays usable.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// A cancellation handle. Clones share one state; [`CancelToken::child`] makes a handle
/// that the parent's cancellation also trips (a per-call token under a session's token).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(CancellationToken);

impl CancelToken {
    /// A fresh, untripped handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trips the handle: every call running under it (or a child) ends with
    /// [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// True once tripped.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// A handle tripped by this one's cancellation as well as its own.
    pub fn child(&self) -> CancelToken {
        CancelToken(self.0.child_token())
    }

    /// Resolves once tripped.
    pub async fn cancelled(&self) {
        self.0.cancelled().await;
    }

    /// Runs `call` (named `what` in the error) unless or until the handle trips. A call
    /// cut short may already have reached the host, and is reported so.
    pub async fn run<T>(&self, what: &str, call: impl Future<Output = Result<T>>) -> Result<T> {
        if self.is_cancelled() {
            return Err(Error::Cancelled {
                method: what.to_string(),
                may_have_reached_host: false,
            });
        }
        tokio::select! {
            biased;
            () = self.0.cancelled() => Err(Error::Cancelled {
                method: what.to_string(),
                may_have_reached_host: true,
            }),
            result = call => result,
        }
    }
}
