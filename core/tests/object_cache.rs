//! The event-fed object cache against the simulator: bootstrap, live updates, deletions,
//! `wait_for`, its timeout, stopping when the connection closes, and records that do not
//! decode being reported rather than dropped.

mod support;

use std::time::Duration;

use support::eventually;

use xenpool::Error;
use xenpool::generated::{Network, NetworkRecord, Vm, VmPowerState};
use xenpool::pool::{ObjectCache, PoolConnection};

#[tokio::test]
async fn the_cache_follows_the_pool() {
    let (_sim, url, credentials, options) = support::single_host().await;
    let pool = PoolConnection::connect(&url, credentials, options)
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
    // The cache learns of it only from the event feed, so wait_for waits on that.
    Vm::start(&pool, &web, false, false).await.unwrap();
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
    eventually(
        "deleted objects leave the cache",
        Duration::from_secs(5),
        || cache.get(&net).unwrap().is_none(),
    )
    .await;

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

/// Puts a value of the wrong type into a VM's record, straight into the simulator's store.
fn corrupt(sim: &xenpool_sim::Simulator, vm: &str, field: &str, value: &str) -> String {
    let mut world = sim.world();
    let pool = world.pools.values_mut().next().expect("one pool");
    let r = pool.db.find_one("VM", "name_label", vm).expect("the VM");
    assert!(
        pool.db
            .set_field("VM", &r, field, xenpool::wire::Value::String(value.into()))
    );
    r
}

#[tokio::test]
async fn records_that_do_not_decode_are_reported_not_dropped() {
    let (sim, url, credentials, options) = support::single_host().await;
    let pool = PoolConnection::connect(&url, credentials, options)
        .await
        .unwrap();

    // Already broken when the cache bootstraps with get_all_records.
    let db = corrupt(&sim, "db", "memory_static_max", "lots");
    let cache = ObjectCache::start(pool.clone(), &["VM"]).await.unwrap();
    let db = xenpool::Ref::<Vm>::new(db);
    assert!(
        cache.get_value("VM", db.as_str()).is_some(),
        "kept, untyped"
    );
    let err = cache.get(&db).unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(err.to_string().contains(db.as_str()), "{err}");
    let err = cache.all::<Vm>().unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");

    // Broken by a change that arrives through event.from.
    let web = corrupt(&sim, "web", "VCPUs_max", "many");
    let web = xenpool::Ref::<Vm>::new(web);
    Vm::set_name_label(&pool, &web, "web2").await.unwrap();
    eventually(
        "the event reaches the cache",
        Duration::from_secs(10),
        || {
            let name = cache.get_value("VM", web.as_str()).and_then(|v| {
                v.get("name_label")
                    .and_then(|n| n.as_str().map(String::from))
            });
            name.as_deref() == Some("web2")
        },
    )
    .await;
    let err = cache.get(&web).unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(err.to_string().contains(web.as_str()), "{err}");
    // A waiter on it gets the decoding error at once, not a timeout.
    let started = std::time::Instant::now();
    let err = cache
        .wait_for(&web, |_| false, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    pool.close().await.unwrap();
}
