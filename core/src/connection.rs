//! A logged-in XenAPI session on a pool: `login_with_password` with API version and
//! originator, `HOST_IS_SLAVE` followed to the coordinator, one transparent re-login on
//! `SESSION_INVALID`, logout on close and (best effort) on drop.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::call::{CallRequest, Caller, Void};
use crate::error::{ApiError, Error, Result};
use crate::generated::ErrorCode;
use crate::secret::Credentials;
use crate::tls::Tls;
use crate::transport::{ConnectOptions, Reply, Transport, USER_AGENT_STRING};
use crate::wire::{Response, ResultSeed, Value};

/// The XenAPI version this client was generated for, sent at login (xapi records it but
/// does not act on it; docs/wire-protocol.md#sessions). `2.23` is xapi's at the datamodel's commit.
pub const API_VERSION: &str = "2.23";

/// How many `HOST_IS_SLAVE` redirects one call may follow before giving up.
const MAX_REDIRECTS: usize = 4;

/// Which login the session was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// `session.login_with_password` on the coordinator (redirects followed).
    Pool,
    /// `session.slave_local_login_with_password`: emergency access to one member, valid on
    /// that host only (for example while its coordinator is unreachable).
    LocalEmergency,
}

struct State {
    transport: Arc<Transport>,
    session: String,
    closed: bool,
}

struct Inner {
    state: Mutex<State>,
    relogin: tokio::sync::Mutex<()>,
    credentials: Credentials,
    kind: LoginKind,
}

/// A session on a XenAPI host or pool: the handle every generated call goes through.
///
/// Cloning is cheap and shares the session. It logs out when [`Connection::logout`] is
/// called, or — best effort, on the current tokio runtime — when the last clone is dropped.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        let mut d = f.debug_struct("Connection");
        if let Ok(s) = state {
            d.field("url", &s.transport.url())
                .field("closed", &s.closed);
        }
        d.field("username", &self.inner.credentials.username)
            .field("kind", &self.inner.kind)
            .finish()
    }
}

impl Connection {
    /// Logs into the pool that `url` belongs to. If `url` is a member, follows
    /// `HOST_IS_SLAVE` to the coordinator.
    pub async fn login(
        url: &str,
        credentials: Credentials,
        options: ConnectOptions,
    ) -> Result<Self> {
        let transport = Arc::new(Transport::new(url, Arc::new(options))?);
        Self::login_on(transport, credentials, LoginKind::Pool).await
    }

    /// Emergency login to one member with `session.slave_local_login_with_password`: no
    /// redirect, works while the coordinator is down (docs/wire-protocol.md#pool-roles).
    pub async fn login_local_emergency(
        url: &str,
        credentials: Credentials,
        options: ConnectOptions,
    ) -> Result<Self> {
        let transport = Arc::new(Transport::new(url, Arc::new(options))?);
        Self::login_on(transport, credentials, LoginKind::LocalEmergency).await
    }

