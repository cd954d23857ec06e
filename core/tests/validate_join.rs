//! `validate_join` against the simulator's `lab` scenario: every prediction is checked
//! against what the simulator's `pool.join` / `pool.join_force` then really raise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use xenpool::generated::{Bond, BondCreateOptions, BondMode, Network, NetworkRecord, Pif, Pool};
use xenpool::pool::{
    CheckSource, CheckStatus, JoinPolicy, JoinReport, ValidateOptions, Waiver, validate_join,
};
use xenpool::transport::Transport;
use xenpool::wire::{Response, Value};
use xenpool::{ConnectOptions, Connection, Credentials, Error, ErrorCode, Protocol, Tls};
use xenpool_sim::{Scenario, Simulator};

async fn start() -> Simulator {
    Simulator::builder()
        .scenario(Scenario::builtin("lab").expect("built-in lab"))
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(50),
            xapi_restart_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .start()
        .await
        .expect("simulator starts")
}

fn pinned(sim: &Simulator, host: &str) -> ConnectOptions {
    let info = sim.host(host).expect("host");
    // Alternate the encodings between hosts so that both are exercised.
    let odd = info.address.ends_with(['1', '3', '5', '7', '9']);
    ConnectOptions {
        tls: Tls::Pinned(info.fingerprint.expect("https")),
        protocol: if odd {
            Protocol::XmlRpc
        } else {
            Protocol::JsonRpc
        },
        ..Default::default()
    }
}

async fn login(sim: &Simulator, host: &str) -> Connection {
    let info = sim.host(host).expect("host");
    Connection::login(
        &info.url,
        Credentials::new("root", info.password.as_str()),
        pinned(sim, host),
    )
    .await
    .unwrap_or_else(|e| panic!("login to {host}: {e}"))
}

fn options(sim: &Simulator, host: &str) -> ValidateOptions {
    ValidateOptions {
        connect: pinned(sim, host),
        ..Default::default()
    }
}

/// Validates `host` against the pool behind `pool`; asserts no session is left behind.
async fn validate(sim: &Simulator, pool: &Connection, host: &str) -> JoinReport {
    let info = sim.host(host).expect("host");
    let before = sim.session_count();
    let report = validate_join(
        pool,
        &info.url,
        &Credentials::new("root", info.password.as_str()),
        &options(sim, host),
    )
    .await
    .unwrap_or_else(|e| panic!("validate {host}: {e}"));
    assert_eq!(
        sim.session_count(),
        before,
        "{host}: validate_join leaked a session"
    );
    report
}

/// Really joins `host` to `master`'s pool; `None` when it joined, else the error.
async fn attempt(
    sim: &Simulator,
    host: &str,
    master: &str,
    force: bool,
) -> Option<(ErrorCode, Vec<String>)> {
    let c = login(sim, host).await;
    let m = sim.host(master).expect("master");
    let r = if force {
        Pool::join_force(&c, &m.address, "root", &m.password).await
    } else {
        Pool::join(&c, &m.address, "root", &m.password).await
    };
    let _ = c.logout().await; // gone after a successful join
    match r {
        Ok(()) => None,
        Err(Error::Api(e)) => Some((e.code, e.params)),
        Err(other) => panic!("{host}: join failed outside the API: {other}"),
    }
}

/// What a client that does not follow redirects gets when it logs into a member: the
/// session check's `HOST_IS_SLAVE [coordinator]`, before any `pool.join` could run.
async fn raw_login_failure(sim: &Simulator, host: &str) -> Option<(ErrorCode, Vec<String>)> {
    let info = sim.host(host).expect("host");
    let transport = Transport::new(
        &info.url,
        Arc::new(ConnectOptions {
            tls: Tls::Insecure,
            ..Default::default()
        }),
    )
    .unwrap();
    let params = [
        info.username.as_str(),
        info.password.as_str(),
        "2.23",
        "test",
    ]
    .map(|s| Value::String(s.into()));
    match transport
        .call::<String>("session.login_with_password", &params, None)
        .await
        .unwrap()
        .response
    {
        Response::Success(session) => {
            let _ = transport
                .call::<Value>("session.logout", &[Value::String(session)], None)
                .await;
            None
        }
        Response::Failure(mut d) => {
            let code = ErrorCode::from_wire(&d.remove(0));
            Some((code, d))
        }
    }
}

