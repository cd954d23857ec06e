//! Transport and session behaviour against scripted hosts on loopback, over real TLS.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Behaviour, FakeHost, Reply, Sessions};
use xenpool::wire::{Call, Value};
use xenpool::{Caller, ConnectOptions, Connection, Credentials, Error, ErrorCode, Protocol, Tls};

const PROTOCOLS: [Protocol; 2] = [Protocol::JsonRpc, Protocol::XmlRpc];

fn options(host: &FakeHost, protocol: Protocol) -> ConnectOptions {
    ConnectOptions {
        tls: Tls::Pinned(host.fingerprint),
        protocol,
        ..ConnectOptions::default()
    }
}

fn creds(password: &str) -> Credentials {
    Credentials::new("root", password)
}

/// Logs in to `host` as root with password "secret", pinned to its certificate.
async fn login(host: &FakeHost, protocol: Protocol) -> xenpool::Result<Connection> {
    Connection::login(&host.url(), creds("secret"), options(host, protocol)).await
}

/// What logging in to a loopback port that nobody listens on gives.
async fn login_to_a_closed_port() -> Error {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Connection::login(
        &format!("https://127.0.0.1:{port}"),
        creds("secret"),
        ConnectOptions::default(),
    )
    .await
    .unwrap_err()
}

/// A host that logs in with password "secret" and answers `host.get_all` with one ref.
async fn simple_host(behaviour: Behaviour) -> (FakeHost, Arc<Sessions>) {
    let sessions = Sessions::new("secret");
    let s = sessions.clone();
    let host = FakeHost::start(
        "127.0.0.1",
        0,
        behaviour,
        Arc::new(move |call: &Call| {
            if let Some(r) = s.handle(call) {
                return r;
            }
            if let Some(r) = s.check(call) {
                return r;
            }
            match call.method.as_str() {
                "host.get_all" => {
                    Reply::Ok(Value::Array(vec![Value::String("OpaqueRef:h1".into())]))
                }
                "host.get_name_label" => Reply::Ok(Value::String("x".repeat(10_000))),
                _ => Reply::Fail(vec!["MESSAGE_METHOD_UNKNOWN".into(), call.method.clone()]),
            }
        }),
    )
    .await;
    (host, sessions)
}

async fn host_get_all(c: &Connection) -> xenpool::Result<Vec<String>> {
    c.call("host.get_all", true, vec![]).await
}

#[tokio::test]
async fn wrong_password_is_the_typed_authentication_failure_without_the_password() {
    let (host, sessions) = simple_host(Behaviour::default()).await;
    for protocol in PROTOCOLS {
        let err = Connection::login(
            &host.url(),
            creds("hunter2-wrong"),
            options(&host, protocol),
        )
        .await
        .unwrap_err();
        assert!(
            err.is_code(&ErrorCode::SessionAuthenticationFailed),
            "{err:?}"
        );
        let api = err.api().unwrap();
        assert_eq!(api.method, "session.login_with_password");
        assert_eq!(api.params.first().map(String::as_str), Some("root"));
        for text in [format!("{err}"), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "password leaked: {text}");
        }
    }
    assert_eq!(sessions.live_count(), 0);
}

#[tokio::test]
async fn login_sends_api_version_and_originator_and_logout_closes_the_session() {
    let (host, sessions) = simple_host(Behaviour::default()).await;
    for protocol in PROTOCOLS {
        let c = login(&host, protocol).await.unwrap();
        assert_eq!(
            host_get_all(&c).await.unwrap(),
            vec!["OpaqueRef:h1".to_string()]
        );
        assert_eq!(sessions.live_count(), 1);
        c.logout().await.unwrap();
        assert_eq!(sessions.live_count(), 0);
        assert!(
            host_get_all(&c).await.is_err(),
            "calls after logout must fail"
        );
        c.logout().await.unwrap();
    }
    let seen = host.seen.lock().unwrap().clone();
    let login = seen
        .iter()
        .filter_map(|s| s.call.as_ref())
        .find(|c| c.method == "session.login_with_password")
        .unwrap();
    assert_eq!(login.params.len(), 4);
    assert_eq!(
        login.params[2],
        Value::String(xenpool::connection::API_VERSION.into())
    );
    assert_eq!(
        login.params[3],
        Value::String(format!("xenpool/{}", env!("CARGO_PKG_VERSION")))
    );
    let debug = format!("{seen:?}");
    assert!(
        debug.contains("secret"),
        "the fake host saw the password on the wire (sanity)"
    );
}

