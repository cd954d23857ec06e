//! The command line: interactive shell, `run SCRIPT`, or `-e EXPRESSION`.

use std::cell::RefCell;
use std::io::BufRead;
use std::path::PathBuf;
use std::rc::Rc;

use clap::{Parser, Subcommand};
use rustyline::error::ReadlineError;
use rustyline::{Config, Editor};

use crate::cancel;
use crate::editor::ShellHelper;
use crate::history::{self, History};
use crate::output::Output;
use crate::session::Shell;
use crate::start::{self, Started};
use xenpool::ConnectSpec;

/// xenpool: XenServer / XCP-ng pool operations, one line each, on a real pool or on the
/// embedded simulator (the default).
#[derive(Debug, Parser)]
#[command(name = "xenpool", version, about, long_about = None)]
pub struct Cli {
    /// Start the embedded simulator with this scenario (built-in name or TOML file) and
    /// connect to it. This is the default when --url is not given.
    #[arg(
        long,
        value_name = "SCENARIO",
        num_args = 0..=1,
        default_missing_value = "lab",
        conflicts_with = "url"
    )]
    pub sim: Option<String>,
    /// A real pool's coordinator (or any member: the shell follows it to the coordinator).
    #[arg(long, env = "XENPOOL_URL", value_name = "https://ADDRESS")]
    pub url: Option<String>,
    /// User name for --url.
    #[arg(long, default_value = "root")]
    pub user: String,
    /// Read the password from this file (takes precedence over XENPOOL_PASSWORD; without
    /// either, a prompt without echo).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Pin the host's certificate by its SHA-256 fingerprint.
    #[arg(long, value_name = "SHA256")]
    pub fingerprint: Option<String>,
    /// Show the host's certificate fingerprint and pin it (also for hosts met later).
    #[arg(long)]
    pub trust_on_first_use: bool,
    /// Accept any certificate (only for throwaway labs).
    #[arg(long)]
    pub insecure: bool,
    /// Evaluate this expression, print its value and exit.
    #[arg(short = 'e', long = "eval", value_name = "EXPRESSION")]
    pub eval: Option<String>,
    /// History file (default: $XENPOOL_HISTORY, else ~/.xenpool_history).
    #[arg(long, env = "XENPOOL_HISTORY", value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// No colour.
    #[arg(long, env = "NO_COLOR", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_color: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Rhai script; the extra arguments are the script's `ARGS`.
    Run {
        /// The script.
        script: PathBuf,
        /// Arguments for the script.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The arguments with `--sim` followed by a subcommand (`xenpool --sim run x.rhai`) read
/// as `--sim` without a scenario, which is what such a command line means.
pub fn normalise_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    for i in 0..args.len().saturating_sub(1) {
        if args[i] == "run" {
            break; // the script's own arguments follow
        }
        if args[i] == "--sim" && (args[i + 1] == "run" || args[i + 1] == "help") {
            args[i] = "--sim=lab".into();
        }
    }
    args
}

/// Runs the command line; returns the process exit status.
pub fn main(cli: Cli) -> i32 {
    let out = Output::terminal(cli.no_color);
    let started = match &cli.url {
        Some(url) => start::real(
            &ConnectSpec {
                user: Some(cli.user.clone()),
                password_file: cli.password_file.clone(),
                fingerprint: cli.fingerprint.clone(),
                trust_on_first_use: cli.trust_on_first_use,
                insecure: cli.insecure,
                ..ConnectSpec::new(url)
            },
            out.clone(),
        ),
        None => start::simulator(cli.sim.as_deref().unwrap_or("lab"), out.clone()),
    };
    let Started { state, description } = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("xenpool: {e}");
            return 2;
        }
    };
    // Until here Ctrl-C simply ends the program; from now on it cancels running entries.
    cancel::install_handler();
    let status = run(&cli, state.clone(), &description);
    state.close();
    status
}

