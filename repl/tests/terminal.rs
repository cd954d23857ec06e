//! The real binary in a real (pseudo-)terminal: the prompt, tab completion of a host name
//! and of a XenAPI message, multi-line input, a password typed at a no-echo prompt and one
//! typed in a call never reaching the history file, and Ctrl-C cancelling a slow call
//! while the session lives on. Also: the README's main-job command reaches a prompt.

use std::path::PathBuf;
use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

const PROMPT: &str = "xenpool> ";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn terminal(mut cmd: Command, history: &std::path::Path, timeout_ms: u64) -> PtySession {
    cmd.env("XENPOOL_HISTORY", history)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("XENPOOL_PASSWORD")
        .env_remove("XENPOOL_URL");
    spawn_command(cmd, Some(timeout_ms)).expect("a pseudo-terminal")
}

/// `xenpool --sim` on a terminal, with its own history file.
fn sim_shell(history_name: &str, timeout_ms: u64) -> (PtySession, PathBuf) {
    let history = history_file(history_name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xenpool"));
    cmd.arg("--sim");
    (terminal(cmd, &history, timeout_ms), history)
}

/// Ends the session with Ctrl-D, waits for the shell to exit, and removes its history.
fn quit(mut p: PtySession, history: &std::path::Path) {
    p.send_control('d').unwrap();
    p.flush().unwrap();
    p.exp_eof().unwrap();
    let _ = std::fs::remove_file(history);
}

fn history_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("xenpool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn an_interactive_session_in_a_terminal() {
    let (mut p, history) = sim_shell("tty-history", 30_000);
    p.exp_string("Type :help").unwrap();
    p.exp_string(PROMPT).unwrap();

    // Tab completes a host name inside a string argument...
    p.send("validate_join(\"mid").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    // The completion adds `op"`; only "midop" has this error.
    p.exp_string("op\"").unwrap();
    p.send_line(").predicted_error").unwrap();
    p.exp_string("JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS")
        .unwrap();
    p.exp_string(PROMPT).unwrap();

    // ...and a XenAPI message inside xenapi("…").
    p.send("xenapi(\"pool.get_all_rec").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("ords\"").unwrap();
    p.send_line(").len()").unwrap();
    p.exp_string("\r\n1\r\n").unwrap();
    p.exp_string(PROMPT).unwrap();

    // An unfinished block continues on the next line.
    p.send_line("for n in [\"multi\", \"line\"] {").unwrap();
    p.send_line("  print(n)").unwrap();
    p.send_line("}").unwrap();
    p.exp_string("multi\r\nline").unwrap();
    p.exp_string(PROMPT).unwrap();

    // A password read without echo, and one typed into a call.
    p.send_line("let pw = password(\"Password for the lab: \");")
        .unwrap();
    p.exp_string("Password for the lab: ").unwrap();
    p.send_line("hunter2-at-the-prompt").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("pw.len()").unwrap();
    p.exp_string("21").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("pw").unwrap();
    p.exp_string("********").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line(
        "try { validate_join(\"intel2\", \"root\", \"typed-secret-9\") } catch (e) { \
        print(e.code) }",
    )
    .unwrap();
    p.exp_string("SESSION_AUTHENTICATION_FAILED").unwrap();
    p.exp_string(PROMPT).unwrap();

    // An operation draws a progress bar on the terminal, then prints its outcome.
    p.send_line("create_pool(\"lab\", [\"intel2\"])").unwrap();
    p.exp_string("pool \"lab\" created; joined: intel2")
        .unwrap();
    p.exp_string(PROMPT).unwrap();

    // Ctrl-C cancels a slow call and keeps the session.
    p.send_line("sim_latency(\"intel1\", 20000)").unwrap();
    p.exp_string(PROMPT).unwrap();
    // Ctrl-C goes once the entry is evaluating (its first print is out; the echo of the
    // typed line reads `"call" + "ing"`, not `calling`), so it reaches the slow call rather
    // than the line editor.
    p.send_line(
        "print(\"call\" + \"ing\"); try { hosts() } catch (e) { print(`caught ${e.code}`) }",
    )
    .unwrap();
    p.exp_string("calling").unwrap();
    p.send_control('c').unwrap();
    p.flush().unwrap();
    let before = p.exp_string("cancelled").unwrap();
    assert!(
        !before.contains("\ncaught"),
        "Ctrl-C is not catchable: {before:?}"
    );
    p.exp_string(PROMPT).unwrap();
    p.send_line("sim_latency(\"intel1\", 0)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("pool().coordinator").unwrap();
    p.exp_string("intel1").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();

    let saved = std::fs::read_to_string(&history).expect("a history file");
    assert!(!saved.contains("hunter2-at-the-prompt"), "{saved}");
    assert!(!saved.contains("typed-secret-9"), "{saved}");
    assert!(
        saved.contains("validate_join(\"intel2\", \"root\", \"***\")"),
        "{saved}"
    );
    assert!(saved.contains("pool().coordinator"), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&history).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the history is private to its owner");
    }
    std::fs::remove_file(history).unwrap();
}

/// `--url` without XENPOOL_PASSWORD asks for the password without echo.
#[test]
fn the_password_for_a_url_is_asked_without_echo() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(
            xenpool_sim::Simulator::builder()
                .scenario(xenpool_sim::Scenario::builtin("single").unwrap())
                .start(),
        )
        .unwrap();
    let host = sim.hosts().remove(0);
    let history = history_file("url-history");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xenpool"));
    cmd.args(["--url", &host.url, "--insecure"]);
    let mut p = terminal(cmd, &history, 30_000);
    p.exp_string(&format!("Password for root on {}: ", host.url))
        .unwrap();
    p.send_line(&host.password).unwrap();
    let shown = p.exp_string(PROMPT).unwrap();
    assert!(!shown.contains(&host.password), "echoed: {shown:?}");
    p.send_line("pool().coordinator").unwrap();
    p.exp_string(&host.name).unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(!saved.contains(&host.password), "{saved}");
    std::fs::remove_file(history).unwrap();
}

