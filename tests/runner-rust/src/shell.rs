//! The shell surface: one generated Rhai script per scenario, run by `xenpool --sim run`.
//! Each step prints one `@@STEP {json}` line built with Rhai's own `to_json`.

use std::fmt::Write as _;

use crate::scenario::{Scenario, Step};

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// What a step does in the shell, or why the shell cannot do it.
fn action(step: &Step, unreachable_port: u16) -> Result<String, String> {
    let host = quote(step.host.as_deref().unwrap_or(""));
    let dry = step.dry_run;
    let flags = format!(
        "#{{force: {}, allow_cross_vendor: {}, dry_run: {dry}}}",
        step.force, step.allow_cross_vendor
    );
    let opts = format!("#{{dry_run: {dry}}}");
    // A workflow's result: its plan in a dry run, else the pool's state.
    let finish = if dry {
        "r.ok = true; r.state = #{executed: o.executed, calls: o.calls};"
    } else {
        "r.fill_state();"
    };
    Ok(match step.action.as_str() {
        "connect" if step.unreachable => {
            format!("connect(\"127.0.0.1:{unreachable_port}\", \"root\", \"x\"); r.fill_state();")
        }
        "connect" if step.with.is_some() => {
            let with = step.with.clone().unwrap_or_default();
            if with.no_password {
                return Err(
                    "the shell's host book knows every simulated host's password; \
                            xenpool --url without one is tested in repl/tests/cli.rs"
                        .into(),
                );
            }
            let mut opts = Vec::new();
            if let Some(p) = &with.protocol {
                opts.push(format!("protocol: {}", quote(p)));
            }
            if with.insecure {
                opts.push("insecure: true".into());
            }
            if with.trust_on_first_use {
                opts.push("trust_on_first_use: true".into());
            }
            if let Some(f) = &with.fingerprint {
                opts.push(format!("fingerprint: {}", quote(f)));
            }
            // Bare: the host's URL without its scheme (`127.0.0.N:PORT`).
            let target = match with.bare {
                true => format!(
                    "{{ let u = sim_hosts().filter(|h| h.name == {host})[0].url; \
                     u.replace(\"https://\", \"\"); u }}"
                ),
                false => host.clone(),
            };
            format!(
                "connect({target}, #{{{}}}); r.fill_state();",
                opts.join(", ")
            )
        }
        "connect" => match &step.password {
            Some(p) => format!("connect({host}, \"root\", {}); r.fill_state();", quote(p)),
            None => format!("connect({host}); r.fill_state();"),
        },
        "validate" => format!(
            "let rep = validate_join({host}); r.ok = rep.ready; r.code = rep.predicted_error; \
             if type_of(rep.predicted_error) != \"()\" {{ r.params = rep.predicted_params; }} \
             r.state = #{{fails: rep.problems.map(|c| c.id)}};"
        ),
        "create_pool" => format!(
            "connect({}); create_pool({}, {}, {flags}); r.fill_state();",
            quote(step.coordinator.as_deref().unwrap_or("intel1")),
            quote(step.name.as_deref().unwrap_or("pool")),
            list(&step.members)
        ),
        // The shell joins from the candidate's side, as `xe pool-join` does: connect to the
        // candidate, join the current coordinator (the host book has its password), and
        // reconnect to the coordinator whatever the outcome, so later steps see the pool.
        "join" => format!(
            "let c = pool().coordinator; connect({host}); let failure = (); let o = (); \
             try {{ o = pool_join(c, {flags}); }} catch (e) {{ failure = e; }} \
             connect(c); if type_of(failure) != \"()\" {{ throw failure; }} {finish}"
        ),
        "eject" => format!("let o = pool_eject({host}, #{{yes: true, dry_run: {dry}}}); {finish}"),
        "create_bond" => format!(
            "let o = create_bond({}, {}, {}, {opts}); {finish}",
            list(&step.devices),
            quote(step.mode.as_deref().unwrap_or("lacp")),
            quote(step.network.as_deref().unwrap_or("Bond"))
        ),
        "repair_bonds" => format!("let o = repair_bonds({opts}); {finish}"),
        "check_bonds" => "r.ok = true; let h = check_bonds().map(|b| b.host); h.sort(); \
                          r.state = #{bond_problems: h};"
            .into(),
        "create_nfs_sr" => format!(
            "let o = create_nfs_sr({}, {}, {}, {opts}); {finish}",
            quote(step.name.as_deref().unwrap_or("nfs")),
            quote(step.server.as_deref().unwrap_or("")),
            quote(step.path.as_deref().unwrap_or(""))
        ),
        "start_vm" => format!(
            "let vm = xenapi(\"VM.create\", #{{name_label: {}, memory_static_max: 1073741824, \
             memory_dynamic_max: 1073741824, memory_dynamic_min: 1073741824, \
             memory_static_min: 536870912, VCPUs_max: 1, VCPUs_at_startup: 1}}); \
             xenapi(\"VM.start_on\", vm, xenapi(\"host.get_by_name_label\", {host})[0], false, false); \
             r.fill_state();",
            quote(step.name.as_deref().unwrap_or("vm"))
        ),
        "migrate" => format!(
            "let o = migrate({}, {host}, {opts}); {finish}",
            quote(step.vm.as_deref().unwrap_or(""))
        ),
        "evacuate" => format!("let o = evacuate({host}, {opts}); {finish}"),
        "enable_ha" => format!("let o = enable_ha({opts}); {finish}"),
        "disable_ha" => format!("let o = disable_ha({opts}); {finish}"),
        "kill" => format!("sim_kill({host}); r.ok = true;"),
        "state" => "r.fill_state();".into(),
        "recover" => format!(
            "let o = recover_coordinator({host}, #{{restart_vms: {}, dry_run: {dry}}}); {finish}",
            step.restart_vms
        ),
        other => return Err(format!("no shell form for step kind {other:?}")),
    })
}

/// The Rhai script that plays `scenario`.
pub fn script(scenario: &Scenario, unreachable_port: u16) -> String {
    let mut s = String::from(
        "// Generated by xenpool-scenarios from a tests/ scenario; do not edit.\n\
         fn fill_state() {\n    let p = pool();\n    let h = p.hosts;\n    h.sort();\n    \
         let vms = #{};\n    for v in vms() {\n        if v.resident_on != \"\" { vms[v.name] = v.resident_on; }\n    }\n    \
         this.ok = true;\n    this.state = #{coordinator: p.coordinator, hosts: h, vms: vms};\n}\n\n",
    );
    for step in &scenario.steps {
        let label = quote(&step.label());
        match action(step, unreachable_port) {
            Ok(body) => {
                let _ = writeln!(
                    s,
                    "{{\n    let r = #{{step: {label}, ok: false, code: (), params: (), method: (), state: ()}};\n    \
                     try {{\n        {body}\n    }} catch (e) {{\n        r.ok = false;\n        \
                     if type_of(e) == \"XenError\" {{ r.code = e.code; r.params = e.params; \
                     if e.method != \"\" {{ r.method = e.method; }} }} \
                     else {{ r.code = \"SCRIPT\"; r.params = [`${{e}}`]; }}\n        r.state = ();\n    }}\n    \
                     print(\"@@STEP \" + r.to_json());\n}}"
                );
            }
            Err(why) => {
                let _ = writeln!(
                    s,
                    "print(\"@@STEP \" + #{{step: {label}, unsupported: {}}}.to_json());",
                    quote(&why)
                );
            }
        }
    }
    s
}
