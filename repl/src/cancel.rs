//! Ctrl-C while a command runs: the call in flight is abandoned (its future dropped, so the
//! HTTP request is cut) and the script stops, but the session stays logged in.
//!
//! While the line editor reads input the terminal is in raw mode and Ctrl-C is an ordinary
//! key (it clears the line). Elsewhere — between piped entries, at a password prompt, or a
//! second Ctrl-C within two seconds — it ends the program with status 130, as in any shell
//! tool.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xenpool::CancelToken;

static EVALUATING: AtomicBool = AtomicBool::new(false);
static LAST: Mutex<Option<Instant>> = Mutex::new(None);
/// The core's cancellation handle that work started now runs under; an interrupt trips it
/// and puts a fresh one in its place.
static CURRENT: Mutex<Option<CancelToken>> = Mutex::new(None);

fn current() -> CancelToken {
    CURRENT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(CancelToken::new)
        .clone()
}

/// Routes SIGINT to [`interrupt`]. Harmless to call twice.
pub fn install_handler() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        // If a handler already exists (an embedding program set one), keep theirs.
        let _ = ctrlc::set_handler(interrupt);
    });
}

/// What Ctrl-C does: cancels the entry being evaluated; exits when nothing cancellable
/// runs or when pressed twice within two seconds.
pub fn interrupt() {
    let now = Instant::now();
    let again = LAST
        .lock()
        .map(|mut last| {
            let again = last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(2));
            *last = Some(now);
            again
        })
        .unwrap_or(false);
    if again || !EVALUATING.load(Ordering::SeqCst) {
        std::process::exit(130);
    }
    let tripped = CURRENT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(CancelToken::new());
    if let Some(token) = tripped {
        token.cancel();
    }
}

/// Marks an entry as being evaluated (Ctrl-C cancels it) until dropped.
pub struct Evaluating(());

impl Evaluating {
    /// From now until the guard drops.
    pub fn start() -> Self {
        EVALUATING.store(true, Ordering::SeqCst);
        Evaluating(())
    }
}

impl Drop for Evaluating {
    fn drop(&mut self) {
        EVALUATING.store(false, Ordering::SeqCst);
    }
}

/// A point in time: work started after it is cancelled by any later interrupt.
#[derive(Debug, Clone)]
pub struct Epoch(CancelToken);

impl Epoch {
    /// Now.
    pub fn now() -> Self {
        Epoch(current())
    }

    /// True once an interrupt came after this epoch.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Runs `future`, or gives `None` when interrupted first.
    pub async fn run<F: Future>(&self, future: F) -> Option<F::Output> {
        tokio::select! {
            out = future => Some(out),
            () = self.0.cancelled() => None,
        }
    }
}
