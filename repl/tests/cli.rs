//! The `xenpool` binary as users run it: the Rhai examples, `-e`, scripts with errors, and
//! connecting to a real (here: separately started, simulated) host by URL.

use std::path::PathBuf;
use std::process::{Command, Output};

fn xenpool(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xenpool"));
    cmd.args(args)
        .env_remove("XENPOOL_PASSWORD")
        .env_remove("XENPOOL_URL")
        .env(
            "XENPOOL_HISTORY",
            std::env::temp_dir().join("xenpool-cli-test-history"),
        )
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_rhai_example_runs_and_prints_what_it_promises() {
    let dir = workspace().join("examples/rhai");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 8, "one example per pooling story");
    for script in scripts {
        let source = std::fs::read_to_string(&script).unwrap();
        let promised: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("// expect: "))
            .collect();
        assert!(
            !promised.is_empty(),
            "{} promises no output",
            script.display()
        );
        let out = xenpool(&["--sim", "run", script.to_str().unwrap()], &[]);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{} failed:\n{stdout}\n{stderr}",
            script.display()
        );
        for line in promised {
            assert!(
                stdout.contains(line),
                "{}: expected {line:?} in:\n{stdout}",
                script.display()
            );
        }
    }
}

#[test]
fn an_expression_prints_its_value() {
    let out = xenpool(&["--sim", "-e", "hosts().len() + sim_hosts().len()"], &[]);
    assert!(out.status.success());
    assert_eq!(text(&out).0.trim(), "19");
    let out = xenpool(&["--sim", "pool16", "-e", "pool().hosts.len()"], &[]);
    assert_eq!(text(&out).0.trim(), "16", "{:?}", text(&out));
}

#[test]
fn a_failing_script_names_the_file_line_and_column_and_exits_nonzero() {
    let script = std::env::temp_dir().join(format!("xenpool-bad-{}.rhai", std::process::id()));
    std::fs::write(
        &script,
        "let n = hosts().len();\nprint(n);\nlet r = validate_join(\"nohost\");\n",
    )
    .unwrap();
    let out = xenpool(&["--sim", "run", script.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout.trim(), "1");
    assert!(
        stderr.contains("no simulated host named \"nohost\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:3:9", script.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 | let r = validate_join(\"nohost\");"),
        "{stderr}"
    );
    assert!(stderr.contains("  |         ^"), "{stderr}");
    std::fs::write(&script, "fn broken( {\n").unwrap();
    let out = xenpool(&["--sim", "run", script.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("syntax error"), "{:?}", text(&out));
    std::fs::remove_file(script).unwrap();
}

#[test]
fn piped_entries_continue_only_while_unfinished() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xenpool"))
        .arg("--sim")
        .env(
            "XENPOOL_HISTORY",
            std::env::temp_dir().join("xenpool-cli-test-history"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"hosts()[0 1]\nprint(\"open\nprint(\"joined\" +\n  \" lines\")\nprint(\"after\")\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "joined lines\nafter\n", "{stderr}");
    assert_eq!(stderr.matches("syntax error").count(), 2, "{stderr}");
    assert_eq!(out.status.code(), Some(1), "a failed entry fails the run");
}

#[test]
fn script_arguments_arrive_in_args() {
    let script = std::env::temp_dir().join(format!("xenpool-args-{}.rhai", std::process::id()));
    std::fs::write(&script, "print(ARGS.join(\"|\"));").unwrap();
    let out = xenpool(
        &["--sim", "run", script.to_str().unwrap(), "a", "--b", "c d"],
        &[],
    );
    assert_eq!(text(&out).0.trim(), "a|--b|c d");
    std::fs::remove_file(script).unwrap();
}

/// A separate simulator plays a real host reached by URL.
fn standalone() -> (tokio::runtime::Runtime, xenpool_sim::Simulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(
            xenpool_sim::Simulator::builder()
                .scenario(xenpool_sim::Scenario::builtin("single").unwrap())
                .auth_failure_delay(std::time::Duration::from_millis(10))
                .start(),
        )
        .unwrap();
    (rt, sim)
}

#[test]
fn a_real_host_by_url_with_pinned_or_first_use_certificates() {
    let (_rt, sim) = standalone();
    let h = sim.hosts().remove(0);
    let fp = h.fingerprint.unwrap().to_string();
    let pinned = xenpool(
        &[
            "--url",
            &h.url,
            "--fingerprint",
            &fp,
            "-e",
            "pool().hosts.len()",
        ],
        &[("XENPOOL_PASSWORD", &h.password)],
    );
    assert_eq!(text(&pinned).0.trim(), "1", "{:?}", text(&pinned));

    let tofu = xenpool(
        &[
            "--url",
            &h.url,
            "--trust-on-first-use",
            "-e",
            "hosts()[0].name",
        ],
        &[("XENPOOL_PASSWORD", &h.password)],
    );
    let (stdout, stderr) = text(&tofu);
    assert_eq!(stdout.trim(), h.name);
    assert!(
        stderr.contains(&format!("SHA-256 fingerprint {fp}")),
        "{stderr}"
    );

    // Verified by default: the simulator's self-signed certificate is refused.
    let verified = xenpool(
        &["--url", &h.url, "-e", "1"],
        &[("XENPOOL_PASSWORD", &h.password)],
    );
    assert_eq!(verified.status.code(), Some(2));
    assert!(text(&verified).1.contains("TLS"), "{:?}", text(&verified));

    let wrong = "--fingerprint=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:\
        55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    let mismatch = xenpool(
        &["--url", &h.url, wrong, "-e", "1"],
        &[("XENPOOL_PASSWORD", &h.password)],
    );
    assert_eq!(mismatch.status.code(), Some(2));
}

#[test]
fn a_wrong_password_is_refused_and_never_printed() {
    let (_rt, sim) = standalone();
    let h = sim.hosts().remove(0);
    let file = std::env::temp_dir().join(format!("xenpool-pw-{}", std::process::id()));
    std::fs::write(&file, "not-the-password-42\n").unwrap();
    let out = xenpool(
        &[
            "--url",
            &h.url,
            "--insecure",
            "--password-file",
            file.to_str().unwrap(),
            "-e",
            "1",
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("SESSION_AUTHENTICATION_FAILED"), "{stderr}");
    assert!(
        stderr.contains("--insecure"),
        "the insecure mode is announced: {stderr}"
    );
    assert!(!stdout.contains("not-the-password-42") && !stderr.contains("not-the-password-42"));

    let ok = xenpool(
        &["--url", &h.url, "--insecure", "-e", "pool().coordinator"],
        &[("XENPOOL_PASSWORD", &h.password)],
    );
    assert_eq!(text(&ok).0.trim(), h.name);
    std::fs::remove_file(file).unwrap();
}

#[test]
fn no_password_and_no_terminal_is_a_clear_error() {
    let (_rt, sim) = standalone();
    let h = sim.hosts().remove(0);
    let out = xenpool(&["--url", &h.url, "--insecure", "-e", "1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("XENPOOL_PASSWORD"),
        "{:?}",
        text(&out)
    );
}
