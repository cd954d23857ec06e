//! Result decoders that own their output: a type (`PhantomData<T>`), or a seed that hands
//! the parts of a large result elsewhere while the rest of it is still being decoded.

use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::DeserializeOwned;

/// Decodes a call's result. A decoder may run more than once on one reply (the JSON
/// decoder re-reads a body holding xapi's bare `NaN`), each time on a clone.
pub trait ResultSeed: Clone {
    /// What the decoding gives.
    type Value;
    /// Decodes the result from `d`.
    fn decode<'de, D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error>;
}

impl<T: DeserializeOwned> ResultSeed for PhantomData<T> {
    type Value = T;
    fn decode<'de, D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}
