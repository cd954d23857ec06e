//! Every example runs to completion against the simulator and says what it should.

use std::process::Command;

fn run(exe: &str, expect: &[&str]) {
    let out = Command::new(exe).output().expect("the example starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{exe} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for e in expect {
        assert!(stdout.contains(e), "{exe}: expected {e:?} in:\n{stdout}");
    }
}

#[test]
fn create_pool() {
    run(
        env!("CARGO_BIN_EXE_create_pool"),
        &["joined: intel2, intel3", "coordinator=true"],
    );
}

#[test]
fn check_and_join() {
    run(
        env!("CARGO_BIN_EXE_check_and_join"),
        &[
            "busy: a join would fail with JOINING_HOST_CANNOT_HAVE_RUNNING_VMS",
            "intel2 joined",
        ],
    );
}

#[test]
fn heterogeneous() {
    run(
        env!("CARGO_BIN_EXE_heterogeneous"),
        &[
            "amd1 refused",
            "levelling possible: true",
            "intel-old force-joined: true",
        ],
    );
}

#[test]
fn eject() {
    run(
        env!("CARGO_BIN_EXE_eject"),
        &["Async.host.evacuate", "IPMI", "evacuated first: app"],
    );
}

#[test]
fn repair_bonds() {
    run(
        env!("CARGO_BIN_EXE_repair_bonds"),
        &[
            "intel-old: bond on Storage",
            "should use [\"eth0\", \"eth1\"]",
            "problems left: 0",
        ],
    );
}

#[test]
fn shared_nfs() {
    run(
        env!("CARGO_BIN_EXE_shared_nfs"),
        &["default SR shared reaches every host: true"],
    );
}

#[test]
fn xenmotion() {
    run(
        env!("CARGO_BIN_EXE_xenmotion"),
        &["db moved to", "intel3 enabled: false"],
    );
}

#[test]
fn ha_failover() {
    run(
        env!("CARGO_BIN_EXE_ha_failover"),
        &["HA on, tolerating", "after the failover", "3 hosts"],
    );
}

#[test]
fn demo() {
    run(
        env!("CARGO_BIN_EXE_demo"),
        &[
            "joined: intel2, intel3",
            "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS",
            "AuthenticAMD",
            "the same handle talks to",
            "sessions left open on the simulator: 0",
        ],
    );
}
