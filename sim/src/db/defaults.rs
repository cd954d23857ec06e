//! Field values for objects created without them: the datamodel default where it has one
//! (in upstream rendering, see datamodel.json `conventions`), else the type's zero.

use indexmap::IndexMap;
use xenpool::meta::{FieldMeta, Ty};
use xenpool::wire::Value;

/// The epoch: xapi's "unset" datetime.
pub const EPOCH: &str = "19700101T00:00:00Z";

/// The value a field takes when nobody set it.
pub fn default_for(field: &FieldMeta) -> Option<Value> {
    if let Ty::Option(_) = field.ty {
        return None; // option members are simply absent
    }
    Some(
        field
            .default
            .and_then(|d| parse_default(&field.ty, d))
            .unwrap_or_else(|| zero(&field.ty)),
    )
}

/// The zero value of a type.
pub fn zero(ty: &Ty) -> Value {
    match ty {
        Ty::String | Ty::Opaque(_) => Value::String(String::new()),
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Double(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::DateTime => Value::DateTime(EPOCH.into()),
        Ty::Enum(name) => Value::String(
            xenpool::meta::enumeration(name)
                .and_then(|e| e.values.first())
                .copied()
                .unwrap_or_default()
                .into(),
        ),
        Ty::Ref(_) => Value::String("OpaqueRef:NULL".into()),
        Ty::Set(_) => Value::Array(vec![]),
        Ty::Map(..) | Ty::Record(_) => Value::Struct(IndexMap::new()),
        Ty::Option(inner) => zero(inner),
    }
}

fn parse_default(ty: &Ty, text: &str) -> Option<Value> {
    let t = text.trim();
    Some(match ty {
        Ty::String => Value::String(t.strip_prefix('"')?.strip_suffix('"')?.to_string()),
        Ty::Int => Value::Int(t.parse().ok()?),
        Ty::Float => Value::Double(t.parse().ok()?),
        Ty::Bool => Value::Bool(t.parse().ok()?),
        Ty::DateTime => Value::DateTime(t.trim_matches('"').to_string()),
        Ty::Enum(name) => {
            let values = xenpool::meta::enumeration(name)?.values;
            let v = values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(t.trim_matches('"')))?;
            Value::String((*v).to_string())
        }
        Ty::Ref(_) => Value::String("OpaqueRef:NULL".into()),
        // Non-empty set/map defaults are rare; only the empty ones are parsed.
        Ty::Set(_) if t == "{}" || t == "[]" => Value::Array(vec![]),
        Ty::Map(..) if t == "{}" => Value::Struct(IndexMap::new()),
        _ => return None,
    })
}
