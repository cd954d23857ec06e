//! Any XenAPI message by name, with neutral values in and out, checked and converted by the
//! datamodel: the one call layer under the shell, Python and Node.
//!
//! ```no_run
//! # async fn demo(pool: &xenpool::pool::PoolConnection) -> xenpool::Result<()> {
//! use xenpool::dynamic::{self, Dyn};
//! // A VM by name, memory as an integer whatever the protocol.
//! let vm = dynamic::call(pool, "VM.get_by_uuid", &[Dyn::from("9b8…")]).await?;
//! let max = dynamic::call(pool, "VM.get_memory_static_max", &[vm]).await?;
//! assert!(matches!(max, Dyn::Int(_)));
//! # Ok(()) }
//! ```
//!
//! Arguments: the message's required parameters, then any prefix of its optional ones
//! (left-out ones are not sent, so older hosts accept the call). Integers must be integers,
//! enums are matched ignoring case, references may be given as a reference, uuid or unique
//! name (looked up in one call per class), datetimes as [`Dyn::DateTime`] or text, and a
//! constructor's record as a map completed from the datamodel's defaults. Results are
//! tagged by the result type; records stay typed ([`Record`]) until read.

mod args;
mod resolve;
mod results;
mod value;

use std::collections::HashMap;

pub use args::describe;
pub use results::{Entry, EntrySink, Table, typed, untyped};
pub use value::{AnyRecord, Dyn, EnumValue, Record, RefValue, ToDyn};

use crate::call::Caller;
use crate::error::{Error, Result};
use crate::meta::{self, ClassMeta, MessageMeta};

/// A resolved method name.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// Its class.
    pub class: &'static ClassMeta,
    /// Its message.
    pub message: &'static MessageMeta,
    /// True for the `Async.` form (the result is then a task reference).
    pub is_async: bool,
}

