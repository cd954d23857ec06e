//! What every pool operation shares: the plan of XenAPI calls it makes (returned as is by
//! a dry run), progress reporting for progress bars, and running `Async.` calls to their end.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::call::Caller;
use crate::error::Result;
use crate::generated::Task;
use crate::task::{self, TaskOutcome, WaitOptions};
use crate::types::Ref;

/// One step of an operation, for progress bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressEvent {
    /// Steps done so far, including this one (1-based).
    pub step: usize,
    /// Steps in all.
    pub total: usize,
    /// What is happening, in words.
    pub message: String,
}

/// Receives progress events.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// How to run an operation.
#[derive(Clone, Default)]
pub struct OpOptions {
    /// Only work out the plan; change nothing.
    pub dry_run: bool,
    /// Called at every step.
    pub progress: Option<ProgressFn>,
    /// Limit for each task the operation waits on (none by default).
    pub task_timeout: Option<Duration>,
}

impl fmt::Debug for OpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpOptions")
            .field("dry_run", &self.dry_run)
            .field("progress", &self.progress.is_some())
            .field("task_timeout", &self.task_timeout)
            .finish()
    }
}

impl OpOptions {
    /// A dry run.
    pub fn dry_run() -> Self {
        OpOptions {
            dry_run: true,
            ..Default::default()
        }
    }

    /// With a progress callback.
    pub fn with_progress(mut self, f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

/// A XenAPI call an operation makes, or would make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedCall {
    /// Where it is sent (host name or address).
    pub on: String,
    /// The wire method, e.g. `pool.join`.
    pub method: String,
    /// Its arguments, rendered for people (passwords masked).
    pub args: Vec<String>,
    /// Why.
    pub purpose: String,
}

/// The calls of an operation, in order, with what to be aware of.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Plan {
    /// The operation, e.g. `eject intel2`.
    pub operation: String,
    /// The calls.
    pub calls: Vec<PlannedCall>,
    /// Consequences to know about before running it.
    pub warnings: Vec<String>,
}

impl Plan {
    /// An empty plan for `operation`.
    pub fn new(operation: impl Into<String>) -> Self {
        Plan {
            operation: operation.into(),
            ..Default::default()
        }
    }

    /// Adds a call.
    pub fn call(
        &mut self,
        on: impl Into<String>,
        method: &str,
        args: &[&str],
        purpose: impl Into<String>,
    ) {
        self.calls.push(PlannedCall {
            on: on.into(),
            method: method.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            purpose: purpose.into(),
        });
    }

    /// Adds a warning.
    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan: {}", self.operation)?;
        for (i, c) in self.calls.iter().enumerate() {
            writeln!(
                f,
                "  {:>2}. {} {}({})  -- {}",
                i + 1,
                c.on,
                c.method,
                c.args.join(", "),
                c.purpose
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// Reports progress as an operation goes.
pub struct Progress<'a> {
    options: &'a OpOptions,
    step: usize,
    total: usize,
}

impl<'a> Progress<'a> {
    /// Progress over `total` steps.
    pub fn new(options: &'a OpOptions, total: usize) -> Self {
        Progress {
            options,
            step: 0,
            total: total.max(1),
        }
    }

    /// Announces the next step.
    pub fn step(&mut self, message: impl Into<String>) {
        self.step = (self.step + 1).min(self.total);
        let event = ProgressEvent {
            step: self.step,
            total: self.total,
            message: message.into(),
        };
        tracing::info!(step = event.step, total = event.total, "{}", event.message);
        if let Some(f) = &self.options.progress {
            f(&event);
        }
    }
}

/// Starts an `Async.` call and waits for its task (destroyed afterwards).
pub async fn run_task<C: Caller>(
    c: &C,
    start: impl Future<Output = Result<Ref<Task>>>,
    options: &OpOptions,
) -> Result<TaskOutcome> {
    let task = start.await?;
    task::wait(
        c,
        &task,
        &WaitOptions {
            timeout: options.task_timeout,
            ..Default::default()
        },
    )
    .await
}
