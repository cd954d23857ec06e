//! The seam between the generated API and whatever carries calls to a host.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::wire::{ResultSeed, Value};

/// Something that can make XenAPI calls: a [`crate::Session`], or a pool-aware connection.
///
/// Generated functions take `&impl Caller`, so every message works over every connection
/// kind without per-connection code.
pub trait Caller: Send + Sync {
    /// Calls `method` (wire name, e.g. `VM.start` or `Async.VM.start`) with `params`.
    /// When `with_session` is true the caller's session reference is sent as the first
    /// parameter. The result is decoded straight into `T`. `timeout` overrides the
    /// connection's call timeout (long polls such as `event.from` need more).
    fn call_with_timeout<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: DeserializeOwned + Send + 'static;

    /// [`Caller::call_with_timeout`], the result decoded by `seed` (which may hand the
    /// entries of a large result on while the rest is still being decoded). Connections
    /// decode straight from the reply; this default decodes it whole first, then replays
    /// it into the seed.
    fn call_seeded_with_timeout<S>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
        seed: S,
    ) -> impl Future<Output = Result<S::Value>> + Send
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        async move {
            let value: Value = self
                .call_with_timeout(method, with_session, params, timeout)
                .await?;
            seed.decode(value).map_err(Error::Protocol)
        }
    }

    /// [`Caller::call_with_timeout`] with the connection's own call timeout.
    fn call<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.call_with_timeout(method, with_session, params, None)
    }
}

/// Decodes any result and throws it away: XenAPI's `void` is an empty string on the wire.
pub type Void = serde::de::IgnoredAny;

impl<C: Caller> Caller for &C {
    fn call_with_timeout<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: DeserializeOwned + Send + 'static,
    {
        (**self).call_with_timeout(method, with_session, params, timeout)
    }

    fn call_seeded_with_timeout<S>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
        seed: S,
    ) -> impl Future<Output = Result<S::Value>> + Send
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        (**self).call_seeded_with_timeout(method, with_session, params, timeout, seed)
    }
}

/// Appends a message's optional trailing parameters, up to the last one that is set, to
/// `params`. xapi reads parameters by position and fills in defaults only for a missing
/// tail (`gen_server.ml`, `default_args`), so a set parameter needs every optional one
/// before it; a gap is refused here rather than guessed.
pub fn push_optional<const N: usize>(
    params: &mut Vec<Value>,
    method: &str,
    optional: [(&str, Option<Value>); N],
) -> Result<()> {
    let Some(last) = optional.iter().rposition(|(_, v)| v.is_some()) else {
        return Ok(());
    };
    let last_name = optional[last].0;
    for (name, value) in optional.into_iter().take(last + 1) {
        match value {
            Some(v) => params.push(v),
            None => {
                return Err(Error::invalid_argument(
                    "name",
                    format!(
                        "{method}: `{name}` must be set to send `{last_name}` (optional parameters \
                     are sent by position)"
                    ),
                ));
            }
        }
    }
    Ok(())
}
