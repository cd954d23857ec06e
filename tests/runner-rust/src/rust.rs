//! The Rust surface: every step through `xenpool::pool` against an in-process simulator.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use xenpool::generated::{BondMode, Vm, VmRecord};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{
    HostAccess, JoinPolicy, OpOptions, Plan, PoolConnection, PoolSnapshot, ValidateOptions,
    create_pool, join, validate_join,
};
use xenpool::{ConnectOptions, ConnectSpec, Credentials, Secret, Tls};
use xenpool_sim::{Config, Scenario as SimScenario, Simulator};

use crate::scenario::{Scenario, Step, StepResult};

/// A fresh `lab` simulator with short delays (every surface uses the same ones).
async fn lab() -> Result<Simulator> {
    Ok(Simulator::builder()
        .scenario(SimScenario::builtin("lab")?)
        .config(Config {
            auth_failure_delay: Duration::from_millis(10),
            ..Config::default()
        })
        .start()
        .await?)
}

fn access(sim: &Simulator, name: &str, password: Option<&str>) -> Result<HostAccess> {
    let h = sim.host(name)?;
    let password = password.map(str::to_string).unwrap_or(h.password);
    let tls = match h.fingerprint {
        Some(fp) => Tls::Pinned(fp),
        None => Tls::default(),
    };
    Ok(HostAccess::new(
        h.url,
        Credentials::new("root", password.as_str()),
        ConnectOptions {
            tls,
            ..ConnectOptions::default()
        },
    ))
}

/// A `connect` step's options as core's `ConnectSpec` (tests/README.md, `with`).
fn connect_spec(sim: &Simulator, name: &str, step: &Step) -> Result<ConnectSpec> {
    let h = sim.host(name)?;
    let with = step.with.clone().unwrap_or_default();
    Ok(ConnectSpec {
        url: match with.bare {
            true => format!("{}:{}", h.address, h.port),
            false => h.url.clone(),
        },
        password: (!with.no_password).then(|| Secret::new(h.password.as_str())),
        fingerprint: with.fingerprint.clone(),
        trust_on_first_use: with.trust_on_first_use,
        insecure: with.insecure,
        protocol: with.protocol.clone(),
        ..ConnectSpec::default()
    })
}

async fn state(pool: &PoolConnection) -> Value {
    match PoolSnapshot::fetch(pool).await {
        Ok(snap) => {
            let mut hosts: Vec<String> =
                snap.hosts().iter().map(|h| h.name().to_string()).collect();
            hosts.sort();
            let coordinator = snap.pool().master().map(|h| h.name().to_string());
            let vms: serde_json::Map<String, Value> = snap
                .vms()
                .iter()
                .filter(|v| !v.record.is_a_template && !v.record.is_control_domain)
                .filter_map(|v| Some((v.name().to_string(), json!(v.resident_on()?.name()))))
                .collect();
            json!({ "coordinator": coordinator, "hosts": hosts, "vms": vms })
        }
        Err(e) => json!({ "error": e.code() }),
    }
}

/// A step that succeeded, with the state it reports.
fn succeeded(step: &Step, state: Value) -> StepResult {
    StepResult {
        step: step.label(),
        unsupported: None,
        ok: true,
        code: None,
        params: None,
        method: None,
        state,
    }
}

async fn state_after(step: &Step, pool: PoolConnection) -> StepResult {
    succeeded(step, state(&pool).await)
}

/// A dry run's result: nothing executed, the plan's calls in order.
fn planned(step: &Step, plan: &Plan) -> StepResult {
    let calls: Vec<&str> = plan.calls.iter().map(|c| c.method.as_str()).collect();
    succeeded(step, json!({ "executed": false, "calls": calls }))
}

fn failed(step: &Step, e: &xenpool::Error) -> StepResult {
    StepResult {
        step: step.label(),
        unsupported: None,
        ok: false,
        code: Some(e.code().to_string()),
        params: Some(e.params()),
        method: e.method().map(str::to_string),
        state: Value::Null,
    }
}

