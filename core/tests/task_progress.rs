//! Progress events follow the XenAPI task an operation waits on, not only its steps: a
//! live migration reports its task's `progress` between the step and the end.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::access;
use xenpool::pool::ops::{self, VmSpec};
use xenpool::pool::{JoinPolicy, OpOptions, ProgressEvent, create_pool};
use xenpool_sim::{Config, Scenario, Simulator};

#[tokio::test]
async fn a_migration_reports_its_task_progress() {
    let sim = Simulator::builder()
        .scenario(Scenario::builtin("lab").unwrap())
        .config(Config {
            // Long enough for several reads of the task's progress.
            operation_time: Duration::from_millis(1200),
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    let (pool, _) = create_pool(
        "p",
        "",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2")],
        JoinPolicy::default(),
        &OpOptions::default(),
    )
    .await
    .unwrap();
    let mut spec = VmSpec::new("web");
    spec.host = Some("intel1".into());
    spec.start = true;
    ops::create_vm(&pool, &spec, &OpOptions::default())
        .await
        .unwrap();

    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let seen = events.clone();
    let options = OpOptions::default()
        .with_task_progress(Duration::from_millis(100))
        .with_progress(move |e| seen.lock().unwrap().push(e.clone()));
    ops::migrate(&pool, "web", "intel2", &options)
        .await
        .unwrap();

    let events = events.lock().unwrap().clone();
    let fractions: Vec<f64> = events.iter().filter_map(|e| e.fraction).collect();
    assert!(
        fractions.len() >= 2,
        "several task progress reports while the VM moves: {events:?}"
    );
    assert!(
        fractions.windows(2).all(|w| w[0] < w[1]),
        "the task's progress only grows: {fractions:?}"
    );
    assert!(
        fractions.iter().any(|f| *f > 0.0 && *f < 1.0),
        "{fractions:?}"
    );
    // Each report repeats the step it belongs to, and the whole moves forward.
    let step = events.iter().find(|e| e.fraction.is_none()).unwrap();
    for e in events.iter().filter(|e| e.fraction.is_some()) {
        assert_eq!(
            (e.step, e.total, &e.message),
            (step.step, step.total, &step.message)
        );
    }
    let overall: Vec<f64> = events.iter().map(ProgressEvent::overall).collect();
    assert!(overall.windows(2).all(|w| w[0] <= w[1]), "{overall:?}");

    // Without asking, a callback sees each step once.
    let plain: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let seen = plain.clone();
    let options = OpOptions::default().with_progress(move |e| seen.lock().unwrap().push(e.clone()));
    ops::migrate(&pool, "web", "intel1", &options)
        .await
        .unwrap();
    let plain = plain.lock().unwrap().clone();
    assert!(plain.iter().all(|e| e.fraction.is_none()), "{plain:?}");
}
