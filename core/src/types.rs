//! Value types shared by the generated API: typed object references and XenAPI datetimes.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A XenAPI class, implemented by the generated marker types (`Vm`, `Host`, `Pif`, …).
pub trait XenClass: 'static {
    /// The class name exactly as on the wire (`VM`, `host`, `PIF`).
    const WIRE_NAME: &'static str;
    /// The record type (`VmRecord` for `Vm`).
    type Record: serde::de::DeserializeOwned + Clone + Send + Sync + 'static;
}

/// The wire spelling of the null reference.
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// A typed reference to an object of class `C`, e.g. `Ref<Vm>`.
///
/// References are opaque strings (`OpaqueRef:<uuid>`); the null reference is
/// `OpaqueRef:NULL`. Compare objects by uuid when they may come from different hosts.
///
/// A reference of up to 46 bytes (every `OpaqueRef:<uuid>`) is stored inline, so decoding
/// a big `get_all_records` allocates nothing for its many references, and cloning one is
/// a copy.
pub struct Ref<C> {
    text: RefText,
    class: PhantomData<fn() -> C>,
}

/// Bytes a reference can hold inline: `OpaqueRef:` plus a 36-character uuid.
const INLINE_REF: usize = 46;

/// A reference's text: inline when it fits, on the heap otherwise (a host is free to use
/// longer references, e.g. `OpaqueRef:` plus something that is not a uuid).
#[derive(Clone)]
enum RefText {
    Inline { len: u8, bytes: [u8; INLINE_REF] },
    Heap(Box<str>),
}

impl RefText {
    fn new(text: &str) -> Self {
        let mut bytes = [0; INLINE_REF];
        match bytes.get_mut(..text.len()) {
            Some(head) => {
                head.copy_from_slice(text.as_bytes());
                RefText::Inline {
                    len: text.len() as u8,
                    bytes,
                }
            }
            None => RefText::Heap(text.into()),
        }
    }

    fn from_string(text: String) -> Self {
        if text.len() <= INLINE_REF {
            RefText::new(&text)
        } else {
            RefText::Heap(text.into_boxed_str())
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Inline bytes are always a whole `str` copied in by `new`.
            RefText::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("inline reference text is a copied str"),
            RefText::Heap(text) => text,
        }
    }
}

impl<C> Ref<C> {
    /// Wraps a raw reference string.
    pub fn new(raw: impl AsRef<str>) -> Self {
        Ref::with_text(RefText::new(raw.as_ref()))
    }

    fn with_text(text: RefText) -> Self {
        Ref {
            text,
            class: PhantomData,
        }
    }

    /// The null reference, `OpaqueRef:NULL`.
    pub fn null() -> Self {
        Ref::new(NULL_REF)
    }

    /// True for `OpaqueRef:NULL` (and the empty string some hosts send instead).
    pub fn is_null(&self) -> bool {
        let raw = self.as_str();
        raw == NULL_REF || raw.is_empty()
    }

    /// The reference as sent on the wire.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// Consumes the reference, returning the wire string.
    pub fn into_string(self) -> String {
        match self.text {
            RefText::Heap(text) => text.into(),
            inline => inline.as_str().to_string(),
        }
    }

    /// Reinterprets the reference as one of another class (for dynamic code).
    pub fn cast<D>(self) -> Ref<D> {
        Ref::with_text(self.text)
    }
}

impl<C> Clone for Ref<C> {
    fn clone(&self) -> Self {
        Ref::with_text(self.text.clone())
    }
}
impl<C> PartialEq for Ref<C> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl<C> Eq for Ref<C> {}
impl<C> PartialOrd for Ref<C> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<C> Ord for Ref<C> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl<C> Hash for Ref<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}
impl<C> Default for Ref<C> {
    fn default() -> Self {
        Ref::null()
    }
}
impl<C> fmt::Debug for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({})", self.as_str())
    }
}
impl<C> fmt::Display for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl<C> From<&str> for Ref<C> {
    fn from(s: &str) -> Self {
        Ref::new(s)
    }
}
impl<C> From<String> for Ref<C> {
    fn from(s: String) -> Self {
        Ref::with_text(RefText::from_string(s))
    }
}

impl<C> Serialize for Ref<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, C> Deserialize<'de> for Ref<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(RefVisitor(PhantomData))
    }
}

