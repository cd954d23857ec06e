//! `event.from`, `event.inject` and the legacy `event.register`/`unregister`/`next` with
//! xapi's token format and record shapes (docs/wire-protocol.md#events): tokens are
//! `<generation>,<message generation>` as two 20-digit numbers; class names are compared
//! lower-cased; `del` events have no snapshot; messages, which xapi keeps outside its
//! database, have events with id `0` tracked by the token's second component.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::meta;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::db::events::{Registration, Subscription, Token};
use crate::db::{Db, MESSAGE};
use crate::failure::{Failure, Outcome};
use crate::sim::{Caller, Sim};
use crate::values::{refs, s, text, void};

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
    r.insert("event.register", Handler::Sync(register_classes));
    r.insert("event.unregister", Handler::Sync(unregister_classes));
    r.insert(
        "event.next",
        Handler::Async(|sim, caller, _| next(sim, caller).boxed()),
    );
}

/// Classes that are not tables of xapi's database, so absent from `valid_ref_counts`.
const NOT_IN_DB: &[&str] = &[
    "event",
    MESSAGE,
    "data_source",
    "probe_result",
    "sr_stat",
    "vdi_nbd_server_info",
    "auth",
];

fn subscriptions(classes: &Value) -> Vec<Subscription> {
    refs(classes)
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

fn subscribed(subs: &[Subscription], lower: &str) -> bool {
    subs.iter().any(|s| s.class == "*" || s.class == lower)
}

/// Events after `since` for `subs`, in change order.
fn collect(db: &Db, subs: &[Subscription], since: Token) -> Vec<Value> {
    let mut events = Vec::new();
    for class in meta::classes() {
        let lower = class.name.to_ascii_lowercase();
        if !subscribed(subs, &lower) {
            continue;
        }
        let is_message = class.name == MESSAGE;
        let after = if is_message { since.messages } else { since.db };
        for (reference, row) in db.rows(class.name) {
            if row.modified > after && wanted(subs, class.name, reference) {
                let op = if row.created > after { "add" } else { "mod" };
                let id = if is_message { 0 } else { row.modified };
                let sort = (is_message, row.modified);
                let snapshot = Some(Value::Struct(row.record.clone()));
                events.push((sort, event(id, &lower, op, reference, snapshot)));
            }
        }
    }
    for t in db.tombstones_since(0) {
        let is_message = t.class == MESSAGE;
        let after = if is_message { since.messages } else { since.db };
        if t.generation > after && t.created <= after && wanted(subs, t.class, &t.reference) {
            let id = if is_message { 0 } else { t.generation };
            let lower = t.class.to_ascii_lowercase();
            events.push((
                (is_message, t.generation),
                event(id, &lower, "del", &t.reference, None),
            ));
        }
    }
    events.sort_by_key(|(k, _)| *k);
    events.into_iter().map(|(_, e)| e).collect()
}

/// Number of objects in every database table, by lower-case class name. xapi counts them
/// in 32-bit integers (`xapi_event.ml`), which ocaml-rpc tags `<i4>` over XML-RPC, unlike
/// the untagged int64s everywhere else: XenAPI.py reads them as ints.
fn valid_ref_counts(db: &Db) -> Value {
    Value::Struct(
        meta::classes()
            .iter()
            .filter(|c| !c.fields.is_empty() && !NOT_IN_DB.contains(&c.name))
            .map(|c| {
                (
                    c.name.to_ascii_lowercase(),
                    Value::Int32(i32::try_from(db.count(c.name)).unwrap_or(i32::MAX)),
                )
            })
            .collect(),
    )
}

/// Fails with `SESSION_INVALID` once the caller's session is gone.
fn assert_session(world: &crate::world::World, caller: &Caller) -> Result<(), Failure> {
    let Some(session) = &caller.session else {
        return Err(Failure::internal("no session"));
    };
    let alive = if caller.local {
        world.hosts[caller.host].local_sessions.contains(session)
    } else {
        world.pool(caller.host).db.exists("session", session)
    };
    if alive {
        Ok(())
    } else {
        Err(Failure::new(ErrorCode::SessionInvalid, [session.clone()]))
    }
}

async fn from(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let subs = subscriptions(&args[0]);
    let token_text = text(&args[1]);
    let since = Token::parse(&token_text)
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
        let (events, batch, mut changes) = {
            let world = sim.world();
            assert_session(&world, &caller)?;
            let db = &world.pool(caller.host).db;
            let events = collect(db, &subs, since);
            let rest = [
                ("valid_ref_counts".to_string(), valid_ref_counts(db)),
                ("token".to_string(), s(Token::now(db).wire())),
            ];
            (events, rest, db.changed.subscribe())
        };
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut m = IndexMap::from([("events".to_string(), Value::Array(events))]);
            m.extend(batch);
            return Ok(Value::Struct(m));
        }
        // `changes` was subscribed under the lock, so no change after the collection is
        // missed; a logout is a change too, so a waiting call ends with SESSION_INVALID.
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

fn event(id: u64, class: &str, operation: &str, reference: &str, snapshot: Option<Value>) -> Value {
    let mut m = IndexMap::from([
        ("id".to_string(), s(id.to_string())),
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

/// xapi touches the row and answers the generation before the touch minus one, with a
/// message generation of 0, so `event.from` from that token sees the touch
/// (`xapi_event.ml` `inject`).
fn inject(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (class, reference) = (text(&args[0]), text(&args[1]));
    let before = ctx.db().generation();
    let known = meta::class(&class).is_some_and(|c| c.name != MESSAGE);
    if !known || !ctx.db().update(&class, &reference, |_| {}) {
        return Err(Failure::new(ErrorCode::HandleInvalid, [class, reference]));
    }
    let token = Token {
        db: before.saturating_sub(1),
        messages: 0,
    };
    Ok(s(token.wire()))
}

fn session_key(caller: &Caller) -> String {
    caller.session.clone().unwrap_or_default()
}

fn register_classes(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let now = Token::now(ctx.db());
    let key = session_key(ctx.caller);
    let entry = ctx
        .world
        .event_registrations
        .entry(key)
        .or_insert(Registration {
            subs: Vec::new(),
            seen: now,
        });
    entry.subs.extend(subscriptions(&args[0]));
    void()
}

fn unregister_classes(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let gone: Vec<String> = subscriptions(&args[0])
        .into_iter()
        .map(|s| s.class)
        .collect();
    let key = session_key(ctx.caller);
    if let Some(r) = ctx.world.event_registrations.get_mut(&key) {
        r.subs.retain(|s| !gone.contains(&s.class));
    }
    void()
}

/// `event.next`: blocks until a registered class changes; events carry a global counter as
/// their id and the Unix time as OCaml prints a float (`"1700000000."`).
async fn next(sim: Sim, caller: Arc<Caller>) -> Outcome {
    let key = session_key(&caller);
    loop {
        let mut changes = {
            let mut world = sim.world();
            assert_session(&world, &caller)?;
            let Some(registration) = world.event_registrations.get(&key).cloned() else {
                return Err(Failure::new(ErrorCode::SessionNotRegistered, [key]));
            };
            let db = &world.pool(caller.host).db;
            let events = collect(db, &registration.subs, registration.seen);
            let now = Token::now(db);
            let changes = db.changed.subscribe();
            if !events.is_empty() {
                let stamp = format!("{}.", chrono::Utc::now().timestamp());
                let events = events
                    .into_iter()
                    .map(|mut e| {
                        if let Value::Struct(m) = &mut e {
                            let id = m.get("id").map(text).unwrap_or_default();
                            if id == "0" {
                                m.insert("id".into(), s(now.messages.to_string()));
                            }
                            m.insert("timestamp".into(), s(stamp.clone()));
                        }
                        e
                    })
                    .collect();
                if let Some(r) = world.event_registrations.get_mut(&key) {
                    r.seen = now;
                }
                return Ok(Value::Array(events));
            }
            changes
        };
        let _ = changes.changed().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
