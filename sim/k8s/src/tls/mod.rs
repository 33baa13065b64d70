//! HTTPS for the simulated API: kubectl sends a bearer token only over TLS (client-go drops
//! credentials on plain HTTP), so ServiceAccount tokens need it. The certificate is a fixed,
//! checked-in test certificate for 127.0.0.1, ::1 and localhost, signed by a fixed test CA
//! ([`CA_PEM`]) that the kubeconfig trusts: it protects nothing and must never be trusted
//! elsewhere.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// The test CA that signed the simulator's certificate (for the kubeconfig).
pub const CA_PEM: &str = include_str!("ca.pem");
const CERT_PEM: &str = include_str!("server.pem");
const KEY_PEM: &str = include_str!("server-key.pem");

/// How long a client may take over its TLS handshake before it is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The TLS acceptor for the fixed certificate.
pub fn acceptor() -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT_PEM.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the simulator's test certificate does not parse: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes())
        .map_err(|e| format!("the simulator's test key does not parse: {e}"))?;
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS configuration: {e}"))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("TLS configuration: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            match tokio::time::timeout(HANDSHAKE, self.acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(error)) => tracing::debug!(%error, %addr, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
