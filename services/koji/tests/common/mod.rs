//! Access to the project's shared test data (`$KOSCHEI_SHARED` or `<workspace>/../shared`).

#![allow(dead_code)]

use std::path::PathBuf;

use koschei_koji::xmlrpc::{parse_response, MethodResponse, Value};

/// The shared data directory.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("KOSCHEI_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// A file of the recorded Koschei test data.
pub fn fixture(name: &str) -> PathBuf {
    let path = shared_dir().join("fixtures/koschei/data").join(name);
    assert!(
        path.exists(),
        "missing shared fixture {} (set KOSCHEI_SHARED)",
        path.display()
    );
    path
}

/// The decoded responses of a `*.vcr.json` HTTP recording, keyed by method name.
pub fn vcr_responses(name: &str) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(fixture(name)).expect("read vcr");
    let json: serde_json::Value = serde_json::from_str(&text).expect("vcr json");
    json["interactions"]
        .as_array()
        .expect("interactions")
        .iter()
        .map(|i| {
            let request = i["request"]["body"].as_str().expect("request body");
            let call = koschei_koji::xmlrpc::parse_call(request.as_bytes())
                .expect("recorded request parses");
            let body = i["response"]["body"]["string"]
                .as_str()
                .expect("response body");
            match parse_response(body.as_bytes()).expect("recorded response parses") {
                MethodResponse::Success(v) => (call.name, v),
                MethodResponse::Fault(f) => panic!("recorded fault {f}"),
            }
        })
        .collect()
}

/// One recorded call of a YAML cassette.
#[derive(Debug, serde::Deserialize)]
pub struct CassetteCall {
    pub method: String,
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    #[serde(default)]
    pub kwargs: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub result: serde_json::Value,
    #[serde(default)]
    pub exception: Option<serde_json::Value>,
}

/// The calls of a YAML cassette.
pub fn cassette(name: &str) -> Vec<CassetteCall> {
    let text = std::fs::read_to_string(fixture(name)).expect("read cassette");
    serde_yaml::from_str(&text).expect("cassette yaml")
}