/// The VM every surface creates for `start_vm`: 1 GiB, one vCPU, no disk.
fn vm_record(name: &str) -> VmRecord {
    VmRecord {
        name_label: name.into(),
        memory_static_max: 1 << 30,
        memory_dynamic_max: 1 << 30,
        memory_dynamic_min: 1 << 30,
        memory_static_min: 1 << 29,
        vcpus_max: 1,
        vcpus_at_startup: 1,
        ..Default::default()
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Plays `scenario` against a fresh simulator: the steps' results, and the error that
/// stopped it early if one did (the steps before it are still reported).
pub async fn play(scenario: &Scenario) -> (Vec<StepResult>, Option<anyhow::Error>) {
    let sim = match lab().await {
        Ok(sim) => sim,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut pool: Option<PoolConnection> = None;
    let mut out = Vec::new();
    let mut stopped = None;
    for step in &scenario.steps {
        match Box::pin(one(&sim, &mut pool, step)).await {
            Ok(result) => out.push(result.normalised()),
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    if let Some(p) = pool {
        let _ = p.close().await;
    }
    (out, stopped)
}

async fn one(
    sim: &Simulator,
    pool: &mut Option<PoolConnection>,
    step: &Step,
) -> Result<StepResult> {
    let host = step.host.as_deref().unwrap_or("");
    let opts = if step.dry_run {
        OpOptions::dry_run()
    } else {
        OpOptions::default()
    };
    let done = |pool: &PoolConnection| state_after(step, pool.clone());
    // A workflow's result: its plan for a dry run, else the pool's state.
    let finished = |pool: &PoolConnection, plan: &Plan| {
        let pool = pool.clone();
        let plan = plan.clone();
        async move {
            if step.dry_run {
                planned(step, &plan)
            } else {
                state_after(step, pool).await
            }
        }
    };
    let need = |pool: &Option<PoolConnection>| -> Result<PoolConnection> {
        match pool {
            Some(p) => Ok(p.clone()),
            None => bail!(
                "step {:?} needs a pool: connect or create_pool first",
                step.label()
            ),
        }
    };
    Ok(match step.action.as_str() {
        "connect" if step.with.is_some() => {
            let spec = connect_spec(sim, host, step)?;
            let connected = async { spec.resolve(None)?.connect_pool().await };
            match connected.await {
                Ok(p) => {
                    if let Some(old) = pool.replace(p) {
                        let _ = old.close().await;
                    }
                    done(pool.as_ref().expect("just set")).await
                }
                Err(e) => failed(step, &e),
            }
        }
        "connect" => {
            let mut a = access(sim, host, step.password.as_deref())?;
            if step.unreachable {
                a.url = format!("https://127.0.0.1:{}", free_port()?);
            }
            match PoolConnection::connect(&a.url, a.credentials.clone(), a.options.clone()).await {
                Ok(p) => {
                    if let Some(old) = pool.replace(p) {
                        let _ = old.close().await;
                    }
                    done(pool.as_ref().expect("just set")).await
                }
                Err(e) => failed(step, &e),
            }
        }
        "validate" => {
            let p = need(pool)?;
            let a = access(sim, host, None)?;
            let options = ValidateOptions {
                connect: a.options.clone(),
                ..Default::default()
            };
            match validate_join(&p, &a.url, &a.credentials, &options).await {
                Ok(report) => {
                    let predicted = report.predicted_failure(false);
                    let fails: Vec<&str> = report.fails().iter().map(|c| c.id.as_str()).collect();
                    StepResult {
                        step: step.label(),
                        unsupported: None,
                        ok: report.is_ready(),
                        code: predicted.as_ref().map(|(c, _)| c.wire().to_string()),
                        params: predicted.map(|(_, p)| p),
                        method: None,
                        state: json!({ "fails": fails }),
                    }
                }
                Err(e) => failed(step, &e),
            }
        }
        "create_pool" => {
            let coordinator = access(sim, step.coordinator.as_deref().unwrap_or("intel1"), None)?;
            let members = step
                .members
                .iter()
                .map(|m| access(sim, m, None))
                .collect::<Result<Vec<_>>>()?;
            let policy = JoinPolicy {
                force: step.force,
                allow_cross_vendor: step.allow_cross_vendor,
            };
            let name = step.name.as_deref().unwrap_or("pool");
            match create_pool(name, "", &coordinator, &members, policy, &opts).await {
                Ok((p, _)) => {
                    if let Some(old) = pool.replace(p) {
                        let _ = old.close().await;
                    }
                    done(pool.as_ref().expect("just set")).await
                }
                Err(e) => failed(step, &e),
            }
        }
        "join" => {
            let p = need(pool)?;
            let policy = JoinPolicy {
                force: step.force,
                allow_cross_vendor: step.allow_cross_vendor,
            };
            match join(&p, &access(sim, host, None)?, policy, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "eject" => {
            let p = need(pool)?;
            match ops::eject(&p, host, &EjectOptions::default(), &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "create_bond" => {
            let p = need(pool)?;
            let devices: Vec<&str> = step.devices.iter().map(String::as_str).collect();
            let mode = BondMode::from_wire(step.mode.as_deref().unwrap_or("lacp"));
            let network = step.network.as_deref().unwrap_or("Bond");
            match ops::create_bond(&p, &devices, mode, network, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "repair_bonds" => {
            let p = need(pool)?;
            match ops::repair_bonds(&p, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "create_nfs_sr" => {
            let p = need(pool)?;
            let r = ops::create_nfs_sr(
                &p,
                step.name.as_deref().unwrap_or("nfs"),
                step.server.as_deref().unwrap_or(""),
                step.path.as_deref().unwrap_or(""),
                None,
                &opts,
            )
            .await;
            match r {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "start_vm" => {
            let p = need(pool)?;
            let name = step.name.as_deref().unwrap_or("vm");
            let r = async {
                let snap = PoolSnapshot::fetch(&p).await?;
                let on = snap.find_host(host)?.r.clone();
                let vm = Vm::create(&p, &vm_record(name)).await?;
                Vm::start_on(&p, &vm, &on, false, false).await
            }
            .await;
            match r {
                Ok(()) => done(&p).await,
                Err(e) => failed(step, &e),
            }
        }
        "migrate" => {
            let p = need(pool)?;
            let vm = step.vm.as_deref().unwrap_or("");
            match ops::migrate(&p, vm, host, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "evacuate" => {
            let p = need(pool)?;
            match ops::evacuate(&p, host, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "enable_ha" => {
            let p = need(pool)?;
            match ops::enable_ha(&p, None, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "disable_ha" => {
            let p = need(pool)?;
            match ops::disable_ha(&p, &opts).await {
                Ok(o) => finished(&p, &o.plan).await,
                Err(e) => failed(step, &e),
            }
        }
        "check_bonds" => {
            let p = need(pool)?;
            match PoolSnapshot::fetch(&p).await {
                Ok(snap) => {
                    let problems = ops::check_bonds(&snap);
                    let mut hosts: Vec<String> = problems.into_iter().map(|b| b.host).collect();
                    hosts.sort();
                    succeeded(step, json!({ "bond_problems": hosts }))
                }
                Err(e) => failed(step, &e),
            }
        }
        "kill" => {
            sim.kill(host)?;
            succeeded(step, Value::Null)
        }
        "state" => done(&need(pool)?).await,
        "recover" => {
            let a = access(sim, host, None)?;
            let recovery = ops::RecoveryOptions {
                restart_vms: step.restart_vms,
            };
            let r = ops::recover_lost_coordinator(
                &a.url,
                a.credentials.clone(),
                a.options.clone(),
                recovery,
                &opts,
            )
            .await;
            match r {
                Ok((_, o)) if step.dry_run => planned(step, &o.plan),
                Ok((Some(p), _)) => {
                    if let Some(old) = pool.replace(p) {
                        let _ = old.close().await;
                    }
                    done(pool.as_ref().expect("just set")).await
                }
                Ok((None, _)) => bail!("recover returned no pool outside a dry run"),
                Err(e) => failed(step, &e),
            }
        }
        other => bail!("unknown step kind {other:?} (see tests/README.md)"),
    })
}
