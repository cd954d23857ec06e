//! Ctrl-C while a command runs: the call in flight is abandoned (its future dropped, so the
//! HTTP request is cut) and the script stops, but the session stays logged in.
//!
//! While the line editor reads input the terminal is in raw mode and Ctrl-C is an ordinary
//! key; SIGINT only arrives while something runs, which is exactly when it should cancel.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

fn notify() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

/// Routes SIGINT to [`interrupt`]. Harmless to call twice.
pub fn install_handler() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // If a handler already exists (an embedding program set one), keep theirs.
        let _ = ctrlc::set_handler(interrupt);
    });
}

/// Cancels whatever runs now (what Ctrl-C does).
pub fn interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
    notify().notify_waiters();
}

/// A point in time: work started after it is cancelled by any later interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64);

impl Epoch {
    /// Now.
    pub fn now() -> Self {
        Epoch(INTERRUPTS.load(Ordering::SeqCst))
    }

    /// True once an interrupt came after this epoch.
    pub fn is_cancelled(self) -> bool {
        INTERRUPTS.load(Ordering::SeqCst) != self.0
    }

    /// Resolves when an interrupt comes after this epoch.
    pub async fn cancelled(self) {
        loop {
            let notified = notify().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `future`, or gives `None` when interrupted first.
    pub async fn run<F: Future>(self, future: F) -> Option<F::Output> {
        tokio::select! {
            out = future => Some(out),
            _ = self.cancelled() => None,
        }
    }
}
