//! `xenpool-sim`: run the XenAPI simulator, report its coverage, or steer a running one.

use std::time::Duration;

use clap::{Parser, Subcommand};
use xenpool_sim::{Addressing, Scenario, Simulator, handlers};

#[derive(Parser, Debug)]
#[command(
    name = "xenpool-sim",
    version,
    about = "A multi-host XenAPI simulator on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Built-in scenario (lab, pool16, single) or a TOML file.
    #[arg(long, default_value = "lab")]
    scenario: String,
    /// Generated VMs in total (scales the scenario's VM groups).
    #[arg(long)]
    vms: Option<usize>,
    /// Port shared by every host (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// One port per host on 127.0.0.1 instead of 127.0.0.N addresses.
    #[arg(long)]
    distinct_ports: bool,
    /// Delay before refusing a wrong password, in milliseconds (xapi: 5000).
    #[arg(long, default_value_t = 5000)]
    auth_delay_ms: u64,
    /// With HA on, how long after the coordinator dies a survivor takes over, in
    /// milliseconds (xapi waits out its heartbeat timeout, 60 s by default).
    #[arg(long, default_value_t = 2000)]
    ha_election_ms: u64,
    /// Print the endpoints as one line of JSON (for scripts) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print implemented versus total messages per class.
    Coverage,
    /// List the built-in scenarios.
    Scenarios,
    /// Send one operation to a running simulator's control endpoint.
    Control {
        /// The control URL printed at start-up.
        #[arg(long)]
        url: String,
        /// JSON operation, e.g. '{"op":"kill","host":"intel2"}'.
        op: String,
    },
}

fn coverage() {
    let registry = handlers::registry();
    let (mut done, mut all) = (0, 0);
    println!("{:<24} {:>11} {:>7}", "class", "implemented", "total");
    for class in xenpool::meta::classes() {
        let total = class.messages.len();
        let implemented = class
            .messages
            .iter()
            .filter(|m| {
                m.implicit || registry.contains_key(format!("{}.{}", class.name, m.name).as_str())
            })
            .count();
        done += implemented;
        all += total;
        println!("{:<24} {:>11} {:>7}", class.name, implemented, total);
    }
    println!(
        "{:<24} {:>11} {:>7}  ({:.0}%)",
        "all",
        done,
        all,
        100.0 * done as f64 / all as f64
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Coverage) => {
            coverage();
            return Ok(());
        }
        Some(Command::Scenarios) => {
            for (name, _) in xenpool_sim::scenario::BUILTIN {
                let s = Scenario::builtin(name)?;
                println!("{name:<8} {:>3} hosts  {}", s.hosts.len(), s.description);
            }
            return Ok(());
        }
        Some(Command::Control { url, op }) => {
            let reply = control_request(&url, &op).await?;
            println!("{reply}");
            return Ok(());
        }
        None => {}
    }
    let mut builder = Simulator::builder()
        .scenario_named(&cli.scenario)?
        .port(cli.port)
        .auth_failure_delay(Duration::from_millis(cli.auth_delay_ms))
        .ha_election_delay(Duration::from_millis(cli.ha_election_ms))
        .control_endpoint();
    if let Some(n) = cli.vms {
        builder = builder.vms(n);
    }
    if cli.http {
        builder = builder.plain_http();
    }
    if cli.distinct_ports {
        builder = builder.addressing(Addressing::DistinctPorts);
    }
    let sim = builder.start().await?;
    if cli.json {
        let mut description = xenpool_sim::control::describe(&sim);
        description["control"] = serde_json::Value::from(sim.control_url());
        println!("{description}");
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }
    println!("xenpool-sim: scenario {}", cli.scenario);
    println!(
        "{:<12} {:<28} {:<10} {:<14} fingerprint (SHA-256)",
        "host", "url", "user", "password"
    );
    for h in sim.hosts() {
        let role = h
            .master_address
            .as_ref()
            .map(|m| format!(" (member of {m})"))
            .unwrap_or_default();
        println!(
            "{:<12} {:<28} {:<10} {:<14} {}{}",
            h.name,
            h.url,
            h.username,
            h.password,
            h.fingerprint
                .map(|f| f.to_string())
                .unwrap_or_else(|| "-".into()),
            role
        );
    }
    if let Some(url) = sim.control_url() {
        println!(
            "control: {url}  (GET for status; POST {{\"op\": \"kill\", \"host\": \"NAME\"}}, \
                restart, latency, drop, skew, reset)"
        );
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// A minimal HTTP/1.1 POST to the control endpoint (loopback only).
async fn control_request(url: &str, body: &str) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url
        .strip_prefix("http://")
        .ok_or("the control URL starts with http://")?
        .trim_end_matches('/');
    let host = authority.split(':').next().unwrap_or_default();
    if !xenpool_sim::scenario::is_loopback(host) && host != "localhost" {
        return Err("the control endpoint is only reachable on loopback".into());
    }
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
            Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or(&response)
        .to_string())
}
