//! The XML-RPC codec: round trips, Koji's extensions, faults, multicall, and property
//! tests proving that malformed input yields errors rather than panics.

mod common;

use koschei_koji::multicall::{decode_results, encode_calls, encode_result, parse_calls, Call};
use koschei_koji::xmlrpc::{
    decode_args, encode_args, parse_call, parse_response, write_call, write_fault, write_response,
    DecodeError, Fault, FaultKind, MethodResponse, Struct, Value,
};
use koschei_koji::xstruct;
use proptest::prelude::*;

fn roundtrip(v: &Value) -> Value {
    match parse_response(write_response(v).as_bytes()).expect("parses") {
        MethodResponse::Success(v) => v,
        MethodResponse::Fault(f) => panic!("fault {f}"),
    }
}

#[test]
fn koji_extensions_round_trip() {
    let v = Value::Array(vec![
        Value::Int(1),
        Value::Int(-(1 << 31)),
        Value::Int(1 << 40),
        Value::Nil,
        Value::Bool(true),
        Value::Double(0.5),
        Value::DateTime("20240102T03:04:05".into()),
        Value::Base64(vec![0, 1, 2, 255]),
        Value::str("a < b & c > d\r\n"),
        Value::Struct(xstruct! {"x" => Value::Array(vec![]), "y" => Value::Struct(Struct::new())}),
    ]);
    assert_eq!(roundtrip(&v), v);
    let text = write_response(&Value::Int(1 << 40));
    assert!(text.contains("<i8>1099511627776</i8>"), "{text}");
    assert!(write_response(&Value::Nil).contains("<nil/>"));
}

#[test]
fn parses_every_spelling_koji_peers_use() {
    let doc = br#"<?xml version="1.0"?>
<methodResponse><params><param><value><array><data>
  <value>untyped</value>
  <value></value>
  <value><i4> 7 </i4></value>
  <value><ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">-9000000000</ex:i8></value>
  <value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value>
  <value><boolean>0</boolean></value>
  <value><string/></value>
  <value><string><![CDATA[<raw>]]></string></value>
  <value><base64>AAEC
  /w==</base64></value>
  <value><array><data/></array></value>
  <value><struct><member><value><int>1</int></value><name>late name</name></member></struct></value>
</data></array></value></param></params></methodResponse>"#;
    let MethodResponse::Success(Value::Array(items)) = parse_response(doc).unwrap() else {
        panic!("not an array")
    };
    assert_eq!(
        items,
        vec![
            Value::str("untyped"),
            Value::str(""),
            Value::Int(7),
            Value::Int(-9_000_000_000),
            Value::Nil,
            Value::Bool(false),
            Value::str(""),
            Value::str("<raw>"),
            Value::Base64(vec![0, 1, 2, 255]),
            Value::Array(vec![]),
            Value::Struct(xstruct! {"late name" => 1}),
        ]
    );
}

