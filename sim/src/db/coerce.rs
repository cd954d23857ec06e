//! Turning incoming parameters into the canonical stored form of their datamodel type,
//! the way xapi's unmarshallers accept them (docs/wire-protocol.md#types, what xapi reads):
//! ints from `<i4>/<int>/<i8>` or digit strings, doubles from ints or numeric strings,
//! enums case-insensitively, datetimes from strings.

use indexmap::IndexMap;
use xenpool::meta::{self, Ty};
use xenpool::wire::Value;

/// A value that does not fit its type. xapi's unmarshallers raise `Rpc.Runtime_error`,
/// which its exception mapper (`exnHelper.ml`) turns into `INTERNAL_ERROR [text]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    /// What the value should have been (`int64`, `enum vm_power_state`, …).
    pub expected: String,
    /// The value received, rendered briefly.
    pub got: String,
}

impl TypeError {
    /// The xapi-shaped failure.
    pub fn to_failure(&self) -> Vec<String> {
        vec![
            "INTERNAL_ERROR".into(),
            format!("Rpc.Runtime_error(\"{}\", {})", self.expected, self.got),
        ]
    }
}

fn brief(v: &Value) -> String {
    let text = match v {
        Value::String(s) => format!("S({s:?})"),
        Value::Int(i) => format!("Int({i})"),
        Value::Int32(i) => format!("Int32({i})"),
        Value::Bool(b) => format!("Bool({b})"),
        Value::Double(d) => format!("Float({d})"),
        Value::DateTime(d) => format!("DateTime({d:?})"),
        Value::Array(a) => format!("Enum(<{} items>)", a.len()),
        Value::Struct(s) => format!("Dict(<{} members>)", s.len()),
        Value::Nil => "Null".into(),
    };
    text.chars().take(120).collect()
}

fn fail(expected: impl Into<String>, got: &Value) -> TypeError {
    TypeError {
        expected: expected.into(),
        got: brief(got),
    }
}

/// Converts `v` to the canonical stored form of `ty`.
pub fn coerce(ty: &Ty, v: Value) -> Result<Value, TypeError> {
    Ok(match (ty, v) {
        (Ty::String, Value::String(s)) => Value::String(s),
        (Ty::String, v @ Value::DateTime(_)) => {
            Value::String(v.as_str().unwrap_or_default().to_string())
        }
        (Ty::Int, Value::Int(i)) => Value::Int(i),
        (Ty::Int, Value::String(s)) => Value::Int(
            s.trim()
                .parse()
                .map_err(|_| fail("int64", &Value::String(s.clone())))?,
        ),
        (Ty::Float, Value::Double(d)) => Value::Double(d),
        (Ty::Float, Value::Int(i)) => Value::Double(i as f64),
        (Ty::Float, Value::String(s)) => Value::Double(
            s.trim()
                .parse()
                .map_err(|_| fail("float", &Value::String(s.clone())))?,
        ),
        (Ty::Bool, Value::Bool(b)) => Value::Bool(b),
        (Ty::DateTime, Value::DateTime(d)) | (Ty::DateTime, Value::String(d)) => {
            if xenpool::DateTime::parse(&d).is_none() {
                return Err(fail("datetime", &Value::String(d)));
            }
            Value::DateTime(d)
        }
        (Ty::Enum(name), Value::String(s)) => {
            match meta::enumeration(name).and_then(|e| e.canonical(&s)) {
                Some(v) => Value::String(v.to_string()),
                None => return Err(fail(format!("enum {name}"), &Value::String(s))),
            }
        }
        (Ty::Ref(_), Value::String(s)) => Value::String(s),
        (Ty::Set(inner), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|i| coerce(inner, i))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::Map(k, vty), Value::Struct(members)) => {
            let mut out = IndexMap::with_capacity(members.len());
            for (key, value) in members {
                // Map keys travel as strings; check they parse as the key type.
                let key = match coerce(k, Value::String(key))? {
                    Value::Int(i) => i.to_string(),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                out.insert(key, coerce(vty, value)?);
            }
            Value::Struct(out)
        }
        (Ty::Record(class), Value::Struct(members)) => {
            let Some(cm) = meta::class(class) else {
                return Ok(Value::Struct(members));
            };
            let mut out = IndexMap::with_capacity(members.len());
            for (key, value) in members {
                match cm.field(&key) {
                    Some(f) => {
                        out.insert(key, coerce(&f.ty, value)?);
                    }
                    None => {
                        out.insert(key, value);
                    }
                }
            }
            Value::Struct(out)
        }
        (Ty::Option(inner), v) => coerce(inner, v)?,
        (Ty::Opaque(_), v) => v,
        (ty, v) => return Err(fail(ty.to_string(), &v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_xapi_accepts() {
        assert_eq!(
            coerce(&Ty::Int, Value::String("42".into())),
            Ok(Value::Int(42))
        );
        assert_eq!(coerce(&Ty::Float, Value::Int(2)), Ok(Value::Double(2.0)));
        assert_eq!(
            coerce(&Ty::Enum("vm_power_state"), Value::String("running".into())),
            Ok(Value::String("Running".into()))
        );
        assert!(coerce(&Ty::Enum("vm_power_state"), Value::String("flying".into())).is_err());
        assert!(coerce(&Ty::Int, Value::String("4x".into())).is_err());
        assert!(coerce(&Ty::Bool, Value::String("true".into())).is_err());
        assert!(coerce(&Ty::String, Value::Int(1)).is_err());
    }
}
