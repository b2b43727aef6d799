//! Fuzz targets of the XML-RPC decoder beyond `codec.rs`'s byte noise: nesting at and
//! beyond the depth limit in every position a value can take (on a small stack), huge
//! scalars, valid documents with tags inserted or segments duplicated, and the decoded
//! values fed on to multicall splitting and the typed Koji models. Property: an error or a
//! value, never a panic, and an error message of bounded size.

use koschei_koji::model::{BuildInfo, RepoInfo, RpmInfo, TagInfo, TaskInfo};
use koschei_koji::multicall::{decode_results, parse_calls};
use koschei_koji::xmlrpc::{
    parse_call, parse_response, write_call, write_response, DecodeError, MethodResponse, Struct,
    Value, MAX_DEPTH,
};
use proptest::prelude::*;

/// Stack of the threads decoding nested input: half of the 2 MiB of a tokio worker thread
/// (where the client decodes), so that the depth limit is proven to fit with a margin even
/// in a debug build (it needs between 512 KiB and 1 MiB there).
const SMALL_STACK: usize = 1024 * 1024;

/// Runs `f` on a thread with [`SMALL_STACK`]; a stack overflow aborts the test binary.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic")
}

/// `<value>` nested `depth` containers deep, alternating arrays and structs by `pattern`.
fn nested_value(depth: usize, pattern: u64) -> String {
    let mut open = String::new();
    let mut close = Vec::with_capacity(depth);
    for i in 0..depth {
        if pattern >> (i % 64) & 1 == 0 {
            open.push_str("<value><array><data>");
            close.push("</data></array></value>");
        } else {
            open.push_str("<value><struct><member><name>m</name>");
            close.push("</member></struct></value>");
        }
    }
    close.reverse();
    format!("{open}<value><int>1</int></value>{}", close.concat())
}

/// The documents a nested value can appear in: response, fault, call.
fn documents(value: &str) -> [(String, bool); 3] {
    [
        (
            format!("<methodResponse><params><param>{value}</param></params></methodResponse>"),
            false,
        ),
        (
            format!("<methodResponse><fault>{value}</fault></methodResponse>"),
            false,
        ),
        (
            format!(
                "<methodCall><methodName>m</methodName><params><param>{value}</param></params></methodCall>"
            ),
            true,
        ),
    ]
}

fn decode(doc: &str, call: bool) -> Result<(), DecodeError> {
    if call {
        parse_call(doc.as_bytes()).map(drop)
    } else {
        parse_response(doc.as_bytes()).map(drop)
    }
}

#[test]
fn nesting_up_to_the_limit_decodes_and_beyond_is_too_deep() {
    on_small_stack(|| {
        for pattern in [0, u64::MAX, 0x5555_5555_5555_5555, 0x0f0f_1234_abcd_9876] {
            for (doc, call) in documents(&nested_value(MAX_DEPTH, pattern)) {
                let result = decode(&doc, call);
                assert!(
                    !matches!(result, Err(DecodeError::TooDeep)),
                    "depth {MAX_DEPTH} refused: {result:?}"
                );
            }
            for depth in [MAX_DEPTH + 1, MAX_DEPTH + 7, 50_000] {
                for (doc, call) in documents(&nested_value(depth, pattern)) {
                    assert_eq!(
                        decode(&doc, call),
                        Err(DecodeError::TooDeep),
                        "depth {depth}"
                    );
                }
            }
        }
    });
}

#[test]
fn deep_unclosed_and_foreign_nesting_is_an_error() {
    on_small_stack(|| {
        let n = 200_000;
        let docs = [
            // containers that never close
            format!(
                "<methodResponse><params><param>{}",
                "<value><array><data>".repeat(n)
            ),
            // values directly inside values
            format!("<methodResponse><params><param>{}", "<value>".repeat(n)),
            // foreign elements, deeply nested and well closed
            format!(
                "<methodResponse>{}{}</methodResponse>",
                "<x>".repeat(n),
                "</x>".repeat(n)
            ),
            // a struct member whose value is a deep chain of members
            format!(
                "<methodResponse><params><param><value>{}",
                "<struct><member><name>a</name><value>".repeat(n)
            ),
        ];
        for doc in docs {
            assert!(parse_response(doc.as_bytes()).is_err());
        }
    });
}

