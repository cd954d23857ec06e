//! Either kind of connection a front end's session sits on: one host's, or a pool's that
//! fails over to a new coordinator. It calls as the one it holds (results streamed into a
//! seed included) and closes the way that one closes.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::call::Caller;
use crate::connection::Connection;
use crate::error::Result;
use crate::pool::PoolConnection;
use crate::wire::{ResultSeed, Value};

/// A session on one host, or on a pool.
#[derive(Clone, Debug)]
pub enum AnyConnection {
    /// A session on one host (its coordinator, once `HOST_IS_SLAVE` is followed).
    Host(Connection),
    /// A pool connection that finds the new coordinator when the old one is lost.
    Pool(PoolConnection),
}

impl AnyConnection {
    /// The session underneath (a pool's is on its current coordinator).
    pub fn connection(&self) -> &Connection {
        match self {
            AnyConnection::Host(c) => c,
            AnyConnection::Pool(p) => p.connection(),
        }
    }

    /// The pool connection, when this is one.
    pub fn pool(&self) -> Option<&PoolConnection> {
        match self {
            AnyConnection::Host(_) => None,
            AnyConnection::Pool(p) => Some(p),
        }
    }

    /// Logs out; calls afterwards fail with [`crate::Error::SessionClosed`].
    pub async fn close(&self) -> Result<()> {
        match self {
            AnyConnection::Host(c) => c.logout().await,
            AnyConnection::Pool(p) => p.close().await,
        }
    }
}

impl From<Connection> for AnyConnection {
    fn from(c: Connection) -> Self {
        AnyConnection::Host(c)
    }
}

impl From<PoolConnection> for AnyConnection {
    fn from(p: PoolConnection) -> Self {
        AnyConnection::Pool(p)
    }
}

impl Caller for AnyConnection {
    async fn call_with_timeout<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
    ) -> Result<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.call_seeded_with_timeout(
            method,
            with_session,
            params,
            timeout,
            std::marker::PhantomData::<T>,
        )
        .await
    }

    async fn call_seeded_with_timeout<S>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
        seed: S,
    ) -> Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        match self {
            AnyConnection::Host(c) => {
                c.call_seeded_with_timeout(method, with_session, params, timeout, seed)
                    .await
            }
            AnyConnection::Pool(p) => {
                p.call_seeded_with_timeout(method, with_session, params, timeout, seed)
                    .await
            }
        }
    }
}
