//! The event-fed object cache against the simulator: bootstrap, live updates, deletions,
//! `wait_for`, its timeout, and stopping when the connection closes.

use std::time::Duration;

use xenpool::generated::{Network, NetworkRecord, Vm, VmPowerState};
use xenpool::pool::{ObjectCache, PoolConnection};
use xenpool::{ConnectOptions, Credentials, Error, Tls};

#[tokio::test]
async fn the_cache_follows_the_pool() {
    let sim = xenpool_sim::Simulator::builder()
        .scenario(xenpool_sim::Scenario::builtin("single").unwrap())
        .start()
        .await
        .unwrap();
    let h = sim.host("xen1").unwrap();
    let pool = PoolConnection::connect(
        &h.url,
        Credentials::new("root", h.password.as_str()),
        ConnectOptions {
            tls: Tls::Pinned(h.fingerprint.unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let cache = ObjectCache::start(pool.clone(), &["VM", "network"])
        .await
        .unwrap();
    let vms = cache.all::<Vm>().unwrap();
    assert_eq!(vms.len(), 3, "bootstrapped with get_all_records");
    let web = vms
        .iter()
        .find(|(_, v)| v.name_label == "web")
        .map(|(r, _)| r.clone())
        .unwrap();

    // A change made by someone else shows up, and wait_for returns the new record.
    let other = pool.clone();
    let w = web.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Vm::start(&other, &w, false, false).await.unwrap();
    });
    let running = cache
        .wait_for(
            &web,
            |v| v.power_state == VmPowerState::Running,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(!running.resident_on.is_null());
    assert_eq!(
        cache.get(&web).unwrap().unwrap().power_state,
        VmPowerState::Running
    );

    // Creations and deletions too.
    let net = Network::create(
        &pool,
        &NetworkRecord {
            name_label: "cached".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    cache
        .wait_for(&net, |n| n.name_label == "cached", Duration::from_secs(10))
        .await
        .unwrap();
    Network::destroy(&pool, &net).await.unwrap();
    for _ in 0..100 {
        if cache.get(&net).unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        cache.get(&net).unwrap().is_none(),
        "deleted objects leave the cache"
    );

    // A condition that never holds times out with a typed error.
    let err = cache
        .wait_for(
            &web,
            |v| v.name_label == "never",
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");

    // Closing the connection stops the cache: a waiter learns it, not after its timeout.
    assert!(!cache.is_stopped());
    pool.close().await.unwrap();
    let started = std::time::Instant::now();
    let err = cache
        .wait_for(&web, |v| v.name_label == "never", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "SESSION_CLOSED", "{err}");
    assert!(cache.is_stopped());
    assert!(started.elapsed() < Duration::from_secs(30));
}
