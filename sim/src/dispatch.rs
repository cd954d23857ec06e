//! From a decoded call to a reply, in xapi's order (docs/wire-protocol.md#method-names,
//! docs/wire-protocol.md#parameters, docs/wire-protocol.md#sessions,
//! docs/wire-protocol.md#pool-roles):
//! method lookup, parameter count, emergency mode, session check (`HOST_IS_SLAVE` on
//! members), removed messages, unmarshalling, async mode, then the handler — an explicit
//! one, the generic implicit-message store, or `NOT_IMPLEMENTED`.

use std::sync::Arc;

use xenpool::ErrorCode;
use xenpool::meta::{self, Lifecycle, MessageMeta, ParamMeta};
use xenpool::wire::Value;

use crate::call::{Ctx, Handler};
use crate::db::coerce::coerce;
use crate::failure::{Failure, Outcome};
use crate::handlers;
use crate::sim::{Caller, Sim};

/// The value xapi uses for an optional parameter the caller left out. The datamodel export
/// carries no parameter defaults: these are the ones docs/wire-protocol.md#parameters names, and
/// otherwise
/// the type's empty value (xapi's defaults for the optional tails are `false`, `""`, `{}`,
/// the null reference, or an enum's first value such as `balance-slb` — `datamodel*.ml`).
pub fn param_default(class: &str, message: &str, param: &ParamMeta) -> Value {
    match (class, message, param.name) {
        ("session", "login_with_password", "version") => Value::String("1.1".into()),
        ("host", "evacuate", "evacuate_batch_size") => Value::Int(0),
        _ => param.ty.zero_value(),
    }
}

/// Whether a host running xapi `host_version` (`24.19`) knows the optional parameters of
/// `message`: true unless the message was last changed or extended in a numbered release
/// newer than the host. Code-named releases (`rio` … `stockholm`) all predate numbered ones.
/// A message extended twice is modelled as gaining its whole optional tail at the last step.
pub fn knows_optional_params(host_version: &str, message: &MessageMeta) -> bool {
    match message.last_changed.and_then(release_number) {
        Some(changed) => release_number(host_version).is_none_or(|host| host >= changed),
        None => true,
    }
}

/// `25.31.0` → `[25, 31]` (trailing zeros dropped, so `25.31` equals it); `None` for code
/// names.
fn release_number(release: &str) -> Option<Vec<u64>> {
    let mut parts: Vec<u64> = release
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    while parts.last() == Some(&0) {
        parts.pop();
    }
    Some(parts)
}

/// Calls allowed on a member in emergency mode (datamodel.ml `emergency_calls`).
const EMERGENCY_CALLS: &[&str] = &[
    "pool.emergency_reset_master",
    "pool.emergency_transition_to_master",
    "pool.slave_reset_master",
    "pool.transition_to_master",
    "pool.ping_slave",
    "session.slave_local_login",
    "session.slave_local_login_with_password",
    "session.local_logout",
    "host.propose_new_master",
    "host.commit_new_master",
    "host.abort_new_master",
    "host.local_assert_healthy",
    "host.signal_networking_change",
    "host.local_management_reconfigure",
    "host.ha_xapi_healthcheck",
    "host.emergency_ha_disable",
    "host.management_disable",
    "host.get_system_status_capabilities",
    "host.is_in_emergency_mode",
    "host.shutdown_agent",
];

/// Wire aliases xapi accepts for emergency calls.
fn canonical(method: &str) -> &str {
    match method {
        "pool.slave_reset_master" => "pool.emergency_reset_master",
        "pool.transition_to_master" => "pool.emergency_transition_to_master",
        other => other,
    }
}

/// Splits `class.message`, or the alternative `class_message` spelling.
fn split(method: &str) -> Option<(&'static meta::ClassMeta, &'static MessageMeta)> {
    if let Some((class, message)) = method.split_once('.') {
        let c = meta::class(class)?;
        return Some((c, c.message(message)?));
    }
    method
        .char_indices()
        .filter(|(_, ch)| *ch == '_')
        .find_map(|(i, _)| {
            let c = meta::class(&method[..i])?;
            Some((c, c.message(&method[i + 1..])?))
        })
}

/// The failure xapi raises before dispatching anything on a member in emergency mode
/// (`api_server.ml` `callback1`): every call but the emergency ones.
pub fn emergency_refusal(sim: &Sim, host: usize, label: &str) -> Option<Failure> {
    let method = canonical(label.strip_prefix("Async.").unwrap_or(label));
    if EMERGENCY_CALLS.contains(&method) {
        return None;
    }
    sim.emergency_error(host)
}

/// `host.is_in_emergency_mode`, a hidden message (absent from the datamodel export) that
/// takes only the session and works in emergency mode (`datamodel_host.ml`, `xapi_host.ml`).
fn is_in_emergency_mode(sim: &Sim, host: usize, params: &[Value]) -> Outcome {
    let [Value::String(session)] = params else {
        return Err(Failure::new(
            ErrorCode::MessageParameterCountMismatch,
            [
                "host.is_in_emergency_mode".to_string(),
                "0".into(),
                params.len().saturating_sub(1).to_string(),
            ],
        ));
    };
    sim.check_session(host, session)?;
    Ok(Value::Bool(sim.emergency_error(host).is_some()))
}

