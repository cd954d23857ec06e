//! HTTP(S) transport: one keep-alive connection pool per host, timeouts, custom headers,
//! JSON-RPC by default with a fall-back to XML-RPC for hosts that do not serve `/jsonrpc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::tls::{self, Fingerprint, Tls};
use crate::wire::{
    self, Format, JsonVersion, Limits, ProtocolError, ProtocolErrorKind, Response, ResultSeed,
    Value,
};

/// The `User-Agent` and default session originator: `xenpool/<version>`.
pub const USER_AGENT_STRING: &str = concat!("xenpool/", env!("CARGO_PKG_VERSION"));

/// Asks a pinned host to name its coordinator's certificate when it answers
/// `HOST_IS_SLAVE` (docs/wire-protocol.md#certificate-thumbprint).
const THUMBPRINT_REQUEST: &str = "x-xenapi-request-host-certificate-thumbprint";
const THUMBPRINT_RESPONSE: &str = "x-xenapi-response-host-certificate-thumbprint";

/// Bodies larger than this are decoded on a blocking thread, off the async workers.
const DECODE_INLINE_MAX: usize = 256 * 1024;

/// Which RPC encoding to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// JSON-RPC 2.0, falling back to XML-RPC once if the host has no `/jsonrpc`.
    #[default]
    Auto,
    /// JSON-RPC 2.0 only.
    JsonRpc,
    /// XML-RPC only (what the official Python client speaks).
    XmlRpc,
}

/// How to reach and talk to hosts.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Certificate policy; verified by default.
    pub tls: Tls,
    /// Limit for opening a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// Limit for one whole call (request and response body).
    pub call_timeout: Duration,
    /// Extra HTTP headers sent with every call.
    pub headers: Vec<(String, String)>,
    /// RPC encoding.
    pub protocol: Protocol,
    /// Decoding bounds for responses.
    pub limits: Limits,
    /// Session originator; `xenpool/<version>` when `None`.
    pub originator: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            tls: Tls::Verified,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(120),
            headers: Vec::new(),
            protocol: Protocol::Auto,
            limits: Limits::default(),
            originator: None,
        }
    }
}

/// A decoded reply, plus the coordinator's certificate fingerprint when the host sent it.
#[derive(Debug)]
pub struct Reply<T> {
    /// The XenAPI-level outcome.
    pub response: Response<T>,
    /// From `x-xenapi-response-host-certificate-thumbprint`, on `HOST_IS_SLAVE` replies.
    pub master_fingerprint: Option<Fingerprint>,
    /// The integer `code` of a JSON-RPC 2.0 error object, on failures over JSON-RPC 2.0.
    pub rpc_code: Option<i64>,
}

const FORMAT_UNKNOWN: u8 = 0;
const FORMAT_JSON: u8 = 1;
const FORMAT_XML: u8 = 2;

/// A connection pool to one host.
#[derive(Debug)]
pub struct Transport {
    base: reqwest::Url,
    client: reqwest::Client,
    options: Arc<ConnectOptions>,
    format: AtomicU8,
    next_id: AtomicU64,
}