/// Builds a reference from whichever form of string the decoder has, copying short ones
/// inline instead of allocating.
struct RefVisitor<C>(PhantomData<fn() -> C>);

impl<C> Visitor<'_> for RefVisitor<C> {
    type Value = Ref<C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object reference string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Ref<C>, E> {
        Ok(Ref::new(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Ref<C>, E> {
        Ok(Ref::from(v))
    }
}

/// The serde newtype name that marks a datetime for the wire encoders, so XML-RPC can
/// write `<dateTime.iso8601>` while JSON writes a plain string.
pub const DATETIME_NEWTYPE: &str = "$xenpool::DateTime";

/// A XenAPI datetime, always in UTC.
///
/// xapi writes `YYYYMMDDTHH:MM:SSZ`; decoding also accepts `YYYYMMDDTHH:MM:SS` (no zone =
/// UTC, as xapi assumes), `YYYYMMDDTHHMMSSZ`, and RFC 3339 with or without fraction and
/// offset (docs/wire-protocol.md#datetimes). "Unset" is the epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

impl DateTime {
    /// The epoch, which xapi uses for "not set" (e.g. `task.finished` while pending).
    pub const UNSET: DateTime = DateTime(chrono::DateTime::UNIX_EPOCH);

    /// The current time.
    pub fn now() -> Self {
        DateTime(chrono::Utc::now())
    }

    /// True when this is the epoch, xapi's "not set".
    pub fn is_unset(&self) -> bool {
        *self == Self::UNSET
    }

    /// Parses any of the accepted wire forms.
    pub fn parse(text: &str) -> Option<Self> {
        use chrono::{NaiveDateTime, TimeZone, Utc};
        let t = text.trim();
        if let Some(naive) = parse_xapi_form(t) {
            return Some(DateTime(Utc.from_utc_datetime(&naive)));
        }
        for format in [
            "%Y%m%dT%H:%M:%SZ",
            "%Y%m%dT%H:%M:%S",
            "%Y%m%dT%H%M%SZ",
            "%Y%m%dT%H%M%S",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
                return Some(DateTime(Utc.from_utc_datetime(&naive)));
            }
        }
        // xapi's slow path: a YYYYMMDD prefix becomes YYYY-MM-DD, a missing zone means UTC,
        // then RFC 3339 (fractions and offsets allowed).
        let mut s = t.to_string();
        if s.len() >= 8 && s.as_bytes()[..8].iter().all(u8::is_ascii_digit) {
            s = format!("{}-{}-{}{}", &s[..4], &s[4..6], &s[6..8], &s[8..]);
        }
        if let Some(unix) = unix_seconds(t) {
            return Some(unix);
        }
        if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(&s) {
            return Some(DateTime(dt.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(&s, format) {
                return Some(DateTime(Utc.from_utc_datetime(&naive)));
            }
        }
        None
    }

    /// The datetime `secs` seconds after the Unix epoch (`None` when out of range).
    pub fn from_unix_seconds(secs: f64) -> Option<Self> {
        if !secs.is_finite() {
            return None;
        }
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9).round().min(999_999_999.0) as u32;
        chrono::DateTime::from_timestamp(whole as i64, nanos).map(DateTime)
    }

    /// The form xapi writes: `YYYYMMDDTHH:MM:SSZ` (seconds precision).
    pub fn to_wire(&self) -> String {
        self.0.format("%Y%m%dT%H:%M:%SZ").to_string()
    }
}

/// Unix seconds written as a decimal number, as some peers send datetimes (`"1627478400."`
/// in the official SDKs' component tests); fractions keep their nanoseconds.
fn unix_seconds(t: &str) -> Option<DateTime> {
    let numeric = t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && b == b'-'));
    if !numeric || t.len() == 8 {
        // Eight digits alone would be a date (`YYYYMMDD`), not seconds.
        return None;
    }
    DateTime::from_unix_seconds(t.parse().ok()?)
}

/// The form xapi itself writes, `YYYYMMDDTHH:MM:SSZ`, read without a format-string
/// parser: big records carry several datetimes each.
fn parse_xapi_form(t: &str) -> Option<chrono::NaiveDateTime> {
    let b = t.as_bytes();
    if b.len() != 18 || b[8] != b'T' || b[11] != b':' || b[14] != b':' || b[17] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)?;
    date.and_hms_opt(num(9..11)?, num(12..14)?, num(15..17)?)
}