#[tokio::test]
async fn custom_headers_and_user_agent_arrive_on_every_call() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    let mut opts = options(&host, Protocol::JsonRpc);
    opts.headers = vec![("x-trace-id".into(), "abc123".into())];
    opts.originator = Some("my-automation".into());
    let c = Connection::login(&host.url(), creds("secret"), opts)
        .await
        .unwrap();
    host_get_all(&c).await.unwrap();
    c.logout().await.unwrap();
    let seen = host.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        let h = |name: &str| {
            s.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(h("x-trace-id").as_deref(), Some("abc123"));
        assert!(h("user-agent").unwrap().starts_with("xenpool/"));
    }
    let login = seen[0].call.as_ref().unwrap();
    assert_eq!(login.params[3], Value::String("my-automation".into()));
}

#[tokio::test]
async fn session_invalid_logs_in_again_once_and_retries() {
    let (host, sessions) = simple_host(Behaviour::default()).await;
    for protocol in PROTOCOLS {
        let c = login(&host, protocol).await.unwrap();
        let first = c.session_ref();
        sessions.live.lock().unwrap().clear(); // the host forgot us (xapi restart, 24 h idle)
        assert_eq!(host_get_all(&c).await.unwrap().len(), 1);
        assert_ne!(c.session_ref(), first, "a new session was made");
        c.logout().await.unwrap();
    }
    assert_eq!(sessions.live_count(), 0);
}

#[tokio::test]
async fn session_invalid_twice_gives_the_error_instead_of_looping() {
    let sessions = Sessions::new("secret");
    let s = sessions.clone();
    let host = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            s.handle(call).unwrap_or_else(|| {
                Reply::Fail(vec!["SESSION_INVALID".into(), "OpaqueRef:x".into()])
            })
        }),
    )
    .await;
    let c = login(&host, Protocol::JsonRpc).await.unwrap();
    let err = host_get_all(&c).await.unwrap_err();
    assert!(err.is_code(&ErrorCode::SessionInvalid), "{err:?}");
    assert_eq!(
        host.methods()
            .iter()
            .filter(|m| *m == "session.login_with_password")
            .count(),
        2
    );
}

/// A two-host pool on 127.0.0.1 (coordinator) and 127.0.0.2 (member) on one port.
async fn pool(pin_header: bool) -> (FakeHost, FakeHost, Arc<Sessions>) {
    let sessions = Sessions::new("secret");
    let s = sessions.clone();
    let master = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            s.handle(call)
                .or_else(|| s.check(call))
                .unwrap_or_else(|| match call.method.as_str() {
                    "host.get_all" => {
                        Reply::Ok(Value::Array(vec![Value::String("OpaqueRef:h1".into())]))
                    }
                    _ => Reply::Fail(vec!["MESSAGE_METHOD_UNKNOWN".into(), call.method.clone()]),
                })
        }),
    )
    .await;
    let port = master.addr.port();
    let fingerprint = master.fingerprint.to_string();
    let member = FakeHost::start(
        "127.0.0.2",
        port,
        Behaviour::default(),
        Arc::new(move |_call: &Call| {
            let description = vec!["HOST_IS_SLAVE".into(), "127.0.0.1".into()];
            if pin_header {
                Reply::FailWithHeaders(
                    description,
                    vec![(
                        "x-xenapi-response-host-certificate-thumbprint".into(),
                        fingerprint.clone(),
                    )],
                )
            } else {
                Reply::Fail(description)
            }
        }),
    )
    .await;
    (master, member, sessions)
}

