//! The control endpoint: JSON over plain HTTP on 127.0.0.1, for tests and tools in other
//! languages. `GET /` describes the hosts; `POST /` with `{"op": …}` changes the world:
//! `reset`, `load` (`scenario`), `latency` (`host`, `ms`), `drop` (`host`, `on`),
//! `kill` / `restart` (`host`), `skew` (`host`, `seconds`), `sessions`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use crate::server::HostServer;
use crate::{Scenario, Simulator, SimulatorInner};

/// A control request.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Op {
    /// Rebuild the world from the scenario.
    Reset,
    /// Load another scenario (same host count).
    Load {
        /// Built-in name or TOML path.
        scenario: String,
    },
    /// Delay every reply of a host.
    Latency {
        /// Host name.
        host: String,
        /// Milliseconds.
        ms: u64,
    },
    /// Drop (or stop dropping) a host's connections.
    Drop {
        /// Host name.
        host: String,
        /// On or off.
        on: bool,
    },
    /// Kill a host.
    Kill {
        /// Host name.
        host: String,
    },
    /// Restart a killed host.
    Restart {
        /// Host name.
        host: String,
    },
    /// Set a host's clock offset.
    Skew {
        /// Host name.
        host: String,
        /// Seconds ahead (negative: behind).
        seconds: i64,
    },
    /// Count live sessions.
    Sessions,
}

/// Applies one operation.
pub async fn apply(sim: &Simulator, op: Op) -> Result<serde_json::Value, String> {
    let e = |e: crate::SimError| e.to_string();
    match op {
        Op::Reset => sim.reset(),
        Op::Load { scenario } => sim
            .load(Scenario::load(&scenario).map_err(|e| e.to_string())?)
            .map_err(e)?,
        Op::Latency { host, ms } => sim
            .set_latency(&host, Duration::from_millis(ms))
            .map_err(e)?,
        Op::Drop { host, on } => sim.drop_connections(&host, on).map_err(e)?,
        Op::Kill { host } => sim.kill(&host).map_err(e)?,
        Op::Restart { host } => sim.restart(&host).await.map_err(e)?,
        Op::Skew { host, seconds } => sim.skew_clock(&host, seconds).map_err(e)?,
        Op::Sessions => return Ok(json!({ "sessions": sim.session_count() })),
    }
    Ok(json!({ "ok": true }))
}

/// Describes the hosts (`GET /`).
pub fn describe(sim: &Simulator) -> serde_json::Value {
    json!({
        "hosts": sim.hosts().iter().map(|h| json!({
            "name": h.name, "uuid": h.uuid, "address": h.address, "port": h.port, "url": h.url,
            "username": h.username, "password": h.password, "alive": h.alive,
            "fingerprint": h.fingerprint.map(|f| f.to_string()), "master_address": h.master_address,
        })).collect::<Vec<_>>(),
        "sessions": sim.session_count(),
    })
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/json".parse().expect("valid"),
    );
    r
}

async fn handle(
    inner: Weak<SimulatorInner>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(inner) = inner.upgrade() else {
        return Ok(reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "error": "the simulator is stopping" }),
        ));
    };
    let sim = Simulator::from_inner(inner);
    if req.method() == Method::GET {
        return Ok(reply(StatusCode::OK, describe(&sim)));
    }
    let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                json!({ "error": e.to_string() }),
            ));
        }
    };
    let op: Op = match serde_json::from_slice(&body) {
        Ok(op) => op,
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("bad request: {e}") }),
            ));
        }
    };
    Ok(match apply(&sim, op).await {
        Ok(v) => reply(StatusCode::OK, v),
        Err(message) => reply(StatusCode::BAD_REQUEST, json!({ "error": message })),
    })
}

/// Serves the control endpoint.
pub fn spawn(inner: Weak<SimulatorInner>, listener: TcpListener) -> HostServer {
    let connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
    let accept = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            // Replies go out as a header write and a body write: with Nagle on, the second
            // waits for the client's delayed ACK (40 ms on Linux) on every small reply.
            let _ = tcp.set_nodelay(true);
            let inner = inner.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(inner.clone(), req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    HostServer::new(accept.abort_handle(), connections)
}