fn status(report: &JoinReport, id: &str) -> CheckStatus {
    report
        .check(id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .status
}

const REFUSED: [&str; 9] = [
    "amd1", "busy", "midop", "nfs-host", "bonded", "oldver", "nohotfix", "nolinux", "pooled-a",
];

#[tokio::test]
async fn predictions_match_the_simulators_joins_across_the_lab() {
    let sim = start().await;
    let pool = login(&sim, "intel1").await;
    let mut reports = HashMap::new();
    for host in REFUSED {
        let report = validate(&sim, &pool, host).await;
        let predicted = report
            .predicted_failure(false)
            .unwrap_or_else(|| panic!("{host}: no failure predicted\n{report}"));
        let actual = attempt(&sim, host, "intel1", false)
            .await
            .unwrap_or_else(|| panic!("{host} joined"));
        assert_eq!(predicted, actual, "{host}: pool.join\n{report}");
        // Every predicted failure is a failing xapi check that carries that error.
        assert!(report.fails().iter().any(|c| c.is_xapi()
            && c.xapi_error.as_ref().map(|e| e.code.as_str()) == Some(predicted.0.wire())));
        assert!(!report.is_ready());
        assert_eq!(report.candidate.name, host);
        assert_eq!(report.pool.coordinator.name, "intel1");
        reports.insert(host, report);
    }
    println!("{}", reports["amd1"]);
    // The documentation's view of the same hosts.
    for (host, id) in [
        ("busy", "no_running_vms"),
        ("bonded", "no_bonds"),
        ("oldver", "hosts_compatible"),
        ("nohotfix", "updates_homogeneous"),
        ("nolinux", "hosts_homogeneous_software"),
        ("amd1", "cpu_vendor"),
    ] {
        assert_eq!(
            status(&reports[host], id),
            CheckStatus::Fail,
            "{host}: {id}"
        );
    }
    let oldver = &reports["oldver"];
    for id in [
        "hosts_compatible",
        "hosts_homogeneous_software",
        "api_version_matches",
        "db_schema_matches",
    ] {
        assert_eq!(status(oldver, id), CheckStatus::Fail, "oldver: {id}");
    }
    assert_eq!(
        oldver
            .check("api_version_matches")
            .unwrap()
            .xapi_error
            .as_ref()
            .unwrap()
            .params,
        ["2.20", "2.21"],
        "joiner first, then the coordinator"
    );
    // join_force: only #13 is skipped. Hosts still refused first, then amd1 and nolinux,
    // whose only xapi failure is #13, join.
    for host in REFUSED.iter().filter(|h| !["amd1", "nolinux"].contains(*h)) {
        let predicted = reports[host].predicted_failure(true);
        assert!(predicted.is_some(), "{host}: join_force is still refused");
        assert_eq!(
            predicted,
            attempt(&sim, host, "intel1", true).await,
            "{host}: pool.join_force"
        );
    }
    assert_eq!(
        reports["nolinux"].predicted_failure(true),
        None,
        "only the Linux Pack differs: forcing skips #13"
    );
    let amd = &reports["amd1"];
    assert_eq!(
        amd.predicted_failure(false),
        Some((
            ErrorCode::HostsNotHomogeneous,
            vec!["CPUs differ".to_string()]
        ))
    );
    assert_eq!(amd.predicted_failure(true), None);
    let vendor = amd.check("cpu_vendor").unwrap();
    assert!(vendor.bypassed_by_force, "xapi's join_force skips it");
    assert_eq!(
        vendor.waiver,
        Waiver::CrossVendorOverride,
        "force alone does not make a cross-vendor pool"
    );
    assert_eq!(amd.refusals(JoinPolicy::FORCE).len(), 1, "{amd}");
    assert!(
        amd.refusals(JoinPolicy {
            force: true,
            allow_cross_vendor: true
        })
        .is_empty()
    );
    assert!(!amd.heterogeneous.same_vendor && !amd.heterogeneous.levelling_possible);
    assert_eq!(amd.heterogeneous.force_bypasses.len(), 1);
    assert_eq!(
        attempt(&sim, "amd1", "intel1", true).await,
        None,
        "amd1 joins when forced"
    );
    assert_eq!(
        attempt(&sim, "nolinux", "intel1", true).await,
        None,
        "nolinux joins when forced"
    );

    // pooled-b is a member: the session check answers HOST_IS_SLAVE [pooled-a].
    let b = validate(&sim, &pool, "pooled-b").await;
    let coordinator = sim.host("pooled-a").unwrap().address;
    assert_eq!(b.candidate.name, "pooled-b");
    assert_eq!(
        b.predicted_failure(false),
        Some((ErrorCode::HostIsSlave, vec![coordinator.clone()]))
    );
    assert_eq!(
        b.predicted_failure(false),
        raw_login_failure(&sim, "pooled-b").await
    );
    assert_eq!(b.checks[0].id, "not_pool_member");
    assert_eq!(
        status(&b, "no_other_hosts"),
        CheckStatus::NotApplicable,
        "a member is not reported as the coordinator of its pool's hosts"
    );
    let member = b.check("not_pool_member").unwrap();
    assert!(
        member
            .evidence
            .candidate
            .starts_with("a member of pool \"other\""),
        "{member:?}"
    );
    assert!(
        member
            .remedy
            .starts_with("Eject the candidate from pool \"other\"")
    );
    pool.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn compatible_hosts_pass_and_documented_risks_are_flagged() {
    let sim = start().await;
    let pool = login(&sim, "intel1").await;
    let mut reports = HashMap::new();
    for host in [
        "intel2",
        "intel3",
        "suspended",
        "dhcp",
        "skewed",
        "intel-old",
    ] {
        let report = validate(&sim, &pool, host).await;
        assert_eq!(report.predicted_failure(false), None, "{host}\n{report}");
        assert_eq!(report.predicted_failure(true), None, "{host}");
        assert!(
            report.checks.iter().all(|c| c.xapi_error.is_none()),
            "{host}: xapi raises nothing"
        );
        reports.insert(host, report);
    }
    for host in ["intel2", "intel3"] {
        let r = &reports[host];
        assert!(r.is_ready(), "{host}\n{r}");
        assert!(r.warnings().is_empty(), "{host}\n{r}");
        assert!(r.heterogeneous.same_model && r.heterogeneous.hvm_features_lost.is_empty());
    }
    // xapi's 33 checks, in order, plus the two steps before them.
    let orders: Vec<u8> = reports["intel2"]
        .checks
        .iter()
        .filter_map(|c| match c.source {
            CheckSource::Xapi { order } => Some(order),
            CheckSource::Documentation => None,
        })
        .collect();
    assert!(orders.windows(2).all(|w| w[0] <= w[1]), "{orders:?}");
    assert_eq!(
        orders
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        34
    );
    assert_eq!(
        status(&reports["intel2"], "clustering_network_ready"),
        CheckStatus::NotApplicable
    );

    let suspended = &reports["suspended"];
    let vms = suspended.check("no_running_vms").unwrap();
    assert_eq!(vms.status, CheckStatus::Fail, "the documentation's demand");
    assert_eq!(vms.xapi_error, None, "xapi only checks running VMs");
    assert_eq!(vms.waiver, Waiver::Force);
    assert!(
        vms.evidence.candidate.contains("sleeper (Suspended)"),
        "{vms:?}"
    );
    assert_eq!(
        status(&reports["dhcp"], "static_management_ip"),
        CheckStatus::Warn
    );
    let skewed = &reports["skewed"];
    let skew = skewed.clock_skew_secs.expect("skew measured");
    assert!((418..=422).contains(&skew), "skew {skew}");
    assert_eq!(
        status(skewed, "clock_skew"),
        CheckStatus::Fail,
        "above xapi's 300 s alert"
    );
    let old = &reports["intel-old"];
    let cpu = old.check("cpu_homogeneous").unwrap();
    assert_eq!(
        cpu.status,
        CheckStatus::Fail,
        "another model and fewer features"
    );
    assert_eq!(cpu.waiver, Waiver::Force);
    // The features lost are named (Xen's names), not only counted.
    assert!(cpu.evidence.candidate.contains("lacks"), "{cpu:?}");
    assert!(cpu.evidence.candidate.contains("avx512f"), "{cpu:?}");
    assert_eq!(status(old, "cpu_vendor"), CheckStatus::Pass);
    let masking = old.check("cpu_masking").unwrap();
    assert_eq!(masking.status, CheckStatus::Pass, "{masking:?}");
    assert!(
        masking
            .evidence
            .candidate
            .contains("levels CPU features automatically")
            && masking.evidence.pool.contains("would lose"),
        "{masking:?}"
    );
    let h = &old.heterogeneous;
    assert!(h.same_vendor && !h.same_model && h.levelling_possible);
    assert!(!h.hvm_features_lost.is_empty() && !h.pv_features_lost.is_empty());
    assert!(
        h.levelled_hvm_features
            .as_deref()
            .unwrap()
            .starts_with("17cbfbff"),
        "{h:?}"
    );
    println!("{old}");

    // The report round-trips through serde (what the bindings see).
    let json = serde_json::to_string(old).unwrap();
    assert_eq!(&serde_json::from_str::<JoinReport>(&json).unwrap(), old);
    assert!(json.contains(r#""waiver":"force""#), "{json}");

    // Calls: a handful per side, not one per field.
    assert!(
        old.calls.pool <= 12 && old.calls.candidate <= 20,
        "{:?}",
        old.calls
    );

    // And xapi indeed accepts all of them.
    for host in [
        "intel2",
        "intel3",
        "suspended",
        "dhcp",
        "skewed",
        "intel-old",
    ] {
        assert_eq!(attempt(&sim, host, "intel1", false).await, None, "{host}");
    }
    pool.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

/// Bonds eth2 and eth3 of `host` on a new network.
async fn add_bond(sim: &Simulator, host: &str) {
    let c = login(sim, host).await;
    let mut members = Vec::new();
    for dev in ["eth2", "eth3"] {
        let pifs = Pif::get_all_records_where(&c, &format!(r#"field "device" = "{dev}""#))
            .await
            .unwrap();
        members.push(pifs.into_keys().next().unwrap());
    }
    let net = Network::create(
        &c,
        &NetworkRecord {
            name_label: "storage bond".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let optional = BondCreateOptions {
        mode: Some(BondMode::ActiveBackup),
        ..Default::default()
    };
    Bond::create_with(&c, &net, &members, "", &optional)
        .await
        .unwrap();
    c.logout().await.unwrap();
}

#[tokio::test]
async fn a_host_with_several_problems_reports_all_of_them() {
    let sim = start().await;
    add_bond(&sim, "nohotfix").await;
    add_bond(&sim, "busy").await;
    let pool = login(&sim, "intel1").await;

    let nohotfix = validate(&sim, &pool, "nohotfix").await;
    let failing: Vec<&str> = nohotfix.fails().iter().map(|c| c.id.as_str()).collect();
    for id in ["no_bonds", "updates_homogeneous"] {
        assert!(failing.contains(&id), "{id} missing from {failing:?}");
    }
    // #15 (bonds) comes before #25 (updates) in xapi's order.
    let predicted = nohotfix.predicted_failure(false);
    assert_eq!(
        predicted,
        Some((ErrorCode::PoolJoiningHostHasBonds, vec![]))
    );
    assert_eq!(predicted, attempt(&sim, "nohotfix", "intel1", false).await);
    assert_eq!(
        nohotfix.predicted_failure(true),
        attempt(&sim, "nohotfix", "intel1", true).await
    );
    assert!(
        nohotfix
            .check("updates_homogeneous")
            .unwrap()
            .evidence
            .candidate
            .contains("XS83E002")
    );

    let busy = validate(&sim, &pool, "busy").await;
    let failing: Vec<&str> = busy.fails().iter().map(|c| c.id.as_str()).collect();
    for id in ["no_running_vms", "no_bonds"] {
        assert!(failing.contains(&id), "{id} missing from {failing:?}");
    }
    assert_eq!(
        busy.predicted_failure(false),
        Some((ErrorCode::JoiningHostCannotHaveRunningVms, vec![]))
    );
    assert_eq!(
        busy.predicted_failure(false),
        attempt(&sim, "busy", "intel1", false).await
    );
    println!("{busy}");
    pool.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn one_row_per_requirement_and_the_cpu_rules_of_the_documentation() {
    let sim = start().await;
    let pool = login(&sim, "intel1").await;
    let intel2 = validate(&sim, &pool, "intel2").await;
    // One row per requirement: no id or title twice, and the subjects that used to have an
    // xapi row and a documentation row each have one.
    let ids: std::collections::BTreeSet<&str> =
        intel2.checks.iter().map(|c| c.id.as_str()).collect();
    let titles: std::collections::BTreeSet<&str> =
        intel2.checks.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(ids.len(), intel2.checks.len());
    assert_eq!(titles.len(), intel2.checks.len());
    for subject in ["vendor", "hotfix", "running", "bond", "edition"] {
        let rows: Vec<&str> = intel2
            .checks
            .iter()
            .filter(|c| c.title.to_lowercase().contains(subject))
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(rows.len(), 1, "{subject}: {rows:?}");
    }
    // The lab's pools have no name: shown by their coordinator.
    assert_eq!(intel2.pool.label(), "the pool of intel1");
    let text = intel2.to_string();
    assert!(text.contains("into the pool of intel1"), "{text}");
    assert!(!text.contains("pool \"\""), "{text}");

    // nomask: same vendor, another model, and its release says its CPU cannot be masked.
    let nomask = validate(&sim, &pool, "nomask").await;
    assert_eq!(
        nomask.predicted_failure(false),
        None,
        "xapi would let it in"
    );
    let masking = nomask.check("cpu_masking").unwrap();
    assert_eq!(masking.status, CheckStatus::Fail, "{nomask}");
    assert_eq!(masking.waiver, Waiver::None);
    assert_eq!(masking.evidence.candidate, "maskable: no");
    let refused: Vec<&str> = nomask
        .refusals(JoinPolicy::FORCE)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(refused, ["cpu_masking"], "force does not go past it");
    assert_eq!(
        nomask.check("cpu_homogeneous").unwrap().status,
        CheckStatus::Fail
    );

    // DHCP: the remedy mentions a reservation.
    let dhcp = validate(&sim, &pool, "dhcp").await;
    assert!(
        dhcp.check("static_management_ip")
            .unwrap()
            .remedy
            .contains("DHCP reservation")
    );
    pool.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}

#[tokio::test]
async fn bad_input_is_a_typed_error() {
    let sim = start().await;
    let pool = login(&sim, "intel1").await;
    let baseline = sim.session_count();

    // Nothing listens on this loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = ValidateOptions {
        connect: ConnectOptions {
            tls: Tls::Insecure,
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = validate_join(
        &pool,
        &format!("https://127.0.0.1:{port}"),
        &Credentials::new("root", "x"),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                may_have_reached_host: false,
                ..
            }
        ),
        "{err:?}"
    );

    // Wrong password.
    let info = sim.host("intel2").unwrap();
    let err = validate_join(
        &pool,
        &info.url,
        &Credentials::new("root", "wrong"),
        &self::options(&sim, "intel2"),
    )
    .await
    .unwrap_err();
    assert!(
        err.is_code(&ErrorCode::SessionAuthenticationFailed),
        "{err:?}"
    );
    // The pool's session is fine: the message names the candidate that refused.
    assert!(
        err.to_string().starts_with(&format!(
            "session.login_with_password on {} failed",
            info.address
        )),
        "{err}"
    );
    assert_eq!(sim.session_count(), baseline);

    // A member of this very pool: the session check.
    assert_eq!(attempt(&sim, "intel2", "intel1", false).await, None);
    let member = validate(&sim, &pool, "intel2").await;
    let coordinator = sim.host("intel1").unwrap().address;
    assert_eq!(
        member.predicted_failure(false),
        Some((ErrorCode::HostIsSlave, vec![coordinator]))
    );
    assert_eq!(
        member.predicted_failure(false),
        raw_login_failure(&sim, "intel2").await
    );
    assert_eq!(member.pool.hosts, 2);

    // The coordinator itself: xapi's #7.
    let itself = validate(&sim, &pool, "intel1").await;
    let expected = Some((
        ErrorCode::OperationNotAllowed,
        vec!["Host is already part of a pool".to_string()],
    ));
    assert_eq!(itself.predicted_failure(false), expected);
    assert_eq!(attempt(&sim, "intel1", "intel1", false).await, expected);

    pool.logout().await.unwrap();
    assert_eq!(sim.session_count(), 0);
}