#[tokio::test]
async fn host_is_slave_at_login_is_followed_to_the_coordinator() {
    let (master, member, sessions) = pool(true).await;
    for protocol in PROTOCOLS {
        let c = login(&member, protocol).await.unwrap();
        assert_eq!(c.host_address(), "127.0.0.1");
        assert_eq!(host_get_all(&c).await.unwrap().len(), 1);
        c.logout().await.unwrap();
    }
    assert_eq!(sessions.live_count(), 0);
    assert!(master.methods().contains(&"host.get_all".to_string()));
    assert!(
        member
            .methods()
            .iter()
            .all(|m| m == "session.login_with_password")
    );
    // Pinned: the member was asked for the coordinator's certificate thumbprint.
    let asked = member.seen.lock().unwrap()[0]
        .headers
        .iter()
        .any(|(k, v)| k == "x-xenapi-request-host-certificate-thumbprint" && v == "sha-256:master");
    assert!(asked);
}

#[tokio::test]
async fn pinned_redirect_without_a_thumbprint_is_refused() {
    let (_master, member, _sessions) = pool(false).await;
    let err = login(&member, Protocol::JsonRpc).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn host_is_slave_during_a_call_moves_the_session_to_the_new_coordinator() {
    // The "old coordinator" at 127.0.0.2 accepts the login, then (after a transition)
    // answers HOST_IS_SLAVE naming 127.0.0.1, which shares the pool database.
    let (master, _member, sessions) = pool(true).await;
    let s = sessions.clone();
    let demoted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = demoted.clone();
    let fingerprint = master.fingerprint.to_string();
    let old = FakeHost::start(
        "127.0.0.3",
        master.addr.port(),
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            if d.load(std::sync::atomic::Ordering::SeqCst) {
                return Reply::FailWithHeaders(
                    vec!["HOST_IS_SLAVE".into(), "127.0.0.1".into()],
                    vec![(
                        "x-xenapi-response-host-certificate-thumbprint".into(),
                        fingerprint.clone(),
                    )],
                );
            }
            s.handle(call)
                .or_else(|| s.check(call))
                .unwrap_or(Reply::Ok(Value::Array(vec![])))
        }),
    )
    .await;
    let c = login(&old, Protocol::XmlRpc).await.unwrap();
    assert_eq!(host_get_all(&c).await.unwrap().len(), 0);
    demoted.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        host_get_all(&c).await.unwrap().len(),
        1,
        "answered by the new coordinator"
    );
    assert_eq!(c.host_address(), "127.0.0.1");
    c.logout().await.unwrap();
    assert_eq!(sessions.live_count(), 0);
}

#[tokio::test]
async fn jsonrpc_falls_back_to_xmlrpc_once_and_remembers() {
    let (host, _sessions) = simple_host(Behaviour {
        no_jsonrpc: true,
        ..Behaviour::default()
    })
    .await;
    let c = login(&host, Protocol::Auto).await.unwrap();
    host_get_all(&c).await.unwrap();
    host_get_all(&c).await.unwrap();
    c.logout().await.unwrap();
    assert_eq!(host.paths(), vec!["/jsonrpc", "/", "/", "/", "/"]);

    let (json_host, _s) = simple_host(Behaviour::default()).await;
    let c = login(&json_host, Protocol::Auto).await.unwrap();
    host_get_all(&c).await.unwrap();
    c.logout().await.unwrap();
    assert!(
        json_host.paths().iter().all(|p| p == "/jsonrpc"),
        "JSON-RPC is the default"
    );
}

#[tokio::test]
async fn forced_xmlrpc_never_touches_jsonrpc() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    let c = login(&host, Protocol::XmlRpc).await.unwrap();
    host_get_all(&c).await.unwrap();
    c.logout().await.unwrap();
    assert!(host.paths().iter().all(|p| p == "/"));
}

