//! Waiting for `Async.` calls: follow a task to its end with `event.from` (or back-off
//! polling where events are unavailable), with a timeout and cancellation, and destroy it
//! afterwards (xapi keeps finished tasks for 65 minutes otherwise; docs/wire-protocol.md#tasks).

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::call::Caller;
use crate::error::{ApiError, Error, Result};
use crate::event::EventWatcher;
use crate::generated::{ErrorCode, Task, TaskRecord, TaskStatusType};
use crate::types::Ref;
use crate::wire;

/// How to wait for a task.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Give up (and cancel the task) after this long; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// Destroy the task record once it has finished (default true).
    pub destroy: bool,
    /// Follow the task with `event.from` (default); polling is used when events fail.
    pub use_events: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: None,
            destroy: true,
            use_events: true,
        }
    }
}

/// A successfully finished task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    /// The task's `result` field: an XML-RPC `<value>` fragment even over JSON-RPC.
    pub raw_result: String,
    /// The task record as last seen.
    pub record: TaskRecord,
}

impl TaskOutcome {
    /// Decodes the result, e.g. `outcome.result::<Ref<Vm>>()` after `Async.VM.clone`.
    pub fn result<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(wire::decode_value_fragment::<T>(&self.raw_result)?)
    }
}

/// Waits for `task` to finish. The task's failure comes back as the [`Error::Api`] it
/// carries (its `method` is the task's name, e.g. `Async.VM.start`).
pub async fn wait<C: Caller>(
    caller: &C,
    task: &Ref<Task>,
    options: &WaitOptions,
) -> Result<TaskOutcome> {
    wait_or_cancel(caller, task, options, std::future::pending()).await
}

/// [`wait`], and when `cancel` completes first, asks the host to cancel the task
/// (`task.cancel`) and waits for it to stop; the result is then `TASK_CANCELLED` (or the
/// task's own outcome, if it finished before the cancel took effect).
pub async fn wait_or_cancel<C: Caller>(
    caller: &C,
    task: &Ref<Task>,
    options: &WaitOptions,
    cancel: impl Future<Output = ()>,
) -> Result<TaskOutcome> {
    let follow = follow_to_end(caller, task, options.use_events);
    let finished = match options.timeout {
        Some(limit) => {
            tokio::select! {
                r = tokio::time::timeout(limit, follow) => match r {
                    Ok(record) => record,
                    Err(_) => {
                        let _ = Task::cancel(caller, task).await;
                        return Err(Error::Timeout {
                            url: String::new(),
                            method: format!("waiting for task {task}"),
                            after: limit,
                            may_have_reached_host: true,
                        });
                    }
                },
                _ = cancel => cancel_and_follow(caller, task).await,
            }
        }
        None => {
            tokio::select! {
                record = follow => record,
                _ = cancel => cancel_and_follow(caller, task).await,
            }
        }
    };
    let record = finished?;
    if options.destroy
        && let Err(e) = Task::destroy(caller, task).await
    {
        tracing::debug!(error = %e, "task.destroy after completion failed");
    }
    outcome(record)
}

async fn cancel_and_follow<C: Caller>(caller: &C, task: &Ref<Task>) -> Result<TaskRecord> {
    if let Err(e) = Task::cancel(caller, task).await {
        // OPERATION_NOT_ALLOWED: not cancellable (any more); its outcome stands.
        tracing::debug!(error = %e, "task.cancel refused");
    }
    follow_to_end(caller, task, false).await
}

fn outcome(record: TaskRecord) -> Result<TaskOutcome> {
    match record.status {
        TaskStatusType::Success => Ok(TaskOutcome {
            raw_result: record.result.clone(),
            record,
        }),
        _ => {
            let mut description = record.error_info.clone();
            if description.is_empty() {
                let code = if record.status == TaskStatusType::Cancelled {
                    "TASK_CANCELLED"
                } else {
                    "INTERNAL_ERROR"
                };
                description.push(code.to_string());
            }
            Err(Error::Api(ApiError::from_description(
                record.name_label.clone(),
                description,
            )))
        }
    }
}

fn is_finished(status: &TaskStatusType) -> bool {
    matches!(
        status,
        TaskStatusType::Success | TaskStatusType::Failure | TaskStatusType::Cancelled
    )
}

async fn follow_to_end<C: Caller>(
    caller: &C,
    task: &Ref<Task>,
    use_events: bool,
) -> Result<TaskRecord> {
    if use_events {
        match follow_with_events(caller, task).await {
            Err(Error::Api(e)) if events_unsupported(&e) => {
                tracing::debug!(error = %e, "event.from unavailable; polling the task");
            }
            other => return other,
        }
    }
    poll(caller, task).await
}

fn events_unsupported(e: &ApiError) -> bool {
    matches!(
        e.code,
        ErrorCode::MessageMethodUnknown | ErrorCode::NotImplemented
    )
}

async fn follow_with_events<C: Caller>(caller: &C, task: &Ref<Task>) -> Result<TaskRecord> {
    // The first event.from with an empty token announces the task as it is now, so a task
    // that finished before we started watching is seen at once.
    let mut watcher = EventWatcher::new(caller, [format!("task/{task}")]);
    loop {
        let Some(batch) = watcher.poll_once().await? else {
            // Token lost: read the record directly, then keep watching from scratch.
            let record = Task::get_record(caller, task).await?;
            if is_finished(&record.status) {
                return Ok(record);
            }
            continue;
        };
        for event in batch.events.iter().filter(|e| e.reference == task.as_str()) {
            match event.snapshot_as::<TaskRecord>() {
                Some(record) => {
                    let record = record?;
                    if is_finished(&record.status) {
                        return Ok(record);
                    }
                }
                // Deleted under us (destroyed by someone else, or garbage-collected).
                None => return Task::get_record(caller, task).await,
            }
        }
    }
}

async fn poll<C: Caller>(caller: &C, task: &Ref<Task>) -> Result<TaskRecord> {
    let mut delay = Duration::from_millis(50);
    loop {
        let record = Task::get_record(caller, task).await?;
        if is_finished(&record.status) {
            return Ok(record);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
