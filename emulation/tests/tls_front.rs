//! The TLS front: a client that trusts only the bundle it writes completes a handshake with
//! it and reaches the upstream through it, byte for byte, on one kept-alive connection; a
//! client that does not trust the run's CA is refused.

use std::sync::Arc;

use emulation::tls::TlsFront;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

/// An upstream that answers every line with "echo: <line>".
async fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                loop {
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    let mut answer = b"echo: ".to_vec();
                    answer.extend_from_slice(&buffer[..n]);
                    stream.write_all(&answer).await.unwrap();
                }
            });
        }
    });
    format!("http://{address}")
}

fn connector(roots: rustls::RootCertStore) -> TlsConnector {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn a_client_trusting_the_bundle_reaches_the_upstream_through_one_connection() {
    let directory = std::env::temp_dir().join(format!("tls-front-test-{}", std::process::id()));
    let front = TlsFront::start(&echo_upstream().await, &directory).await.unwrap();
    let endpoint = front.endpoint();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    assert_eq!(
        front
            .trust_environment()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        ["SSL_CERT_FILE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"]
    );

    let mut roots = rustls::RootCertStore::empty();
    let certificates: Vec<CertificateDer> = CertificateDer::pem_file_iter(front.ca_bundle())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!certificates.is_empty());
    let (added, _) = roots.add_parsable_certificates(certificates);
    assert!(added >= 1);

    let address = endpoint.trim_start_matches("https://").to_owned();
    let stream = TcpStream::connect(&address).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector(roots).connect(name, stream).await.unwrap();
    for line in ["first\n", "second\n"] {
        tls.write_all(line.as_bytes()).await.unwrap();
        let mut buffer = [0u8; 64];
        let n = tls.read(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..n], format!("echo: {line}").as_bytes());
    }
    assert_eq!(front.take_handshakes(), 1, "both exchanges on one connection");
    let _ = std::fs::remove_dir_all(directory);
}

#[tokio::test]
async fn a_client_without_the_runs_ca_is_refused() {
    let directory = std::env::temp_dir().join(format!("tls-front-refused-{}", std::process::id()));
    let front = TlsFront::start(&echo_upstream().await, &directory).await.unwrap();
    let address = front.endpoint().trim_start_matches("https://").to_owned();
    let stream = TcpStream::connect(&address).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let refused = connector(rustls::RootCertStore::empty()).connect(name, stream).await;
    assert!(refused.is_err());
    assert_eq!(front.take_handshakes(), 0);
    let _ = std::fs::remove_dir_all(directory);
}
