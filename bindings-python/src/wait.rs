//! Running a core future from Python: on the core's runtime, with the GIL released for
//! the whole call (request, response and decoding), and a `KeyboardInterrupt` cancelling it.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;
use xenpool::{CancelToken, Result};

use crate::errors;

/// How often a waiting call looks for signals (Ctrl-C) while the GIL is released.
const SLICE: Duration = Duration::from_millis(50);

/// Runs the future `start` makes (named `what` in errors) to completion on the shared
/// runtime while the calling thread waits without the GIL. A signal handler raising
/// (Ctrl-C's `KeyboardInterrupt`) trips the call's [`CancelToken`]; the interrupt is
/// raised once the call has stopped, with the cancellation as its `__cause__`.
pub fn block<T, F>(py: Python<'_>, what: &str, start: impl FnOnce(CancelToken) -> F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let token = CancelToken::new();
    let call = start(token.clone());
    let (tx, rx) = mpsc::sync_channel(1);
    // Shared with the detached closures (`Receiver` is `Send` but not `Sync`).
    let rx = std::sync::Mutex::new(rx);
    let running = token.clone();
    let name = what.to_string();
    xenpool::blocking::runtime().spawn(async move {
        let _ = tx.send(running.run(&name, call).await);
    });
    loop {
        match py.detach(|| recv(&rx, Some(SLICE))) {
            Ok(result) => return result.map_err(|e| errors::to_py(py, e)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    token.cancel();
                    if let Ok(Err(e)) = py.detach(|| recv(&rx, None)) {
                        interrupt.set_cause(py, Some(errors::to_py(py, e)));
                    }
                    return Err(interrupt);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(errors::to_py(
                    py,
                    xenpool::Error::Internal(format!("{what}: the call ended without a result")),
                ));
            }
        }
    }
}

fn recv<T>(
    rx: &std::sync::Mutex<mpsc::Receiver<T>>,
    limit: Option<Duration>,
) -> std::result::Result<T, mpsc::RecvTimeoutError> {
    let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
    match limit {
        Some(limit) => rx.recv_timeout(limit),
        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
    }
}
