//! The dispatcher under random calls on both protocols: random method names (real ones,
//! their `Async.` and `class_message` spellings, and garbage) with random parameter lists.
//! Every call must get an HTTP 200 with a xapi-shaped answer, never a panic or a dropped
//! connection, and the host must keep serving. Bounded in count and in time per call.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use xenpool::meta;
use xenpool::wire::{self, Format, JsonVersion, Limits, Response, Value};
use xenpool_sim::{Scenario, Simulator};

/// Messages that block by design (waiting for events) are left out.
const BLOCKING: &[&str] = &["event.from", "event.next"];

fn methods() -> &'static Vec<String> {
    static M: OnceLock<Vec<String>> = OnceLock::new();
    M.get_or_init(|| {
        meta::classes()
            .iter()
            .flat_map(|c| {
                c.messages
                    .iter()
                    .map(move |m| format!("{}.{}", c.name, m.name))
            })
            .filter(|m| !BLOCKING.contains(&m.as_str()))
            .collect()
    })
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[ -~]{0,12}".prop_map(Value::String),
        Just(Value::String("OpaqueRef:NULL".into())),
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(Value::Double),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3)
                .prop_map(|kv| Value::Struct(kv.into_iter().collect())),
        ]
    })
}

fn method() -> impl Strategy<Value = String> {
    let real = (0..methods().len()).prop_map(|i| methods()[i].clone());
    prop_oneof![
        4 => real.clone(),
        1 => real.clone().prop_map(|m| format!("Async.{m}")),
        1 => real.prop_map(|m| m.replacen('.', "_", 1)),
        1 => "[A-Za-z_.]{1,24}",
    ]
}

#[derive(Debug, Clone)]
struct Case {
    json: bool,
    method: String,
    with_session: bool,
    params: Vec<Value>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        method(),
        any::<bool>(),
        prop::collection::vec(value(), 0..7),
    )
        .prop_map(|(json, method, with_session, params)| Case {
            json,
            method,
            with_session,
            params,
        })
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    format: Format,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let path = match format {
        Format::XmlRpc => "/",
        Format::JsonRpc(_) => "/jsonrpc",
    };
    let reply = client
        .post(format!("{url}{path}"))
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the connection is answered, not dropped");
    let status = reply.status().as_u16();
    (status, reply.bytes().await.expect("a whole body").to_vec())
}

#[test]
fn random_calls_get_xapi_shaped_answers_on_both_protocols() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, url, session) = rt.block_on(async {
        let sim = Simulator::builder()
            .scenario(Scenario::builtin("single").expect("scenario"))
            .plain_http()
            .auth_failure_delay(Duration::from_millis(1))
            .start()
            .await
            .expect("simulator");
        let host = sim.hosts()[0].clone();
        let client = reqwest::Client::new();
        let format = Format::JsonRpc(JsonVersion::V2);
        let login = wire::encode_call(
            format,
            "session.login_with_password",
            &[
                Value::String("root".into()),
                Value::String(host.password.clone()),
            ],
            1,
        );
        let (_, body) = post(&client, &host.url, format, login).await;
        let Ok(Response::Success(session)) =
            wire::decode_response::<String>(format, &body, &Limits::default())
        else {
            panic!("login")
        };
        (sim, host.url, session)
    });
    let client = reqwest::Client::new();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |c| {
            let format = if c.json {
                Format::JsonRpc(JsonVersion::V2)
            } else {
                Format::XmlRpc
            };
            let mut params = c.params.clone();
            if c.with_session {
                params.insert(0, Value::String(session.clone()));
            }
            // Never log the fuzzing session out, or every later call is SESSION_INVALID.
            let method =
                if c.method.ends_with("session.logout") || c.method.ends_with("session_logout") {
                    "session.get_all".to_string()
                } else {
                    c.method.clone()
                };
            let (status, body) = rt.block_on(post(
                &client,
                &url,
                format,
                wire::encode_call(format, &method, &params, 7),
            ));
            prop_assert_eq!(
                status,
                200,
                "{} {:?}: {}",
                method,
                params,
                String::from_utf8_lossy(&body)
            );
            match wire::decode_response::<Value>(format, &body, &Limits::default()) {
                Ok(Response::Success(_)) => {}
                Ok(Response::Failure(d)) => {
                    let code = d.first().cloned().unwrap_or_default();
                    prop_assert!(
                        code == "Fault"
                            || (!code.is_empty()
                                && code.chars().all(|ch| ch.is_ascii_uppercase()
                                    || ch.is_ascii_digit()
                                    || ch == '_')),
                        "{method}: not a XenAPI error code: {d:?}"
                    );
                }
                Err(e) => prop_assert!(false, "{method}: undecodable answer: {e}"),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // Still serving.
    assert!(rt.block_on(async { sim.hosts()[0].alive }));
}
