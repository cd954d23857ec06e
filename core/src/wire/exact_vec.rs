//! Record fields of set type, decoded into a `Vec` of exactly their length.
//!
//! Neither wire format says how long an array is before its end, so a plain `Vec` grows
//! by doubling and keeps the slack: a set of two references held room for four. Records
//! are kept (caches, snapshots), so the slack was a fifth of a decoded `VM` table. Items
//! are gathered on the stack and the `Vec` is allocated once, at its final size.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use smallvec::SmallVec;

/// Sets up to this long are gathered on the stack (almost all of them).
const ON_STACK: usize = 8;

/// `deserialize_with` target for the generated records' set fields.
pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(ExactVec(PhantomData))
}

struct ExactVec<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ExactVec<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items: SmallVec<[T; ON_STACK]> = SmallVec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        let mut items = items.into_vec();
        items.shrink_to_fit();
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::wire::{Format, JsonVersion, Limits, Response, decode_response};

    #[derive(Deserialize, Debug)]
    struct Holder {
        #[serde(deserialize_with = "super::deserialize")]
        items: Vec<String>,
    }

    fn json(items: &str) -> Holder {
        let body = format!(r#"{{"jsonrpc":"2.0","result":{{"items":{items}}},"id":1}}"#);
        match decode_response(
            Format::JsonRpc(JsonVersion::V2),
            body.as_bytes(),
            &Limits::default(),
        ) {
            Ok(Response::Success(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn capacity_is_the_length_on_and_off_the_stack() {
        for n in [0usize, 1, 2, 3, 5, 8, 9, 17, 100] {
            let items: Vec<String> = (0..n).map(|i| format!("\"s{i}\"")).collect();
            let h = json(&format!("[{}]", items.join(",")));
            assert_eq!(h.items.len(), n);
            assert_eq!(h.items.capacity(), n, "{n} items");
            assert_eq!(
                h.items.last().map(String::as_str),
                n.checked_sub(1).map(|i| format!("s{i}")).as_deref()
            );
        }
    }

    #[test]
    fn xml_sets_are_exact_too() {
        let body = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
            <member><name>Status</name><value>Success</value></member>\
            <member><name>Value</name><value><struct><member><name>items</name><value><array><data>\
            <value>a</value><value><string>b</string></value><value>c</value>\
            </data></array></value></member></struct></value></member>\
            </struct></value></param></params></methodResponse>";
        match decode_response::<Holder>(Format::XmlRpc, body.as_bytes(), &Limits::default()) {
            Ok(Response::Success(h)) => {
                assert_eq!(h.items, ["a", "b", "c"]);
                assert_eq!(h.items.capacity(), 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_non_array_is_a_type_error() {
        let body = br#"{"jsonrpc":"2.0","result":{"items":"nope"},"id":1}"#;
        let r =
            decode_response::<Holder>(Format::JsonRpc(JsonVersion::V2), body, &Limits::default());
        assert!(r.is_err(), "{r:?}");
    }
}
