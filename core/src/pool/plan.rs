//! What every pool operation shares: the plan of XenAPI calls it makes (returned as is by
//! a dry run), progress reporting for progress bars, and running `Async.` calls to their end.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::call::Caller;
use crate::error::{Error, Refusal, Result};
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
    /// How far the XenAPI task of this step has got (its `progress` field, 0 to 1): set
    /// only on the events that repeat a step while its task runs, which are sent when
    /// [`OpOptions::with_task_progress`] asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
}

impl ProgressEvent {
    /// The start of step `step` of `total`.
    pub fn step(step: usize, total: usize, message: impl Into<String>) -> Self {
        ProgressEvent {
            step,
            total,
            message: message.into(),
            fraction: None,
        }
    }

    /// How far the whole operation has got, 0 to 1: the steps before this one, plus the
    /// part of this one its task has done.
    pub fn overall(&self) -> f64 {
        let total = self.total.max(1) as f64;
        let before = self.step.saturating_sub(1) as f64;
        ((before + self.fraction.unwrap_or(0.0).clamp(0.0, 1.0)) / total).clamp(0.0, 1.0)
    }
}

/// Follows the steps of an operation so that the progress of the tasks it waits on can be
/// reported against the step they belong to (see [`OpOptions::with_task_progress`]).
#[derive(Clone, Default)]
pub struct TaskProgress {
    current: Arc<Mutex<Option<ProgressEvent>>>,
    interval: Duration,
}

impl fmt::Debug for TaskProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskProgress")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
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
    /// Also report the progress of each task the operation waits on (off by default, so a
    /// callback that counts steps sees each step once).
    pub task_progress: Option<TaskProgress>,
}

impl fmt::Debug for OpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpOptions")
            .field("dry_run", &self.dry_run)
            .field("progress", &self.progress.is_some())
            .field("task_timeout", &self.task_timeout)
            .field("task_progress", &self.task_progress.is_some())
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

    /// While a task runs, the progress callback also gets its step again every `interval`
    /// or so, with [`ProgressEvent::fraction`] set to the task's `progress` (when it
    /// changed), read with `task.get_progress`.
    pub fn with_task_progress(mut self, interval: Duration) -> Self {
        self.task_progress = Some(TaskProgress {
            current: Arc::default(),
            interval,
        });
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
        let event = ProgressEvent::step(self.step, self.total, message);
        tracing::info!(step = event.step, total = event.total, "{}", event.message);
        if let Some(tracker) = &self.options.task_progress {
            *tracker.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(event.clone());
        }
        if let Some(f) = &self.options.progress {
            f(&event);
        }
    }
}

/// Starts an `Async.` call and waits for its task (destroyed afterwards). With
/// [`OpOptions::with_task_progress`], the task's `progress` is reported while it runs.
pub async fn run_task<C: Caller>(
    c: &C,
    start: impl Future<Output = Result<Ref<Task>>>,
    options: &OpOptions,
) -> Result<TaskOutcome> {
    let task = start.await?;
    let wait_options = WaitOptions {
        timeout: options.task_timeout,
        ..Default::default()
    };
    let wait = task::wait(c, &task, &wait_options);
    let (Some(tracker), Some(report)) = (&options.task_progress, &options.progress) else {
        return wait.await;
    };
    tokio::pin!(wait);
    let mut last = None;
    loop {
        tokio::select! {
            outcome = &mut wait => return outcome,
            // At most 20 reads a second, whatever the interval asked.
            _ = tokio::time::sleep(tracker.interval.max(Duration::from_millis(50))) => {
                // Read errors (a task destroyed as it finished) only skip a report.
                let Ok(fraction) = Task::get_progress(c, &task).await else {
                    continue;
                };
                if last == Some(fraction) {
                    continue;
                }
                last = Some(fraction);
                let step = tracker.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let mut event = step.unwrap_or_else(|| ProgressEvent::step(1, 1, "waiting"));
                event.fraction = Some(fraction.clamp(0.0, 1.0));
                report(&event);
            }
        }
    }
}

/// A workflow refused before it changed anything, with every reason found.
pub(crate) fn refused(operation: &str, problems: Vec<Refusal>) -> Error {
    Error::Refused {
        operation: operation.to_string(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_progress_counts_the_steps_before_and_the_task_within() {
        let mut e = ProgressEvent::step(2, 4, "evacuating");
        assert_eq!(e.overall(), 0.25);
        e.fraction = Some(0.5);
        assert_eq!(e.overall(), 0.375);
        assert_eq!(
            serde_json::to_string(&ProgressEvent::step(1, 2, "x")).unwrap(),
            r#"{"step":1,"total":2,"message":"x"}"#
        );
    }
}