    async fn login_on(
        transport: Arc<Transport>,
        credentials: Credentials,
        kind: LoginKind,
    ) -> Result<Self> {
        let (transport, session) = login(transport, &credentials, kind).await?;
        Ok(Connection {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    transport,
                    session,
                    closed: false,
                }),
                relogin: tokio::sync::Mutex::new(()),
                credentials,
                kind,
            }),
        })
    }

    fn snapshot(&self) -> Result<(Arc<Transport>, String)> {
        let state = self.inner.state.lock().map_err(|_| poisoned())?;
        if state.closed {
            return Err(Error::SessionClosed);
        }
        Ok((state.transport.clone(), state.session.clone()))
    }

    /// True when no other clone of this connection exists.
    pub(crate) fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.inner) == 1
    }

    /// The session reference (`OpaqueRef:…`).
    pub fn session_ref(&self) -> String {
        self.inner
            .state
            .lock()
            .map(|s| s.session.clone())
            .unwrap_or_default()
    }

    /// The URL of the host now serving this session (the coordinator after redirects).
    pub fn url(&self) -> String {
        self.inner
            .state
            .lock()
            .map(|s| s.transport.url().to_string())
            .unwrap_or_default()
    }

    /// The address of the host now serving this session.
    pub fn host_address(&self) -> String {
        self.inner
            .state
            .lock()
            .map(|s| s.transport.host().to_string())
            .unwrap_or_default()
    }

    /// The credentials this session logged in with (the password stays masked in Debug).
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The user this session logged in as.
    pub fn username(&self) -> &str {
        &self.inner.credentials.username
    }

    /// How this session logged in.
    pub fn kind(&self) -> LoginKind {
        self.inner.kind
    }

    /// The connection options in use.
    pub fn options(&self) -> Arc<ConnectOptions> {
        self.inner
            .state
            .lock()
            .map(|s| s.transport.options().clone())
            .unwrap_or_default()
    }

    /// Logs out (`session.logout`, or `session.local_logout` after an emergency login).
    /// Later calls fail; logging out twice is a no-op.
    pub async fn logout(&self) -> Result<()> {
        let (transport, session) = {
            let mut state = self.inner.state.lock().map_err(|_| poisoned())?;
            if state.closed {
                return Ok(());
            }
            state.closed = true;
            (state.transport.clone(), state.session.clone())
        };
        logout(&transport, &session, self.inner.kind).await
    }

    /// Logs in again with the stored credentials, unless another task already did since
    /// `stale` was seen.
    async fn relogin(&self, stale: &str) -> Result<()> {
        let _one_at_a_time = self.inner.relogin.lock().await;
        let transport = {
            let state = self.inner.state.lock().map_err(|_| poisoned())?;
            if state.session != stale {
                return Ok(());
            }
            state.transport.clone()
        };
        tracing::debug!(url = %transport.url(), "session invalid; logging in again");
        let (transport, session) =
            login(transport, &self.inner.credentials, self.inner.kind).await?;
        let mut state = self.inner.state.lock().map_err(|_| poisoned())?;
        state.transport = transport;
        state.session = session;
        Ok(())
    }

    /// Points this session at another host of the same pool (keeping the session, which
    /// lives in the pool database), e.g. a member to probe after the coordinator died.
    pub fn retarget(&self, address: &str, tls: Tls) -> Result<()> {
        let current = self.snapshot()?.0;
        let next = Arc::new(current.for_address(address, tls)?);
        let mut state = self.inner.state.lock().map_err(|_| poisoned())?;
        state.transport = next;
        Ok(())
    }

    /// Points the session at the coordinator named by a `HOST_IS_SLAVE` reply.
    fn follow(
        &self,
        from: &Transport,
        master: &str,
        reply_fingerprint: Option<crate::tls::Fingerprint>,
    ) -> Result<()> {
        let next =
            Arc::new(from.for_address(master, tls_for_master(from, master, reply_fingerprint)?)?);
        tracing::info!(
            from = %from.url(),
            to = %next.url(),
            "following HOST_IS_SLAVE to the coordinator"
        );
        let mut state = self.inner.state.lock().map_err(|_| poisoned())?;
        if state.transport.url() == from.url() {
            state.transport = next;
        }
        Ok(())
    }
}

impl Caller for Connection {
    async fn call_seeded<S>(&self, request: CallRequest<'_>, seed: S) -> Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        let CallRequest {
            method,
            with_session,
            params,
            timeout,
        } = request;
        let mut relogged = false;
        let mut redirects = 0;
        loop {
            let (transport, session) = self.snapshot()?;
            let mut full = Vec::with_capacity(params.len() + 1);
            if with_session {
                full.push(Value::String(session.clone()));
            }
            full.extend(params.iter().cloned());
            let Reply {
                response,
                master_fingerprint,
                rpc_code,
            } = transport
                .call_seeded(method, &full, timeout, seed.clone())
                .await?;
            let error = match response {
                Response::Success(value) => return Ok(value),
                Response::Failure(description) => {
                    ApiError::from_description(method, description).with_rpc_code(rpc_code)
                }
            };
            // Both failures are raised by xapi's session check, before the call runs, so
            // retrying cannot make it happen twice (docs/wire-protocol.md#sessions).
            match &error.code {
                ErrorCode::SessionInvalid if with_session && !relogged => {
                    relogged = true;
                    self.relogin(&session).await?;
                }
                ErrorCode::HostIsSlave
                    if with_session
                        && redirects < MAX_REDIRECTS
                        && self.inner.kind == LoginKind::Pool =>
                {
                    redirects += 1;
                    let master = error.params.first().cloned().unwrap_or_default();
                    self.follow(&transport, &master, master_fingerprint)?;
                }
                _ => return Err(Error::Api(error)),
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let Ok(state) = self.state.get_mut() else {
            return;
        };
        if state.closed {
            return;
        }
        state.closed = true;
        let (transport, session, kind) =
            (state.transport.clone(), state.session.clone(), self.kind);
        // Best effort: without a runtime there is nothing to run the logout on; xapi
        // reaps idle sessions after 24 h.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = logout(&transport, &session, kind).await {
                    tracing::debug!(error = %e, "logout on drop failed");
                }
            });
        }
    }
}

