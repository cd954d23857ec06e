//! The pool workflows through the blocking facade, from plain synchronous code.

mod support;

use std::time::Duration;

use xenpool::blocking;
use xenpool::pool::OpOptions;

#[test]
fn a_pool_from_synchronous_code() {
    // The simulator runs on its own runtime; the blocking API uses the library's.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(async {
        xenpool_sim::Simulator::builder()
            .scenario(xenpool_sim::Scenario::builtin("lab").unwrap())
            .config(xenpool_sim::Config {
                xapi_restart_delay: Duration::from_millis(20),
                ..Default::default()
            })
            .start()
            .await
            .unwrap()
    });
    let access = |name: &str| support::access(&sim, name);
    let (pool, outcome) = blocking::Pool::create(
        "sync",
        "",
        &access("intel1"),
        &[access("intel2")],
        false,
        &OpOptions::default(),
    )
    .unwrap();
    assert!(outcome.is_complete());
    let report = pool.validate_join(&access("busy")).unwrap();
    assert_eq!(
        report.predicted_failure(false).unwrap().0.wire(),
        "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"
    );
    assert!(pool.check_bonds().unwrap().is_empty());
    assert_eq!(pool.snapshot().unwrap().hosts().len(), 2);
    pool.close().unwrap();
    assert_eq!(sim.session_count(), 0);
}
