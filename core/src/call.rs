//! The seam between the generated API and whatever carries calls to a host.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::wire::Value;

/// Something that can make XenAPI calls: a [`crate::Session`], or a pool-aware connection.
///
/// Generated functions take `&impl Caller`, so every message works over every connection
/// kind without per-connection code.
pub trait Caller: Send + Sync {
    /// Calls `method` (wire name, e.g. `VM.start` or `Async.VM.start`) with `params`.
    /// When `with_session` is true the caller's session reference is sent as the first
    /// parameter. The result is decoded straight into `T`.
    fn call<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: DeserializeOwned + Send + 'static;
}

/// Decodes any result and throws it away: XenAPI's `void` is an empty string on the wire.
pub type Void = serde::de::IgnoredAny;
