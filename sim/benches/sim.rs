//! Simulator figures (not a timed test; `cargo bench -p xenpool-sim --bench sim`):
//! start-up of `pool16`, `VM.get_all_records` of 10,000 VMs served over HTTPS and decoded
//! typed by the client, and small calls per second with N concurrent clients.

use std::time::{Duration, Instant};

use xenpool::generated::{Host, Vm};
use xenpool::{ConnectOptions, Connection, Credentials, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

async fn connect(sim: &Simulator, protocol: Protocol) -> Connection {
    let h = sim.host("node1").unwrap();
    let opts = ConnectOptions {
        tls: Tls::Pinned(h.fingerprint.unwrap()),
        protocol,
        ..Default::default()
    };
    Connection::login(&h.url, Credentials::new("root", h.password.as_str()), opts)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let vms: usize = std::env::var("XENPOOL_BENCH_VMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    for _ in 0..3 {
        let t = Instant::now();
        let sim = Simulator::builder()
            .scenario(Scenario::builtin("pool16").unwrap())
            .start()
            .await
            .unwrap();
        println!("pool16 start-up (16 hosts, 1,000 VMs): {:?}", t.elapsed());
        drop(sim);
    }
    let t = Instant::now();
    let sim = Simulator::builder()
        .scenario(Scenario::builtin("pool16").unwrap())
        .vms(vms)
        .start()
        .await
        .unwrap();
    println!("pool16 with {vms} VMs start-up: {:?}", t.elapsed());
    for protocol in [Protocol::JsonRpc, Protocol::XmlRpc] {
        let c = connect(&sim, protocol).await;
        let mut best = Duration::MAX;
        let mut n = 0;
        for _ in 0..3 {
            let t = Instant::now();
            n = Vm::get_all_records(&c).await.unwrap().len();
            best = best.min(t.elapsed());
        }
        println!("VM.get_all_records over HTTPS, {protocol:?}: {n} records, best of 3 {best:?}");
        c.logout().await.unwrap();
    }
    for clients in [1usize, 8, 32] {
        let conns: Vec<Connection> = futures::future::join_all((0..clients).map(|i| {
            connect(
                &sim,
                if i % 2 == 0 {
                    Protocol::JsonRpc
                } else {
                    Protocol::XmlRpc
                },
            )
        }))
        .await;
        let window = Duration::from_secs(3);
        let t = Instant::now();
        let counts = futures::future::join_all(conns.iter().map(|c| async move {
            let mut n = 0u64;
            while t.elapsed() < window {
                Host::get_all(c).await.unwrap();
                n += 1;
            }
            n
        }))
        .await;
        let total: u64 = counts.iter().sum();
        println!(
            "host.get_all with {clients:>2} concurrent clients: {:.0} calls/s",
            total as f64 / t.elapsed().as_secs_f64()
        );
        for c in conns {
            c.logout().await.unwrap();
        }
    }
}