impl Default for DateTime {
    fn default() -> Self {
        Self::UNSET
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({})", self.to_wire())
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(d: chrono::DateTime<chrono::Utc>) -> Self {
        DateTime(d)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(DATETIME_NEWTYPE, &self.to_wire())
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a XenAPI datetime such as 20261121T10:11:12Z")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime, E> {
                DateTime::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            // Unix seconds as a JSON number.
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DateTime, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DateTime, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DateTime, E> {
                DateTime::from_unix_seconds(v)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<DateTime, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_newtype_struct(DATETIME_NEWTYPE, V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_accepts_every_documented_form() {
        let want = DateTime::parse("20261121T10:11:12Z").unwrap();
        for form in [
            "20261121T10:11:12",
            "20261121T101112Z",
            "2026-11-21T10:11:12Z",
            "2026-11-21T11:11:12+01:00",
            "20261121T12:11:12+02:00",
            "2026-11-21T10:11:12.000Z",
        ] {
            assert_eq!(DateTime::parse(form), Some(want), "{form}");
        }
        assert_eq!(want.to_wire(), "20261121T10:11:12Z");
        assert!(DateTime::parse("yesterday").is_none());
        // Unix seconds, as text (the official SDKs' component tests send "1627478400.").
        let unix = DateTime::parse("1627478400.").unwrap();
        assert_eq!(unix.to_wire(), "20210728T13:20:00Z");
        assert_eq!(DateTime::parse("1627478400"), Some(unix));
        assert_eq!(
            DateTime::parse("1627478400.5")
                .unwrap()
                .0
                .timestamp_subsec_millis(),
            500
        );
        assert!(DateTime::parse("1.2.3").is_none());
        let from_json: DateTime = serde_json::from_str("1627478400").unwrap();
        assert_eq!(from_json, unix);
        assert!(DateTime::parse("19700101T00:00:00Z").unwrap().is_unset());
    }

    #[test]
    fn xapi_form_fast_path_agrees_with_the_format_parser() {
        use chrono::NaiveDateTime;
        for text in [
            "20261121T10:11:12Z",
            "19700101T00:00:00Z",
            "20240229T23:59:59Z",
            "20230229T10:00:00Z",
            "20261321T10:11:12Z",
            "20261121T24:00:00Z",
            "20261121T23:59:60Z",
            "2026112xT10:11:12Z",
            "20261121T10:11:12+",
            "+0261121T10:11:12Z",
        ] {
            let slow = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H:%M:%SZ").ok();
            let fast = parse_xapi_form(text);
            // chrono reads second 60 as a leap second; the fast path leaves that to it.
            if fast.is_some() || !text.contains(":60") {
                assert_eq!(fast, slow, "{text}");
            }
            assert_eq!(
                DateTime::parse(text).map(|d| d.0.naive_utc()),
                slow,
                "{text}"
            );
        }
    }

    #[test]
    fn references_short_and_long_keep_their_text() {
        struct X;
        let uuid = "OpaqueRef:8d116ece-1738-f7d9-3d9c-172411e20b8f";
        let long = format!("{uuid}-and-more-than-fits-inline");
        let odd = "OpaqueRef:späť";
        for text in ["", NULL_REF, uuid, &long, odd] {
            let r = Ref::<X>::new(text);
            assert_eq!(r.as_str(), text);
            assert_eq!(Ref::<X>::from(text.to_string()), r);
            assert_eq!(r.clone().into_string(), text);
            assert_eq!(r.to_string(), text);
            let decoded: Ref<X> =
                serde_json::from_str(&serde_json::to_string(text).unwrap()).unwrap();
            assert_eq!(decoded, r);
        }
        // Equal text means equal hash, whichever way the text is stored.
        let set: std::collections::HashSet<Ref<X>> = [
            Ref::new(uuid),
            Ref::from(uuid.to_string()),
            Ref::new(&long),
            Ref::from(long.clone()),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
        assert!(Ref::<X>::new(uuid) < Ref::<X>::new(&long));
    }

    #[test]
    fn null_refs() {
        struct X;
        assert!(Ref::<X>::null().is_null());
        assert!(Ref::<X>::new("").is_null());
        assert!(!Ref::<X>::new("OpaqueRef:1").is_null());
    }
}
