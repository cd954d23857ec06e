//! Values across the boundary. JavaScript sends arguments as JSON text (BigInt, Date and
//! non-finite numbers tagged by the JS layer); results come back as JSON text plus
//! "fixups" (paths whose value JSON cannot carry: int64 beyond 2^53, datetimes, NaN),
//! written off the event loop and split in slices that the JS layer parses between turns
//! of the event loop.

use std::fmt::Write as _;

use tokio::sync::mpsc;

use serde_json::Value as Json;
use xenpool::DateTime;
use xenpool::dynamic::Dyn;

/// The member name the JS layer uses to tag values JSON cannot carry.
const TAG: &str = "\u{0}xp";

/// Largest integer a JS number holds exactly (2^53 - 1).
const MAX_SAFE: i64 = 9_007_199_254_740_991;

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
    value: Option<Slice>,
    stream: Option<tokio::sync::Mutex<mpsc::Receiver<Slice>>>,
}

/// One slice: its JSON text and its fixups (a JSON array of `[path, kind, text]`: `b`
/// BigInt, `d` Date, `f` number; `[]` when none).
type Slice = (String, String);

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

    /// A `value` result's `[text, fixups]` (handed over once: a second read is empty).
    #[napi]
    pub fn value(&mut self) -> Vec<String> {
        let (text, fixups) = self
            .value
            .take()
            .unwrap_or_else(|| ("null".into(), "[]".into()));
        vec![text, fixups]
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

/// Writes one slice and its fixups.
#[derive(Default)]
struct Writer {
    text: String,
    fixups: String,
    path: Vec<PathSeg>,
}

enum PathSeg {
    Index(usize),
    Key(String),
    /// A record's field: its name is static, so no allocation per field written.
    Field(&'static str),
}

impl Writer {
    fn fixup(&mut self, kind: char, text: &str) {
        self.fixups
            .push(if self.fixups.is_empty() { '[' } else { ',' });
        self.fixups.push_str("[[");
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                self.fixups.push(',');
            }
            match seg {
                PathSeg::Index(n) => {
                    let _ = write!(self.fixups, "{n}");
                }
                PathSeg::Key(k) => push_json_str(&mut self.fixups, k),
                PathSeg::Field(k) => push_json_str(&mut self.fixups, k),
            }
        }
        let _ = write!(self.fixups, "],\"{kind}\",");
        push_json_str(&mut self.fixups, text);
        self.fixups.push(']');
    }

    fn value(&mut self, v: &Dyn) {
        match v {
            Dyn::Null => self.text.push_str("null"),
            Dyn::Bool(b) => self.text.push_str(if *b { "true" } else { "false" }),
            Dyn::Int(i) if (-MAX_SAFE..=MAX_SAFE).contains(i) => {
                let _ = write!(self.text, "{i}");
            }
            Dyn::Int(i) => {
                self.text.push_str("null");
                self.fixup('b', &i.to_string());
            }
            Dyn::Float(f) if f.is_finite() => match serde_json::Number::from_f64(*f) {
                Some(n) => {
                    let _ = write!(self.text, "{n}");
                }
                None => self.text.push_str("null"),
            },
            Dyn::Float(f) => {
                self.text.push_str("null");
                self.fixup('f', &f.to_string().replace("inf", "Infinity"));
            }
            Dyn::String(s) => push_json_str(&mut self.text, s),
            Dyn::Enum(e) => push_json_str(&mut self.text, &e.value),
            Dyn::Ref(r) => push_json_str(&mut self.text, &r.reference),
            Dyn::DateTime(d) => {
                self.text.push_str("null");
                self.fixup(
                    'd',
                    &d.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                );
            }
            Dyn::Array(items) => {
                self.text.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    self.path.push(PathSeg::Index(i));
                    self.value(item);
                    self.path.pop();
                }
                self.text.push(']');
            }
            Dyn::Map(pairs) => {
                self.text.push('{');
                for (i, (k, item)) in pairs.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    let key = key_text(k);
                    push_json_str(&mut self.text, &key);
                    self.text.push(':');
                    self.path.push(PathSeg::Key(key));
                    self.value(item);
                    self.path.pop();
                }
                self.text.push('}');
            }
            Dyn::Record(r) => {
                self.text.push('{');
                for (i, (name, item)) in r.fields().iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    push_json_str(&mut self.text, name);
                    self.text.push(':');
                    self.path.push(PathSeg::Field(name));
                    self.value(item);
                    self.path.pop();
                }
                self.text.push('}');
            }
        }
    }

    fn finish(self) -> Slice {
        let fixups = if self.fixups.is_empty() {
            "[]".to_string()
        } else {
            self.fixups + "]"
        };
        (self.text, fixups)
    }
}

/// A map key as a JS property name.
fn key_text(k: &Dyn) -> String {
    match k {
        Dyn::String(s) => s.clone(),
        Dyn::Enum(e) => e.value.clone(),
        Dyn::Ref(r) => r.reference.clone(),
        Dyn::Int(i) => i.to_string(),
        Dyn::Bool(b) => b.to_string(),
        Dyn::Float(f) => f.to_string(),
        Dyn::DateTime(d) => d.to_wire(),
        other => format!("{other:?}"),
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Writes a large map's entries as `[[key, value], …]` slices.
fn map_slice(chunk: &[(Dyn, Dyn)]) -> Slice {
    let mut w = Writer::default();
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

fn array_slice(chunk: &[Dyn]) -> Slice {
    let mut w = Writer::default();
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
                value: Some(w.finish()),
                stream: None,
            };
        }
    };
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        // A send fails only when the JS side dropped the result: stop writing then.
        match value {
            Dyn::Map(pairs) => {
                for chunk in pairs.chunks(SLICE) {
                    if tx.blocking_send(map_slice(chunk)).is_err() {
                        return;
                    }
                }
            }
            Dyn::Array(items) => {
                for chunk in items.chunks(SLICE) {
                    if tx.blocking_send(array_slice(chunk)).is_err() {
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

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\u0001é\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\u{1}é");
    }
}
