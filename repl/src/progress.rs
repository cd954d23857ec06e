//! Progress of pool operations: a bar on a terminal, `[step/total]` lines otherwise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use xenpool::pool::{OpOptions, ProgressEvent};

use crate::output::Output;

/// The bar's resolution: steps and task progress are shown in thousandths.
const BAR_UNITS: u64 = 1000;

/// What the bar says beside itself: the step, and its task's share when known.
pub fn bar_message(e: &ProgressEvent) -> String {
    match e.fraction {
        Some(f) => format!(
            "[{}/{}] {} (task {:.0}%)",
            e.step,
            e.total,
            e.message,
            f * 100.0
        ),
        None => format!("[{}/{}] {}", e.step, e.total, e.message),
    }
}

/// Progress reporting for one operation; finish it when the operation ends.
pub struct Reporter {
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl Reporter {
    /// Options for an operation named `what` (a dry run changes nothing and shows no bar).
    pub fn start(out: &Output, what: &str, dry_run: bool) -> (OpOptions, Reporter) {
        let bar: Arc<Mutex<Option<ProgressBar>>> = Arc::new(Mutex::new(None));
        let reporter = Reporter { bar: bar.clone() };
        let mut options = OpOptions {
            dry_run,
            ..Default::default()
        };
        if dry_run {
            return (options, reporter);
        }
        let what = what.to_string();
        // A bar wherever standard error is a terminal (NO_COLOR only drops the colour). It
        // moves with the steps and, within a step, with its task's own progress.
        if !out.is_captured() && console::Term::stderr().is_term() {
            options = options
                .with_task_progress(Duration::from_millis(200))
                .with_progress(move |e: &ProgressEvent| {
                    let mut slot = bar.lock().unwrap_or_else(|p| p.into_inner());
                    let b = slot.get_or_insert_with(|| {
                        let b = ProgressBar::new(BAR_UNITS);
                        b.set_style(
                            ProgressStyle::with_template(
                                "{prefix:.bold} [{bar:24.cyan/blue}] {percent:>3}% {wide_msg}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        b.set_prefix(what.clone());
                        b
                    });
                    b.set_message(bar_message(e));
                    b.set_position((e.overall() * BAR_UNITS as f64).round() as u64);
                });
        } else {
            let out = out.clone();
            options = options.with_progress(move |e: &ProgressEvent| {
                out.note(&format!("  [{}/{}] {}", e.step, e.total, e.message));
            });
        }
        (options, reporter)
    }

    /// Removes the bar (the outcome is printed instead).
    pub fn finish(self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
