//! `Session`: one logged-in session (a host, or a failover-aware pool connection) that
//! calls any message through core's dynamic layer.

use std::sync::Arc;

use xenpool::dynamic;
use xenpool::pool::{AnyConnection, PoolConnection};
use xenpool::{CancelToken, LoginKind};

use crate::convert::{NativeResult, args_from_json, table_result, to_json_text, to_result};
use crate::error::{invalid, to_napi};
use crate::options::ConnectOpts;
use crate::{cancellable, take_cancel};

/// A logged-in session.
#[napi]
pub struct Session {
    pub(crate) target: AnyConnection,
    /// Tripped on close: calls and event streams still running end with `CANCELLED`.
    pub(crate) token: CancelToken,
    fingerprint: Option<String>,
}

impl Session {
    pub(crate) fn new(target: AnyConnection, fingerprint: Option<String>) -> Self {
        Session {
            target,
            token: CancelToken::new(),
            fingerprint,
        }
    }

    /// One dynamic call: arguments parsed, run under the call's cancellation, the result
    /// encoded off the event loop.
    async fn dynamic<F, Fut>(
        &self,
        method: &str,
        args: &str,
        cancel: Option<u32>,
        run: F,
    ) -> napi::Result<NativeResult>
    where
        F: FnOnce(AnyConnection, String, Vec<dynamic::Dyn>) -> Fut,
        Fut: Future<Output = xenpool::Result<dynamic::Dyn>>,
    {
        let args = args_from_json(args).map_err(|m| invalid("arguments", m))?;
        let token = self.call_token(cancel)?;
        let call = run(self.target.clone(), method.to_string(), args);
        let value = cancellable(&token, method, call).await?;
        encode(value).await
    }

    /// A call returning a table of records: the result is handed over at once and filled
    /// as the reply is decoded, record by record; the call's failure ends it instead.
    fn table(
        &self,
        method: String,
        args: &str,
        cancel: Option<u32>,
        table: dynamic::Table,
    ) -> napi::Result<NativeResult> {
        let args = args_from_json(args).map_err(|m| invalid("arguments", m))?;
        let token = self.call_token(cancel)?;
        let (result, writer) = table_result(table);
        let writer = Arc::new(writer);
        let each: dynamic::EntrySink = {
            let writer = writer.clone();
            Arc::new(move |entry| writer.entry(entry))
        };
        let target = self.target.clone();
        tokio::spawn(async move {
            let call = dynamic::call_table(&target, &method, &args, each);
            let outcome = token.run(&method, call).await;
            writer.end(outcome.map(|_| ()));
        });
        Ok(result)
    }

    /// The pool connection, or `INVALID_ARGUMENT` for a plain session.
    pub(crate) fn pool(&self) -> napi::Result<PoolConnection> {
        (self.target.pool().cloned()).ok_or_else(|| {
            invalid(
                "session",
                "pool workflows need a pool connection: use Pool.connect()",
            )
        })
    }

    /// A per-call token tripped by the call's signal or by closing the session.
    pub(crate) fn call_token(&self, cancel: Option<u32>) -> napi::Result<CancelToken> {
        let own = take_cancel(cancel);
        if self.token.is_cancelled() {
            return Err(to_napi(xenpool::Error::SessionClosed));
        }
        let child = self.token.child();
        if own.is_cancelled() {
            child.cancel();
        }
        let c = child.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = own.cancelled() => c.cancel(),
                () = c.cancelled() => {}
            }
        });
        Ok(child)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Garbage-collected without close(): log out in the background (a closed session
        // makes this a no-op).
        // At process exit the runtime is gone; xapi reaps idle sessions itself.
        let target = self.target.clone();
        crate::in_runtime(move || {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = target.close().await;
                });
            }
        });
    }
}

/// Logs in to the host at `url` (following `HOST_IS_SLAVE` to the coordinator).
#[napi]
pub async fn connect(url: String, options: String) -> napi::Result<Session> {
    let mut spec = ConnectOpts::parse(&options)?.resolve(&url)?;
    let fingerprint = spec.settle().await.map_err(to_napi)?;
    let conn = spec.login(LoginKind::Pool).await.map_err(to_napi)?;
    Ok(Session::new(
        AnyConnection::Host(conn),
        fingerprint.map(|f| f.to_string()),
    ))
}

/// Connects to the pool `url` belongs to, remembering its members for failover.
#[napi]
pub async fn connect_pool(url: String, options: String) -> napi::Result<Session> {
    let mut spec = ConnectOpts::parse(&options)?.resolve(&url)?;
    let fingerprint = spec.settle().await.map_err(to_napi)?;
    let pool = spec.connect_pool().await.map_err(to_napi)?;
    Ok(Session::new(
        AnyConnection::Pool(pool),
        fingerprint.map(|f| f.to_string()),
    ))
}

#[napi]
impl Session {
    /// Calls `method` (`VM.get_all_records`, `Async.VM.start`) with JSON arguments,
    /// checked and converted by the datamodel.
    #[napi]
    pub async fn call(
        &self,
        method: String,
        args: String,
        cancel: Option<u32>,
    ) -> napi::Result<NativeResult> {
        if let Some(table) = dynamic::table_of(&method) {
            return self.table(method, &args, cancel, table);
        }
        self.dynamic(&method, &args, cancel, |target, method, args| async move {
            dynamic::call(&target, &method, &args).await
        })
        .await
    }

    /// Calls a method the datamodel may not know, arguments sent as they are.
    #[napi]
    pub async fn call_untyped(
        &self,
        method: String,
        args: String,
        cancel: Option<u32>,
    ) -> napi::Result<NativeResult> {
        self.dynamic(&method, &args, cancel, |target, method, args| async move {
            dynamic::call_untyped(&target, &method, true, &args).await
        })
        .await
    }

    /// Logs out; calls and event streams still running end with `CANCELLED`.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.token.cancel();
        self.target.close().await.map_err(to_napi)
    }

    /// The URL of the host serving the session (the coordinator).
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.target.connection().url()
    }

    /// The user logged in as.
    #[napi(getter)]
    pub fn user(&self) -> String {
        self.target.connection().username().to_string()
    }

    /// The session reference.
    #[napi(getter)]
    pub fn session_ref(&self) -> String {
        self.target.connection().session_ref()
    }

    /// The pinned certificate fingerprint (given, or learnt on first use).
    #[napi(getter)]
    pub fn fingerprint(&self) -> Option<String> {
        self.fingerprint.clone()
    }

    /// True for a pool connection.
    #[napi(getter)]
    pub fn is_pool(&self) -> bool {
        self.target.pool().is_some()
    }

    /// The pool's members as last learnt (JSON), for a pool connection.
    #[napi]
    pub fn members(&self) -> napi::Result<String> {
        let members: Vec<_> = self
            .pool()?
            .members()
            .into_iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "address": m.address,
                    "fingerprint": m.fingerprint.map(|f| f.to_string()),
                })
            })
            .collect();
        Ok(to_json_text(&members))
    }

    /// The coordinator's address, for a pool connection.
    #[napi]
    pub fn coordinator(&self) -> napi::Result<String> {
        Ok(self.pool()?.coordinator_address())
    }
}

/// A result for the JS layer (a large one is written off the event loop, slice by slice).
pub(crate) async fn encode(value: dynamic::Dyn) -> napi::Result<NativeResult> {
    Ok(to_result(value))
}
