//! `xenpool-scenarios`: the cross-surface suite of tests/ (see tests/README.md).
//!
//! Plays every scenario (default: tests/scenarios/*.toml and tests/errors/*.toml) through
//! Rust and each surface given, and exits non-zero when an expectation fails or two surfaces
//! disagree. `--rust-only` prints Rust's normalised results as JSON lines.

mod compare;
mod rust;
mod scenario;
mod shell;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

/// Plays the tests/ scenarios through every surface given and compares them step by step.
#[derive(Parser)]
#[command(name = "xenpool-scenarios")]
struct Args {
    /// The `xenpool` shell binary (compares the shell).
    #[arg(long, value_name = "BIN")]
    xenpool: Option<PathBuf>,
    /// A Python interpreter with the `xenpool` package installed (compares Python).
    #[arg(long, value_name = "PYTHON")]
    python: Option<PathBuf>,
    /// The built Node package directory (compares Node).
    #[arg(long, value_name = "DIR")]
    node_package: Option<PathBuf>,
    /// Only play the scenarios through Rust and print its results as `@@STEP` JSON lines.
    #[arg(long)]
    rust_only: bool,
    /// Scenario files (default: every file in tests/scenarios and tests/errors).
    #[arg(value_name = "FILE.toml")]
    files: Vec<PathBuf>,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    // "No password anywhere" must mean that on every surface (the runners inherit this).
    // SAFETY: no other thread runs yet.
    unsafe { std::env::remove_var(xenpool::connect_spec::PASSWORD_ENV) };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let surfaces = compare::Surfaces {
        xenpool: args.xenpool,
        python: args.python,
        node_package: args.node_package,
    };
    let mut files = args
        .files
        .iter()
        .map(|f| f.canonicalize())
        .collect::<std::io::Result<Vec<_>>>()?;
    if files.is_empty() {
        files = scenario::all(&root.join("tests"))?;
    }
    if args.rust_only {
        let runtime = tokio::runtime::Runtime::new()?;
        for file in &files {
            let scenario = scenario::load(file)?;
            let (steps, stopped) = runtime.block_on(rust::play(&scenario));
            for r in steps {
                println!("@@STEP {}", serde_json::to_string(&r)?);
            }
            if let Some(e) = stopped {
                return Err(e.context(format!("{} stopped", file.display())));
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
