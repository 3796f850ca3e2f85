//! Bad input through the whole stack: tampered cursors (property-tested) and arguments that are
//! huge, negative, empty, unicode or 10 KB long. Each gets a clear, coded error, nothing panics,
//! and nothing that the gateway can reject reaches the upstream.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::harness::*;

const PAGE: &str = r#"query($after: String, $first: Int) {
  jobExecutions(jobName: "data-processing-job", first: $first, after: $after) {
    pageInfo { endCursor } edges { cursor }
  }
}"#;

/// Blocks on `fut` from a synchronous proptest body.
fn block_on<F: std::future::Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    rt.block_on(fut)
}

/// Tampered forms of a valid cursor: cut, flipped bits, other version byte, padded, standard
/// base64 (`+`, `/`, `=`), URL-encoded once and twice.
fn tampered(valid: &str) -> impl Strategy<Value = String> {
    let raw = URL_SAFE_NO_PAD.decode(valid).unwrap();
    let len = raw.len();
    let valid = valid.to_owned();
    prop_oneof![
        // Truncated.
        (0..valid.len()).prop_map({
            let v = valid.clone();
            move |n| v[..n].to_owned()
        }),
        // One byte flipped (the fingerprint, the version, the payload).
        (0..len, 1u8..=255).prop_map({
            let raw = raw.clone();
            move |(i, x)| {
                let mut b = raw.clone();
                b[i] ^= x;
                URL_SAFE_NO_PAD.encode(b)
            }
        }),
        // Another format version.
        (0u8..=255)
            .prop_filter("not the current version", |v| *v != 1)
            .prop_map({
                let raw = raw.clone();
                move |v| {
                    let mut b = raw.clone();
                    b[0] = v;
                    URL_SAFE_NO_PAD.encode(b)
                }
            }),
        // Alphabet and padding confusions, URL encodings.
        Just(base64::engine::general_purpose::STANDARD.encode(&raw) + "="),
        Just(valid.replace('-', "+").replace('_', "/") + "=="),
        Just(format!("{valid}%3D")),
        Just(valid.replace('-', "%2B").replace('_', "%2F") + "%3D"),
        Just(valid.replace('-', "%252B").replace('_', "%252F") + "%253D"),
        // Garbage appended, random bytes.
        "[a-zA-Z0-9_+/=%-]{1,8}".prop_map({
            let v = valid.clone();
            move |tail| format!("{v}{tail}")
        }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        ".{0,64}",
    ]
}

#[test]
fn tampered_cursors_are_cursor_invalid_and_never_reach_the_upstream() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = block_on(&rt, Env::start(emulator_config(30)));
    let first = block_on(&rt, env.gql(PAGE, json!({"first": 7})));
    let edges = first["data"]["jobExecutions"]["edges"].as_array().unwrap();
    let valid: Vec<String> = edges
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect();
    let end = valid.last().unwrap().clone();

    let config = ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(cursor in tampered(&end))| {
        prop_assume!(!valid.contains(&cursor));
        env.reset();
        let resp = block_on(&rt, env.gql(PAGE, json!({"first": 3, "after": cursor})));
        // The fingerprint binds a cursor to its query, not its position, and the upstream
        // cursor inside is the upstream's to check: a flipped bit there costs one upstream call,
        // which rejects it (still CURSOR_INVALID) or, rarely, finds another valid position.
        if resp["errors"].is_null() {
            prop_assert!(resp["data"]["jobExecutions"]["edges"].is_array());
        } else {
            prop_assert_eq!(codes(&resp), vec!["CURSOR_INVALID".to_owned()], "{}", resp);
        }
        prop_assert!(env.emulator.emulator().stats().total <= 1);
    });
    // Still serving.
    let resp = block_on(&rt, env.gql(PAGE, json!({"first": 3, "after": end})));
    assert!(resp["errors"].is_null(), "{resp}");
}

/// Runs `query` with `vars` and returns its codes, after checking nothing was sent upstream.
async fn rejected(env: &Env, query: &str, vars: Value) -> Vec<String> {
    env.reset();
    let resp = env.gql(query, vars.clone()).await;
    assert!(
        resp["data"].is_null()
            || resp["data"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_null),
        "{vars}: {resp}"
    );
    for error in resp["errors"].as_array().unwrap() {
        let message = error["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && message.len() < 600,
            "a short, clear message: {message}"
        );
    }
    assert_eq!(
        env.emulator.emulator().stats().total,
        0,
        "{vars}: nothing sent upstream"
    );
    codes(&resp)
}

#[tokio::test]
async fn huge_negative_empty_unicode_and_long_arguments() {
    let env = Env::start(emulator_config(10)).await;
    let list = r#"query($job: String!, $first: Int, $after: String, $q: String) {
      jobExecutions(jobName: $job, first: $first, after: $after, query: $q) { totalCount }
    }"#;
    let one =
        r#"query($job: String!, $id: String!) { jobExecution(jobName: $job, id: $id) { id } }"#;
    let job = "data-processing-job";
    let long = "x".repeat(10 * 1024);
    let unicode_long = "é🚀".repeat(3 * 1024);
    let bad_input = ["BAD_USER_INPUT"];
    // Huge and negative `first`.
    for first in [
        json!(2_147_483_647),
        json!(1e20),
        json!(-1),
        json!(i64::MIN),
        json!(1.5),
        json!("10"),
    ] {
        // A value that is no Int at all gets two errors (the argument, the variable), both coded.
        let codes = rejected(&env, list, json!({"job": job, "first": first})).await;
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "BAD_USER_INPUT"),
            "first = {first}: {codes:?}"
        );
    }
    // Empty names and ids.
    assert_eq!(rejected(&env, list, json!({"job": ""})).await, bad_input);
    assert_eq!(
        rejected(&env, one, json!({"job": "", "id": "x"})).await,
        bad_input
    );
    assert_eq!(
        rejected(&env, one, json!({"job": job, "id": ""})).await,
        bad_input
    );
    // 10 KB names, ids, searches and cursors.
    assert_eq!(rejected(&env, list, json!({"job": long})).await, bad_input);
    assert_eq!(
        rejected(&env, one, json!({"job": job, "id": long})).await,
        bad_input
    );
    assert_eq!(
        rejected(&env, list, json!({"job": job, "q": long})).await,
        bad_input
    );
    assert_eq!(
        rejected(&env, list, json!({"job": job, "q": unicode_long})).await,
        bad_input
    );
    assert_eq!(
        rejected(&env, list, json!({"job": job, "after": long})).await,
        ["CURSOR_INVALID"]
    );
    assert_eq!(
        rejected(&env, list, json!({"job": job, "after": ""})).await,
        ["CURSOR_INVALID"]
    );
    // A 10 KB global id.
    let node = r#"query($id: ID!) { node(id: $id) { id } }"#;
    assert_eq!(rejected(&env, node, json!({"id": long})).await, bad_input);

    // Unicode that fits is passed on and answered plainly.
    let resp = env.gql(list, json!({"job": "ジョブ-🚀", "q": "é🚀"})).await;
    assert_eq!(codes(&resp), ["NOT_FOUND"], "{resp}");
    let resp = env.gql(list, json!({"job": job, "q": "é🚀"})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    let resp = env.gql(list, json!({"job": job, "q": ""})).await;
    assert!(
        resp["errors"].is_null(),
        "an empty search is no search: {resp}"
    );
}
