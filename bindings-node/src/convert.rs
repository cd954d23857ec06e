//! Values across the boundary. JavaScript sends arguments as JSON text (BigInt, Date and
//! non-finite numbers tagged by the JS layer); results come back as JSON text plus
//! "fixups" (paths whose value JSON cannot carry: int64 beyond 2^53, datetimes, NaN),
//! written off the event loop and split in slices that the JS layer parses between turns
//! of the event loop.

use tokio::sync::mpsc;

use serde_json::Value as Json;
use xenpool::DateTime;
use xenpool::dynamic::Dyn;

use xenpool::dynamic::{Entry, Table};

use crate::error::to_napi;
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
/// large map or array arrives in slices (`tryNext()` / `next()`) written off the event loop
/// while the JS layer parses the slices already written. A table of records is written as
/// the reply is decoded, record by record, so decoding, writing and parsing all overlap.
#[napi]
pub struct NativeResult {
    kind: &'static str,
    layout: Option<Vec<String>>,
    value: Option<Slice>,
    stream: Option<tokio::sync::Mutex<mpsc::UnboundedReceiver<Message>>>,
}

/// What the writer sends: a slice, the end (`None`), or the call's failure.
type Message = xenpool::Result<Option<Slice>>;

#[napi]
impl NativeResult {
    /// `value` (read it with `value()`), `map` (slices of `[key, value]` pairs) or `array`
    /// (slices of items), read with `tryNext()` / `next()` until they give the end.
    #[napi(getter)]
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// For a table of records of one class: its field names in order (a datetime field,
    /// sent as RFC 3339 text, ends in `@`; an optional field then ends in `?`). Each record
    /// then arrives as the array of its field values.
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

    /// The next slice's `[text, fixups]` if it is already written (`null` otherwise; `[]`
    /// at the end): the JS layer takes what is ready without a round trip through the
    /// event loop. Throws the call's error when the call failed.
    #[napi]
    pub fn try_next(&self) -> napi::Result<Option<Vec<String>>> {
        self.take_ready().map_err(to_napi)
    }

    /// The next slice's `[text, fixups]`, once it is written; `[]` at the end. Rejects
    /// with the call's error when the call failed.
    #[napi]
    pub async fn next(&self) -> napi::Result<Vec<String>> {
        self.take_next().await.map_err(to_napi)
    }
}

impl NativeResult {
    fn take_ready(&self) -> xenpool::Result<Option<Vec<String>>> {
        let Some(stream) = &self.stream else {
            return Ok(Some(Vec::new()));
        };
        let Ok(mut stream) = stream.try_lock() else {
            return Ok(None);
        };
        match stream.try_recv() {
            Ok(message) => unpack(Some(message)).map(Some),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => unpack(None).map(Some),
        }
    }

    async fn take_next(&self) -> xenpool::Result<Vec<String>> {
        let Some(stream) = &self.stream else {
            return Ok(Vec::new());
        };
        unpack(stream.lock().await.recv().await)
    }
}

fn unpack(message: Option<Message>) -> xenpool::Result<Vec<String>> {
    match message {
        Some(Ok(Some((text, fixups)))) => Ok(vec![text, fixups]),
        Some(Ok(None)) => Ok(Vec::new()),
        Some(Err(e)) => Err(e),
        // The writer stopped without saying how: never a silently shortened result.
        None => Err(xenpool::Error::Internal(
            "a result stopped before its end".into(),
        )),
    }
}

/// A slice filled entry by entry: `[[key, value], …]` for a map, `[item, …]` for an array.
struct SliceBuilder {
    w: Writer,
    n: usize,
}

impl SliceBuilder {
    fn new(positional: bool) -> Self {
        let mut w = Writer::new(positional);
        w.text.push('[');
        SliceBuilder { w, n: 0 }
    }

    fn pair(&mut self, key: &Dyn, value: &Dyn) {
        if self.n > 0 {
            self.w.text.push(',');
        }
        self.w.text.push('[');
        push_json_str(&mut self.w.text, &key_text(key));
        self.w.text.push(',');
        self.w.path.push(PathSeg::Index(self.n));
        self.w.path.push(PathSeg::Index(1));
        self.w.value(value);
        self.w.path.clear();
        self.w.text.push(']');
        self.n += 1;
    }