impl Method {
    /// Looks up `Class.message` or `Async.Class.message`. The class may be written in any
    /// case (`vm.start`); the message exactly. Unknown names are [`Error::UnknownMethod`]
    /// with the closest known names.
    pub fn find(name: &str) -> Result<Method> {
        let (is_async, rest) = match name.strip_prefix("Async.") {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let found = rest.split_once('.').and_then(|(class, message)| {
            let class = meta::class_ignore_case(class)?;
            Some((class, class.message(message)?))
        });
        match found {
            Some((class, message)) if !is_async || message.is_async => Ok(Method {
                class,
                message,
                is_async,
            }),
            _ => Err(Error::UnknownMethod {
                method: name.to_string(),
                suggestions: suggest(name),
            }),
        }
    }

    /// The wire name (`Async.VM.start`).
    pub fn wire_name(&self) -> String {
        let prefix = if self.is_async { "Async." } else { "" };
        format!("{prefix}{}.{}", self.class.name, self.message.name)
    }
}

/// Calls `method` with `args`, converted by the datamodel, and returns its typed result.
pub async fn call(caller: &impl Caller, method: &str, args: &[Dyn]) -> Result<Dyn> {
    let method = Method::find(method)?;
    let params = arguments(caller, &method, args).await?;
    let wire = method.wire_name();
    let session = method.message.session;
    if method.is_async {
        let task = meta::class("task").map(|c| c.name).unwrap_or("task");
        let reference: String = caller.call(&wire, session, params).await?;
        return Ok(Dyn::Ref(RefValue {
            class: task,
            reference,
        }));
    }
    results::call_typed(
        caller,
        &wire,
        session,
        params,
        method.message.result.as_ref(),
    )
    .await
}

/// The table of records `method` returns (`VM.get_all_records`, a set of records), if it
/// returns one: what [`call_table`] can hand on record by record.
pub fn table_of(method: &str) -> Option<Table> {
    let method = Method::find(method).ok()?;
    if method.is_async {
        return None;
    }
    results::table_of(method.message.result.as_ref()?)
}

/// Calls `method`, which returns a table of records (see [`table_of`]), and hands each
/// record to `each` as soon as it is decoded, while the rest of the reply is still being
/// decoded: a front end can start converting a large table before it is all in memory,
/// and the whole table never is. Returns how many records there were.
pub async fn call_table(
    caller: &impl Caller,
    method: &str,
    args: &[Dyn],
    each: EntrySink,
) -> Result<usize> {
    let found = Method::find(method)?;
    let Some(table) = table_of(method) else {
        return Err(Error::invalid_argument(
            "method",
            format!("{} does not return a table of records", found.wire_name()),
        ));
    };
    let params = arguments(caller, &found, args).await?;
    results::call_table(
        caller,
        &found.wire_name(),
        found.message.session,
        params,
        table,
        each,
    )
    .await
}

/// The reference of the object of `class` given by reference, uuid or unique name.
pub async fn reference(caller: &impl Caller, class: &str, key: &str) -> Result<String> {
    if key.starts_with("OpaqueRef:") {
        return Ok(key.to_string());
    }
    let class = meta::class_ignore_case(class)
        .ok_or_else(|| Error::invalid_argument("class", format!("no XenAPI class {class:?}")))?
        .name;
    let lookup = (class, key.to_string());
    let mut found = resolve::resolve(caller, std::slice::from_ref(&lookup)).await?;
    found
        .remove(&lookup)
        .ok_or_else(|| Error::Internal("a resolved reference went missing".into()))
}

/// Converts one value for a parameter of type `ty`, as a call would, but looks nothing up:
/// references given by uuid or name are left as given.
pub fn encode(ty: &meta::Ty, value: &Dyn) -> Result<crate::wire::Value> {
    let mut converter = args::Converter {
        resolved: &HashMap::new(),
        pending: Vec::new(),
    };
    converter.convert("value", ty, value)
}

/// Calls a method this datamodel may not know, with values sent as they are and the result
/// untyped (forward compatibility with newer hosts).
pub async fn call_untyped(
    caller: &impl Caller,
    method: &str,
    with_session: bool,
    args: &[Dyn],
) -> Result<Dyn> {
    let mut converter = args::Converter {
        resolved: &HashMap::new(),
        pending: Vec::new(),
    };
    let params = args
        .iter()
        .enumerate()
        .map(|(i, a)| converter.convert(&format!("argument {i}"), &meta::Ty::Opaque(""), a))
        .collect::<Result<Vec<_>>>()?;
    let value = caller.call(method, with_session, params).await?;
    Ok(untyped(value))
}

/// The wire parameters of a call: arity checked, each argument converted, references given
/// by uuid or name looked up in one batch.
pub async fn arguments(
    caller: &impl Caller,
    method: &Method,
    args: &[Dyn],
) -> Result<Vec<crate::wire::Value>> {
    let message = method.message;
    let required = message.required_params().len();
    if args.len() < required || args.len() > message.params.len() {
        return Err(Error::invalid_argument(
            "arguments",
            arity_message(method, args.len()),
        ));
    }
    let convert = |resolved: &HashMap<args::Lookup, String>| {
        let mut converter = args::Converter {
            resolved,
            pending: Vec::new(),
        };
        let params = message
            .params
            .iter()
            .zip(args)
            .map(|(p, a)| converter.convert(p.name, &p.ty, a))
            .collect::<Result<Vec<_>>>();
        params.map(|p| (p, converter.pending)).map_err(|e| match e {
            Error::WrongType {
                parameter,
                expected,
                got,
                ..
            } => Error::WrongType {
                method: method.wire_name(),
                parameter,
                expected,
                got,
            },
            other => other,
        })
    };
    let (params, pending) = convert(&HashMap::new())?;
    if pending.is_empty() {
        return Ok(params);
    }
    let resolved = resolve::resolve(caller, &pending).await?;
    Ok(convert(&resolved)?.0)
}

/// "`VM.start` takes 2 arguments (vm, start_paused, force), not 1", with optional ones
/// in brackets.
fn arity_message(method: &Method, given: usize) -> String {
    let message = method.message;
    let required = message.required_params().len();
    let names: Vec<String> = message
        .params
        .iter()
        .map(|p| match p.required {
            true => p.name.to_string(),
            false => format!("[{}]", p.name),
        })
        .collect();
    let most = message.params.len();
    let takes = match (required, most) {
        (0, 0) => "no arguments".to_string(),
        (1, 1) => format!("1 argument ({})", names.join(", ")),
        (r, m) if r == m => format!("{r} arguments ({})", names.join(", ")),
        (r, m) => format!("{r} to {m} arguments ({})", names.join(", ")),
    };
    format!("{} takes {takes}, not {given}", method.wire_name())
}

/// Known method names closest to `name` (same class first, then by edit distance), at most
/// five, for "did you mean" messages.
pub fn suggest(name: &str) -> Vec<String> {
    let wanted = name
        .strip_prefix("Async.")
        .unwrap_or(name)
        .to_ascii_lowercase();
    let wanted_class = wanted.split('.').next().unwrap_or_default().to_string();
    let mut scored: Vec<(usize, String)> = meta::classes()
        .iter()
        .flat_map(|c| c.messages.iter().map(move |m| (c.name, m.name)))
        .map(|(class, message)| {
            let known = format!("{class}.{message}");
            // Messages of the class asked for come first.
            let other_class = usize::from(!class.eq_ignore_ascii_case(&wanted_class)) * 2;
            let distance = edit_distance(&wanted, &known.to_ascii_lowercase());
            (distance + other_class, known)
        })
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d <= best.max(3) + 2)
        .take(5)
        .map(|(_, n)| n)
        .collect()
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
