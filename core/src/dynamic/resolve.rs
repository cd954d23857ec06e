//! References given as a uuid or a name, looked up in one call per class: every key of a
//! class goes into one `get_all_records_where` expression
//! (docs/wire-protocol.md#filter-expressions), however
//! many arguments name objects of it.

use std::collections::HashMap;

use serde::Deserialize;

use super::args::Lookup;
use crate::call::Caller;
use crate::error::{Error, Result};
use crate::meta;
use crate::wire::Value;

/// The two fields a lookup reads from each matching record.
#[derive(Deserialize)]
struct Identity {
    #[serde(default)]
    uuid: String,
    #[serde(default)]
    name_label: String,
}

/// Looks up every `(class, uuid or name)`; a uuid wins over a name, a name must be unique.
pub(super) async fn resolve(
    caller: &impl Caller,
    lookups: &[Lookup],
) -> Result<HashMap<Lookup, String>> {
    let mut by_class: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for (class, key) in lookups {
        match by_class.iter_mut().find(|(c, _)| c == class) {
            Some((_, keys)) => keys.push(key),
            None => by_class.push((class, vec![key])),
        }
    }
    let mut resolved = HashMap::new();
    for (class, keys) in by_class {
        let has_names = meta::class(class).is_some_and(|c| c.field("name_label").is_some());
        let mut terms = Vec::new();
        for key in &keys {
            if key.contains('"') || key.contains('\\') {
                return Err(Error::NotFound {
                    class: class.to_string(),
                    key: key.to_string(),
                });
            }
            terms.push(format!("field \"uuid\"=\"{key}\""));
            if has_names {
                terms.push(format!("field \"name__label\"=\"{key}\""));
            }
        }
        let expr = terms.join(" or ");
        let found: HashMap<String, Identity> = caller
            .call(
                &format!("{class}.get_all_records_where"),
                true,
                vec![Value::String(expr)],
            )
            .await?;
        for key in keys {
            let reference = match found.iter().find(|(_, id)| id.uuid == key) {
                Some((r, _)) => r.clone(),
                None => {
                    let named: Vec<&String> = found
                        .iter()
                        .filter(|(_, id)| id.name_label == key)
                        .map(|(r, _)| r)
                        .collect();
                    match named.as_slice() {
                        [one] => (*one).clone(),
                        [] => {
                            return Err(Error::NotFound {
                                class: class.to_string(),
                                key: key.to_string(),
                            });
                        }
                        many => {
                            return Err(Error::Ambiguous {
                                class: class.to_string(),
                                key: key.to_string(),
                                count: many.len(),
                            });
                        }
                    }
                }
            };
            resolved.insert((class, key.to_string()), reference);
        }
    }
    Ok(resolved)
}
