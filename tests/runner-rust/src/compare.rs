//! Runs every surface on every scenario and compares: each step against its expectation,
//! and each surface against Rust's result. A difference prints the step side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::scenario::{self, Scenario, StepResult};

/// Where the other surfaces' artefacts are (built by the earlier CI steps).
#[derive(Debug, Clone)]
pub struct Surfaces {
    /// The `xenpool` binary (shell), if the shell is compared.
    pub xenpool: Option<PathBuf>,
    /// The Python interpreter with the package installed (its venv).
    pub python: Option<PathBuf>,
    /// The Node package directory (with its built .node file).
    pub node_package: Option<PathBuf>,
}

const SURFACES: [&str; 4] = ["rust", "shell", "python", "node"];

fn parse_steps(surface: &str, stdout: &[u8]) -> Result<Vec<StepResult>> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .filter_map(|l| l.strip_prefix("@@STEP "))
        .map(|l| {
            serde_json::from_str::<StepResult>(l)
                .map(StepResult::normalised)
                .with_context(|| format!("{surface}: unreadable step line {l}"))
        })
        .collect()
}

/// What one surface's runner produced for a scenario: the steps it reported, and why it
/// stopped early if it did (a crash is reported with the scenario, and the suite goes on).
#[derive(Default)]
struct Played {
    steps: Vec<StepResult>,
    crash: Option<String>,
}

impl Played {
    fn crashed(steps: Vec<StepResult>, why: String) -> Self {
        Played {
            steps,
            crash: Some(why),
        }
    }
}

/// The last lines of a runner's output, enough to see why it stopped.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("@@STEP ")).collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn output(surface: &str, mut cmd: Command) -> Played {
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => return Played::crashed(Vec::new(), format!("cannot start {cmd:?}: {e}")),
    };
    let steps = match parse_steps(surface, &out.stdout) {
        Ok(steps) => steps,
        Err(e) => return Played::crashed(Vec::new(), format!("{e:#}")),
    };
    if !out.status.success() {
        let why = format!(
            "exited with {} after {} step(s)\n{}\n{}",
            out.status,
            steps.len(),
            tail(&out.stdout),
            tail(&out.stderr)
        );
        return Played::crashed(steps, why);
    }
    Played { steps, crash: None }
}

/// Plays `file` through every configured surface; the external ones run in parallel.
fn play_all(
    root: &Path,
    file: &Path,
    scenario: &Scenario,
    surfaces: &Surfaces,
    work: &Path,
) -> Result<BTreeMap<&'static str, Played>> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut jobs: Vec<(&'static str, Command)> = Vec::new();
    if let Some(bin) = &surfaces.xenpool {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let script = work.join(format!("{stem}.rhai"));
        std::fs::write(&script, crate::shell::script(scenario, port))?;
        let mut c = Command::new(bin);
        c.args(["--sim", "run"]).arg(&script);
        jobs.push(("shell", c));
    }
    if let Some(python) = &surfaces.python {
        let mut c = Command::new(python);
        c.arg(root.join("tests/runners/python/run.py")).arg(file);
        jobs.push(("python", c));
    }
    if let Some(package) = &surfaces.node_package {
        // Node has no TOML parser of its own: it reads the scenario as JSON.
        let value: serde_json::Value = toml::from_str(&std::fs::read_to_string(file)?)?;
        let json = work.join(format!("{stem}.json"));
        std::fs::write(&json, serde_json::to_vec_pretty(&value)?)?;
        let mut c = Command::new("node");
        c.arg(root.join("tests/runners/node/run.mjs"))
            .arg(&json)
            .arg(package);
        jobs.push(("node", c));
    }
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(name, cmd)| (name, std::thread::spawn(move || output(name, cmd))))
        .collect();
    let mut results = BTreeMap::new();
    let runtime = tokio::runtime::Runtime::new()?;
    let (steps, stopped) = runtime.block_on(crate::rust::play(scenario));
    let rust = Played {
        steps,
        crash: stopped.map(|e| format!("{e:#}")),
    };
    results.insert("rust", rust);
    for (name, h) in handles {
        let played = h
            .join()
            .unwrap_or_else(|_| Played::crashed(Vec::new(), "the runner's thread panicked".into()));
        results.insert(name, played);
    }
    Ok(results)
}