    fn item(&mut self, value: &Dyn) {
        if self.n > 0 {
            self.w.text.push(',');
        }
        self.w.path.push(PathSeg::Index(self.n));
        self.w.value(value);
        self.w.path.pop();
        self.n += 1;
    }

    fn finish(mut self) -> Slice {
        self.w.text.push(']');
        self.w.finish()
    }
}

/// The field names of `class` for the positional form: `name@` for a datetime (written
/// inline as text), then `?` for an optional field.
fn layout_of(class: &xenpool::meta::ClassMeta) -> Vec<String> {
    use xenpool::meta::Ty;
    class
        .fields
        .iter()
        .map(|f| {
            let (ty, optional) = match f.ty {
                Ty::Option(inner) => (inner, "?"),
                ref ty => (ty, ""),
            };
            let date = if matches!(ty, Ty::DateTime) { "@" } else { "" };
            format!("{}{date}{optional}", f.name)
        })
        .collect()
}

/// The layout of a table whose values are all records of one class.
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
    Some(layout_of(class))
}

/// A result for the JS layer: a large map or array is written on a blocking thread, slice
/// by slice, while the JS layer takes them.
pub fn to_result(value: Dyn) -> NativeResult {
    let (kind, big) = match &value {
        Dyn::Map(pairs) => ("map", pairs.len() > SLICE),
        Dyn::Array(items) => ("array", items.len() > SLICE),
        _ => ("value", false),
    };
    if !big {
        let mut w = Writer::default();
        w.value(&value);
        return NativeResult {
            kind: "value",
            layout: None,
            value: Some(w.finish()),
            stream: None,
        };
    }
    let layout = table_layout(&value);
    let positional = layout.is_some();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        let mut slices = Slices::new(tx, positional);
        // `push` fails only when the JS side dropped the result: stop writing then.
        let written = match &value {
            Dyn::Map(pairs) => pairs.iter().all(|(k, v)| slices.push(Some(k), v)),
            Dyn::Array(items) => items.iter().all(|v| slices.push(None, v)),
            _ => true,
        };
        if written {
            slices.end(Ok(()));
        }
    });
    NativeResult {
        kind,
        layout,
        value: None,
        stream: Some(tokio::sync::Mutex::new(rx)),
    }
}

/// Slices filled entry by entry, each sent as soon as it is full.
struct Slices {
    tx: mpsc::UnboundedSender<Message>,
    positional: bool,
    slice: SliceBuilder,
}

impl Slices {
    fn new(tx: mpsc::UnboundedSender<Message>, positional: bool) -> Self {
        Slices {
            tx,
            positional,
            slice: SliceBuilder::new(positional),
        }
    }

    /// Adds a map entry (`key`) or an array item; false once the JS side dropped the result.
    fn push(&mut self, key: Option<&Dyn>, value: &Dyn) -> bool {
        match key {
            Some(key) => self.slice.pair(key, value),
            None => self.slice.item(value),
        }
        if self.slice.n < SLICE {
            return true;
        }
        let full = std::mem::replace(&mut self.slice, SliceBuilder::new(self.positional));
        self.tx.send(Ok(Some(full.finish()))).is_ok()
    }

    /// Sends the last slice and the end, or the call's error.
    fn end(self, outcome: xenpool::Result<()>) {
        let _ = match outcome {
            Ok(()) => {
                if self.slice.n > 0 {
                    let _ = self.tx.send(Ok(Some(self.slice.finish())));
                }
                self.tx.send(Ok(None))
            }
            Err(e) => self.tx.send(Err(e)),
        };
    }
}

/// Writes a record table into slices as its records are decoded; `end` closes the result
/// with the call's outcome. A writer dropped without `end` leaves the result to fail with
/// `INTERNAL` rather than end short.
pub struct TableWriter {
    slices: std::sync::Mutex<Option<Slices>>,
}

/// A result that a record table's entries fill as they are decoded, and its writer.
pub fn table_result(table: Table) -> (NativeResult, TableWriter) {
    let (tx, rx) = mpsc::unbounded_channel();
    let result = NativeResult {
        kind: if table.by_ref { "map" } else { "array" },
        layout: Some(layout_of(table.class)),
        value: None,
        stream: Some(tokio::sync::Mutex::new(rx)),
    };
    let writer = TableWriter {
        slices: std::sync::Mutex::new(Some(Slices::new(tx, true))),
    };
    (result, writer)
}

