//! Issue #18: behaviours where the simulator now answers as xapi does, each driven through
//! a real client over loopback (raw JSON-RPC requests for wire details).

use std::time::Duration;

use serde_json::{Value as Json, json};
use xenpool_sim::{Addressing, Scenario, Simulator};

async fn lab() -> Simulator {
    // The lab gives every host its own password, so a joiner visibly takes its coordinator's.
    Simulator::builder()
        .scenario(Scenario::builtin("lab").expect("lab"))
        .plain_http()
        .auth_failure_delay(Duration::from_millis(20))
        .ha_election_delay(Duration::from_millis(200))
        .config(xenpool_sim::Config {
            auth_failure_delay: Duration::from_millis(20),
            xapi_restart_delay: Duration::from_millis(20),
            ha_election_delay: Duration::from_millis(200),
            operation_time: Duration::from_millis(10),
            ..Default::default()
        })
        .start()
        .await
        .expect("simulator")
}

/// One raw JSON-RPC 2.0 call; returns the whole reply object.
async fn raw(url: &str, path: &str, method: &str, params: Json) -> Json {
    let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    let text = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .body(body.to_string())
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn call(url: &str, method: &str, params: Json) -> Result<Json, Json> {
    let reply = raw(url, "/jsonrpc", method, params).await;
    match reply.get("error") {
        Some(e) => Err(e.clone()),
        None => Ok(reply["result"].clone()),
    }
}

async fn login(sim: &Simulator, host: &str) -> (String, String) {
    let h = sim.host(host).expect("host");
    let s = call(
        &h.url,
        "session.login_with_password",
        json!(["root", h.password]),
    )
    .await
    .unwrap_or_else(|e| panic!("login {host}: {e}"));
    (h.url, s.as_str().expect("ref").to_string())
}

/// The error code: a JSON-RPC 2.0 error object's `message`, or the first element of the
/// bare array xapi sends in emergency mode.
fn code(e: &Json) -> String {
    e["message"]
        .as_str()
        .or_else(|| e[0].as_str())
        .unwrap_or_default()
        .to_string()
}

fn data(e: &Json) -> Vec<String> {
    let bare = e
        .as_array()
        .map(|a| a.get(1..).unwrap_or_default().to_vec());
    bare.as_ref()
        .or(e["data"].as_array())
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn vm_named(url: &str, s: &str, name: &str) -> String {
    let r = call(url, "VM.get_by_name_label", json!([s, name]))
        .await
        .expect("vm");
    r[0].as_str().expect("a VM").to_string()
}

async fn join(sim: &Simulator, joiner: &str, master: &str) -> Result<Json, Json> {
    let (url, s) = login(sim, joiner).await;
    let m = sim.host(master).expect("master");
    call(&url, "pool.join", json!([s, m.address, "root", m.password])).await
}

#[tokio::test]
async fn pool_semantics_follow_xapi() {
    let sim = lab().await;
    // Distinct passwords: intel2 takes intel1's when it joins.
    let before = sim.host("intel2").unwrap().password;
    assert_ne!(before, sim.host("intel1").unwrap().password);
    join(&sim, "intel2", "intel1").await.expect("joins");
    assert_eq!(
        sim.host("intel2").unwrap().password,
        sim.host("intel1").unwrap().password
    );
    // Joining toward a member: the login there answers HOST_IS_SLAVE; nothing changes.
    let (url3, s3) = login(&sim, "intel3").await;
    let err = call(
        &url3,
        "pool.join",
        json!([
            s3,
            sim.host("intel2").unwrap().address,
            "root",
            sim.host("intel2").unwrap().password
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "HOST_IS_SLAVE");
    assert_eq!(data(&err), [sim.host("intel1").unwrap().address]);
    assert!(sim.host("intel3").unwrap().master_address.is_none());
    // A `:port` suffix names no host: xapi resolves the whole string on port 443.
    let m = sim.host("intel1").unwrap();
    let err = call(
        &url3,
        "pool.join",
        json!([s3, format!("{}:{}", m.address, m.port), "root", m.password]),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "JOINING_HOST_CONNECTION_FAILED");
    // A member 7 minutes off: the coordinator raises HOST_CLOCK_SKEW_DETECTED.
    join(&sim, "skewed", "intel1").await.expect("joins");
    let (url, s) = login(&sim, "intel1").await;
    let messages = call(&url, "message.get_all_records", json!([s]))
        .await
        .unwrap();
    let skewed = sim.host("skewed").unwrap().uuid;
    assert!(
        messages
            .as_object()
            .unwrap()
            .values()
            .any(|m| m["name"] == "HOST_CLOCK_SKEW_DETECTED"
                && m["obj_uuid"] == skewed.as_str()
                && m["priority"] == 3),
        "{messages}"
    );

    join(&sim, "suspended", "intel1").await.expect("joins");
    // Recovery without HA: a VM on intel2, intel2 dies, declare it dead, restart the VM.
    let vm = vm_named(&url, &s, "sleeper").await;
    call(&url, "VM.hard_shutdown", json!([s, vm]))
        .await
        .expect("halts");
    let intel2 = call(&url, "host.get_by_name_label", json!([s, "suspended"]))
        .await
        .unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();
    call(&url, "VM.start_on", json!([s, vm, intel2, false, false]))
        .await
        .expect("starts");
    let err = call(&url, "host.declare_dead", json!([s, intel2]))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err), data(&err)),
        ("HOST_IS_LIVE".into(), vec![intel2.clone()])
    );
    sim.kill("suspended").unwrap();
    let err = call(&url, "VM.hard_shutdown", json!([s, vm]))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err), data(&err)),
        ("HOST_OFFLINE".into(), vec![intel2.clone()])
    );
    let err = call(&url, "VM.power_state_reset", json!([s, "OpaqueRef:NULL"]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "HANDLE_INVALID");
    call(&url, "host.declare_dead", json!([s, intel2]))
        .await
        .expect("declared dead");
    assert_eq!(
        call(&url, "VM.get_power_state", json!([s, vm]))
            .await
            .unwrap(),
        "Halted"
    );
    assert_eq!(
        call(&url, "VM.get_resident_on", json!([s, vm]))
            .await
            .unwrap(),
        "OpaqueRef:NULL"
    );

    // Control: after kill then reset the lab works again, the killed host included.
    sim.reset();
    let (url2, s2) = login(&sim, "suspended").await;
    call(&url2, "host.get_all", json!([s2]))
        .await
        .expect("intel2 serves again");
}

