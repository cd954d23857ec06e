//! `event.from` and `event.inject` with xapi's token format and record shapes
//! (wire-protocol.md §6): tokens are `<generation>,<message generation>` as two 20-digit
//! numbers; class names are compared lower-cased; `del` events have no snapshot.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::meta;
use xenpool::wire::Value;

use super::{Ctx, Handler, Registry, s, text};
use crate::dispatch::Caller;
use crate::failure::{Failure, Outcome};
use crate::sim::Sim;

/// Registers the event messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "event.from",
        Handler::Async(|sim, caller, args| from(sim, caller, args).boxed()),
    );
    r.insert("event.inject", Handler::Sync(inject));
    r.insert(
        "event.get_current_id",
        Handler::Sync(|ctx, _| Ok(Value::Int(ctx.db().generation() as i64))),
    );
}

fn token(generation: u64) -> String {
    format!("{generation:020},{:020}", 0)
}

fn parse_token(t: &str) -> Option<u64> {
    if t.is_empty() {
        return Some(0);
    }
    let (db, _messages) = t.split_once(',')?;
    db.trim().parse().ok()
}

/// A subscription entry: a class (lower-case) and maybe one object.
struct Subscription {
    class: String,
    object: Option<String>,
}

fn subscriptions(classes: &Value) -> Vec<Subscription> {
    super::refs(classes)
        .into_iter()
        .map(|entry| match entry.split_once('/') {
            Some((c, r)) => Subscription {
                class: c.to_ascii_lowercase(),
                object: Some(r.to_string()),
            },
            None => Subscription {
                class: entry.to_ascii_lowercase(),
                object: None,
            },
        })
        .collect()
}

fn wanted(subs: &[Subscription], class: &str, reference: &str) -> bool {
    subs.iter().any(|s| {
        (s.class == "*" || s.class == class.to_ascii_lowercase())
            && s.object.as_deref().is_none_or(|o| o == reference)
    })
}

async fn from(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let subs = subscriptions(&args[0]);
    let token_text = text(&args[1]);
    let since = parse_token(&token_text)
        .ok_or_else(|| Failure::new(ErrorCode::EventFromTokenParseFailure, [token_text.clone()]))?;
    let seconds = match &args[2] {
        Value::Double(d) => *d,
        Value::Int(i) => *i as f64,
        _ => 0.0,
    };
    // A timeout that is not a usable time span counts as 24 h (xapi's Timer.s_to_span).
    let timeout = if seconds.is_finite() && (0.0..=86_400.0).contains(&seconds) {
        Duration::from_secs_f64(seconds)
    } else {
        Duration::from_secs(86_400)
    };
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (batch, mut changes) = {
            let world = sim.world();
            let Some(session) = &caller.session else {
                return Err(Failure::internal("no session"));
            };
            if !caller.local && !world.pool(caller.host).db.exists("session", session) {
                return Err(Failure::new(ErrorCode::SessionInvalid, [session.clone()]));
            }
            let db = &world.pool(caller.host).db;
            let mut events = Vec::new();
            let mut counts = IndexMap::new();
            for class in meta::classes() {
                let lower = class.name.to_ascii_lowercase();
                if !subs.iter().any(|s| s.class == "*" || s.class == lower) {
                    continue;
                }
                counts.insert(lower.clone(), Value::Int(db.count(class.name) as i64));
                for (reference, row) in db.rows(class.name) {
                    if row.modified > since && wanted(&subs, class.name, reference) {
                        let op = if row.created > since { "add" } else { "mod" };
                        events.push((
                            row.modified,
                            event(
                                row.modified,
                                &lower,
                                op,
                                reference,
                                Some(Value::Struct(row.record.clone())),
                            ),
                        ));
                    }
                }
            }
            for t in db.tombstones_since(since) {
                if t.created <= since && wanted(&subs, t.class, &t.reference) {
                    events.push((
                        t.generation,
                        event(
                            t.generation,
                            &t.class.to_ascii_lowercase(),
                            "del",
                            &t.reference,
                            None,
                        ),
                    ));
                }
            }
            events.sort_by_key(|(g, _)| *g);
            let batch = Value::Struct(IndexMap::from([
                (
                    "events".to_string(),
                    Value::Array(events.into_iter().map(|(_, e)| e).collect()),
                ),
                ("valid_ref_counts".to_string(), Value::Struct(counts)),
                ("token".to_string(), s(token(db.generation()))),
            ]));
            (batch, db.changed.subscribe())
        };
        let has_events = matches!(&batch, Value::Struct(m) if matches!(m.get("events"), Some(Value::Array(e)) if !e.is_empty()));
        if has_events || tokio::time::Instant::now() >= deadline {
            return Ok(batch);
        }
        // `changes` was subscribed under the lock, so no change after the collection is missed.
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            continue; // one last collection returns the (empty) batch with a fresh token
        }
        // Let changes that come together arrive together (xapi batches for ~50 ms).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(
    generation: u64,
    class: &str,
    operation: &str,
    reference: &str,
    snapshot: Option<Value>,
) -> Value {
    let mut m = IndexMap::from([
        ("id".to_string(), s(generation.to_string())),
        ("timestamp".to_string(), s("0.0")),
        ("class".to_string(), s(class)),
        ("operation".to_string(), s(operation)),
        ("ref".to_string(), s(reference)),
    ]);
    if let Some(snapshot) = snapshot {
        m.insert("snapshot".to_string(), snapshot);
    }
    Value::Struct(m)
}

fn inject(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (class, reference) = (text(&args[0]), text(&args[1]));
    let Some(cm) = meta::class_ignore_case(&class) else {
        return Err(Failure::new(ErrorCode::HandleInvalid, [class, reference]));
    };
    if !ctx.db().update(cm.name, &reference, |_| {}) {
        return Err(Failure::new(ErrorCode::HandleInvalid, [class, reference]));
    }
    Ok(s(token(ctx.db().generation())))
}