fn poisoned() -> Error {
    Error::Internal("the connection's state was poisoned by a panic".into())
}

/// Which certificate policy to use for the coordinator a member redirected us to.
fn tls_for_master(
    from: &Transport,
    master: &str,
    reply_fingerprint: Option<crate::tls::Fingerprint>,
) -> Result<Tls> {
    match &from.options().tls {
        // The member is pinned, so what it says about its coordinator's certificate is
        // trustworthy (x-xenapi-response-host-certificate-thumbprint).
        Tls::Pinned(_) => reply_fingerprint
            .map(Tls::Pinned)
            .ok_or_else(|| Error::Tls {
                url: from.url().to_string(),
                message: format!(
                    "this host is a pool member; its coordinator {master} did not come with a \
                 certificate fingerprint, so pin the coordinator's fingerprint instead"
                ),
                source: None,
            }),
        other => Ok(other.clone()),
    }
}

async fn login(
    mut transport: Arc<Transport>,
    credentials: &Credentials,
    kind: LoginKind,
) -> Result<(Arc<Transport>, String)> {
    let originator = transport
        .options()
        .originator
        .clone()
        .unwrap_or_else(|| USER_AGENT_STRING.to_string());
    for _ in 0..=MAX_REDIRECTS {
        let user = Value::String(credentials.username.clone());
        let password = Value::String(credentials.password.expose().to_string());
        let (method, params) = match kind {
            LoginKind::Pool => (
                "session.login_with_password",
                vec![
                    user,
                    password,
                    Value::String(API_VERSION.into()),
                    Value::String(originator.clone()),
                ],
            ),
            LoginKind::LocalEmergency => (
                "session.slave_local_login_with_password",
                vec![user, password],
            ),
        };
        let Reply {
            response,
            master_fingerprint,
            rpc_code,
        } = transport.call::<String>(method, &params, None).await?;
        match response {
            Response::Success(session) => return Ok((transport, session)),
            Response::Failure(description) => {
                let error = ApiError::from_description(method, description).with_rpc_code(rpc_code);
                if error.code == ErrorCode::HostIsSlave && kind == LoginKind::Pool {
                    let master = error.params.first().cloned().unwrap_or_default();
                    let tls = tls_for_master(&transport, &master, master_fingerprint)?;
                    transport = Arc::new(transport.for_address(&master, tls)?);
                    tracing::info!(to = %transport.url(), "login redirected to the coordinator");
                    continue;
                }
                return Err(Error::Api(error));
            }
        }
    }
    Err(Error::invalid_argument(
        "url",
        format!("more than {MAX_REDIRECTS} HOST_IS_SLAVE redirects at login"),
    ))
}

async fn logout(transport: &Transport, session: &str, kind: LoginKind) -> Result<()> {
    let method = match kind {
        LoginKind::Pool => "session.logout",
        LoginKind::LocalEmergency => "session.local_logout",
    };
    let reply = transport
        .call::<Void>(method, &[Value::String(session.to_string())], None)
        .await?;
    match reply.response {
        Response::Success(_) => Ok(()),
        Response::Failure(d) => {
            let error = ApiError::from_description(method, d).with_rpc_code(reply.rpc_code);
            // Already gone (expired, or a pool transition): nothing left to close.
            if error.code == ErrorCode::SessionInvalid {
                Ok(())
            } else {
                Err(Error::Api(error))
            }
        }
    }
}
