//! `xenpool-scenarios`: the cross-surface suite of tests/ (see tests/README.md).
//!
//! ```text
//! xenpool-scenarios [--xenpool BIN] [--python PYTHON] [--node-package DIR] [FILE.toml ...]
//! ```
//! Plays every scenario (default: tests/scenarios/*.toml and tests/errors/*.toml) through
//! Rust and each surface given, and exits non-zero when an expectation fails or two surfaces
//! disagree. `--rust-only` prints Rust's normalised results as JSON lines.

mod compare;
mod rust;
mod scenario;
mod shell;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

fn main() -> Result<ExitCode> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let mut surfaces = compare::Surfaces {
        xenpool: None,
        python: None,
        node_package: None,
    };
    let mut files = Vec::new();
    let mut rust_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => Ok(PathBuf::from(v)),
            None => bail!("{name} needs a value"),
        };
        match a.as_str() {
            "--xenpool" => surfaces.xenpool = Some(value("--xenpool")?),
            "--python" => surfaces.python = Some(value("--python")?),
            "--node-package" => surfaces.node_package = Some(value("--node-package")?),
            "--rust-only" => rust_only = true,
            "-h" | "--help" => {
                println!(
                    "xenpool-scenarios [--xenpool BIN] [--python PYTHON] [--node-package DIR] [--rust-only] [FILE.toml ...]"
                );
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => bail!("unknown option {other}"),
            file => files.push(PathBuf::from(file).canonicalize()?),
        }
    }
    if files.is_empty() {
        files = scenario::all(&root.join("tests"))?;
    }
    if rust_only {
        let runtime = tokio::runtime::Runtime::new()?;
        for file in &files {
            let scenario = scenario::load(file)?;
            for r in runtime.block_on(rust::play(&scenario))? {
                println!("@@STEP {}", serde_json::to_string(&r)?);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let started = std::time::Instant::now();
    let good = compare::run(&root, &files, &surfaces)?;
    println!(
        "\n{} in {:.1} s",
        if good {
            "every surface agrees and meets every expectation"
        } else {
            "FAILED: see the steps marked FAIL above"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(if good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
