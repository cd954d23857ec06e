//! `validate_join` of 15 lab candidates against a one-host pool (intel1), concurrently:
//! wall time and XenAPI calls per candidate. Run with
//! `cargo bench -p xenpool --bench validate_join`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use xenpool::pool::{ValidateOptions, validate_join};
use xenpool::wire::ResultSeed;
use xenpool::{CallRequest, Caller, ConnectOptions, Connection, Credentials, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

const CANDIDATES: [&str; 15] = [
    "intel2",
    "intel3",
    "amd1",
    "intel-old",
    "busy",
    "suspended",
    "midop",
    "nfs-host",
    "bonded",
    "dhcp",
    "skewed",
    "oldver",
    "nohotfix",
    "nolinux",
    "pooled-a",
];
const ROUNDS: usize = 5;

/// Counts the calls made on the pool's connection.
struct Counting<C> {
    inner: C,
    calls: AtomicUsize,
}

impl<C: Caller> Caller for Counting<C> {
    async fn call_seeded<S>(&self, request: CallRequest<'_>, seed: S) -> xenpool::Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.call_seeded(request, seed).await
    }
}

fn pinned(sim: &Simulator, host: &str) -> ConnectOptions {
    let info = sim.host(host).expect("host");
    ConnectOptions {
        tls: Tls::Pinned(info.fingerprint.expect("https")),
        protocol: Protocol::JsonRpc,
        ..Default::default()
    }
}

async fn run() {
    let sim = Simulator::builder()
        .scenario(Scenario::builtin("lab").expect("lab"))
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(50),
            xapi_restart_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .start()
        .await
        .expect("simulator");
    let coordinator = sim.host("intel1").expect("intel1");
    let conn = Connection::login(
        &coordinator.url,
        Credentials::new("root", coordinator.password.as_str()),
        pinned(&sim, "intel1"),
    )
    .await
    .expect("login to intel1");
    let pool = Counting {
        inner: conn.clone(),
        calls: AtomicUsize::new(0),
    };

    let mut walls = Vec::new();
    let mut last = Vec::new();
    for _ in 0..ROUNDS {
        pool.calls.store(0, Ordering::Relaxed);
        let start = Instant::now();
        let reports = futures::future::join_all(CANDIDATES.iter().map(|host| {
            let info = sim.host(host).expect("host");
            let options = ValidateOptions {
                connect: pinned(&sim, host),
                ..Default::default()
            };
            let pool = &pool;
            async move {
                let credentials = Credentials::new("root", info.password.as_str());
                validate_join(pool, &info.url, &credentials, &options).await
            }
        }))
        .await;
        walls.push(start.elapsed());
        last = reports
            .into_iter()
            .map(|r| r.expect("validate_join"))
            .collect();
        assert_eq!(sim.session_count(), 1, "only the pool's session remains");
    }
    walls.sort();
    let pool_calls = pool.calls.load(Ordering::Relaxed);
    println!(
        "validate_join: {} candidates concurrently against a 1-host pool, {ROUNDS} rounds",
        CANDIDATES.len()
    );
    println!(
        "wall time: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        walls[0].as_secs_f64() * 1e3,
        walls[ROUNDS / 2].as_secs_f64() * 1e3,
        walls[ROUNDS - 1].as_secs_f64() * 1e3
    );
    println!(
        "pool-side calls (counting Caller): {pool_calls} in total, {:.1} per candidate",
        pool_calls as f64 / CANDIDATES.len() as f64
    );
    println!(
        "{:<10} {:>10} {:>15}  predicted pool.join failure",
        "candidate", "pool calls", "candidate calls"
    );
    for (host, report) in CANDIDATES.iter().zip(&last) {
        let predicted = report
            .predicted_failure(false)
            .map_or("-".to_string(), |(code, params)| {
                format!("{} {params:?}", code.wire())
            });
        println!(
            "{host:<10} {:>10} {:>15}  {predicted}",
            report.calls.pool, report.calls.candidate
        );
    }

    // One candidate alone, for comparison.
    let info = sim.host("intel2").expect("intel2");
    let options = ValidateOptions {
        connect: pinned(&sim, "intel2"),
        ..Default::default()
    };
    let start = Instant::now();
    validate_join(
        &pool,
        &info.url,
        &Credentials::new("root", info.password.as_str()),
        &options,
    )
    .await
    .expect("validate");
    println!(
        "one candidate alone: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    conn.logout().await.expect("logout");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}