impl TableWriter {
    /// Writes one record (a `get_all_records` entry comes with its reference).
    pub fn entry(&self, entry: Entry) {
        if let Ok(mut slices) = self.slices.lock()
            && let Some(slices) = slices.as_mut()
        {
            slices.push(entry.key.as_ref(), &Dyn::Record(entry.record));
        }
    }

    /// Sends the last slice and the end, or the call's error.
    pub fn end(&self, outcome: xenpool::Result<()>) {
        if let Some(slices) = self.slices.lock().ok().and_then(|mut s| s.take()) {
            slices.end(outcome);
        }
    }
}

/// A serializable report as JSON text.
pub fn to_json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A value's `[text, fixups]`, written at once: for a synchronous result (a cached record).
pub fn to_text(value: &Dyn) -> Vec<String> {
    let mut w = Writer::default();
    w.value(value);
    let (text, fixups) = w.finish();
    vec![text, fixups]
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
        let mut texts = Vec::new();
        loop {
            let slice = r.take_next().await.unwrap();
            if slice.is_empty() {
                break;
            }
            texts.push(slice[0].clone());
        }
        assert_eq!(
            texts.len(),
            600_usize.div_ceil(SLICE),
            "every slice, then the end"
        );
        assert!(texts[0].starts_with(r#"[["k0",0],["k1",1]"#));
        assert!(texts.last().unwrap().ends_with(r#"["k599",599]]"#));
    }

    #[tokio::test]
    async fn a_table_writer_sends_full_slices_then_the_rest_and_the_end_or_the_error() {
        use xenpool::dynamic::Record;
        use xenpool::generated::VmRecord;
        let table = xenpool::dynamic::table_of("VM.get_all_records").unwrap();
        let (r, writer) = table_result(table);
        assert_eq!(r.kind, "map");
        let layout = r.layout.as_ref().unwrap();
        assert_eq!(layout[0], "uuid");
        assert!(
            layout.iter().any(|f| f == "snapshot_time@"),
            "datetimes are marked"
        );
        assert_eq!(r.take_ready().unwrap(), None, "nothing written yet");
        for i in 0..SLICE + 3 {
            writer.entry(Entry {
                key: Some(Dyn::String(format!("OpaqueRef:{i}"))),
                record: Record::new(VmRecord {
                    name_label: format!("vm{i}"),
                    ..Default::default()
                }),
            });
        }
        let full = r
            .take_ready()
            .unwrap()
            .expect("a full slice is sent at once");
        let rows: Vec<serde_json::Value> = serde_json::from_str(&full[0]).unwrap();
        assert_eq!(rows.len(), SLICE);
        assert_eq!(rows[0][0], "OpaqueRef:0");
        assert!(rows[0][1].is_array(), "records are positional");
        assert_eq!(r.take_ready().unwrap(), None, "the rest waits for the end");
        writer.end(Ok(()));
        let rest: Vec<serde_json::Value> =
            serde_json::from_str(&r.take_next().await.unwrap()[0]).unwrap();
        assert_eq!(rest.len(), 3);
        assert!(r.take_next().await.unwrap().is_empty(), "then the end");

        let (r, writer) = table_result(table);
        writer.end(Err(xenpool::Error::SessionClosed));
        assert!(matches!(
            r.take_next().await,
            Err(xenpool::Error::SessionClosed)
        ));
        let (r, writer) = table_result(table);
        drop(writer);
        assert!(
            matches!(r.take_next().await, Err(xenpool::Error::Internal(_))),
            "never a silently shortened result"
        );
    }

    #[tokio::test]
    async fn large_arrays_carry_their_fixups_per_slice() {
        let when = Dyn::DateTime(DateTime::parse("20240102T03:04:05Z").unwrap());
        let v = Dyn::Array((0..300).map(|_| when.clone()).collect());
        let r = to_result(v);
        assert_eq!(r.kind, "array");
        let first = r.take_next().await.unwrap();
        assert!(first[0].starts_with("[null,null"));
        assert!(first[1].starts_with(r#"[[[0],"d","2024-01-02T03:04:05Z"],[[1],"d""#));
    }
}
