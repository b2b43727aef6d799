//! `amqps://` with a client certificate: the PEM certificate, PKCS#8 key
//! and CA are accepted by the TLS stack and a failed handshake is an
//! error (retried by the loops), never a panic. The private broker has no
//! TLS listener, so the handshake is attempted against its plain port.

mod common;

use std::process::Command;
use std::time::Duration;

use koschei_core::config::FedmsgConfig;
use koschei_watcher::broker::{Broker, BrokerError};

#[tokio::test]
async fn a_client_certificate_is_loaded_and_a_failed_handshake_is_an_error() {
    let url = common::amqp_url();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=koschei"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(status.status.success(), "{status:?}");
    let amqps = url.replacen("amqp://", "amqps://", 1);
    let config = FedmsgConfig {
        amqp_url: Some(amqps),
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        tls_ca: Some(cert),
        ..FedmsgConfig::default()
    };
    let broker = Broker::from_config(&config).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), broker.connect("tls-test"))
        .await
        .expect("the handshake fails quickly");
    let Err(BrokerError::Amqp(error)) = result else {
        panic!("a plain AMQP port cannot complete a TLS handshake");
    };
    eprintln!("handshake error: {error}");
}
