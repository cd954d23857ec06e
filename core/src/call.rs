//! The seam between the generated API and whatever carries calls to a host.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::wire::{ResultSeed, Value};

/// One XenAPI call as a [`Caller`] sends it.
#[derive(Debug, Clone)]
pub struct CallRequest<'a> {
    /// Wire name, e.g. `VM.start` or `Async.VM.start`.
    pub method: &'a str,
    /// Send the caller's session reference as the first parameter (every message but the
    /// `session.login_*` family and a few unauthenticated reads takes one).
    pub with_session: bool,
    /// The parameters after the session, in the message's order.
    pub params: Vec<Value>,
    /// Overrides the connection's call timeout (long polls such as `event.from` need more).
    pub timeout: Option<Duration>,
}

impl<'a> CallRequest<'a> {
    /// A call of `method` in the caller's session, with the connection's call timeout.
    pub fn new(method: &'a str, params: Vec<Value>) -> Self {
        CallRequest {
            method,
            with_session: true,
            params,
            timeout: None,
        }
    }

    /// A call of `method` that sends no session (logins).
    pub fn without_session(method: &'a str, params: Vec<Value>) -> Self {
        CallRequest {
            with_session: false,
            ..CallRequest::new(method, params)
        }
    }

    /// The same call with `timeout` (`None`: the connection's own).
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        CallRequest { timeout, ..self }
    }
}

/// Something that can make XenAPI calls: a [`crate::Session`], or a pool-aware connection.
///
/// Generated functions take `&impl Caller`, so every message works over every connection
/// kind without per-connection code. [`Caller::call_seeded`] is the one method to write;
/// the typed forms ([`Caller::call`], [`Caller::call_with_timeout`]) are made from it, so a
/// wrapper (counting, logging) that forwards it forwards streaming too. Do not override
/// the typed forms: they would no longer be the seeded call with a `PhantomData` seed.
///
/// What implementations may rely on, and must keep:
/// - A reply is read whole (up to [`crate::wire::Limits::max_body_bytes`]) before any of
///   it is decoded. A transport failure or timeout therefore reaches the caller before
///   the seed has seen anything, so a retry (re-login after `SESSION_INVALID`, following
///   `HOST_IS_SLAVE`, failing over to a new coordinator, falling back from JSON-RPC to
///   XML-RPC) starts a fresh clone of the seed, never one that was fed half a reply.
/// - A seed may be run more than once on one reply, each time on a clone. The JSON-RPC
///   decoder (`decode_with` in `wire/jsonrpc.rs`) first hands the body to serde_json as it
///   is; xapi writes non-finite floats as bare `NaN`, `Infinity` and `-Infinity`, which
///   serde_json stops at with a syntax error. Only then is the body scanned for such a
///   token outside strings, rewritten with each one as a marked string, and decoded again
///   from its first byte. Whatever the first pass handed on before the token is met again
///   in the second, so a seed that hands entries on must share what it has emitted among
///   its clones and skip those (see `EntriesSeed` in `dynamic/results.rs`). XML-RPC
///   decodes once.
/// - Decoding may run on a blocking thread rather than the caller's task (large bodies
///   are decoded off the runtime's workers), hence the `Send + 'static` bounds on seeds.
/// - If decoding fails part way, what a seed handed on stays handed on; the call's
///   result is the error.
pub trait Caller: Send + Sync {
    /// Sends `request` and decodes its result with `seed` (which may hand the entries of a
    /// large result on while the rest is still being decoded). A XenAPI failure is
    /// [`Error::Api`].
    fn call_seeded<S>(
        &self,
        request: CallRequest<'_>,
        seed: S,
    ) -> impl Future<Output = Result<S::Value>> + Send
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static;

    /// Calls `method` with `params`, the result decoded straight into `T`. When
    /// `with_session` is true the caller's session reference is sent as the first
    /// parameter. `timeout` overrides the connection's call timeout.
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
        let request = CallRequest {
            method,
            with_session,
            params,
            timeout,
        };
        self.call_seeded(request, PhantomData::<T>)
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
    fn call_seeded<S>(
        &self,
        request: CallRequest<'_>,
        seed: S,
    ) -> impl Future<Output = Result<S::Value>> + Send
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        (**self).call_seeded(request, seed)
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