impl Transport {
    /// A transport for `url`: `https://host[:port]`, `http://host[:port]` or a bare host
    /// (HTTPS assumed).
    pub fn new(url: &str, options: Arc<ConnectOptions>) -> Result<Self> {
        let with_scheme = if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        let mut base = reqwest::Url::parse(&with_scheme)
            .map_err(|e| Error::invalid_argument("url", format!("not a URL: {url:?} ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::invalid_argument(
                "url",
                format!("not an http(s) URL: {url:?}"),
            ));
        }
        base.set_path("/");
        base.set_query(None);

        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_STRING));
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_argument("headers", format!("bad HTTP header name {name:?}"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_argument("headers", format!("bad value for HTTP header {name}"))
            })?;
            headers.insert(name, value);
        }
        if matches!(options.tls, Tls::Pinned(_)) {
            headers.insert(
                THUMBPRINT_REQUEST,
                HeaderValue::from_static("sha-256:master"),
            );
        }
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy();
        let client = tls::apply(builder, &options.tls)?.build().map_err(|e| {
            Error::invalid_argument("options", format!("cannot build HTTP client: {e}"))
        })?;
        let format = match options.protocol {
            Protocol::Auto => FORMAT_UNKNOWN,
            Protocol::JsonRpc => FORMAT_JSON,
            Protocol::XmlRpc => FORMAT_XML,
        };
        Ok(Transport {
            base,
            client,
            options,
            format: AtomicU8::new(format),
            next_id: AtomicU64::new(1),
        })
    }

    /// A transport to another host of the same pool: same scheme and port, `address` as
    /// host (xapi names the coordinator by bare address in `HOST_IS_SLAVE`).
    pub fn for_address(&self, address: &str, tls: Tls) -> Result<Self> {
        let mut url = self.base.clone();
        // xapi names hosts by bare address; `host:port` (one colon) also works, for pools
        // whose members listen on other ports.
        let (host, port) = match address.parse::<std::net::SocketAddr>() {
            Ok(sock) => (sock.ip().to_string(), Some(sock.port())),
            Err(_) => match address.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().ok()),
                _ => (
                    address.trim_matches(|c| c == '[' || c == ']').to_string(),
                    None,
                ),
            },
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        url.set_host(Some(&host)).map_err(|e| {
            Error::invalid_argument("address", format!("not a host address: {address:?} ({e})"))
        })?;
        if let Some(port) = port {
            url.set_port(Some(port)).map_err(|_| {
                Error::invalid_argument("address", format!("bad port in {address:?}"))
            })?;
        }
        let options = Arc::new(ConnectOptions {
            tls,
            ..(*self.options).clone()
        });
        let next = Transport::new(url.as_str(), options)?;
        next.format
            .store(self.format.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(next)
    }

    /// The base URL, e.g. `https://127.0.0.2:443/`.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// The host part of the URL.
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or_default()
    }

    /// The options this transport was built with.
    pub fn options(&self) -> &Arc<ConnectOptions> {
        &self.options
    }

    /// The encoding in use (`None` until the first call in `Auto` mode).
    pub fn format(&self) -> Option<Format> {
        match self.format.load(Ordering::Relaxed) {
            FORMAT_JSON => Some(Format::JsonRpc(JsonVersion::V2)),
            FORMAT_XML => Some(Format::XmlRpc),
            _ => None,
        }
    }

    /// Sends one call and decodes the reply into `T`.
    pub async fn call<T>(
        &self,
        method: &str,
        params: &[Value],
        timeout: Option<Duration>,
    ) -> Result<Reply<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.call_seeded(method, params, timeout, std::marker::PhantomData::<T>)
            .await
    }

    /// Sends one call and decodes the reply's result with `seed`.
    pub async fn call_seeded<S>(
        &self,
        method: &str,
        params: &[Value],
        timeout: Option<Duration>,
        seed: S,
    ) -> Result<Reply<S::Value>>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        let timeout = timeout.unwrap_or(self.options.call_timeout);
        let auto = self.format.load(Ordering::Relaxed) == FORMAT_UNKNOWN;
        let first = self.format().unwrap_or(Format::JsonRpc(JsonVersion::V2));
        match self
            .exchange(first, method, params, timeout, seed.clone())
            .await?
        {
            Exchange::Done(reply) => {
                if auto {
                    self.format.store(FORMAT_JSON, Ordering::Relaxed);
                }
                Ok(reply)
            }
            // No /jsonrpc here: the call was never dispatched, so it is safe to resend.
            Exchange::NoSuchEndpoint(status) if auto => {
                tracing::debug!(url = %self.base, %status, "no JSON-RPC endpoint; using XML-RPC");
                self.format.store(FORMAT_XML, Ordering::Relaxed);
                match self
                    .exchange(Format::XmlRpc, method, params, timeout, seed)
                    .await?
                {
                    Exchange::Done(reply) => Ok(reply),
                    Exchange::NoSuchEndpoint(status) => Err(self.http_error(status, false)),
                }
            }
            Exchange::NoSuchEndpoint(status) => Err(self.http_error(status, false)),
        }
    }

    fn http_error(&self, status: reqwest::StatusCode, reached: bool) -> Error {
        Error::Transport {
            url: self.base.to_string(),
            message: format!("HTTP status {status}"),
            may_have_reached_host: reached,
            source: None,
        }
    }

    async fn exchange<S>(
        &self,
        format: Format,
        method: &str,
        params: &[Value],
        timeout: Duration,
        seed: S,
    ) -> Result<Exchange<S::Value>>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = wire::encode_call(format, method, params, id);
        let (path, content_type) = match format {
            Format::XmlRpc => ("/", "text/xml"),
            Format::JsonRpc(_) => ("/jsonrpc", "application/json"),
        };
        let url = self
            .base
            .join(path)
            .expect("a fixed path joins any base URL");
        let limits = self.options.limits;
        let request = async {
            let response = self
                .client
                .post(url.clone())
                .header(CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| self.request_error(e, method, timeout))?;
            let status = response.status();
            if matches!(status.as_u16(), 404 | 405 | 501) {
                return Ok(Err(status));
            }
            if !status.is_success() {
                // xapi answers transport-level breakage (unparseable request) with HTTP 500
                // and an HTML body (docs/wire-protocol.md#transport-errors): not a XenAPI failure.
                return Err(self.http_error(status, true));
            }
            let master_fingerprint = response
                .headers()
                .get(THUMBPRINT_RESPONSE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let bytes = read_capped(response, limits.max_body_bytes, |e| {
                self.request_error(e, method, timeout)
            })
            .await?;
            Ok(Ok((bytes, master_fingerprint)))
        };
        let outcome =
            tokio::time::timeout(timeout, request)
                .await
                .map_err(|_| Error::Timeout {
                    url: url.to_string(),
                    method: method.to_string(),
                    after: timeout,
                    may_have_reached_host: true,
                })??;
        let (bytes, master_fingerprint) = match outcome {
            Ok(ok) => ok,
            Err(status) => return Ok(Exchange::NoSuchEndpoint(status)),
        };
        let decode = move |bytes: &[u8]| wire::decode_response_seeded(format, bytes, &limits, seed);
        let (response, rpc_code) = if bytes.len() <= DECODE_INLINE_MAX {
            decode(&bytes)?
        } else {
            tokio::task::spawn_blocking(move || decode(&bytes))
                .await
                .map_err(|e| {
                    Error::Protocol(ProtocolError::new(
                        ProtocolErrorKind::Malformed,
                        format!("decoder stopped: {e}"),
                    ))
                })??
        };
        Ok(Exchange::Done(Reply {
            response,
            master_fingerprint,
            rpc_code,
        }))
    }

    fn request_error(&self, e: reqwest::Error, method: &str, timeout: Duration) -> Error {
        let url = self.base.to_string();
        if let Some(message) = tls_cause(&e) {
            return Error::Tls {
                url,
                message,
                source: Some(Box::new(e)),
            };
        }
        if e.is_timeout() {
            let connecting = e.is_connect();
            return Error::Timeout {
                url,
                method: method.to_string(),
                after: if connecting {
                    self.options.connect_timeout
                } else {
                    timeout
                },
                may_have_reached_host: !connecting,
            };
        }
        Error::Transport {
            url,
            message: describe(&e),
            may_have_reached_host: !e.is_connect(),
            source: Some(Box::new(e)),
        }
    }
}

