//! Alerts: xapi's `message` class (`ocaml/xapi/xapi_message.ml`). Messages are kept beside
//! the database in xapi; here they sit in the store under their own generation counter,
//! which is what `event.from` reports for them.

use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::db::{Db, MESSAGE, Record};
use crate::failure::{Failure, Outcome};
use crate::model::messages::add;
use crate::values::{refs, s, string_map, text, void};

/// Registers the message messages.
pub fn register(r: &mut Registry) {
    r.insert("message.create", Handler::Sync(create));
    r.insert("message.destroy", Handler::Sync(destroy));
    r.insert("message.destroy_many", Handler::Sync(destroy_many));
    r.insert("message.destroy_all", Handler::Sync(destroy_all));
    r.insert("message.get_all", Handler::Sync(get_all));
    r.insert(
        "message.get_all_records",
        Handler::Sync(|ctx, _| Ok(records(ctx.db(), |_| true))),
    );
    r.insert("message.get_since", Handler::Sync(get_since));
    r.insert("message.get", Handler::Sync(get));
    r.insert("message.get_record", Handler::Sync(get_record));
    r.insert("message.get_by_uuid", Handler::Sync(get_by_uuid));
}

/// `message.create`: the object must exist for the class (`xapi_message.ml` checks the
/// uuid: `UUID_INVALID [class, uuid]`); names must be non-empty.
fn create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (name, class, obj_uuid, body) = (
        text(&args[0]),
        text(&args[2]),
        text(&args[3]),
        text(&args[4]),
    );
    let priority = match args[1] {
        Value::Int(p) => p,
        _ => 0,
    };
    if name.is_empty() {
        return Err(Failure::new(ErrorCode::InvalidValue, ["name", ""]));
    }
    let db = ctx.db();
    // `cls` values name datamodel classes (`Pool` is `pool`, `Host` is `host`, …).
    let table = xenpool::meta::class_ignore_case(&class).map(|c| c.name);
    let exists = match table {
        Some(t) => db.by_uuid(t, &obj_uuid).is_some(),
        None => false,
    };
    if !exists {
        return Err(Failure::new(ErrorCode::UuidInvalid, [class, obj_uuid]));
    }
    Ok(s(add(db, &name, priority, &class, &obj_uuid, &body)))
}

fn existing(ctx: &mut Ctx<'_>, v: &Value) -> Result<String, Failure> {
    ctx.existing(MESSAGE, v)
}

fn destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let m = existing(ctx, &args[0])?;
    ctx.db().delete(MESSAGE, &m);
    void()
}

fn destroy_many(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    for m in refs(&args[0]) {
        ctx.db().delete(MESSAGE, &m);
    }
    void()
}

/// `message.destroy_all(filters)`: every message matching all given fields (`cls`,
/// `obj_uuid`, `name`, `priority`, `before`, `after`).
fn destroy_all(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let filters = string_map(&args[0]);
    let db = ctx.db();
    let doomed = db.find(MESSAGE, |r| {
        filters.iter().all(|(k, v)| match k.as_str() {
            "before" => stamp(r) < v.clone(),
            "after" => stamp(r) > v.clone(),
            field => r.get(field).map(render).as_deref() == Some(v.as_str()),
        })
    });
    for m in doomed {
        db.delete(MESSAGE, &m);
    }
    void()
}

fn render(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        other => text(other),
    }
}

fn stamp(r: &Record) -> String {
    r.get("timestamp").map(text).unwrap_or_default()
}

fn records(db: &Db, keep: impl Fn(&Record) -> bool) -> Value {
    Value::Struct(
        db.all(MESSAGE)
            .filter(|(_, r)| keep(r))
            .map(|(k, r)| (k.clone(), Value::Struct(r.clone())))
            .collect::<IndexMap<_, _>>(),
    )
}

fn get_all(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    Ok(Value::Array(
        ctx.db().all(MESSAGE).map(|(k, _)| s(k.clone())).collect(),
    ))
}

/// Timestamps are `YYYYMMDDTHH:MM:SSZ`, so they compare as text; `since` is exclusive.
fn get_since(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let since = text(&args[0]);
    Ok(records(ctx.db(), |r| stamp(r) > since))
}

fn get(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (class, obj_uuid, since) = (text(&args[0]), text(&args[1]), text(&args[2]));
    Ok(records(ctx.db(), |r| {
        r.get("cls")
            .map(text)
            .is_some_and(|c| c.eq_ignore_ascii_case(&class))
            && r.get("obj_uuid").map(text).as_deref() == Some(obj_uuid.as_str())
            && stamp(r) > since
    }))
}

fn get_record(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let m = existing(ctx, &args[0])?;
    Ok(Value::Struct(
        ctx.db().get(MESSAGE, &m).cloned().unwrap_or_default(),
    ))
}

fn get_by_uuid(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let uuid = text(&args[0]);
    ctx.db()
        .by_uuid(MESSAGE, &uuid)
        .map(s)
        .ok_or_else(|| Failure::new(ErrorCode::UuidInvalid, [MESSAGE.to_string(), uuid]))
}
