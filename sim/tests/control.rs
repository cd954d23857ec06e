//! Faults and control: latency, dropped connections, clock skew, the JSON control
//! endpoint, distinct-ports addressing, and the coverage report.

mod common;

use std::time::{Duration, Instant};

use common::{PROTOCOLS, login, start};
use xenpool::generated::Host;
use xenpool_sim::{Addressing, Scenario, Simulator};

#[tokio::test]
async fn latency_drops_and_skew() {
    let sim = start("single").await;
    let c = login(&sim, "xen1", PROTOCOLS[0]).await;
    sim.set_latency("xen1", Duration::from_millis(300)).unwrap();
    let t = Instant::now();
    Host::get_all(&c).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.set_latency("xen1", Duration::ZERO).unwrap();

    sim.drop_connections("xen1", true).unwrap();
    let err = Host::get_all(&c).await.unwrap_err();
    assert!(matches!(err, xenpool::Error::Transport { .. }), "{err}");
    sim.drop_connections("xen1", false).unwrap();

    sim.skew_clock("xen1", -600).unwrap();
    let host = Host::get_all(&c).await.unwrap().remove(0);
    let t = Host::get_servertime(&c, &host).await.unwrap();
    let behind = (chrono::Utc::now() - t.0).num_seconds();
    assert!((595..=605).contains(&behind), "{behind}");
    assert!(sim.host("nope").is_err());
    c.logout().await.unwrap();
}

#[tokio::test]
async fn the_control_endpoint_speaks_json() {
    let lab = Scenario::builtin("lab").unwrap();
    let hosts = lab.hosts.len();
    let sim = Simulator::builder()
        .scenario(lab)
        .control_endpoint()
        .start()
        .await
        .unwrap();
    let url = sim.control_url().unwrap();
    let client = reqwest::Client::new();
    let status: serde_json::Value =
        serde_json::from_str(&client.get(&url).send().await.unwrap().text().await.unwrap())
            .unwrap();
    assert_eq!(status["hosts"].as_array().unwrap().len(), hosts);
    let kill = client
        .post(&url)
        .body(r#"{"op":"kill","host":"intel2"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(kill.status(), 200);
    assert!(!sim.host("intel2").unwrap().alive);
    let restart = client
        .post(&url)
        .body(r#"{"op":"restart","host":"intel2"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(restart.status(), 200);
    assert!(sim.host("intel2").unwrap().alive);
    let c = login(&sim, "intel2", PROTOCOLS[1]).await;
    c.logout().await.unwrap();
    let bad = client
        .post(&url)
        .body(r#"{"op":"explode"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = client
        .post(&url)
        .body(r#"{"op":"kill","host":"ghost"}"#)
        .send()
        .await
        .unwrap();
    assert!(unknown.text().await.unwrap().contains("ghost"));
}

#[tokio::test]
async fn distinct_ports_on_one_address() {
    let sim = Simulator::builder()
        .scenario(Scenario::builtin("lab").unwrap())
        .addressing(Addressing::DistinctPorts)
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(50),
            xapi_restart_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let hosts = sim.hosts();
    assert!(
        hosts
            .iter()
            .all(|h| h.url.starts_with("https://127.0.0.1:"))
    );
    // A join and the HOST_IS_SLAVE redirect work with address:port.
    let c = login(&sim, "intel2", PROTOCOLS[0]).await;
    let master = sim.host("intel1").unwrap();
    xenpool::generated::Pool::join(&c, &master.address, "root", &master.password)
        .await
        .unwrap();
    let member = login(&sim, "intel2", PROTOCOLS[1]).await;
    assert_eq!(member.url(), format!("{}/", master.url));
    assert_eq!(Host::get_all(&member).await.unwrap().len(), 2);
    member.logout().await.unwrap();
}

#[test]
fn coverage_reports_every_class() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xenpool-sim"))
        .arg("coverage")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert_eq!(
        text.lines().count(),
        1 + xenpool::meta::classes().len() + 1,
        "header, one line per class, total"
    );
    assert!(text.lines().any(|l| l.starts_with("pool ")));
    assert!(text.lines().last().unwrap().starts_with("all"));
}

/// Whether host `name` accepts TCP connections.
fn listening(sim: &Simulator, name: &str) -> bool {
    let url = sim.host(name).expect("host").url;
    let authority = url.split("://").nth(1).expect("scheme").to_string();
    let Ok(mut addrs) = std::net::ToSocketAddrs::to_socket_addrs(&authority) else {
        return false;
    };
    addrs.next().is_some_and(|a| {
        std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok()
    })
}

/// Polls `condition` until it holds, failing after ten seconds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every control method, from a thread that does not run the simulator's runtime.
fn drive_controls(sim: &Simulator) {
    sim.set_latency("xen1", Duration::from_millis(1)).unwrap();
    sim.set_latency("xen1", Duration::ZERO).unwrap();
    sim.drop_connections("xen1", false).unwrap();
    sim.skew_clock("xen1", 0).unwrap();
    sim.kill("xen1").unwrap();
    wait_until("xen1 is down", || !listening(sim, "xen1"));
    sim.revive("xen1").unwrap();
    wait_until("xen1 is back", || listening(sim, "xen1"));
    sim.kill("xen1").unwrap();
    wait_until("xen1 is down again", || !listening(sim, "xen1"));
    sim.reset();
    wait_until("xen1 is back after reset", || listening(sim, "xen1"));
}

async fn answers(sim: &Simulator) {
    let c = login(sim, "xen1", PROTOCOLS[0]).await;
    Host::get_all(&c).await.unwrap();
    c.logout().await.unwrap();
}

#[test]
fn control_methods_work_from_a_thread_without_a_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(start("single"));
    let s = sim.clone();
    std::thread::spawn(move || drive_controls(&s))
        .join()
        .expect("control methods from a plain thread");
    // And from this thread, which has no runtime either.
    drive_controls(&sim);
    runtime.block_on(answers(&sim));
}

#[tokio::test]
async fn control_methods_work_inside_a_runtime() {
    let sim = start("single").await;
    // On the simulator's own (current-thread) runtime.
    sim.kill("xen1").unwrap();
    common::eventually("xen1 is down", Duration::from_secs(10), || {
        !listening(&sim, "xen1")
    })
    .await;
    sim.revive("xen1").unwrap();
    answers(&sim).await;
    sim.kill("xen1").unwrap();
    common::eventually("xen1 is down again", Duration::from_secs(10), || {
        !listening(&sim, "xen1")
    })
    .await;
    sim.reset();
    answers(&sim).await;
    // Inside another runtime, on another thread.
    let s = sim.clone();
    tokio::task::spawn_blocking(move || {
        let other = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        other.block_on(async { drive_controls(&s) });
    })
    .await
    .expect("control methods inside another runtime");
    answers(&sim).await;
}