/// The README's main-job command, run as a newcomer runs it (through cargo, from the
/// workspace root), reaches a working prompt.
#[test]
fn the_readme_main_job_reaches_a_working_prompt() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let command = readme
        .lines()
        .find(|l| l.contains("# the main job"))
        .and_then(|l| l.split('#').next())
        .map(str::trim)
        .expect("the README names its main-job command");
    assert!(command.contains("--sim"), "{command}");
    let history = history_file("readme-history");
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(workspace());
    // Building may be needed on a fresh checkout: allow for it.
    let mut p = terminal(cmd, &history, 900_000);
    p.exp_string(PROMPT).unwrap();
    p.send_line("hosts().len() + sim_hosts().len()").unwrap();
    p.exp_string("19").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p, &history);
}

/// On a terminal `pool_eject` says what ejecting does and asks first, as `xe pool-eject`
/// does; "no" cancels with nothing changed, "yes" ejects and repeats the warnings.
#[test]
fn ejecting_asks_first_and_says_what_it_does() {
    let (mut p, history) = sim_shell("eject-history", 60_000);
    p.exp_string(PROMPT).unwrap();
    p.send_line("create_pool(\"p\", [\"intel2\"])").unwrap();
    p.exp_string("joined: intel2").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line("pool_eject(\"intel2\")").unwrap();
    p.exp_string("warning:").unwrap();
    p.exp_string("Type yes to continue:").unwrap();
    p.send_line("no").unwrap();
    p.exp_string("CANCELLED").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("hosts().len()").unwrap();
    p.exp_string("2").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line("pool_eject(\"intel2\")").unwrap();
    p.exp_string("Type yes to continue:").unwrap();
    p.send_line("yes").unwrap();
    p.exp_string("intel2 ejected").unwrap();
    p.exp_string("warning:").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("hosts().len()").unwrap();
    p.exp_string("1").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p, &history);
}

