//! Either kind of connection a front end's session sits on: one host's, or a pool's that
//! fails over to a new coordinator. It calls as the one it holds (results streamed into a
//! seed included) and closes the way that one closes.

use crate::call::{CallRequest, Caller};
use crate::connection::Connection;
use crate::error::Result;
use crate::pool::PoolConnection;
use crate::wire::ResultSeed;

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
    async fn call_seeded<S>(&self, request: CallRequest<'_>, seed: S) -> Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        match self {
            AnyConnection::Host(c) => c.call_seeded(request, seed).await,
            AnyConnection::Pool(p) => p.call_seeded(request, seed).await,
        }
    }
}