enum Exchange<T> {
    Done(Reply<T>),
    NoSuchEndpoint(reqwest::StatusCode),
}

async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
    on_error: impl Fn(reqwest::Error) -> Error,
) -> Result<Vec<u8>> {
    let too_large = |n: String| {
        Error::Protocol(ProtocolError::new(
            ProtocolErrorKind::TooLarge,
            format!("response body of {n} bytes exceeds the limit of {max} bytes"),
        ))
    };
    if let Some(length) = response.content_length()
        && length > max as u64
    {
        return Err(too_large(length.to_string()));
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(&on_error)? {
        if body.len() + chunk.len() > max {
            return Err(too_large(format!("more than {max}")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The TLS failure buried in a reqwest error, if that is what it is. `io::Error` hides its
/// payload from `source()`, so payloads are searched too.
fn tls_cause(e: &reqwest::Error) -> Option<String> {
    fn search(err: &(dyn std::error::Error + 'static), depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        if let Some(rustls_error) = err.downcast_ref::<rustls::Error>() {
            return Some(rustls_error.to_string());
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = search(inner, depth + 1)
        {
            return Some(found);
        }
        err.source().and_then(|next| search(next, depth + 1))
    }
    search(e, 0)
}

/// A reqwest error with its causes, e.g. "error sending request: connection refused".
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let s = err.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = err.source();
    }
    text
}
