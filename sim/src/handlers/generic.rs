//! Every implicit message of every class, driven by the datamodel metadata
//! (docs/wire-protocol.md#implicit-messages): getters, setters, map and set updates, `get_all*`,
//! `get_by_uuid`, `get_by_name_label`, constructors and destructors.

use xenpool::ErrorCode;
use xenpool::meta::{self, FieldMeta, Qualifier, Ty};
use xenpool::wire::Value;

use crate::call::Ctx;
use crate::db::{Record, filter};
use crate::failure::{Failure, Outcome};
use crate::values::{s, text, void};

/// The record as sent on the wire: option fields that are absent stay absent.
pub fn wire_record(record: &Record) -> Value {
    Value::Struct(record.clone())
}

fn self_ref(ctx: &mut Ctx<'_>, class: &str, arg: &Value) -> Result<String, Failure> {
    ctx.existing(class, arg)
}

fn field<'m>(class: &'m meta::ClassMeta, name: &str) -> Result<&'m FieldMeta, Failure> {
    class
        .field(name)
        .ok_or_else(|| Failure::internal(format!("no field {name} in class {}", class.name)))
}

/// Serves an implicit message.
pub fn handle(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (class_name, message) = ctx
        .caller
        .method
        .split_once('.')
        .map(|(c, m)| (c.to_string(), m.to_string()))
        .unwrap_or_default();
    let class = meta::class(&class_name).ok_or_else(|| Failure::internal("unknown class"))?;
    let cn = class.name;
    match message.as_str() {
        "get_record" => {
            let r = self_ref(ctx, cn, &args[0])?;
            Ok(wire_record(ctx.db().get(cn, &r).expect("checked")))
        }
        "get_by_uuid" => {
            let uuid = text(&args[0]);
            ctx.db()
                .by_uuid(cn, &uuid)
                .map(s)
                .ok_or_else(|| Failure::new(ErrorCode::UuidInvalid, [cn, uuid.as_str()]))
        }
        "get_by_name_label" => {
            let label = text(&args[0]);
            Ok(Value::Array(
                ctx.db()
                    .find(cn, |r| {
                        r.get("name_label").and_then(Value::as_str) == Some(label.as_str())
                    })
                    .into_iter()
                    .map(s)
                    .collect(),
            ))
        }
        "get_all" => Ok(Value::Array(
            ctx.db().all(cn).map(|(k, _)| s(k.clone())).collect(),
        )),
        "get_all_records" => Ok(Value::Struct(
            ctx.db()
                .all(cn)
                .map(|(k, r)| (k.clone(), wire_record(r)))
                .collect(),
        )),
        "get_all_records_where" | "get_all_where" => {
            let expr_text = text(&args[0]);
            let expr = filter::parse(&expr_text)
                .map_err(|e| Failure::new(ErrorCode::InvalidValue, [expr_text.clone(), e]))?;
            let db = ctx.db();
            let matching = db.all(cn).filter(|(_, r)| expr.matches(r));
            if message == "get_all_where" {
                Ok(Value::Array(matching.map(|(k, _)| s(k.clone())).collect()))
            } else {
                Ok(Value::Struct(
                    matching.map(|(k, r)| (k.clone(), wire_record(r))).collect(),
                ))
            }
        }
        "create" => create(ctx, class, args.into_iter().next().unwrap_or(Value::Nil)),
        "destroy" => {
            let r = self_ref(ctx, cn, &args[0])?;
            ctx.db().delete(cn, &r);
            void()
        }
        m => accessor(ctx, class, m, args),
    }
}

fn accessor(
    ctx: &mut Ctx<'_>,
    class: &'static meta::ClassMeta,
    message: &str,
    args: Vec<Value>,
) -> Outcome {
    let cn = class.name;
    let r = self_ref(ctx, cn, &args[0])?;
    if let Some(name) = message.strip_prefix("get_") {
        let f = field(class, name)?;
        return Ok(ctx
            .db()
            .get_field(cn, &r, f.name)
            .cloned()
            .unwrap_or(Value::String(String::new())));
    }
    if let Some(name) = message.strip_prefix("set_") {
        let f = field(class, name)?;
        ctx.db().set_field(cn, &r, f.name, args[1].clone());
        return void();
    }
    if let Some(name) = message.strip_prefix("add_to_") {
        let f = field(class, name)?;
        let key = text(&args[1]);
        let uuid = ctx.db().str_field(cn, &r, "uuid");
        let existing = matches!(ctx.db().get_field(cn, &r, f.name), Some(Value::Struct(m)) if m.contains_key(&key));
        if existing {
            return Err(Failure::new(
                ErrorCode::MapDuplicateKey,
                [cn, f.name, uuid.as_str(), key.as_str()],
            ));
        }
        let value = args[2].clone();
        ctx.db().update(cn, &r, |rec| {
            if let Some(Value::Struct(m)) = rec.get_mut(f.name) {
                m.insert(key, value);
            }
        });
        return void();
    }
    if let Some(name) = message.strip_prefix("remove_from_") {
        let f = field(class, name)?;
        let key = text(&args[1]);
        ctx.db().update(cn, &r, |rec| {
            if let Some(Value::Struct(m)) = rec.get_mut(f.name) {
                m.shift_remove(&key);
            }
        });
        return void();
    }
    if let Some(name) = message.strip_prefix("add_") {
        let f = field(class, name)?;
        let value = args[1].clone();
        ctx.db().update(cn, &r, |rec| {
            if let Some(Value::Array(items)) = rec.get_mut(f.name)
                && !items.contains(&value)
            {
                items.push(value);
            }
        });
        return void();
    }
    if let Some(name) = message.strip_prefix("remove_") {
        let f = field(class, name)?;
        let value = args[1].clone();
        ctx.db().update(cn, &r, |rec| {
            if let Some(Value::Array(items)) = rec.get_mut(f.name) {
                items.retain(|v| *v != value);
            }
        });
        return void();
    }
    Err(Failure::new(
        ErrorCode::NotImplemented,
        [ctx.caller.method.clone()],
    ))
}

/// The implicit constructor: a struct of every RW and RO/constructor field; fields with a
/// datamodel default may be omitted, a missing mandatory one is an `INTERNAL_ERROR`
/// (xapi's `my_assoc` lookup fails; docs/wire-protocol.md#parameters).
fn create(ctx: &mut Ctx<'_>, class: &'static meta::ClassMeta, args: Value) -> Outcome {
    let Value::Struct(members) = args else {
        return Err(Failure::internal("bad __structure"));
    };
    let mut fields = Record::with_capacity(members.len());
    for f in class
        .fields
        .iter()
        .filter(|f| f.qualifier != Qualifier::DynamicRo)
    {
        match members.get(f.name) {
            Some(v) => {
                fields.insert(f.name.to_string(), v.clone());
            }
            None if f.default.is_some() || matches!(f.ty, Ty::Option(_)) => {}
            None => {
                return Err(Failure::internal(format!(
                    "Not_found: field {} missing from {}.create",
                    f.name, class.name
                )));
            }
        }
    }
    // References the new object points at must exist.
    for f in class.fields {
        if let (Ty::Ref(target), Some(Value::String(r))) = (f.ty, fields.get(f.name))
            && r != crate::db::NULL_REF
            && !r.is_empty()
            && let Some(tc) = meta::class(target)
            && !ctx.db().exists(tc.name, r)
        {
            return Err(Failure::handle_invalid(tc.name, r));
        }
    }
    Ok(s(ctx.db().create(class.name, fields)))
}