fn run(cli: &Cli, state: std::rc::Rc<crate::state::State>, description: &str) -> i32 {
    match (&cli.command, &cli.eval) {
        (Some(Command::Run { .. }), Some(_)) => {
            eprintln!("xenpool: -e and run cannot be combined");
            2
        }
        (Some(Command::Run { script, args }), _) => {
            let text = match std::fs::read_to_string(script) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("xenpool: cannot read {}: {e}", script.display());
                    return 2;
                }
            };
            let mut shell = Shell::new(state, args.clone());
            let name = script.display().to_string();
            exit_status(shell.eval(&name, &text).map(|_| ()), &shell)
        }
        (None, Some(expression)) => {
            let mut shell = Shell::new(state, vec![]);
            match shell.eval("-e", expression) {
                Ok(v) => {
                    // One shot: no :full to ask for the rest, so all of it.
                    shell.show(&v, true);
                    0
                }
                Err(f) => exit_status(Err(f), &shell),
            }
        }
        (None, None) => {
            let shell = Shell::new(state, vec![]);
            let path = cli.history.clone().or_else(history::default_path);
            interactive(shell, description, path)
        }
    }
}

fn exit_status(result: Result<(), crate::session::Failure>, shell: &Shell) -> i32 {
    match result {
        Ok(()) => 0,
        Err(f) => {
            shell.out().note(&f.to_string());
            if shell.state().epoch.borrow().is_cancelled() {
                130
            } else {
                1
            }
        }
    }
}

/// The interactive loop (line by line without a prompt when input is not a terminal).
pub fn interactive(shell: Shell, description: &str, history_path: Option<PathBuf>) -> i32 {
    let colour = shell.out().colour;
    use std::io::IsTerminal;
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let shell = Rc::new(RefCell::new(shell));
    let mut history = History::open(history_path);
    if terminal {
        let version = env!("CARGO_PKG_VERSION");
        shell.borrow().out().note(&format!(
            "xenpool {version}: {description}\nType :help for help, Tab to complete, Ctrl-D \
                to leave."
        ));
    } else {
        return piped(&shell, &mut history);
    }
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: Editor<ShellHelper, rustyline::history::DefaultHistory> =
        match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("xenpool: cannot open the terminal: {e}");
                return 2;
            }
        };
    editor.set_helper(Some(ShellHelper::new(shell.clone(), colour)));
    for entry in history.earlier() {
        let _ = editor.add_history_entry(entry.as_str());
    }
    loop {
        match editor.readline("xenpool> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let masked = {
                    let s = shell.borrow();
                    history.add(&s.state().secrets, &line)
                };
                let _ = editor.add_history_entry(masked);
                let keep_going = shell.borrow_mut().entry(&line);
                let s = shell.borrow();
                if let Err(e) = history.save(&s.state().secrets) {
                    s.out().note(&format!("warning: history not saved: {e}"));
                }
                if !keep_going {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("xenpool: {e}");
                return 2;
            }
        }
    }
    0
}

/// Standard input is not a terminal: read entries line by line (joining lines while an
/// entry is unfinished), no prompt.
fn piped(shell: &Rc<RefCell<Shell>>, history: &mut History) -> i32 {
    let stdin = std::io::stdin();
    let mut pending = String::new();
    let mut failed = false;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        if pending.trim().is_empty() {
            pending.clear();
            continue;
        }
        if !pending.trim_start().starts_with(':') && shell.borrow().is_incomplete(&pending) {
            continue;
        }
        let text = std::mem::take(&mut pending);
        {
            let s = shell.borrow();
            history.add(&s.state().secrets, &text);
        }
        let mut s = shell.borrow_mut();
        if !s.entry(&text) {
            break;
        }
        failed |= s.last_failed();
    }
    if !pending.trim().is_empty() {
        let mut s = shell.borrow_mut();
        s.entry(&pending);
        failed |= s.last_failed();
    }
    let s = shell.borrow();
    let _ = history.save(&s.state().secrets);
    i32::from(failed)
}