#[tokio::test]
async fn vm_lifecycle_follows_one_table() {
    let sim = lab().await;
    let (url, s) = login(&sim, "suspended").await;
    let vm = vm_named(&url, &s, "sleeper").await;
    let ops = call(&url, "VM.get_allowed_operations", json!([s, vm]))
        .await
        .unwrap();
    let ops: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert!(
        ops.contains(&"resume") && ops.contains(&"hard_shutdown"),
        "{ops:?}"
    );
    assert!(
        !ops.contains(&"clean_shutdown") && !ops.contains(&"start"),
        "{ops:?}"
    );
    let err = call(&url, "VM.clean_shutdown", json!([s, vm]))
        .await
        .unwrap_err();
    assert_eq!(data(&err), [vm.as_str(), "running", "suspended"]);
    call(&url, "VM.hard_shutdown", json!([s, vm]))
        .await
        .expect("hard shutdown");
    let err = call(&url, "VM.hard_shutdown", json!([s, vm]))
        .await
        .unwrap_err();
    assert_eq!(
        data(&err),
        [vm.as_str(), "paused, suspended, running", "halted"]
    );
    // Clone and copy make new Halted VMs with their own disks.
    let copy = call(&url, "VM.copy", json!([s, vm, "copy", "OpaqueRef:NULL"]))
        .await
        .unwrap();
    let clone = call(&url, "VM.clone", json!([s, vm, "clone"]))
        .await
        .unwrap();
    for new in [&copy, &clone] {
        let r = call(&url, "VM.get_record", json!([s, new])).await.unwrap();
        assert_eq!(r["power_state"], "Halted");
        assert_eq!(r["VBDs"].as_array().unwrap().len(), 1);
    }
    // set_VCPUs_max checks its range.
    let err = call(&url, "VM.set_VCPUs_max", json!([s, clone, 0]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "INVALID_VALUE");
    call(&url, "VM.set_VCPUs_max", json!([s, clone, 4]))
        .await
        .expect("set");
    // host.reboot wants a disabled host.
    let me = call(&url, "host.get_all", json!([s])).await.unwrap()[0].clone();
    let err = call(&url, "host.reboot", json!([s, me])).await.unwrap_err();
    assert_eq!(code(&err), "HOST_NOT_DISABLED");
    call(&url, "pool.sync_database", json!([s]))
        .await
        .expect("sync");
    assert_eq!(
        call(&url, "host.is_in_emergency_mode", json!([s]))
            .await
            .unwrap(),
        false
    );
}

#[tokio::test]
async fn messages_events_and_tasks_look_like_xapi() {
    let sim = lab().await;
    let (url, s) = login(&sim, "intel1").await;
    let host = call(&url, "host.get_all", json!([s])).await.unwrap()[0].clone();
    let uuid = call(&url, "host.get_uuid", json!([s, host])).await.unwrap();
    let start = call(&url, "event.from", json!([s, ["message"], "", 0.0]))
        .await
        .unwrap();
    let token = start["token"].as_str().unwrap().to_string();
    // Every table counted, as integers.
    let counts = start["valid_ref_counts"].as_object().unwrap();
    assert!(
        counts.len() > 40 && counts["host"] == 1 && counts["vm"].is_i64(),
        "{counts:?}"
    );
    let m = call(
        &url,
        "message.create",
        json!([s, "TEST", 2, "Host", uuid, "hello"]),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&url, "message.get_all", json!([s])).await.unwrap(),
        json!([m])
    );
    let since = call(&url, "message.get_since", json!([s, "19700101T00:00:00Z"]))
        .await
        .unwrap();
    assert_eq!(since[m.as_str().unwrap()]["body"], "hello");
    let batch = call(&url, "event.from", json!([s, ["message"], token, 5.0]))
        .await
        .unwrap();
    let ev = &batch["events"][0];
    assert_eq!(
        (ev["id"].as_str(), ev["operation"].as_str()),
        (Some("0"), Some("add"))
    );
    let t = batch["token"].as_str().unwrap();
    assert!(t.ends_with(",00000000000000000001"), "{t}");
    call(&url, "message.destroy", json!([s, m])).await.unwrap();
    // event.inject's token returns the injected change.
    let injected = call(&url, "event.inject", json!([s, "host", host]))
        .await
        .unwrap();
    let batch = call(&url, "event.from", json!([s, ["host"], injected, 5.0]))
        .await
        .unwrap();
    assert!(
        batch["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["operation"] == "mod"),
        "{batch}"
    );
    // A logout ends a waiting event.from with SESSION_INVALID.
    let (_, s2) = login(&sim, "intel1").await;
    let now = call(&url, "event.from", json!([s2, ["vm"], "", 0.0]))
        .await
        .unwrap()["token"]
        .clone();
    let listeners = || {
        let world = sim.world();
        let feeds = world.pools.values().map(|p| p.db.changed.receiver_count());
        feeds.sum::<usize>()
    };
    let idle = listeners();
    let waiter = tokio::spawn({
        let (url, s2) = (url.clone(), s2.clone());
        async move { call(&url, "event.from", json!([s2, ["vm"], now, 30.0])).await }
    });
    // Log out once the call is waiting: it then listens on the database's change feed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while listeners() == idle {
        assert!(
            std::time::Instant::now() < deadline,
            "event.from never waited"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    call(&url, "session.logout", json!([s2])).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(code(&err), "SESSION_INVALID");
    // Legacy events.
    let err = call(&url, "event.next", json!([s])).await.unwrap_err();
    assert_eq!(code(&err), "SESSION_NOT_REGISTERED");
    call(&url, "event.register", json!([s, ["host"]]))
        .await
        .unwrap();
    call(&url, "event.inject", json!([s, "host", host]))
        .await
        .unwrap();
    let next = call(&url, "event.next", json!([s])).await.unwrap();
    assert_eq!(next[0]["class"], "host");
    // Tasks without a type; the Async error names the message without its prefix.
    let task = call(&url, "task.create", json!([s, "mine", ""]))
        .await
        .unwrap();
    assert_eq!(
        call(&url, "task.get_type", json!([s, task])).await.unwrap(),
        "<none/>"
    );
    let err = call(&url, "Async.host.get_servertime", json!([s, host]))
        .await
        .unwrap_err();
    assert_eq!(
        data(&err),
        ["No async mode for this operation (rpc: host.get_servertime)"]
    );
}

#[tokio::test]
async fn wire_routes_and_emergency_shape() {
    let sim = lab().await;
    let h = sim.host("intel1").unwrap();
    // POST /xmlrpc reaches the XML-RPC handler (longest URI prefix).
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>session.login_with_password\
         </methodName><params><param><value>root</value></param><param><value>{}</value>\
         </param></params></methodCall>",
        h.password
    );
    let reply = reqwest::Client::new()
        .post(format!("{}/xmlrpc", h.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.text().await.unwrap().contains("Success"));
    // A member of a dead coordinator: xapi's pre-dispatch JSON shape.
    sim.kill("pooled-a").unwrap();
    let b = sim.host("pooled-b").unwrap();
    let reply = raw(&b.url, "/jsonrpc", "host.get_all", json!(["OpaqueRef:x"])).await;
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "error": ["HOST_STILL_BOOTING"], "id": 0})
    );
}