fn cell(r: Option<&StepResult>) -> [String; 5] {
    match r {
        None => [
            "(no result)".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
        Some(r) if r.unsupported.is_some() => [
            "unsupported".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
        Some(r) => [
            r.ok.to_string(),
            r.code.clone().unwrap_or_else(|| "-".into()),
            r.method.clone().unwrap_or_else(|| "-".into()),
            r.params
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default())
                .unwrap_or_else(|| "-".into()),
            if r.state.is_null() {
                "-".into()
            } else {
                r.state.to_string()
            },
        ],
    }
}

/// The step side by side: one row per field, one column per surface (and the expectation).
fn side_by_side(
    results: &BTreeMap<&'static str, Vec<StepResult>>,
    i: usize,
    expect: Option<&scenario::Expect>,
) -> String {
    let names: Vec<&str> = SURFACES
        .iter()
        .copied()
        .filter(|s| results.contains_key(s))
        .collect();
    let cols: Vec<[String; 5]> = names
        .iter()
        .map(|s| cell(results.get(s).and_then(|v| v.get(i))))
        .collect();
    let mut expected: [String; 5] = Default::default();
    if let Some(e) = expect {
        expected[0] = e.ok.map(|b| b.to_string()).unwrap_or_default();
        expected[1] = e.code.clone().unwrap_or_default();
        expected[2] = e.method.clone().unwrap_or_default();
        expected[3] = e
            .params
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .unwrap_or_default();
        expected[4] = e
            .state
            .as_ref()
            .map(|s| serde_json::Value::Object(s.clone()).to_string())
            .or_else(|| e.fails.as_ref().map(|f| format!("fails={f:?}")))
            .unwrap_or_default();
    }
    let mut out = String::new();
    let header: Vec<String> = std::iter::once("field".to_string())
        .chain(std::iter::once("expected".to_string()))
        .chain(names.iter().map(|s| s.to_string()))
        .collect();
    out.push_str(&format!("    | {} |\n", header.join(" | ")));
    for (f, field) in ["ok", "code", "method", "params", "state"]
        .iter()
        .enumerate()
    {
        let mut row = vec![field.to_string(), expected[f].clone()];
        let first = cols
            .iter()
            .find(|c| c[0] != "unsupported")
            .map(|c| c[f].clone());
        for c in &cols {
            let mark = if c[0] != "unsupported" && Some(&c[f]) != first.as_ref() {
                " ≠"
            } else {
                ""
            };
            row.push(format!("{}{mark}", c[f]));
        }
        out.push_str(&format!("    | {} |\n", row.join(" | ")));
    }
    out
}

/// Runs the whole suite; returns false when a surface disagrees or an expectation fails.
pub fn run(root: &Path, files: &[PathBuf], surfaces: &Surfaces) -> Result<bool> {
    let work = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("scenarios");
    std::fs::create_dir_all(&work)?;
    let mut all_good = true;
    for file in files {
        let scenario = scenario::load(file)?;
        let started = Instant::now();
        let played = play_all(root, file, &scenario, surfaces, &work)?;
        let mut results = BTreeMap::new();
        let mut crashes = BTreeMap::new();
        for (surface, p) in played {
            if let Some(why) = p.crash {
                crashes.insert(surface, (p.steps.len(), why));
            }
            results.insert(surface, p.steps);
        }
        println!(
            "\n== {} ({}) — {} surfaces, {:.1} s",
            scenario.name,
            file.strip_prefix(root).unwrap_or(file).display(),
            results.len(),
            started.elapsed().as_secs_f64()
        );
        // A surface that could not do a state-changing step is not compared afterwards.
        let mut diverged: BTreeMap<&str, String> = BTreeMap::new();
        for (i, step) in scenario.steps.iter().enumerate() {
            let mut problems = Vec::new();
            let mut notes = Vec::new();
            let reference = results.get("rust").and_then(|v| v.get(i));
            for (surface, steps) in &results {
                if diverged.contains_key(surface) {
                    continue;
                }
                let Some(r) = steps.get(i) else {
                    if crashes.get(surface).is_some_and(|(n, _)| *n == i) {
                        problems.push(format!("{surface}: its runner stopped here (below)"));
                    } else if !crashes.contains_key(surface) {
                        problems.push(format!("{surface}: no result"));
                    }
                    continue;
                };
                if r.step != step.label() {
                    problems.push(format!("{surface}: result for step {:?}", r.step));
                }
                if let Some(why) = &r.unsupported {
                    if step.expect.as_ref().and_then(|e| e.ok) != Some(false) {
                        diverged.insert(surface, step.label());
                    }
                    notes.push(format!("{surface}: unsupported: {why}"));
                    continue;
                }
                if let Some(expect) = &step.expect {
                    for m in r.mismatches(expect) {
                        problems.push(format!("{surface}: {m}"));
                    }
                }
                if let Some(reference) = reference
                    && reference.unsupported.is_none()
                    && *surface != "rust"
                {
                    let same_params = r.params.is_none()
                        || reference.params.is_none()
                        || r.params == reference.params;
                    if r.ok != reference.ok
                        || r.code != reference.code
                        || r.method != reference.method
                        || !same_params
                        || r.state != reference.state
                    {
                        problems.push(format!("{surface} differs from rust"));
                    }
                }
            }
            let verdict = if problems.is_empty() { "ok  " } else { "FAIL" };
            let summary = cell(reference);
            println!(
                "{verdict} {:>2}. {:<40} ok={} code={}",
                i + 1,
                step.label(),
                summary[0],
                summary[1]
            );
            for n in &notes {
                println!("     ({n})");
            }
            if !problems.is_empty() {
                all_good = false;
                for p in &problems {
                    println!("     - {p}");
                }
                print!("{}", side_by_side(&results, i, step.expect.as_ref()));
            }
        }
        for (surface, (n, why)) in &crashes {
            all_good = false;
            println!("FAIL {surface} runner stopped after {n} step(s) of this scenario:");
            for line in why.lines() {
                println!("     | {line}");
            }
        }
        for (surface, since) in &diverged {
            println!(
                "   {surface}: not compared after {since:?} (unsupported step that changes the pool)"
            );
        }
    }
    Ok(all_good)
}
