//! The shell's `xenapi("VM.get_all_records")` against the typed Rust call, side by side in
//! one run (`cargo bench -p xenpool-repl --bench xenapi [-- --vms N --rounds N]`): 10,000
//! VMs from one simulator over HTTPS, the dynamic path including the conversion into Rhai
//! values. The target: the dynamic path costs at most 1.3× the typed call.

use std::time::{Duration, Instant};

use xenpool::generated::Vm;
use xenpool::{ConnectOptions, Connection, Credentials, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn best_of_3<F, Fut>(mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let n = run().await;
        best = best.min(t.elapsed());
        assert!(n > 0);
    }
    best
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[tokio::main]
async fn main() {
    let vms = arg("--vms", 10_000);
    let rounds = arg("--rounds", 3);
    let sim = Simulator::builder()
        .scenario(Scenario::builtin("pool16").unwrap())
        .vms(vms)
        .start()
        .await
        .unwrap();
    let h = sim.host("node1").unwrap();
    for protocol in [Protocol::JsonRpc, Protocol::XmlRpc] {
        let options = ConnectOptions {
            tls: Tls::Pinned(h.fingerprint.unwrap()),
            protocol,
            ..Default::default()
        };
        let c = Connection::login(
            &h.url,
            Credentials::new("root", h.password.as_str()),
            options,
        )
        .await
        .unwrap();
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let typed = best_of_3(|| async { Vm::get_all_records(&c).await.unwrap().len() }).await;
            let shell = best_of_3(|| async {
                let result = xenpool::dynamic::call(&c, "VM.get_all_records", &[])
                    .await
                    .unwrap();
                let value = xenpool_repl::convert::from_dyn(result);
                value.try_cast::<rhai::Map>().map_or(0, |m| m.len())
            })
            .await;
            let ratio = shell.as_secs_f64() / typed.as_secs_f64();
            println!(
                "{protocol:?} round {round}: typed {typed:.3?}, shell xenapi() {shell:.3?}, \
                    ratio {ratio:.2}×"
            );
            ratios.push(ratio);
        }
        println!(
            "{protocol:?}: median ratio {:.2}× for {vms} VMs (target ≤ 1.30×)",
            median(ratios)
        );
        c.logout().await.unwrap();
    }
}
