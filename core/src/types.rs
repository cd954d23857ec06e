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
pub struct Ref<C> {
    raw: String,
    class: PhantomData<fn() -> C>,
}

impl<C> Ref<C> {
    /// Wraps a raw reference string.
    pub fn new(raw: impl Into<String>) -> Self {
        Ref {
            raw: raw.into(),
            class: PhantomData,
        }
    }

    /// The null reference, `OpaqueRef:NULL`.
    pub fn null() -> Self {
        Ref::new(NULL_REF)
    }

    /// True for `OpaqueRef:NULL` (and the empty string some hosts send instead).
    pub fn is_null(&self) -> bool {
        self.raw == NULL_REF || self.raw.is_empty()
    }

    /// The reference as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Consumes the reference, returning the wire string.
    pub fn into_string(self) -> String {
        self.raw
    }

    /// Reinterprets the reference as one of another class (for dynamic code).
    pub fn cast<D>(self) -> Ref<D> {
        Ref::new(self.raw)
    }
}

impl<C> Clone for Ref<C> {
    fn clone(&self) -> Self {
        Ref::new(self.raw.clone())
    }
}
impl<C> PartialEq for Ref<C> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
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
        self.raw.cmp(&other.raw)
    }
}
impl<C> Hash for Ref<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}
impl<C> Default for Ref<C> {
    fn default() -> Self {
        Ref::null()
    }
}
impl<C> fmt::Debug for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({})", self.raw)
    }
}
impl<C> fmt::Display for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
impl<C> From<&str> for Ref<C> {
    fn from(s: &str) -> Self {
        Ref::new(s)
    }
}
impl<C> From<String> for Ref<C> {
    fn from(s: String) -> Self {
        Ref::new(s)
    }
}

impl<C> Serialize for Ref<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de, C> Deserialize<'de> for Ref<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Ref::new(String::deserialize(d)?))
    }
}

/// The serde newtype name that marks a datetime for the wire encoders, so XML-RPC can
/// write `<dateTime.iso8601>` while JSON writes a plain string.
pub const DATETIME_NEWTYPE: &str = "$xenpool::DateTime";

/// A XenAPI datetime, always in UTC.
///
/// xapi writes `YYYYMMDDTHH:MM:SSZ`; decoding also accepts `YYYYMMDDTHH:MM:SS` (no zone =
/// UTC, as xapi assumes), `YYYYMMDDTHHMMSSZ`, and RFC 3339 with or without fraction and
/// offset (wire-protocol.md §3). "Unset" is the epoch.
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

    /// The form xapi writes: `YYYYMMDDTHH:MM:SSZ` (seconds precision).
    pub fn to_wire(&self) -> String {
        self.0.format("%Y%m%dT%H:%M:%SZ").to_string()
    }
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
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<DateTime, D::Error> {
                d.deserialize_str(self)
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
        assert!(DateTime::parse("19700101T00:00:00Z").unwrap().is_unset());
    }

    #[test]
    fn null_refs() {
        struct X;
        assert!(Ref::<X>::null().is_null());
        assert!(Ref::<X>::new("").is_null());
        assert!(!Ref::<X>::new("OpaqueRef:1").is_null());
    }
}
