//! TLS as AWS endpoints speak it, in front of the proxy: every AWS endpoint is HTTPS, so a
//! function's first call to each one pays a TLS handshake (and its SDK's certificate
//! verification), which a plain-HTTP emulator never shows.
//!
//! [`TlsFront::start`] makes a certificate authority for the run (a new key each run, never kept
//! beyond the run's directory), signs a server certificate for `127.0.0.1` and `localhost` with
//! it, and terminates TLS on a loopback port: each accepted connection is handshaken (rustls,
//! TLS 1.3 or 1.2) and then piped, byte for byte, to one connection of its own to the upstream
//! (the proxy). A connection stays open as long as the client keeps it (AWS endpoints keep
//! idle connections for tens of seconds; the proxy keeps its side alive), so a warm function
//! reuses its connections and pays one handshake per connection.
//!
//! The CA is trusted through environment only ([`TlsFront::trust_environment`]), no change to
//! a worker: `SSL_CERT_FILE` for the Rust SDK's default HTTPS client (rustls with
//! `rustls-native-certs`, which reads that file instead of the system's store), `AWS_CA_BUNDLE`
//! for botocore (instead of certifi's bundle), `NODE_EXTRA_CA_CERTS` for Node.js (added to its
//! compiled-in roots). The bundle is the system's bundle with the run's CA appended, so a
//! client that reads it parses as many roots as it would on Lambda (whose images ship the
//! usual public roots), not one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The system's bundle of public roots the run's CA is appended to (Debian's `ca-certificates`;
/// Lambda's Amazon Linux images have the same roots at /etc/pki/tls/certs/ca-bundle.crt).
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, thiserror::Error)]
pub enum TlsFrontError {
    #[error("generating the run's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS server configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("listening on loopback: {0}")]
    Listen(std::io::Error),
    #[error("upstream {0} is not http://host:port")]
    Upstream(String),
}

/// The TLS front, serving on a free loopback port until dropped.
pub struct TlsFront {
    address: SocketAddr,
    bundle: PathBuf,
    ca_only: PathBuf,
    handshakes: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TlsFront {
    /// Terminate TLS on 127.0.0.1 (free port) and pipe each connection to `upstream`
    /// (`http://127.0.0.1:<port>`, the proxy). The CA bundle is written into `directory`.
    pub async fn start(upstream: &str, directory: &Path) -> Result<Self, TlsFrontError> {
        let upstream_address = upstream
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/').to_owned())
            .filter(|rest| rest.contains(':'))
            .ok_or_else(|| TlsFrontError::Upstream(upstream.to_owned()))?;
        let (ca_pem, chain, key) = certificates()?;
        let bundle = directory.join("emulation-ca-bundle.pem");
        let system = std::fs::read_to_string(SYSTEM_BUNDLE).unwrap_or_default();
        let file_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| TlsFrontError::File { path, source }
        };
        std::fs::create_dir_all(directory).map_err(file_error(directory))?;
        std::fs::write(&bundle, format!("{system}\n{ca_pem}")).map_err(file_error(&bundle))?;
        let ca_only = directory.join("emulation-ca.pem");
        std::fs::write(&ca_only, &ca_pem).map_err(file_error(&ca_only))?;
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(chain, key)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(TlsFrontError::Listen)?;
        let address = listener.local_addr().map_err(TlsFrontError::Listen)?;
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = handshakes.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, upstream, counted) = (acceptor.clone(), upstream_address.clone(), counted.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    counted.fetch_add(1, Ordering::Relaxed);
                    let Ok(mut plain) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = plain.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            address,
            bundle,
            ca_only,
            handshakes,
            server,
        })
    }

    /// `AWS_ENDPOINT_URL` for processes whose calls go through the front.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }

    /// The PEM bundle (system roots + the run's CA) clients are told to trust.
    pub fn ca_bundle(&self) -> &Path {
        &self.bundle
    }

    /// The run's CA alone (PEM): what a client with one compiled-in root would parse.
    pub fn ca_only(&self) -> &Path {
        &self.ca_only
    }

    /// TLS handshakes completed since the last call.
    pub fn take_handshakes(&self) -> usize {
        self.handshakes.swap(0, Ordering::Relaxed)
    }

    /// What a function process is given to trust the front: one variable per SDK's way.
    pub fn trust_environment(&self) -> Vec<(String, String)> {
        let bundle = self.bundle.display().to_string();
        ["SSL_CERT_FILE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"]
            .into_iter()
            .map(|name| (name.to_owned(), bundle.clone()))
            .collect()
    }
}

/// The run's CA (PEM), the server's chain (leaf, CA) and the leaf's key. RSA 2048 keys, as AWS
/// endpoints' certificates have (Amazon RSA 2048 CAs): a client verifies what it would there.
fn certificates() -> Result<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsFrontError> {
    let mut ca = CertificateParams::new(Vec::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ticketing-waiting-room emulation CA (one run)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((ca_cert.pem(), vec![leaf_cert.der().clone(), ca_cert.der().clone()], key))
}
