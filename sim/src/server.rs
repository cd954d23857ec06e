//! One HTTP(S) endpoint per simulated host: XML-RPC at `/` (and `/RPC2`, and the legacy
//! `/json`), JSON-RPC at `/jsonrpc`, CORS pre-flight, xapi's HTTP 500 for bodies it cannot
//! parse (docs/wire-protocol.md#transport-errors), and the fault controls (latency, dropped
//! connections).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;
use xenpool::wire::{self, Limits};

use crate::dispatch;
use crate::failure::Failure;
use crate::sim::Sim;

/// Largest request body accepted.
const MAX_REQUEST: usize = 64 << 20;

/// A running endpoint; dropping it does not stop it — call [`HostServer::stop`].
#[derive(Debug)]
pub struct HostServer {
    accept: AbortHandle,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl HostServer {
    /// Wraps an accept loop and its connections.
    pub fn new(accept: AbortHandle, connections: Arc<Mutex<Vec<AbortHandle>>>) -> Self {
        HostServer {
            accept,
            connections,
        }
    }

    /// Closes the listener and every open connection (the host "dies").
    pub fn stop(&self) {
        self.accept.abort();
        if let Ok(mut conns) = self.connections.lock() {
            for c in conns.drain(..) {
                c.abort();
            }
        }
    }
}

/// Serves host `index` of the simulation on `listener`.
pub fn spawn(
    sim: Sim,
    index: usize,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> HostServer {
    let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
    let conns = connections.clone();
    let accept = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            // Replies go out as a header write and a body write: with Nagle on, the second
            // waits for the client's delayed ACK (40 ms on Linux) on every small reply.
            let _ = tcp.set_nodelay(true);
            let sim = sim.clone();
            let tls = tls.clone();
            let handle = tokio::spawn(async move {
                if sim
                    .world()
                    .hosts
                    .get(index)
                    .is_none_or(|h| h.drop_connections)
                {
                    return; // drop it on the floor
                }
                let service = service_fn(move |req| {
                    let sim = sim.clone();
                    async move { serve(sim, index, req).await }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
            if let Ok(mut c) = conns.lock() {
                c.retain(|h| !h.is_finished());
                c.push(handle.abort_handle());
            }
        }
    });
    HostServer {
        accept: accept.abort_handle(),
        connections,
    }
}

/// An error from the service closes the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        content_type.parse().expect("a valid content type"),
    );
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            v.parse(),
        ) {
            h.insert(name, value);
        }
    }
    r
}

fn html_500(message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; \
            please wait a while and try again. If the problem persists, please contact your \
            support representative.<h1> Additional information </h1>{}</body></html>",
        html_escape(message)
    );
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/html",
        body.into_bytes(),
        &[],
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn serve(
    sim: Sim,
    index: usize,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (latency, drop) = {
        let world = sim.world();
        let h = &world.hosts[index];
        (h.latency, h.drop_connections || !h.alive)
    };
    if drop {
        return Err(Dropped);
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let cors = [
        ("access-control-allow-origin", "*".to_string()),
        (
            "access-control-allow-headers",
            "X-Requested-With".to_string(),
        ),
    ];
    if req.method() == Method::OPTIONS {
        return Ok(respond(StatusCode::OK, "text/plain", vec![], &cors));
    }
    let path = req.uri().path().to_string();
    // xapi routes a POST by the longest registered URI prefix (`Http_svr`): `/jsonrpc…` is
    // JSON-RPC, anything else falls to `/` (XML-RPC), `/xmlrpc` and `/RPC2` included.
    let json = match req.method() {
        &Method::POST => path.starts_with("/jsonrpc"),
        _ => {
            return Ok(respond(
                StatusCode::NOT_FOUND,
                "text/plain",
                b"not found".to_vec(),
                &[],
            ));
        }
    };
    let wants_thumbprint = req
        .headers()
        .contains_key("x-xenapi-request-host-certificate-thumbprint");
    let body = match Limited::new(req.into_body(), MAX_REQUEST).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(html_500(&format!("request body: {e}"))),
    };
    let limits = Limits {
        max_body_bytes: MAX_REQUEST,
        ..Limits::default()
    };
    let call = match wire::decode_call(json, &body, &limits) {
        Ok(call) => call,
        Err(e) => return Ok(html_500(&e.to_string())),
    };
    // Emergency mode is raised before dispatch, outside the normal reply path: JSON-RPC
    // gets xapi's corner-case shape (a 2.0 envelope, the error a bare array, id 0) and
    // neither protocol gets the CORS headers (`api_server.ml`, docs/wire-protocol.md#envelopes).
    if let Some(Failure(d)) = dispatch::emergency_refusal(&sim, index, &call.method) {
        let (content_type, body) = if json {
            let body = serde_json::json!({ "jsonrpc": "2.0", "error": d, "id": 0 });
            ("application/json", body.to_string().into_bytes())
        } else {
            let body = wire::encode_response(call.format, call.id.as_ref(), Err(d.as_slice()));
            ("text/xml", body)
        };
        return Ok(respond(StatusCode::OK, content_type, body, &[]));
    }
    let outcome = dispatch::dispatch(&sim, index, &call.method, call.params).await;
    let mut headers: Vec<(&str, String)> = cors.to_vec();
    if let Err(Failure(d)) = &outcome
        && wants_thumbprint
        && d.first().is_some_and(|c| c == "HOST_IS_SLAVE")
        && let Some(fp) = master_fingerprint(&sim, index)
    {
        headers.push(("x-xenapi-response-host-certificate-thumbprint", fp));
    }
    let content_type = if json { "application/json" } else { "text/xml" };
    // system.listMethods is answered bare on XML-RPC, without the Status/Value envelope.
    if !json
        && call.method == "system.listMethods"
        && let Ok(v) = &outcome
    {
        return Ok(respond(
            StatusCode::OK,
            content_type,
            wire::encode_bare_response(v),
            &headers,
        ));
    }
    let bytes = match &outcome {
        Ok(v) => wire::encode_response(call.format, call.id.as_ref(), Ok(v)),
        Err(Failure(d)) => wire::encode_response(call.format, call.id.as_ref(), Err(d.as_slice())),
    };
    Ok(respond(StatusCode::OK, content_type, bytes, &headers))
}

fn master_fingerprint(sim: &Sim, index: usize) -> Option<String> {
    let world = sim.world();
    let master = world.hosts[index].master_address.as_ref()?;
    let m = world.host_by_address(master)?;
    world.hosts[m].fingerprint.map(|f| f.to_string())
}