#[tokio::test]
async fn tls_is_verified_by_default_and_pins_are_enforced() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    let url = host.url();

    // Self-signed and not in any trust store: refused by default.
    let err = Connection::login(&url, creds("secret"), ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(!err.may_have_reached_host());

    // A wrong pin is refused, naming both fingerprints.
    let wrong = xenpool::Fingerprint([7; 32]);
    let opts = ConnectOptions {
        tls: Tls::Pinned(wrong),
        ..ConnectOptions::default()
    };
    let err = Connection::login(&url, creds("secret"), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&host.fingerprint.to_string()),
        "{err}"
    );

    // Trusting the certificate as a root works, as do the pin and explicit insecure mode.
    for tls in [
        Tls::TrustedRoots(vec![host.cert_pem.clone().into_bytes()]),
        Tls::Pinned(host.fingerprint),
        Tls::Insecure,
    ] {
        let c = Connection::login(
            &url,
            creds("secret"),
            ConnectOptions {
                tls,
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap();
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn fetch_fingerprint_reads_the_hosts_certificate() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    let got = xenpool::fetch_fingerprint(&host.url(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, host.fingerprint);
}

#[tokio::test]
async fn slow_calls_time_out_with_a_typed_error() {
    let (host, _sessions) = simple_host(Behaviour {
        delay: Some(Duration::from_secs(3)),
        ..Behaviour::default()
    })
    .await;
    let mut opts = options(&host, Protocol::JsonRpc);
    opts.call_timeout = Duration::from_millis(300);
    let err = Connection::login(&host.url(), creds("secret"), opts)
        .await
        .unwrap_err();
    match err {
        Error::Timeout {
            method,
            after,
            may_have_reached_host,
            ..
        } => {
            assert_eq!(method, "session.login_with_password");
            assert_eq!(after, Duration::from_millis(300));
            assert!(may_have_reached_host);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_hosts_give_a_transport_error_that_says_nothing_was_sent() {
    let err = login_to_a_closed_port().await;
    assert!(
        matches!(
            err,
            Error::Transport {
                may_have_reached_host: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    let mut opts = options(&host, Protocol::JsonRpc);
    opts.limits.max_body_bytes = 4096;
    let c = Connection::login(&host.url(), creds("secret"), opts)
        .await
        .unwrap();
    let err = c
        .call::<String>(
            "host.get_name_label",
            true,
            vec![Value::String("OpaqueRef:h1".into())],
        )
        .await
        .unwrap_err();
    match err {
        Error::Protocol(p) => assert_eq!(p.kind, xenpool::wire::ProtocolErrorKind::TooLarge),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    c.logout().await.unwrap();
}

#[tokio::test]
async fn malformed_bodies_are_protocol_errors() {
    let host = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(|_call: &Call| {
            Reply::Http(
                200,
                b"<methodResponse><params><param><value><struct>".to_vec(),
            )
        }),
    )
    .await;
    let err = login(&host, Protocol::XmlRpc).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn dropping_the_last_handle_logs_out() {
    let (host, sessions) = simple_host(Behaviour::default()).await;
    {
        let c = login(&host, Protocol::JsonRpc).await.unwrap();
        let clone = c.clone();
        drop(c);
        host_get_all(&clone).await.unwrap();
        assert_eq!(sessions.live_count(), 1);
    }
    support::eventually(
        "the session is logged out after drop",
        Duration::from_secs(5),
        || sessions.live_count() == 0,
    )
    .await;
}

#[tokio::test]
async fn emergency_local_login_stays_on_the_member_and_uses_local_logout() {
    let sessions = Sessions::new("secret");
    let s = sessions.clone();
    let member = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            s.handle(call)
                .or_else(|| s.check(call))
                .unwrap_or_else(|| Reply::Ok(Value::String("OpaqueRef:member".into())))
        }),
    )
    .await;
    let c = Connection::login_local_emergency(
        &member.url(),
        creds("secret"),
        options(&member, Protocol::XmlRpc),
    )
    .await
    .unwrap();
    let _: String = c
        .call("host.get_by_uuid", true, vec![Value::String("u".into())])
        .await
        .unwrap();
    c.logout().await.unwrap();
    assert_eq!(
        member.methods(),
        vec![
            "session.slave_local_login_with_password",
            "host.get_by_uuid",
            "session.local_logout"
        ]
    );
    assert_eq!(sessions.live_count(), 0);
}

#[test]
fn the_blocking_facade_works_without_a_runtime_and_refuses_inside_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (host, sessions) = rt.block_on(simple_host(Behaviour::default()));
    let url = host.url();
    let opts = options(&host, Protocol::JsonRpc);
    let c = xenpool::blocking::Connection::login(&url, creds("secret"), opts.clone()).unwrap();
    let refs: Vec<String> = c.call("host.get_all", vec![]).unwrap();
    assert_eq!(refs, vec!["OpaqueRef:h1"]);
    drop(c);
    assert_eq!(
        sessions.live_count(),
        0,
        "dropping a blocking connection logs out"
    );
    let inside = rt.block_on(async {
        xenpool::blocking::Connection::login(&url, creds("secret"), opts).map(|_| ())
    });
    assert!(matches!(inside, Err(Error::InvalidArgument { .. })));
}

#[tokio::test]
async fn the_json_rpc_error_objects_integer_code_is_kept_on_the_failure() {
    let sessions = Sessions::new("secret");
    let s = sessions.clone();
    let host = FakeHost::start(
        "127.0.0.1",
        0,
        Behaviour::default(),
        Arc::new(move |call: &Call| {
            if let Some(r) = s.handle(call) {
                return r;
            }
            match call.method.as_str() {
                // What a JSON-RPC proxy in front of xapi may answer, with its own code.
                "host.get_all" => Reply::Http(
                    200,
                    concat!(
                        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"#,
                        r#""message":"MESSAGE_METHOD_UNKNOWN","data":["host.get_all"]}}"#
                    )
                    .as_bytes()
                    .to_vec(),
                ),
                _ => Reply::Fail(vec!["MESSAGE_METHOD_UNKNOWN".into(), call.method.clone()]),
            }
        }),
    )
    .await;
    for protocol in PROTOCOLS {
        let c = login(&host, protocol).await.unwrap();
        // xapi's own failures: code 1 over JSON-RPC 2.0, nothing over XML-RPC.
        let err = c
            .call::<Vec<String>>("VM.get_all", true, vec![])
            .await
            .unwrap_err();
        let Error::Api(api) = &err else {
            panic!("expected a XenAPI failure, got {err:?}");
        };
        assert_eq!(api.code, ErrorCode::MessageMethodUnknown);
        let expected = match protocol {
            Protocol::JsonRpc => Some(1),
            _ => None,
        };
        assert_eq!(api.rpc_code, expected, "{protocol:?}");
        c.logout().await.unwrap();
    }
    let c = login(&host, Protocol::JsonRpc).await.unwrap();
    let err = host_get_all(&c).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected a XenAPI failure, got {err:?}");
    };
    assert_eq!(api.code, ErrorCode::MessageMethodUnknown);
    assert_eq!(api.params, vec!["host.get_all".to_string()]);
    assert_eq!(api.rpc_code, Some(-32601));
    c.logout().await.unwrap();
}

/// Every error of `err`'s `source()` chain, io errors' payloads included (an `io::Error`
/// wrapping another error does not return it from `source()`).
type DynError = dyn std::error::Error + 'static;

fn causes(err: &DynError) -> Vec<&DynError> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        out.push(e);
        // `io::Error::source()` skips its payload and returns the payload's source.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(payload) => Some(payload as &DynError),
            None => e.source(),
        };
    }
    out
}

#[tokio::test]
async fn transport_errors_keep_their_cause_as_source() {
    let err = login_to_a_closed_port().await;
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let chain = causes(&err);
    // The first cause is reqwest's own error (what Python's `__cause__` is built from).
    assert!(
        chain.first().is_some_and(|e| e.is::<reqwest::Error>()),
        "{err:?}"
    );
    assert!(
        chain.iter().any(|e| e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)),
        "no connection-refused io::Error in {:?}",
        chain.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn tls_errors_keep_the_rustls_error_in_their_source_chain() {
    let (host, _sessions) = simple_host(Behaviour::default()).await;
    // Self-signed and not in any trust store.
    let err = Connection::login(&host.url(), creds("secret"), ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let chain = causes(&err);
    assert!(
        chain.iter().any(|e| e.is::<rustls::Error>()),
        "no rustls::Error in {:?}",
        chain.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>()
    );

    // The pinning check's own verdict too (fetch_fingerprint's handshake path aside).
    let wrong = xenpool::Fingerprint([7; 32]);
    let err = Connection::login(
        &host.url(),
        creds("secret"),
        ConnectOptions {
            tls: Tls::Pinned(wrong),
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(std::error::Error::source(&err).is_some(), "{err:?}");
}
