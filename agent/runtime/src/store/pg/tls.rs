//! TLS to PostgreSQL: rustls with the aws-lc-rs provider (no OpenSSL), chosen by libpq's
//! `sslmode` in the store's URL.
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | when the server offers it, else plain | not checked |
//! | `require` | always (refused without it) | not checked |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA, for the host connected to |
//!
//! Trusted CAs: the PEM file `sslrootcert=PATH` names, else the system's. The driver knows
//! only `disable`, `prefer` and `require`, so both parameters are taken out of the URL it
//! parses and applied here.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::config::SslMode;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// libpq's `sslmode`, all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode, String> {
        Ok(match value {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not known; use disable, prefer (the default), require, verify-ca or verify-full"
                ));
            }
        })
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }

    /// What the driver is told: it refuses plain text for every mode but `prefer`.
    pub(super) fn driver(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// Whether a connection without TLS is refused.
    pub(super) fn requires_tls(self) -> bool {
        !matches!(self, Mode::Disable | Mode::Prefer)
    }
}

/// The store's TLS settings, taken out of its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settings {
    pub mode: Mode,
    pub root_cert: Option<String>,
}

/// Whether every host of `hosts` (as [`crate::store::location::hosts`] gives them) is this
/// machine: a loopback address, `localhost`, or none (the local socket).
fn loopback_only(hosts: &str) -> bool {
    hosts.split(',').all(|h| {
        let h = h.trim();
        let name = match h.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => h.rsplit_once(':').map_or(h, |(name, _)| name),
        };
        name.is_empty()
            || name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// Splits `sslmode` and `sslrootcert` off `url`'s query: the URL the driver parses, and the
/// settings. `query_start`: where the query begins (its `?`), if there is one. Without an
/// `sslmode`, a server on this machine is `prefer` (libpq's default) and any other
/// `verify-full`: over a network, only a verified certificate keeps someone who can redirect
/// the connection from reading the password and rewriting approvals.
pub(super) fn split_url(
    url: &str,
    query_start: Option<usize>,
) -> Result<(String, Settings), String> {
    let local = loopback_only(crate::store::location::hosts(url));
    let mut settings = Settings {
        mode: if local {
            Mode::Prefer
        } else {
            Mode::VerifyFull
        },
        root_cert: None,
    };
    let Some(q) = query_start else {
        unambiguous(url)?;
        return Ok((url.to_owned(), settings));
    };
    let (base, query) = url.split_at(q);
    let mut kept = Vec::new();
    for kv in query[1..].split('&') {
        match kv.split_once('=') {
            Some(("sslmode", v)) => settings.mode = Mode::parse(v)?,
            Some(("sslrootcert", v)) => settings.root_cert = Some(v.to_owned()),
            _ if !kv.is_empty() => kept.push(kv),
            _ => {}
        }
    }
    let driver = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    unambiguous(&driver)?;
    Ok((driver, settings))
}

/// Refuses a URL whose TLS settings were not found where its query begins (an `@` in the
/// query made the user part end there): the driver would read them, and this store would
/// not, so `sslmode=require` could silently become `prefer`.
fn unambiguous(driver: &str) -> Result<(), String> {
    if driver.contains("sslmode=") || driver.contains("sslrootcert=") {
        return Err("cannot tell where the URL's password ends and its query begins, so its sslmode cannot be read: percent-encode every @ in the password and the query (%40)".into());
    }
    Ok(())
}

/// The connector for `settings`, or why it cannot be built (a CA file that cannot be read).
pub(super) fn connector(settings: &Settings) -> Result<MakeRustls, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match settings.mode {
        Mode::Disable | Mode::Prefer | Mode::Require => Arc::new(Unchecked(provider.clone())),
        Mode::VerifyCa | Mode::VerifyFull => {
            let roots = Arc::new(roots(settings.root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("cannot verify certificates: {e}"))?;
            if settings.mode == Mode::VerifyCa {
                Arc::new(AnyName(webpki))
            } else {
                webpki
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustls(Arc::new(config)))
}

/// The CAs to trust: those of `file` (PEM), else the system's.
fn roots(file: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = match file {
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect)
            .map_err(|e| format!("sslrootcert={path}: cannot read its PEM certificates: {e}"))?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        let from = file.map_or("the system".to_owned(), |p| format!("sslrootcert={p}"));
        return Err(format!(
            "no CA certificate found in {from}: name a PEM file of the server's CA with sslrootcert=PATH"
        ));
    }
    Ok(store)
}

/// `prefer` and `require`: encrypted, the certificate not checked (libpq's meaning; use
/// `verify-full` to check it). The handshake's signatures are still verified.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked, whatever host name the certificate is for.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Makes a TLS connector per connection, for the host connected to.
#[derive(Clone)]
pub(super) struct MakeRustls(Arc<ClientConfig>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: self.0.clone(),
            name: ServerName::try_from(domain.to_owned())?,
        })
    }
}

pub(super) struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

type Handshake<S> = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            let tls = connector.connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

/// A TLS connection (no channel binding: SCRAM authenticates without it).
pub(super) struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let url = "postgres://u:p@db/x?application_name=a&sslmode=verify-full&sslrootcert=/ca.pem";
        let (driver, s) = split_url(url, url.find('?')).unwrap();
        assert_eq!(driver, "postgres://u:p@db/x?application_name=a");
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some("/ca.pem"));
        let (driver, s) = split_url("postgres://127.0.0.1:5432/x", None).unwrap();
        assert_eq!(
            (driver.as_str(), s.mode),
            ("postgres://127.0.0.1:5432/x", Mode::Prefer)
        );
        let err = split_url("postgres://db/x?sslmode=on", Some(15)).unwrap_err();
        assert!(
            err.contains("sslmode=on") && err.contains("verify-full"),
            "{err}"
        );
    }

    #[test]
    fn without_sslmode_a_server_elsewhere_must_prove_who_it_is() {
        let mode = |url: &str| split_url(url, url.find('?')).map(|(_, s)| s.mode);
        for local in [
            "postgres://u:p@127.0.0.1:5432/test",
            "postgres://localhost/x",
            "postgresql://[::1]:5432/x",
            "postgres:///x",
            "postgres://u@127.0.0.1,localhost:5433/x?application_name=a",
        ] {
            assert_eq!(mode(local), Ok(Mode::Prefer), "{local}");
        }
        for remote in [
            "postgres://sopilot@db.internal/sopilot",
            "postgres://u:p@10.0.0.5:5432/x",
            "postgres://u@127.0.0.1,db.internal/x",
            "postgres://u:p@localhost.evil.example/x",
        ] {
            assert_eq!(mode(remote), Ok(Mode::VerifyFull), "{remote}");
        }
        assert_eq!(
            mode("postgres://u@db.internal/x?sslmode=require"),
            Ok(Mode::Require)
        );
    }

    #[test]
    fn an_at_in_the_query_cannot_hide_sslmode() {
        let url = "postgres://u:pw@db/x?sslmode=require&application_name=ops@corp";
        let err = split_url(url, crate::store::location::query_start(url)).unwrap_err();
        assert!(err.contains("percent-encode"), "{err}");
        let ok = "postgres://u:pw@db/x?sslmode=require&application_name=ops%40corp";
        let (_, s) = split_url(ok, crate::store::location::query_start(ok)).unwrap();
        assert_eq!(s.mode, Mode::Require);
    }

    #[test]
    fn a_ca_file_that_cannot_be_read_is_named() {
        let settings = Settings {
            mode: Mode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let err = connector(&settings).err().unwrap();
        assert!(err.contains("sslrootcert=/nonexistent/ca.pem"), "{err}");
    }
}
