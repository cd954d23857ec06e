//! One `VM.get_all_records` through the typed Rust API, end to end with login and logout,
//! against a running host or simulator; prints `{"seconds", "vms", "peak_mib"}` as JSON.
//! `bindings-python/bench/get_all_records.py` runs it beside the Python clients (the issue
//! states the Python target as a ratio to this call).
//!
//!     cargo build --release -p xenpool --example get_all_records
//!     target/release/examples/get_all_records URL PASSWORD FINGERPRINT

use std::time::Instant;

use xenpool::generated::Vm;
use xenpool::{ConnectOptions, Connection, Credentials, Tls};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, password, fingerprint] = <[String; 3]>::try_from(args)
        .map_err(|_| anyhow::anyhow!("usage: get_all_records URL PASSWORD FINGERPRINT"))?;
    let options = ConnectOptions {
        tls: Tls::Pinned(fingerprint.parse()?),
        ..Default::default()
    };
    let started = Instant::now();
    let c = Connection::login(&url, Credentials::new("root", password.as_str()), options).await?;
    let vms = Vm::get_all_records(&c).await?;
    // The same reads as the Python clients.
    let total: i64 = vms.values().map(|v| v.memory_static_max).sum();
    let names: Vec<&str> = vms.values().map(|v| v.name_label.as_str()).collect();
    anyhow::ensure!(total > 0 && names.len() == vms.len());
    c.logout().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"seconds\": {seconds}, \"vms\": {}, \"peak_mib\": {}}}",
        vms.len(),
        peak_mib()
    );
    Ok(())
}

/// This process's peak resident set (`VmHWM`), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
