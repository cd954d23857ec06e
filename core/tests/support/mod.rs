//! A scripted XenAPI host on loopback for transport tests: real TCP, real TLS (a
//! certificate generated per server), xenpool's own wire codecs on the server side, and a
//! per-test handler deciding each reply. Every request is recorded for assertions.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use xenpool::wire::{self, Call, Limits, Value};

/// What the handler decides for one call.
pub enum Reply {
    /// A successful result.
    Ok(Value),
    /// A XenAPI failure `[code, params…]`.
    Fail(Vec<String>),
    /// Raw HTTP: status and body.
    Http(u16, Vec<u8>),
    /// A successful result, with extra response headers.
    OkWithHeaders(Value, Vec<(String, String)>),
    /// A failure, with extra response headers.
    FailWithHeaders(Vec<String>, Vec<(String, String)>),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub call: Option<Call>,
}

/// Extra response headers.
pub type Headers = Vec<(String, String)>;

pub type Handler = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;

#[derive(Clone, Default)]
pub struct Behaviour {
    /// Answer 404 at /jsonrpc, as a host without JSON-RPC would.
    pub no_jsonrpc: bool,
    /// Sleep this long before answering.
    pub delay: Option<Duration>,
}

pub struct FakeHost {
    pub addr: SocketAddr,
    pub fingerprint: xenpool::Fingerprint,
    pub cert_pem: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeHost {
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn methods(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| s.call.as_ref().map(|c| c.method.clone()))
            .collect()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.path.clone())
            .collect()
    }

    /// Starts a host on `ip` (port 0 = any free port).
    pub async fn start(ip: &str, port: u16, behaviour: Behaviour, handler: Handler) -> FakeHost {
        let ip: IpAddr = ip.parse().unwrap();
        let listener = TcpListener::bind((ip, port)).await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let cert =
            rcgen::generate_simple_self_signed(vec![ip.to_string(), "localhost".into()]).unwrap();
        let cert_der = cert.cert.der().to_vec();
        let fingerprint = xenpool::Fingerprint::of_der(&cert_der);
        let cert_pem = cert.cert.pem();
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.into()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let handler = handler.clone();
                let seen = seen2.clone();
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req: Request<Incoming>| {
                        let handler = handler.clone();
                        let seen = seen.clone();
                        let behaviour = behaviour.clone();
                        async move {
                            let response = serve(req, &handler, &seen, &behaviour).await;
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeHost {
            addr,
            fingerprint,
            cert_pem,
            seen,
            task,
        }
    }
}

async fn serve(
    req: Request<Incoming>,
    handler: &Handler,
    seen: &Mutex<Vec<Seen>>,
    behaviour: &Behaviour,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = path == "/jsonrpc";
    let mut record = Seen {
        path: path.clone(),
        headers,
        call: None,
    };
    if json && behaviour.no_jsonrpc {
        seen.lock().unwrap().push(record);
        return http(404, b"not found".to_vec(), &[]);
    }
    let call = match wire::decode_call(json, &body, &Limits::default()) {
        Ok(call) => call,
        Err(_) => {
            seen.lock().unwrap().push(record);
            return http(500, b"<html>malformed</html>".to_vec(), &[]);
        }
    };
    record.call = Some(call.clone());
    seen.lock().unwrap().push(record);
    if let Some(delay) = behaviour.delay {
        tokio::time::sleep(delay).await;
    }
    let format = call.format;
    let (result, extra): (Result<Value, Vec<String>>, Headers) = match handler(&call) {
        Reply::Ok(v) => (Ok(v), vec![]),
        Reply::Fail(d) => (Err(d), vec![]),
        Reply::OkWithHeaders(v, h) => (Ok(v), h),
        Reply::FailWithHeaders(d, h) => (Err(d), h),
        Reply::Http(status, body) => return http(status, body, &[]),
    };
    let bytes = match &result {
        Ok(v) => wire::encode_response(format, call.id.as_ref(), Ok(v)),
        Err(d) => wire::encode_response(format, call.id.as_ref(), Err(d.as_slice())),
    };
    http(200, bytes, &extra)
}

fn http(status: u16, body: Vec<u8>, headers: &[(String, String)]) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        response.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(v).unwrap(),
        );
    }
    response
}

/// A minimal xapi login/logout behaviour shared by many tests: password `secret`, session
/// refs counted, other methods delegated to `rest`.
pub struct Sessions {
    pub live: Mutex<Vec<String>>,
    pub logins: Mutex<usize>,
    pub password: String,
}

impl Sessions {
    pub fn new(password: &str) -> Arc<Self> {
        Arc::new(Sessions {
            live: Mutex::new(vec![]),
            logins: Mutex::new(0),
            password: password.into(),
        })
    }

    /// Handles session.* calls; None for anything else.
    pub fn handle(&self, call: &Call) -> Option<Reply> {
        let s = |i: usize| {
            call.params
                .get(i)
                .and_then(|v| {
                    if let Value::String(s) = v {
                        Some(s.clone())
                    } else {
                        None
                    }
                })
                .unwrap_or_default()
        };
        match call.method.as_str() {
            "session.login_with_password" | "session.slave_local_login_with_password" => {
                if s(1) != self.password {
                    return Some(Reply::Fail(vec![
                        "SESSION_AUTHENTICATION_FAILED".into(),
                        s(0),
                        "Authentication failure".into(),
                    ]));
                }
                let mut n = self.logins.lock().unwrap();
                *n += 1;
                let r = format!("OpaqueRef:session-{n}");
                self.live.lock().unwrap().push(r.clone());
                Some(Reply::Ok(Value::String(r)))
            }
            "session.logout" | "session.local_logout" => {
                self.live.lock().unwrap().retain(|r| *r != s(0));
                Some(Reply::Ok(Value::String(String::new())))
            }
            _ => None,
        }
    }

    /// SESSION_INVALID unless the call's session is live.
    pub fn check(&self, call: &Call) -> Option<Reply> {
        let r = match call.params.first() {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        if self.live.lock().unwrap().contains(&r) {
            None
        } else {
            Some(Reply::Fail(vec!["SESSION_INVALID".into(), r]))
        }
    }

    pub fn live_count(&self) -> usize {
        self.live.lock().unwrap().len()
    }
}

/// Polls `condition` every 20 ms until it holds; fails naming `what` after `within`.
pub async fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How to log into the simulated host `name`: its own password, its certificate pinned.
pub fn access(sim: &xenpool_sim::Simulator, name: &str) -> xenpool::pool::HostAccess {
    let h = sim.host(name).unwrap();
    xenpool::pool::HostAccess::new(
        h.url,
        xenpool::Credentials::new("root", h.password.as_str()),
        xenpool::ConnectOptions {
            tls: xenpool::Tls::Pinned(h.fingerprint.unwrap()),
            ..Default::default()
        },
    )
}

/// The simulator's `single` scenario, and how to log into its host `xen1` (its own
/// password, its certificate pinned).
pub async fn single_host() -> (
    xenpool_sim::Simulator,
    String,
    xenpool::Credentials,
    xenpool::ConnectOptions,
) {
    let sim = xenpool_sim::Simulator::builder()
        .scenario(xenpool_sim::Scenario::builtin("single").unwrap())
        .start()
        .await
        .unwrap();
    let a = access(&sim, "xen1");
    (sim, a.url, a.credentials, a.options)
}
