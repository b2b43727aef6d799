//! Fuzz targets of the parser of incoming AMQP bodies (`koji_message::classify`): for
//! every routing key the watcher binds (and foreign ones), arbitrary bytes, arbitrary
//! JSON, valid Koji messages with fields removed, retyped or given extreme values, and
//! deeply nested JSON. Property: a verdict or a `MalformedMessage`, never a panic; a
//! verdict to act on carries exactly the body's fields.

use koschei_core::config::FedmsgConfig;
use koschei_watcher::koji_message::{binding_keys, classify, KojiEvent, Verdict};
use proptest::prelude::*;
use serde_json::{json, Map, Value as Json};

fn config() -> FedmsgConfig {
    FedmsgConfig::default()
}

/// Every bound routing key, plus a foreign and an unbound one.
fn routing_keys() -> Vec<String> {
    let config = config();
    let mut keys = binding_keys(&config);
    keys.push(format!("{}.build.state.change", config.topic));
    keys.push("org.example.other.tag".to_owned());
    keys.push(String::new());
    keys
}

fn arb_key() -> impl Strategy<Value = String> {
    prop::sample::select(routing_keys())
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "\\PC{0,10}".prop_map(Json::from),
        "[a-z\u{0}\n]{0,4}".prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// The field names Koji messages use, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "instance",
            "attribute",
            "id",
            "new",
            "old",
            "tag",
            "name",
            "repo_id",
            "method",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ]
}

/// A valid message body of the topic suffix `suffix`.
fn valid_body(suffix: &str) -> Json {
    match suffix {
        "task.state.change" => json!({"id": 123, "attribute": "state", "old": "OPEN",
            "new": "CLOSED", "instance": "primary", "method": "build", "owner": "u"}),
        "tag" | "untag" => json!({"tag": "f25", "tag_id": 1, "name": "rnv", "version": "1",
            "release": "1", "build_id": 5, "user": "u", "owner": "o", "instance": "primary"}),
        _ => json!({"tag": "f25-build", "tag_id": 2, "repo_id": 77, "instance": "primary"}),
    }
}

/// Checks the property on one delivery.
fn check(key: &str, body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(Verdict::Handle(event)) = classify(&config(), key, body) else {
        return Ok(());
    };
    let json: Map<String, Json> = serde_json::from_slice(body).expect("acted on valid JSON");
    prop_assert_eq!(json.get("instance"), Some(&json!("primary")));
    match event {
        KojiEvent::TaskState { task_id, .. } => {
            prop_assert!(key.ends_with(".task.state.change"));
            prop_assert_eq!(json.get("id"), Some(&json!(task_id)));
        }
        KojiEvent::Tagging {
            tag,
            package,
            untagged,
        } => {
            let suffix = if untagged { ".untag" } else { ".tag" };
            prop_assert!(key.ends_with(suffix));
            prop_assert_eq!(json.get("tag"), Some(&json!(tag)));
            prop_assert_eq!(json.get("name"), Some(&json!(package)));
        }
        KojiEvent::RepoDone { tag, repo_id } => {
            prop_assert!(key.ends_with(".repo.done"));
            prop_assert_eq!(json.get("tag"), Some(&json!(tag)));
            prop_assert_eq!(json.get("repo_id"), Some(&json!(repo_id)));
        }
    }
    Ok(())
}

/// Values a field of a valid message is replaced with.
fn arb_field_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
        Just(json!("")),
        Just(json!("a\u{0}b")),
        Just(json!("x".repeat(9000))),
        Just(json!([])),
        Just(json!({})),
        Just(json!("FREE")),
        Just(json!("closed")),
        arb_json(),
    ]
}

#[test]
fn deeply_nested_json_is_refused_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for key in routing_keys() {
                for n in [200, 100_000] {
                    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
                    let objects = format!("{}1{}", "{\"id\":".repeat(n), "}".repeat(n));
                    let inside =
                        format!("{{\"instance\":\"primary\",\"tag\":{arrays},\"name\":{objects}}}");
                    for body in [arrays, objects, inside] {
                        let verdict = classify(&config(), &key, body.as_bytes());
                        assert!(
                            !matches!(verdict, Ok(Verdict::Handle(_))),
                            "{key}: {verdict:?}"
                        );
                    }
                }
            }
        })
        .expect("spawn");
    handle.join().expect("no panic, no stack overflow");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(key in arb_key(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&key, &body)?;
    }

    #[test]
    fn arbitrary_json_never_panics(key in arb_key(), body in arb_json()) {
        check(&key, body.to_string().as_bytes())?;
    }

    #[test]
    fn mutated_koji_messages_never_panic(
        key in arb_key(),
        removed in prop::collection::vec(field_name(), 0..3),
        replaced in prop::collection::vec((field_name(), arb_field_value()), 0..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let suffix = key.rsplit_once("buildsys.").map_or("", |(_, s)| s);
        let Json::Object(mut body) = valid_body(suffix) else { unreachable!() };
        for name in &removed {
            body.remove(name);
        }
        for (name, value) in replaced {
            body.insert(name, value);
        }
        let mut bytes = Json::Object(body).to_string().into_bytes();
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check(&key, &bytes)?;
    }
}
