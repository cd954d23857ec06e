//! `:help`, `:help TOPIC`, `:help FUNCTION`, `:help Class` and `:help Class.message`.

use xenpool::meta::{self, Ty};

use crate::functions::FUNCTIONS;

const TOPICS: &[(&str, &str)] = &[
    (
        "inspect",
        "Look at the pool: pool(), hosts(), host_list(), vms(), srs(). A list result prints \
            as a table; fields are getters (hosts()[0].cpu_model). A big map or list (such as \
            xenapi(\"VM.get_all_records\")) shows its count and first 10 rows; :full prints \
            the last result whole.",
    ),
    (
        "connect",
        "Switch hosts or pools. Host arguments are simulator names, addresses or URLs. \
            password() reads one without echo.",
    ),
    (
        "join",
        "Build and change the pool. validate_join lists every problem at once; pool_join \
            mirrors xe pool-join (run on the joining host); operations accept #{dry_run: \
            true} to print the plan only.",
    ),
    (
        "network",
        "Bonds: create on every host, check that members match the coordinator's NICs, repair \
            after a join.",
    ),
    ("storage", "Shared NFS storage for the pool."),
    ("vms", "Live migration (XenMotion) and evacuation."),
    (
        "ha",
        "High availability and emergency recovery of a lost coordinator.",
    ),
    (
        "events",
        "wait_for waits on the event-fed cache: wait_for(vm(\"web\"), |r| r.power_state == \
            \"Running\", 30).",
    ),
    (
        "xenapi",
        "The whole XenAPI: xenapi(\"VM.get_all_records\"). Arguments are checked against the \
            datamodel (ints, enums, refs by name or uuid). `:help VM` lists a class's \
            messages; `:help VM.start` shows one.",
    ),
    (
        "errors",
        "Failures are catchable: try { pool_join(...) } catch (e) { print(e.code); \
            print(e.params); print(e.message) }.",
    ),
    (
        "scripting",
        "Scripts run with `xenpool run FILE.rhai [args]`; ARGS holds the arguments. \
            assert(condition, message) stops a script with a clear error.",
    ),
    (
        "simulator",
        "On the embedded simulator: sim_hosts(), sim_kill(host), sim_restart(host), \
            sim_latency(host, ms), sim_operation_time(ms).",
    ),
    (
        "keys",
        "Tab completes functions, the fields of the value before a dot (host(\"x\"). offers a \
            host's, a variable its value's), XenAPI methods inside xenapi(\"…\") and host/VM \
            names inside quotes. :full prints the last result whole. An open block continues on \
            the next line. Ctrl-C cancels a running call (the session stays); Ctrl-D or :quit \
            leaves.",
    ),
];

/// The help text for `topic` (empty: the overview).
pub fn help(topic: &str) -> String {
    let topic = topic.trim();
    if topic.is_empty() {
        return overview();
    }
    if let Some((name, text)) = TOPICS.iter().find(|(t, _)| t.eq_ignore_ascii_case(topic)) {
        let mut out = format!("{name}: {text}\n");
        for f in FUNCTIONS.iter().filter(|f| f.topic == *name) {
            out.push_str(&format!("  {}\n      {}\n", f.usage, f.summary));
        }
        // A function named like the topic (`vms`, `join`) is documented here too.
        if let Some(f) = FUNCTIONS
            .iter()
            .find(|f| f.name == *name && f.topic != *name)
        {
            out.push_str(&format!("{}\n  {}\n", f.usage, f.summary));
        }
        return out;
    }
    if let Some(f) = FUNCTIONS.iter().find(|f| f.name == topic) {
        return format!("{}\n  {}\n", f.usage, f.summary);
    }
    if let Some((class, message, _)) = meta::api().method(topic) {
        let params: Vec<String> = message
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, type_name(&p.ty)))
            .collect();
        let result = message
            .result
            .as_ref()
            .map(type_name)
            .unwrap_or_else(|| "()".into());
        let mut out = format!(
            "xenapi(\"{}.{}\"{}{}) -> {result}\n",
            class.name,
            message.name,
            if params.is_empty() { "" } else { ", " },
            params.join(", ")
        );
        if message.is_async {
            out.push_str(&format!(
                "  also xenapi(\"Async.{}.{}\", …) -> a task reference\n",
                class.name, message.name
            ));
        }
        if !message.errors.is_empty() {
            out.push_str(&format!("  errors: {}\n", message.errors.join(", ")));
        }
        return out;
    }
    if let Some(class) = meta::api().class_ignore_case(topic) {
        let mut names: Vec<&str> = class
            .messages
            .iter()
            .filter(|m| !m.hidden)
            .map(|m| m.name)
            .collect();
        names.sort_unstable();
        return format!(
            "XenAPI class {} ({} fields): messages\n  {}\n",
            class.name,
            class.fields.len(),
            names.join(", ")
        );
    }
    format!("no help on {topic:?}; try :help for the topics\n")
}

fn overview() -> String {
    let mut out = String::from(
        "xenpool: XenServer / XCP-ng pools, one line per operation (Rhai syntax).\nTopics \
            (:help TOPIC):\n",
    );
    for (name, text) in TOPICS {
        let first = text.split(". ").next().unwrap_or(text);
        out.push_str(&format!("  {name:<10} {first}\n"));
    }
    out.push_str("Functions (:help NAME):\n");
    for f in FUNCTIONS {
        out.push_str(&format!("  {:<20} {}\n", f.name, f.summary));
    }
    out
}

fn type_name(ty: &Ty) -> String {
    match ty {
        Ty::String => "string".into(),
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Bool => "bool".into(),
        Ty::DateTime => "datetime".into(),
        Ty::Enum(e) => format!("enum {e}"),
        Ty::Ref(c) => format!("{c} ref"),
        Ty::Set(t) => format!("{} set", type_name(t)),
        Ty::Map(k, v) => format!("({} -> {}) map", type_name(k), type_name(v)),
        Ty::Record(c) => format!("{c} record"),
        Ty::Option(t) => format!("{} option", type_name(t)),
        Ty::Opaque(n) => n.to_string(),
    }
}