#[tokio::test]
async fn a_joined_host_takes_the_coordinators_password() {
    let sim = lab().await;
    let old = sim.host("intel3").unwrap().password;
    let coordinator = sim.host("intel1").unwrap().password;
    assert_ne!(
        old, coordinator,
        "the lab gives every host its own password"
    );
    join(&sim, "intel3", "intel1").await.expect("joins");
    let member = sim.host("intel3").unwrap();
    // A member only takes local logins; its own old password no longer opens it.
    let local = |password: String| {
        let url = member.url.clone();
        async move {
            call(
                &url,
                "session.slave_local_login_with_password",
                json!(["root", password]),
            )
            .await
        }
    };
    let err = local(old.clone()).await.unwrap_err();
    assert_eq!(code(&err), "SESSION_AUTHENTICATION_FAILED");
    let session = local(coordinator.clone())
        .await
        .expect("the pool's password");
    assert!(
        session
            .as_str()
            .is_some_and(|s| s.starts_with("OpaqueRef:"))
    );
    // The same through the coordinator: the pool has one root password.
    let url = sim.host("intel1").unwrap().url;
    let err = call(&url, "session.login_with_password", json!(["root", old]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "SESSION_AUTHENTICATION_FAILED");
    call(
        &url,
        "session.login_with_password",
        json!(["root", coordinator]),
    )
    .await
    .expect("the pool's password");
}

/// A standalone host with a VM that has no vCPUs and one that has no memory.
const EMPTY_VMS: &str = r#"
name = "empty-vms"
description = "VMs without vCPUs or memory"
[[host]]
name = "h1"
vms = [
  { name = "no-vcpus", vcpus = 0, memory_mib = 512 },
  { name = "no-memory", vcpus = 1, memory_mib = 0 },
  { name = "fine", vcpus = 1, memory_mib = 512 },
]
"#;

#[tokio::test]
async fn a_vm_without_vcpus_or_memory_does_not_start() {
    let sim = Simulator::builder()
        .scenario(Scenario::parse("empty-vms", EMPTY_VMS).expect("scenario"))
        .plain_http()
        .addressing(Addressing::DistinctPorts)
        .auth_failure_delay(Duration::from_millis(20))
        .start()
        .await
        .expect("simulator");
    let (url, s) = login(&sim, "h1").await;
    // xapi checks the vCPU counts before a VM boots anywhere (`validate_vcpus` in
    // ocaml/xapi/xapi_vm_helpers.ml): INVALID_VALUE naming the field and the value.
    let vm = vm_named(&url, &s, "no-vcpus").await;
    let err = call(&url, "VM.start", json!([s, vm, false, false]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "INVALID_VALUE");
    assert_eq!(data(&err), ["VCPUs_max", "0"]);
    // The same refusal on the other paths that boot a VM.
    let me = call(&url, "host.get_all", json!([s])).await.unwrap()[0].clone();
    let err = call(&url, "VM.start_on", json!([s, vm, me, false, false]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "INVALID_VALUE");
    let err = call(&url, "VM.assert_can_boot_here", json!([s, vm, me]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "INVALID_VALUE");
    // Empty memory: xapi's constraint check accepts all-zero limits and the domain builder
    // fails later; the simulator answers the datamodel's VM_MEMORY_SIZE_TOO_LOW at once.
    let vm = vm_named(&url, &s, "no-memory").await;
    let err = call(&url, "Async.VM.start", json!([s, vm, false, false]))
        .await
        .map(|task| task.as_str().unwrap_or_default().to_string());
    let task = err.expect("a task");
    let status = loop {
        let st = call(&url, "task.get_status", json!([s, task]))
            .await
            .unwrap();
        if st != "pending" {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(status, "failure");
    let info = call(&url, "task.get_error_info", json!([s, task]))
        .await
        .unwrap();
    assert_eq!(info, json!(["VM_MEMORY_SIZE_TOO_LOW", vm]));
    // Neither VM moved; a normal one starts.
    for name in ["no-vcpus", "no-memory"] {
        let vm = vm_named(&url, &s, name).await;
        let state = call(&url, "VM.get_power_state", json!([s, vm]))
            .await
            .unwrap();
        assert_eq!(state, "Halted", "{name}");
    }
    let vm = vm_named(&url, &s, "fine").await;
    call(&url, "VM.start", json!([s, vm, false, false]))
        .await
        .expect("starts");
}

/// Three hosts in an HA pool on NFS, every host on 127.0.0.1 with its own port.
const HA_POOL: &str = r#"
name = "ha3"
description = "Three hosts, HA on"
[defaults]
password = "secret-{name}"
[[host]]
name = "n{n}"
count = 3
[[pool]]
name = "ha"
master = "n1"
members = ["n2", "n3"]
shared_srs = [{ name = "nfs", type = "nfs", server = "nfs.lab", serverpath = "/ha" }]
ha = true
"#;

#[tokio::test]
async fn ha_elects_a_new_coordinator_only_after_the_heartbeat_timeout() {
    let delay = Duration::from_millis(1500);
    let sim = Simulator::builder()
        .scenario(Scenario::parse("ha3", HA_POOL).expect("scenario"))
        .plain_http()
        .addressing(Addressing::DistinctPorts)
        .auth_failure_delay(Duration::from_millis(20))
        .ha_election_delay(delay)
        .start()
        .await
        .expect("simulator");
    let n1 = sim.host("n1").unwrap();
    let password = n1.password.clone();
    // What a client sees of the pool from the survivors: which host takes a login, and
    // what the others answer instead.
    let survey = || async {
        let mut coordinators = Vec::new();
        let mut refusals = Vec::new();
        for name in ["n2", "n3"] {
            let url = sim.host(name).unwrap().url;
            match call(
                &url,
                "session.login_with_password",
                json!(["root", password]),
            )
            .await
            {
                Ok(_) => coordinators.push(name),
                Err(e) => refusals.push([code(&e), data(&e).join(" ")]),
            }
        }
        (coordinators, refusals)
    };
    let slave_of = |address: &str| ["HOST_IS_SLAVE".to_string(), address.to_string()];
    assert_eq!(survey().await, (vec![], vec![slave_of(&n1.address); 2]));

    sim.kill("n1").unwrap();
    let killed = std::time::Instant::now();
    // During the heartbeat timeout the members still follow the dead coordinator, which
    // answers nothing, and refuse logins (HOST_STILL_BOOTING once they notice it is gone):
    // there is no coordinator to talk to.
    let reached = reqwest::Client::new()
        .post(format!("{}/jsonrpc", n1.url))
        .body("{}")
        .send()
        .await;
    assert!(reached.is_err(), "the dead coordinator answers nothing");
    while killed.elapsed() < delay.mul_f32(0.7) {
        let (coordinators, refusals) = survey().await;
        assert!(
            coordinators.is_empty(),
            "a coordinator after {:?}, before the {delay:?} timeout",
            killed.elapsed()
        );
        for refusal in &refusals {
            assert!(
                *refusal == slave_of(&n1.address)
                    || *refusal == ["HOST_STILL_BOOTING".to_string(), String::new()],
                "{refusal:?}"
            );
        }
        // The sampling interval of a check over a time window, not an ordering wait.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // After it, one survivor has been elected and the other follows it.
    let (coordinators, refusals) = loop {
        let (coordinators, refusals) = survey().await;
        if !coordinators.is_empty() {
            break (coordinators, refusals);
        }
        assert!(
            killed.elapsed() < delay * 4,
            "no coordinator elected after {:?}",
            killed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        killed.elapsed() >= delay,
        "elected after {:?}",
        killed.elapsed()
    );
    assert_eq!(coordinators.len(), 1, "{coordinators:?}");
    let elected = sim.host(coordinators[0]).unwrap();
    assert_eq!(refusals, [slave_of(&elected.address)]);
    let url = elected.url.clone();
    let s = call(
        &url,
        "session.login_with_password",
        json!(["root", password]),
    )
    .await
    .unwrap();
    let pool = call(&url, "pool.get_all", json!([s])).await.unwrap()[0].clone();
    let master = call(&url, "pool.get_master", json!([s, pool]))
        .await
        .unwrap();
    let name = call(&url, "host.get_name_label", json!([s, master]))
        .await
        .unwrap();
    assert_eq!(name, elected.name);
}

#[tokio::test]
async fn event_from_counts_are_i4_on_xml_rpc_and_other_ints_untagged() {
    let sim = lab().await;
    let (url, s) = login(&sim, "busy").await;
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>event.from</methodName><params><param><value>{s}</value></param><param><value><array><data><value>vm</value></data></array></value></param><param><value></value></param><param><value><double>0.1</double></value></param></params></methodCall>"
    );
    let xml = reqwest::Client::new()
        .post(format!("{url}/"))
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // xapi's 32-bit counts are tagged (a number to any XML-RPC client)…
    assert!(xml.contains("<name>vm</name><value><i4>"), "{xml}");
    assert!(xml.contains("<name>pif</name><value><i4>"), "{xml}");
    // …while the records' int64 fields stay untagged, as everywhere else in xapi.
    assert!(xml.contains("<name>VCPUs_max</name><value>"), "{xml}");
    assert!(!xml.contains("<name>VCPUs_max</name><value><i4>"), "{xml}");
    assert!(
        !xml.contains("<name>memory_static_max</name><value><i"),
        "{xml}"
    );
}