/// Handles one call on `host`.
pub async fn dispatch(sim: &Sim, host: usize, label: &str, mut params: Vec<Value>) -> Outcome {
    if label == "system.listMethods" {
        let names = meta::classes()
            .iter()
            .flat_map(|c| {
                c.messages
                    .iter()
                    .filter(|m| !m.hidden)
                    .map(move |m| Value::String(format!("{}.{}", c.name, m.name)))
            })
            .collect();
        return Ok(Value::Array(names));
    }
    if label.starts_with("system.isAlive:") {
        return Ok(params
            .into_iter()
            .next()
            .unwrap_or(Value::String(String::new())));
    }
    let (is_async, sent) = match label.strip_prefix("Async.") {
        Some(rest) => (true, rest),
        None => (false, label),
    };
    let method = canonical(sent);
    if method == "host.is_in_emergency_mode" {
        return is_in_emergency_mode(sim, host, &params);
    }
    let Some((class, message)) = split(method) else {
        // An unknown method with a session first validates the session.
        if let Some(Value::String(s)) = params.first()
            && s.starts_with("OpaqueRef:")
        {
            sim.check_session(host, s)?;
        }
        return Err(Failure::new(ErrorCode::MessageMethodUnknown, [label]));
    };
    let wire_name = format!("{}.{}", class.name, message.name);

    // Parameter count (docs/wire-protocol.md#parameters): the session does not count. A message
    // with
    // optional parameters takes its required ones plus any prefix of the optional tail,
    // ignores anything beyond, and fills in the defaults of what was left out; one without
    // takes exactly its parameters (`gen_server.ml`: `default_args`). A host older than the
    // release that added the tail knows the message without it.
    let offset = usize::from(message.session);
    let received = params.len().saturating_sub(offset);
    let required = message.required_params().len();
    let known = if knows_optional_params(&sim.host_xapi_version(host), message) {
        message.params.len()
    } else {
        required
    };
    let count_ok = if known > required {
        received >= required
    } else {
        received == required
    };
    if params.len() < offset || !count_ok {
        return Err(Failure::new(
            ErrorCode::MessageParameterCountMismatch,
            [sent.to_string(), required.to_string(), received.to_string()],
        ));
    }
    params.truncate(offset + received.min(known));
    let declared = message.params.len();
    for p in &message.params[params.len() - offset..] {
        params.push(param_default(class.name, message.name, p));
    }

    let mut caller = Caller {
        host,
        session: None,
        local: false,
        method: wire_name.clone(),
        task: None,
    };
    if message.session {
        let Value::String(session) = &params[0] else {
            return Err(Failure::new(
                ErrorCode::SessionInvalid,
                [render(&params[0])],
            ));
        };
        caller.local = sim.check_session(host, session)?;
        caller.session = Some(session.clone());
    }
    if message.lifecycle == Lifecycle::Removed {
        return Err(Failure::code(ErrorCode::MessageRemoved));
    }
    let mut args = Vec::with_capacity(declared);
    for (p, v) in message.params.iter().zip(params.into_iter().skip(offset)) {
        args.push(coerce(&p.ty, v).map_err(|e| Failure(e.to_failure()))?);
    }
    if is_async && !message.is_async {
        return Err(Failure(vec![
            "Fault".into(),
            // xapi names the message without its `Async.` prefix (`server_helpers.ml`).
            format!("No async mode for this operation (rpc: {sent})"),
        ]));
    }
    let handler = match handlers::registry().get(wire_name.as_str()) {
        Some(h) => *h,
        None if message.implicit => Handler::Sync(handlers::generic::handle),
        None => return Err(Failure::new(ErrorCode::NotImplemented, [wire_name])),
    };
    if is_async {
        let task = sim.create_task(&caller, label);
        caller.task = Some(task.clone());
        let sim2 = sim.clone();
        let caller2 = caller.clone();
        tokio::spawn(async move {
            let outcome = run(&sim2, &caller2, message, handler, args).await;
            sim2.finish_task(&caller2, &task, outcome);
        });
        return Ok(Value::String(caller.task.clone().unwrap_or_default()));
    }
    run(sim, &caller, message, handler, args).await
}

async fn run(
    sim: &Sim,
    caller: &Caller,
    message: &'static MessageMeta,
    handler: Handler,
    args: Vec<Value>,
) -> Outcome {
    match handler {
        Handler::Sync(f) => {
            let mut world = sim.world();
            f(
                &mut Ctx {
                    world: &mut world,
                    caller,
                    message,
                    sim,
                },
                args,
            )
        }
        Handler::Async(f) => f(sim.clone(), Arc::new(caller.clone()), args).await,
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}