/// On a terminal, recovering a lost coordinator, turning HA off and destructive XenAPI
/// calls say what they risk and ask first, as `xe` does; "no" cancels with nothing changed, `yes: true` skips the
/// question, and a dry run never asks.
#[test]
fn destructive_operations_ask_first() {
    let (mut p, history) = sim_shell("confirm-history", 60_000);
    p.exp_string(PROMPT).unwrap();
    p.send_line("create_pool(\"p\", [\"intel2\", \"intel3\"]).executed")
        .unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("create_nfs_sr(\"shared\", \"nfs.example\", \"/exports/vms\").executed")
        .unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("enable_ha().executed").unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line("disable_ha()").unwrap();
    p.exp_string("warning: hosts that fail are no longer fenced")
        .unwrap();
    p.exp_string("Disable HA on the pool? Type yes to continue:")
        .unwrap();
    p.send_line("n").unwrap();
    p.exp_string("CANCELLED").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("pool().ha_enabled").unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();

    // yes: true is the answer given in advance.
    p.send_line("disable_ha(#{yes: true}).summary").unwrap();
    let answered = p.exp_string(PROMPT).unwrap();
    assert!(!answered.contains("Type yes"), "{answered:?}");
    assert!(answered.contains("HA disabled"), "{answered:?}");

    // Destructive XenAPI calls too, naming their object.
    p.send_line("create_vm(\"scratch\").executed").unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("xenapi(\"VM.destroy\", \"scratch\")").unwrap();
    p.exp_string("warning: the VM's record is deleted").unwrap();
    p.exp_string("VM.destroy scratch (").unwrap();
    p.exp_string(")? Type yes to continue:").unwrap();
    p.send_line("no").unwrap();
    p.exp_string("CANCELLED").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("vms().map(|v| v.name)").unwrap();
    p.exp_string("scratch").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("xenapi(\"VM.destroy\", \"scratch\", #{yes: true})")
        .unwrap();
    let answered = p.exp_string(PROMPT).unwrap();
    assert!(!answered.contains("Type yes"), "{answered:?}");
    p.send_line("vms().len()").unwrap();
    p.exp_string("\r\n0\r\n").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line("sim_kill(\"intel1\")").unwrap();
    p.exp_string(PROMPT).unwrap();

    // A dry run shows the plan without a question.
    p.send_line("recover_coordinator(\"intel2\", #{dry_run: true})")
        .unwrap();
    let shown = p.exp_string("dry run: nothing was changed").unwrap();
    assert!(!shown.contains("Type yes"), "{shown:?}");
    p.exp_string(PROMPT).unwrap();

    p.send_line("recover_coordinator(\"intel2\")").unwrap();
    p.exp_string("warning: do this only when the old coordinator is really gone")
        .unwrap();
    p.exp_string("Make intel2 the coordinator? Type yes to continue:")
        .unwrap();
    p.send_line("no").unwrap();
    p.exp_string("CANCELLED").unwrap();
    p.exp_string(PROMPT).unwrap();

    p.send_line("recover_coordinator(\"intel2\")").unwrap();
    p.exp_string("Type yes to continue:").unwrap();
    p.send_line("yes").unwrap();
    p.exp_string("intel2 is the coordinator now").unwrap();
    p.exp_string(PROMPT).unwrap();

    quit(p, &history);
}

/// After a dot, Tab offers what the value before it has: a host's fields after
/// `host("…").`, a VM's after `vm("…").`, a record's after `xenapi("VM.get_record", …).`,
/// and a variable's by its value.
#[test]
fn completion_after_a_dot_knows_the_type() {
    let (mut p, history) = sim_shell("dot-history", 30_000);
    p.exp_string(PROMPT).unwrap();

    // `cpu_` is only a host's: it completes alone.
    p.send("host(\"intel1\").cpu_").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    let listed = p.exp_string("cpu_vendor").unwrap();
    assert!(listed.contains("cpu_model"), "{listed:?}");
    assert!(listed.contains("cpu_count"), "{listed:?}");
    // The list is followed by the prompt and the line again; Ctrl-C drops the line.
    p.exp_string(PROMPT).unwrap();
    p.send_control('c').unwrap();
    p.exp_string(PROMPT).unwrap();

    // After `host("…").`, `v` is only `version` and `vms` (no `vcpus`, a VM's field).
    p.send("host(\"intel1\").v").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    let offered = p.exp_string("vms").unwrap();
    assert!(offered.contains("version"), "{offered:?}");
    assert!(
        !offered.contains("vcpus") && !offered.contains("values"),
        "a VM's field or a map's method offered for a host: {offered:?}"
    );
    p.exp_string(PROMPT).unwrap();
    p.send_control('c').unwrap();
    p.exp_string(PROMPT).unwrap();

    // A variable holding a host record completes that record's fields (no shell object
    // has this one).
    p.send_line("let r = xenapi(\"host.get_record\", \"intel1\");")
        .unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send("r.API_version_maj").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("or").unwrap();
    p.send_line("").unwrap();
    p.exp_string("\r\n2\r\n").unwrap();
    p.exp_string(PROMPT).unwrap();

    quit(p, &history);
}

/// The progress bar of a live migration moves with the migration task's own progress, not
/// only with the operation's steps.
#[test]
fn the_progress_bar_follows_the_task() {
    let (mut p, history) = sim_shell("task-progress-history", 60_000);
    p.exp_string(PROMPT).unwrap();
    p.send_line("create_pool(\"p\", [\"intel2\"]).executed")
        .unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("create_vm(\"web\", #{host: \"intel1\"}).executed")
        .unwrap();
    p.exp_string("true").unwrap();
    p.exp_string(PROMPT).unwrap();
    // The simulator's migration sets its task to 24%, 48%, 72%, 96% over 3 s.
    p.send_line("sim_operation_time(3000)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("migrate(\"web\", \"intel2\").summary").unwrap();
    p.exp_string("(task 24%)").unwrap();
    let later = p.exp_string("(task 72%)").unwrap();
    assert!(later.contains("(task 48%)"), "{later:?}");
    p.exp_string("moved: web -> intel2").unwrap();
    p.exp_string(PROMPT).unwrap();
    quit(p, &history);
}
