//! The event-fed object cache against the simulator: bootstrap, live updates, deletions,
//! both forms of waiting (one object; any object of a class), typed and dynamic, their
//! timeout, cancellation and stop, and records that do not decode being reported rather
//! than dropped.

mod support;

use std::time::Duration;

use support::eventually;

use xenpool::generated::{Network, NetworkRecord, Vm, VmPowerState};
use xenpool::pool::cache::WaitTarget;
use xenpool::pool::{ObjectCache, PoolConnection};
use xenpool::{CancelToken, Error};

const LONG: Duration = Duration::from_secs(10);

async fn connect() -> (xenpool_sim::Simulator, PoolConnection) {
    let (sim, url, credentials, options) = support::single_host().await;
    let pool = PoolConnection::connect(&url, credentials, options)
        .await
        .unwrap();
    (sim, pool)
}

#[tokio::test]
async fn the_cache_follows_the_pool() {
    let (_sim, pool) = connect().await;
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
        .wait_for(&web, |v| v.power_state == VmPowerState::Running, LONG)
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
        .wait_for(&net, |n| n.name_label == "cached", LONG)
        .await
        .unwrap();
    Network::destroy(&pool, &net).await.unwrap();
    eventually(
        "deleted objects leave the cache",
        Duration::from_secs(5),
        || cache.get(&net).unwrap().is_none(),
    )
    .await;

    // A condition that never holds times out with a typed error naming the object.
    let err = cache
        .wait_for(
            &web,
            |v| v.name_label == "never",
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_eq!(err.params()[0], format!("waiting for VM {}", web.as_str()));

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

#[tokio::test]
async fn waiting_for_one_object() {
    let (_sim, pool) = connect().await;
    let cache = ObjectCache::start(pool.clone(), &["VM"]).await.unwrap();
    let (web, _) = cache
        .all::<Vm>()
        .unwrap()
        .into_iter()
        .find(|(_, v)| v.name_label == "web")
        .unwrap();

    // A record that already satisfies the condition returns at once, typed or dynamic.
    let started = std::time::Instant::now();
    let record = cache
        .wait_for(&web, |v| v.name_label == "web", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(record.name_label, "web");
    let target = cache.target(web.as_str());
    assert_eq!(target, WaitTarget::Object(web.as_str().to_string()));
    let found = cache
        .wait_for_value(target, |c| c.record.get("name_label").is_some(), LONG)
        .await
        .unwrap();
    assert_eq!(
        (found.class, found.reference.as_str()),
        ("VM", web.as_str())
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // An object created after the wait started: its reference is waited for until it
    // arrives, then its condition.
    let mut wait = cache
        .wait(
            WaitTarget::Object("OpaqueRef:not-yet".into()),
            Duration::from_millis(200),
        )
        .unwrap();
    let err = wait.next().await.unwrap_err();
    assert_eq!(err.code(), "TIMEOUT", "{err}");
    assert_eq!(err.params()[0], "waiting for OpaqueRef:not-yet");

    // The change stream: all of the target's records first, then only changed ones.
    let mut wait = cache
        .wait(WaitTarget::Object(web.as_str().to_string()), LONG)
        .unwrap();
    let first = wait.next().await.unwrap();
    assert_eq!(first.len(), 1);
    Vm::set_name_description(&pool, &web, "changed")
        .await
        .unwrap();
    let next = wait.next().await.unwrap();
    assert_eq!(
        next[0]
            .record
            .get("name_description")
            .and_then(|d| d.as_str()),
        Some("changed")
    );
    assert!(
        matches!(next[0].to_dyn(), xenpool::dynamic::Dyn::Record(r) if r.class_name() == "VM"),
        "typed by its class for the front ends"
    );
    pool.close().await.unwrap();
}

#[tokio::test]
async fn waiting_for_any_object_of_a_class() {
    let (_sim, pool) = connect().await;
    let cache = ObjectCache::start(pool.clone(), &["VM"]).await.unwrap();

    // Already satisfied: the first matching record, with its reference.
    let (dom0, record) = cache
        .wait_for_any::<Vm>(|_, v| v.is_control_domain, LONG)
        .await
        .unwrap();
    assert!(record.is_control_domain);
    assert_eq!(cache.get(&dom0).unwrap().unwrap().uuid, record.uuid);

    // Satisfied later, by an object that did not exist when the wait started.
    let waiting = cache.wait_for_any::<Vm>(|_, v| v.name_label == "fresh", LONG);
    let create = async {
        // Runs once the wait is polled: the wait sees the creation as a change.
        tokio::task::yield_now().await;
        let record = xenpool::generated::VmRecord {
            name_label: "fresh".into(),
            memory_static_max: 1 << 30,
            memory_dynamic_max: 1 << 30,
            memory_dynamic_min: 1 << 30,
            memory_static_min: 1 << 29,
            vcpus_max: 1,
            vcpus_at_startup: 1,
            ..Default::default()
        };
        Vm::create(&pool, &record).await.unwrap()
    };
    let ((found, _), created) = tokio::join!(async { waiting.await.unwrap() }, create);
    assert_eq!(found, created);

    // Dynamic: the class named as a string, in any case.
    let target = cache.target("vm");
    assert_eq!(target, WaitTarget::Class("VM".into()));
    let found = cache
        .wait_for_value(
            target,
            |c| c.record.get("name_label").and_then(|n| n.as_str()) == Some("fresh"),
            LONG,
        )
        .await
        .unwrap();
    assert_eq!(found.reference, created.as_str());

    // Never satisfied: TIMEOUT naming the class.
    let err = cache
        .wait_for_any::<Vm>(|_, v| v.name_label == "never", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "TIMEOUT", "{err}");
    assert_eq!(err.params()[0], "waiting for any VM");

    // A class the cache does not follow would never change.
    assert_eq!(cache.target("Host"), WaitTarget::Class("host".into()));
    let err = cache.wait(cache.target("host"), LONG).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");

    // Cancelled through a CancelToken, well before the timeout.
    let token = CancelToken::new();
    let cancel = token.clone();
    let started = std::time::Instant::now();
    let (result, ()) = tokio::join!(
        token.run(
            "waiting for any VM",
            cache.wait_for_any::<Vm>(|_, _| false, Duration::from_secs(60))
        ),
        async { cancel.cancel() }
    );
    assert_eq!(result.unwrap_err().code(), "CANCELLED");
    assert!(started.elapsed() < Duration::from_secs(30));

    // Closing the cache ends the waits in progress with SESSION_CLOSED.
    let mut wait = cache
        .wait(cache.target("VM"), Duration::from_secs(60))
        .unwrap();
    assert!(!wait.next().await.unwrap().is_empty());
    cache.close();
    assert!(cache.is_stopped());
    assert_eq!(wait.next().await.unwrap_err().code(), "SESSION_CLOSED");
    pool.close().await.unwrap();
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
    let (sim, pool) = connect().await;

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
    // So does a waiter on any VM.
    let err = cache
        .wait_for_any::<Vm>(|_, _| false, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    pool.close().await.unwrap();
}
