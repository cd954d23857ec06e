//! `event.from`: a watcher that keeps the token, long-polls, and recovers when the host
//! says events were lost (docs/wire-protocol.md#events).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::call::Caller;
use crate::error::{Error, Result};
use crate::generated::ErrorCode;
use crate::wire::{self, Value};

/// What `event.from` returns: "an event batch" in the datamodel.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EventBatch {
    /// The events, coalesced per object.
    pub events: Vec<Event>,
    /// Lower-case class name → number of live objects.
    pub valid_ref_counts: HashMap<String, i64>,
    /// Pass this to the next call.
    pub token: String,
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EventOperation {
    /// Created since the token (or existing, on the first call with an empty token).
    #[default]
    Add,
    /// Modified since the token.
    Mod,
    /// Deleted since the token.
    Del,
}

/// One object change. On the wire `id` and `timestamp` are strings and `class` is
/// lower-case, whatever the datamodel says.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Event {
    /// The database generation of the change (xapi sends a string; some peers a number).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Always `"0.0"` from `event.from`.
    pub timestamp: String,
    /// Lower-case class name: `vm`, `host`, `task`, …
    pub class: String,
    /// add / mod / del.
    pub operation: EventOperation,
    /// The object's reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The object's record; absent for `del` and for objects gone before they were read.
    pub snapshot: Option<Value>,
}

/// A string, or a number kept as its decimal text.
fn string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

impl Event {
    /// The snapshot decoded as a record type, e.g. `event.snapshot_as::<VmRecord>()`.
    pub fn snapshot_as<T: DeserializeOwned>(&self) -> Option<Result<T>> {
        self.snapshot
            .clone()
            .map(|v| wire::from_value(v).map_err(Error::Protocol))
    }
}

/// What a watcher yields.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    /// Changes since the last item.
    Events(Vec<Event>),
    /// The host lost track of our token (`EVENTS_LOST`, or a token it cannot parse): the
    /// watcher started again from scratch, so drop any cached state; the next items
    /// re-announce every object as `add`.
    Resync,
}

/// Long-polls `event.from` for a set of classes (`"vm"`, `"host"`, `"task/<ref>"`, `"*"`).
#[derive(Debug)]
pub struct EventWatcher<C> {
    caller: C,
    classes: Vec<String>,
    token: String,
    poll: Duration,
}

impl<C: Caller> EventWatcher<C> {
    /// Watches `classes` from the beginning: the first items announce every existing object.
    pub fn new(caller: C, classes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::from_token(caller, classes, "")
    }

    /// Watches from a token returned earlier (e.g. by `event.inject`).
    pub fn from_token(
        caller: C,
        classes: impl IntoIterator<Item = impl Into<String>>,
        token: &str,
    ) -> Self {
        EventWatcher {
            caller,
            classes: classes.into_iter().map(Into::into).collect(),
            token: token.to_string(),
            poll: Duration::from_secs(30),
        }
    }

    /// How long one `event.from` call may wait on the host (30 s by default).
    pub fn with_poll_timeout(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The token to resume from.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// One `event.from` call: returns the batch (possibly empty, on the host's timeout).
    pub async fn poll_once(&mut self) -> Result<Option<EventBatch>> {
        let params = vec![
            wire::to_value(&self.classes)?,
            Value::String(self.token.clone()),
            Value::Double(self.poll.as_secs_f64()),
        ];
        // The host holds the call for up to `poll`; give the HTTP exchange slack on top.
        let http_timeout = self.poll + Duration::from_secs(30);
        match self
            .caller
            .call_with_timeout::<EventBatch>("event.from", true, params, Some(http_timeout))
            .await
        {
            Ok(batch) => {
                self.token = batch.token.clone();
                Ok(Some(batch))
            }
            Err(e)
                if e.is_code(&ErrorCode::EventsLost)
                    || e.is_code(&ErrorCode::EventFromTokenParseFailure) =>
            {
                tracing::warn!(error = %e, "event token lost; starting again from scratch");
                self.token.clear();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Waits for the next changes (or a [`WatchItem::Resync`]).
    pub async fn next(&mut self) -> Result<WatchItem> {
        loop {
            match self.poll_once().await? {
                None => return Ok(WatchItem::Resync),
                Some(batch) if batch.events.is_empty() => continue,
                Some(batch) => return Ok(WatchItem::Events(batch.events)),
            }
        }
    }

    /// The watcher as a `Stream` of items.
    pub fn into_stream(self) -> impl futures::Stream<Item = Result<WatchItem>> {
        futures::stream::unfold(self, |mut w| async move {
            let item = w.next().await;
            Some((item, w))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_decode_with_ids_as_strings_or_numbers() {
        use crate::wire::{Format, JsonVersion, Limits, Response};
        let json = br#"{"result": {"events": [
            {"id": 12, "timestamp": "0.0", "class": "vm", "operation": "mod", "ref": "OpaqueRef:a"},
            {"id": "13", "class": "vm", "operation": "del", "ref": "OpaqueRef:b"}],
          "valid_ref_counts": {"vm": 3, "host": "2"}, "token": "13,0"}, "error": null, "id": 1}"#;
        let format = Format::JsonRpc(JsonVersion::V1);
        let Ok(Response::Success(batch)) =
            crate::wire::decode_response::<EventBatch>(format, json, &Limits::default())
        else {
            panic!("the batch decodes");
        };
        assert_eq!(batch.events[0].id, "12");
        assert_eq!(batch.events[1].id, "13");
        assert_eq!(batch.events[1].operation, EventOperation::Del);
        assert_eq!(batch.valid_ref_counts["host"], 2);
        // The same batch as XML-RPC would carry it (every number a string).
        let value = crate::wire::decode_value_fragment::<Value>(
            "<value><struct><member><name>events</name><value><array><data><value><struct>\
             <member><name>id</name><value>14</value></member>\
             <member><name>operation</name><value>add</value></member>\
             </struct></value></data></array></value></member>\
             <member><name>valid_ref_counts</name><value><struct><member><name>vm</name>\
             <value><i4>4</i4></value></member></struct></value></member>\
             <member><name>token</name><value>14,0</value></member></struct></value>",
        )
        .unwrap();
        let batch: EventBatch = crate::wire::from_value(value).unwrap();
        assert_eq!(batch.events[0].id, "14");
        assert_eq!(batch.valid_ref_counts["vm"], 4);
        assert_eq!(batch.token, "14,0");
    }
}
