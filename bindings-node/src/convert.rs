//! Values across the boundary. JavaScript sends arguments as JSON text (BigInt, Date and
//! non-finite numbers tagged by the JS layer); results come back as JSON text plus
//! "fixups" (paths whose value JSON cannot carry: int64 beyond 2^53, datetimes, NaN),
//! written off the event loop and split in slices that the JS layer parses between turns
//! of the event loop.

use tokio::sync::mpsc;

use serde_json::Value as Json;
use xenpool::DateTime;
use xenpool::dynamic::Dyn;

use crate::js_text::{PathSeg, Slice, Writer, key_text, push_json_str};

/// The member name the JS layer uses to tag values JSON cannot carry.
const TAG: &str = "\u{0}xp";

/// Entries per slice of a large map or array.
const SLICE: usize = 128;

/// A JSON argument as a [`Dyn`].
pub fn from_json(value: Json) -> Result<Dyn, String> {
    Ok(match value {
        Json::Null => Dyn::Null,
        Json::Bool(b) => Dyn::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Dyn::Int(i),
            None => Dyn::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Dyn::String(s),
        Json::Array(items) => {
            Dyn::Array(items.into_iter().map(from_json).collect::<Result<_, _>>()?)
        }
        Json::Object(mut members) => match members.remove(TAG) {
            Some(Json::String(kind)) => {
                let text = match members.remove("v") {
                    Some(Json::String(t)) => t,
                    _ => return Err(format!("malformed tagged {kind} value")),
                };
                match kind.as_str() {
                    "int" => Dyn::Int(
                        text.parse()
                            .map_err(|_| format!("{text} is outside the int64 range"))?,
                    ),
                    "float" => Dyn::Float(text.parse().unwrap_or(f64::NAN)),
                    "date" => match DateTime::parse(&text) {
                        Some(d) => Dyn::DateTime(d),
                        None => Dyn::String(text),
                    },
                    other => return Err(format!("unknown tagged value kind {other}")),
                }
            }
            _ => Dyn::Map(
                members
                    .into_iter()
                    .map(|(k, v)| Ok((Dyn::String(k), from_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        },
    })
}

/// Arguments given as a JSON array.
pub fn args_from_json(text: &str) -> Result<Vec<Dyn>, String> {
    match serde_json::from_str(text).map_err(|e| format!("arguments are not JSON: {e}"))? {
        Json::Array(items) => items.into_iter().map(from_json).collect(),
        _ => Err("arguments must be an array".into()),
    }
}

/// A result as the JS layer reads it back. A small one is written at once (`value()`); a
/// large map or array is written slice by slice on a blocking thread while the JS layer
/// parses the slices already written (`next()`), so writing and parsing overlap and no turn
/// of the event loop parses more than one slice.
#[napi]
pub struct NativeResult {
    kind: &'static str,
    length: u32,
    layout: Option<Vec<String>>,
    value: Option<Slice>,
    stream: Option<tokio::sync::Mutex<mpsc::Receiver<Slice>>>,
}

/// Slices written ahead of the JS layer at most (bounds the memory held twice).
const AHEAD: usize = 8;

#[napi]
impl NativeResult {
    /// `value` (read it with `value()`), `map` (slices of `[key, value]` pairs) or `array`
    /// (slices of items), read with `next()` `length` times.
    #[napi(getter)]
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// How many slices.
    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.length
    }

    /// For a table of records of one class: its field names in order (an optional field
    /// ends in `?`). Each record then arrives as the array of its field values.
    #[napi(getter)]
    pub fn layout(&self) -> Option<Vec<String>> {
        self.layout.clone()
    }

    /// A `value` result's `[text, fixups]` (handed over once: a second read is empty).
    #[napi]
    pub fn value(&mut self) -> Vec<String> {
        let (text, fixups) = self
            .value
            .take()
            .unwrap_or_else(|| ("null".into(), "[]".into()));
        vec![text, fixups]
    }

    /// The next slice's `[text, fixups]` if it is already written (`null` otherwise): the
    /// JS layer takes what is ready without a round trip through the event loop.
    #[napi]
    pub fn try_next(&self) -> Option<Vec<String>> {
        let mut stream = self.stream.as_ref()?.try_lock().ok()?;
        let (text, fixups) = stream.try_recv().ok()?;
        Some(vec![text, fixups])
    }

    /// The next slice's `[text, fixups]`, once it is written; empty after the last.
    #[napi]
    pub async fn next(&self) -> Vec<String> {
        let Some(stream) = &self.stream else {
            return Vec::new();
        };
        match stream.lock().await.recv().await {
            Some((text, fixups)) => vec![text, fixups],
            None => Vec::new(),
        }
    }
}

/// Writes a large map's entries as `[[key, value], …]` slices.
fn map_slice(chunk: &[(Dyn, Dyn)], positional: bool) -> Slice {
    let mut w = Writer::new(positional);
    w.text.push('[');
    for (i, (k, v)) in chunk.iter().enumerate() {
        if i > 0 {
            w.text.push(',');
        }
        w.text.push('[');
        push_json_str(&mut w.text, &key_text(k));
        w.text.push(',');
        w.path.push(PathSeg::Index(i));
        w.path.push(PathSeg::Index(1));
        w.value(v);
        w.path.clear();
        w.text.push(']');
    }
    w.text.push(']');
    w.finish()
}

fn array_slice(chunk: &[Dyn], positional: bool) -> Slice {
    let mut w = Writer::new(positional);
    w.text.push('[');
    for (i, item) in chunk.iter().enumerate() {
        if i > 0 {
            w.text.push(',');
        }
        w.path.push(PathSeg::Index(i));
        w.value(item);
        w.path.pop();
    }
    w.text.push(']');
    w.finish()
}

/// The layout of a table whose values are all records of one class (`get_all_records`).
fn table_layout(value: &Dyn) -> Option<Vec<String>> {
    let mut records = match value {
        Dyn::Map(pairs) => Box::new(pairs.iter().map(|(_, v)| v)) as Box<dyn Iterator<Item = &Dyn>>,
        Dyn::Array(items) => Box::new(items.iter()),
        _ => return None,
    };
    let Some(Dyn::Record(first)) = records.next() else {
        return None;
    };
    let class = first.0.class();
    if !records.all(|v| matches!(v, Dyn::Record(r) if r.class_name() == class.name)) {
        return None;
    }
    Some(
        class
            .fields
            .iter()
            .map(|f| match f.ty {
                xenpool::meta::Ty::Option(_) => format!("{}?", f.name),
                _ => f.name.to_string(),
            })
            .collect(),
    )
}

/// A result for the JS layer: a large map or array is written on a blocking thread, slice
/// by slice, as the JS layer takes them.
pub fn to_result(value: Dyn) -> NativeResult {
    let slices = |n: usize| n.div_ceil(SLICE) as u32;
    let (kind, length) = match &value {
        Dyn::Map(pairs) if pairs.len() > SLICE => ("map", slices(pairs.len())),
        Dyn::Array(items) if items.len() > SLICE => ("array", slices(items.len())),
        other => {
            let mut w = Writer::default();
            w.value(other);
            return NativeResult {
                kind: "value",
                length: 1,
                layout: None,
                value: Some(w.finish()),
                stream: None,
            };
        }
    };
    let layout = table_layout(&value);
    let positional = layout.is_some();
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        // A send fails only when the JS side dropped the result: stop writing then.
        match value {
            Dyn::Map(pairs) => {
                for chunk in pairs.chunks(SLICE) {
                    if tx.blocking_send(map_slice(chunk, positional)).is_err() {
                        return;
                    }
                }
            }
            Dyn::Array(items) => {
                for chunk in items.chunks(SLICE) {
                    if tx.blocking_send(array_slice(chunk, positional)).is_err() {
                        return;
                    }
                }
            }
            _ => {}
        }
    });
    NativeResult {
        kind,
        length,
        layout,
        value: None,
        stream: Some(tokio::sync::Mutex::new(rx)),
    }
}

/// A serializable report as JSON text.
pub fn to_json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_ints_and_dates_become_fixups() {
        let v = Dyn::map([
            ("small", Dyn::Int(5)),
            ("big", Dyn::Int(i64::MAX)),
            (
                "when",
                Dyn::DateTime(DateTime::parse("20240102T03:04:05Z").unwrap()),
            ),
        ]);
        let mut r = to_result(v);
        assert_eq!(r.kind, "value");
        let [text, fixups] = <[String; 2]>::try_from(r.value()).unwrap();
        assert_eq!(text, r#"{"small":5,"big":null,"when":null}"#);
        assert_eq!(
            fixups,
            r#"[[["big"],"b","9223372036854775807"],[["when"],"d","2024-01-02T03:04:05Z"]]"#
        );
    }

    #[test]
    fn tagged_arguments_parse() {
        let args = args_from_json(
            r#"[1, 1.5, {"\u0000xp":"int","v":"9223372036854775807"}, {"a":[true,null]}]"#,
        )
        .unwrap();
        assert!(matches!(args[0], Dyn::Int(1)));
        assert!(matches!(args[1], Dyn::Float(f) if f == 1.5));
        assert!(matches!(args[2], Dyn::Int(i64::MAX)));
        assert!(matches!(&args[3], Dyn::Map(m) if m.len() == 1));
        assert!(args_from_json(r#"[{"\u0000xp":"int","v":"1e40"}]"#).is_err());
    }

    #[tokio::test]
    async fn large_maps_are_sliced_in_order() {
        let v = Dyn::Map(
            (0..600)
                .map(|i| (Dyn::String(format!("k{i}")), Dyn::Int(i)))
                .collect(),
        );
        let r = to_result(v);
        assert_eq!(r.kind, "map");
        assert_eq!(r.length as usize, 600_usize.div_ceil(SLICE));
        let mut texts = Vec::new();
        loop {
            let slice = r.next().await;
            if slice.is_empty() {
                break;
            }
            texts.push(slice[0].clone());
        }
        assert_eq!(texts.len(), r.length as usize, "every slice, then the end");
        assert!(texts[0].starts_with(r#"[["k0",0],["k1",1]"#));
        assert!(texts.last().unwrap().ends_with(r#"["k599",599]]"#));
    }

    #[tokio::test]
    async fn large_arrays_carry_their_fixups_per_slice() {
        let when = Dyn::DateTime(DateTime::parse("20240102T03:04:05Z").unwrap());
        let v = Dyn::Array((0..300).map(|_| when.clone()).collect());
        let r = to_result(v);
        assert_eq!(r.kind, "array");
        let first = r.next().await;
        assert!(first[0].starts_with("[null,null"));
        assert!(first[1].starts_with(r#"[[[0],"d","2024-01-02T03:04:05Z"],[[1],"d""#));
    }
}