#[test]
fn faults_map_to_koji_classes() {
    let cases = [
        (1000, FaultKind::GenericError),
        (1001, FaultKind::LockError),
        (1002, FaultKind::AuthError),
        (1004, FaultKind::ActionNotAllowed),
        (1005, FaultKind::BuildError),
        (1014, FaultKind::ServerOffline),
        (1019, FaultKind::ParameterError),
        (1, FaultKind::Other),
    ];
    for (code, kind) in cases {
        let doc = write_fault(&Fault::new(code, "boom"));
        match parse_response(doc.as_bytes()).unwrap() {
            MethodResponse::Fault(f) => {
                assert_eq!(f.kind, kind);
                assert_eq!(f.code, code);
                assert_eq!(f.message, "boom");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(FaultKind::LockError.is_koji_error());
    assert!(!FaultKind::Other.is_koji_error());
    assert!(FaultKind::AuthExpired.is_auth_error());
    assert!(FaultKind::PreBuildError.is_build_error());
    assert_eq!(FaultKind::ServerOffline.class_name(), "ServerOffline");
}

#[test]
fn kwargs_travel_as_starstar_struct() {
    let params = encode_args(vec![Value::Int(5)], xstruct! {"request" => true});
    let doc = write_call("getTaskChildren", &params);
    let call = parse_call(doc.as_bytes()).unwrap();
    assert_eq!(call.name, "getTaskChildren");
    let (args, kwargs) = decode_args(call.params);
    assert_eq!(args, vec![Value::Int(5)]);
    assert_eq!(kwargs, xstruct! {"request" => true});
    // No kwargs → no trailing struct; a plain struct argument is not mistaken for kwargs.
    assert_eq!(encode_args(vec![], Struct::new()), vec![]);
    let plain = vec![Value::Struct(xstruct! {"scratch" => true})];
    assert_eq!(decode_args(plain.clone()), (plain, Struct::new()));
}

#[test]
fn recorded_koji_requests_parse() {
    let text = std::fs::read_to_string(common::fixture("get_srpm_arches.vcr.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let body = json["interactions"][0]["request"]["body"].as_str().unwrap();
    let call = parse_call(body.as_bytes()).unwrap();
    let (args, kwargs) = decode_args(call.params);
    assert!(args.is_empty());
    assert_eq!(kwargs["rpmID"].get("name"), Some(&Value::str("rnv")));
    assert_eq!(kwargs["headers"].as_array().map(<[Value]>::len), Some(3));
}

#[test]
fn multicall_keeps_per_call_errors_separate() {
    let calls = vec![
        Call::new("getTaskInfo", vec![Value::Int(1)]),
        Call::with_kwargs(
            "getTaskChildren",
            vec![Value::Int(1)],
            xstruct! {"request" => true},
        ),
    ];
    let parsed = parse_calls(&encode_calls(&calls)).unwrap();
    assert_eq!(parsed, calls);
    let response = Value::Array(vec![
        encode_result(Ok(Value::Struct(xstruct! {"id" => 1}))),
        encode_result(Err(Fault::generic("No such task"))),
    ]);
    let response = roundtrip(&response);
    let results = decode_results(response, 2).unwrap();
    assert_eq!(results[0], Ok(Value::Struct(xstruct! {"id" => 1})));
    assert_eq!(
        results[1].clone().unwrap_err().kind,
        FaultKind::GenericError
    );
    assert!(decode_results(Value::Array(vec![]), 1).is_err());
    assert!(decode_results(Value::Array(vec![Value::Int(3)]), 1).is_err());
}

#[test]
fn structural_errors_are_reported() {
    let bad: &[&[u8]] = &[
        b"",
        b"<methodResponse/>",
        b"<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><boolean>2</boolean></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><base64>***</base64></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><bogus>1</bogus></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><string>&unknown;</string></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse><x/>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><methodResponse/>",
        b"<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
        b"<methodResponse><params><param><value><int>1</i4></value></param></params></methodResponse>",
        b"<methodCall><params/></methodCall>",
    ];
    for doc in bad {
        assert!(
            parse_response(doc).is_err() || parse_call(doc).is_err(),
            "{}",
            String::from_utf8_lossy(doc)
        );
        assert!(
            parse_response(doc).is_err(),
            "{}",
            String::from_utf8_lossy(doc)
        );
    }
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 10_000;
    let mut doc = String::from("<methodResponse><params><param><value>");
    doc.push_str(&"<array><data><value>".repeat(depth));
    doc.push_str(&"</value></data></array>".repeat(depth));
    doc.push_str("</value></param></params></methodResponse>");
    assert_eq!(parse_response(doc.as_bytes()), Err(DecodeError::TooDeep));
}

fn arb_value() -> impl Strategy<Value = Value> {
    let text = "[\\PC\t\n\r]{0,12}";
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        text.prop_map(Value::String),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Value::Double),
        "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::DateTime),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Base64),
        Just(Value::Nil),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text, inner, 0..6).prop_map(Value::Struct),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_round_trips(v in arb_value()) {
        prop_assert_eq!(roundtrip(&v), v.clone());
        let call = parse_call(write_call("m.x", std::slice::from_ref(&v)).as_bytes()).unwrap();
        prop_assert_eq!(call.params, vec![v]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_response(&bytes);
        let _ = parse_call(&bytes);
    }

    #[test]
    fn corrupted_documents_never_panic(
        v in arb_value(),
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        truncate in any::<prop::sample::Index>(),
    ) {
        let mut doc = write_response(&v).into_bytes();
        for (at, byte) in cuts {
            let i = at.index(doc.len());
            doc[i] = byte;
        }
        let _ = parse_response(&doc);
        let _ = parse_call(&doc);
        let t = truncate.index(doc.len());
        let _ = parse_response(&doc[..t]);
    }

    #[test]
    fn xml_shaped_noise_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<value>"), Just("</value>"), Just("<struct>"), Just("</struct>"), Just("<member>"),
        Just("</member>"), Just("<name>"), Just("</name>"), Just("<array>"), Just("</array>"),
        Just("<data>"), Just("</data>"), Just("<int>"), Just("</int>"), Just("<nil/>"), Just("1"),
        Just("<params>"), Just("</params>"), Just("<param>"), Just("</param>"), Just("&amp;"),
        Just("<fault>"), Just("</fault>"), Just("<base64>"), Just("</base64>"), Just("<![CDATA[x]]>"),
    ], 0..40)) {
        let doc = format!("<methodResponse>{}</methodResponse>", parts.concat());
        let _ = parse_response(doc.as_bytes());
        let call = format!("<methodCall><methodName>x</methodName>{}</methodCall>", parts.concat());
        let _ = parse_call(call.as_bytes());
    }
}