#[test]
fn huge_scalars_give_short_errors() {
    let digits = "9".repeat(1 << 20);
    let junk = "x".repeat(1 << 20);
    let docs = [
        format!("<int>{digits}</int>"),
        format!("<i8>-{digits}</i8>"),
        format!("<double>{junk}</double>"),
        format!("<base64>{junk}!</base64>"),
        format!("<boolean>{junk}</boolean>"),
        format!("<{junk}>1</{junk}>"),
    ];
    for value in docs {
        let doc = format!(
            "<methodResponse><params><param><value>{value}</value></param></params></methodResponse>"
        );
        let err = parse_response(doc.as_bytes()).expect_err("refused");
        assert!(
            err.to_string().len() < 200,
            "error of {} bytes",
            err.to_string().len()
        );
    }
    // the billion laughs: entities are refused, not expanded
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><methodResponse><params><param><value>&c;&c;&c;</value></param></params></methodResponse>"#;
    assert!(parse_response(laughs.as_bytes()).is_err());
    let undeclared =
        "<methodResponse><params><param><value>&c;</value></param></params></methodResponse>";
    assert!(parse_response(undeclared.as_bytes()).is_err());
}

fn arb_value() -> impl Strategy<Value = Value> {
    let text = "[a-z<>&\"' ]{0,6}";
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        text.prop_map(Value::String),
        Just(Value::Nil),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Base64),
        "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::DateTime),
    ];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("state".to_owned()),
                    Just("name".to_owned()),
                    Just("faultCode".to_owned()),
                    Just("faultString".to_owned()),
                    Just("methodName".to_owned()),
                    Just("params".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Struct(m.into_iter().collect::<Struct>())),
        ]
    })
}

/// Markup spliced into valid documents.
const TAGS: [&str; 18] = [
    "<value>",
    "</value>",
    "<struct>",
    "</struct>",
    "<array><data>",
    "</data></array>",
    "<member><name>n</name>",
    "</member>",
    "<int>",
    "</int>",
    "<nil/>",
    "<fault>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "&#0;",
    "&#x110000;",
    "<?pi x?>",
];

/// Everything a decoded value goes through in the client: multicall splitting and the
/// typed models.
fn consume(value: Value) {
    let _ = decode_results(value.clone(), 1);
    let _ = parse_calls(&value);
    let _ = value.clone().deserialize::<TaskInfo>();
    let _ = value.clone().deserialize::<BuildInfo>();
    let _ = value.clone().deserialize::<RpmInfo>();
    let _ = value.clone().deserialize::<TagInfo>();
    let _ = value.clone().deserialize::<RepoInfo>();
    let _ = value.clone().deserialize::<Vec<TaskInfo>>();
    let _ = value.into_json();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn valid_documents_with_spliced_markup_never_panic(
        v in arb_value(),
        splices in proptest::collection::vec((any::<prop::sample::Index>(), 0..TAGS.len()), 1..5),
        dup in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
    ) {
        let mut doc = write_response(&v).into_bytes();
        for (at, tag) in &splices {
            let i = at.index(doc.len() + 1);
            doc.splice(i..i, TAGS[*tag].bytes());
        }
        // duplicate a segment (repeated members, doubled closing tags…)
        let (a, b) = (dup.0.index(doc.len() + 1), dup.1.index(doc.len() + 1));
        let (a, b) = (a.min(b), a.max(b));
        let segment = doc[a..b].to_vec();
        doc.splice(b..b, segment);
        match parse_response(&doc) {
            Ok(MethodResponse::Success(v)) => consume(v),
            Ok(MethodResponse::Fault(_)) => {}
            Err(e) => prop_assert!(e.to_string().len() < 400),
        }
        let call = write_call("m", std::slice::from_ref(&v));
        let mut call = call.into_bytes();
        for (at, tag) in &splices {
            let i = at.index(call.len() + 1);
            call.splice(i..i, TAGS[*tag].bytes());
        }
        if let Ok(c) = parse_call(&call) {
            c.params.into_iter().for_each(consume);
        }
    }

    #[test]
    fn any_decoded_value_feeds_the_client_without_panicking(v in arb_value()) {
        consume(v);
    }
}
