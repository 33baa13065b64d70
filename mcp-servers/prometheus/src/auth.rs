//! How requests to Prometheus are authenticated: none, a bearer token, basic auth, or SigV4
//! for Amazon Managed Prometheus (service `aps`, the AWS SDK's signer and the standard
//! credential chain, credentials cached until shortly before they expire).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use tokio::sync::Mutex;

use crate::error::{ToolFailure, ToolResult};

/// The SigV4 service name of Amazon Managed Prometheus.
pub const APS: &str = "aps";
/// How long resolving AWS credentials may take.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);
/// Credentials this close to their expiry are fetched again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// The authentication of every request.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Basic { username: String, password: String },
    SigV4(Arc<SigV4>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token or password.
        f.write_str(self.mode())
    }
}

impl Auth {
    /// The mode's name, for messages.
    pub fn mode(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Bearer(_) => "bearer",
            Auth::Basic { .. } => "basic",
            Auth::SigV4(_) => "sigv4",
        }
    }

    /// What to check when the server refuses the credentials.
    pub fn fix(&self) -> &'static str {
        match self {
            Auth::None => {
                "The server asks for authentication: give mcp-prometheus a bearer token in PROMETHEUS_BEARER_TOKEN, or a user in PROMETHEUS_USERNAME with PROMETHEUS_PASSWORD"
            }
            Auth::Bearer(_) => {
                "The bearer token in PROMETHEUS_BEARER_TOKEN is refused; give a valid one"
            }
            Auth::Basic { .. } => {
                "The user in PROMETHEUS_USERNAME / PROMETHEUS_PASSWORD is refused; give a valid one"
            }
            Auth::SigV4(_) => {
                "The AWS identity needs aps:QueryMetrics, aps:GetLabels, aps:GetSeries, aps:GetMetricMetadata, aps:ListRules and aps:ListAlerts on the workspace, and PROMETHEUS_REGION must be the workspace's region"
            }
        }
    }

    /// Adds the headers this mode needs to a request about to be sent.
    pub async fn apply(&self, req: &mut reqwest::Request) -> ToolResult<()> {
        let headers = match self {
            Auth::None => return Ok(()),
            Auth::Bearer(token) => vec![("authorization".to_owned(), format!("Bearer {token}"))],
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{password}");
                vec![(
                    "authorization".to_owned(),
                    format!("Basic {}", base64(raw.as_bytes())),
                )]
            }
            Auth::SigV4(s) => s.headers(req).await?,
        };
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ToolFailure::Signing(format!("header {name}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|e| ToolFailure::Signing(format!("a header value: {e}")))?;
            req.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// SigV4 signing with cached credentials.
pub struct SigV4 {
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl SigV4 {
    pub fn new(region: String, provider: SharedCredentialsProvider) -> Self {
        SigV4 {
            region,
            provider,
            cached: Mutex::new(None),
        }
    }

    /// Credentials from the cache, or from the chain when absent or about to expire.
    async fn credentials(&self) -> ToolResult<Credentials> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = tokio::time::timeout(CREDENTIALS_TIMEOUT, self.provider.provide_credentials())
            .await
            .map_err(|_| {
                ToolFailure::Signing(format!(
                    "the credential chain did not answer within {} s",
                    CREDENTIALS_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| ToolFailure::Signing(error_chain(&e)))?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// The SigV4 headers (authorization, x-amz-date, x-amz-content-sha256, and the session
    /// token when there is one) for `req`, signed over its method, URL, host and body.
    async fn headers(&self, req: &reqwest::Request) -> ToolResult<Vec<(String, String)>> {
        let identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(APS)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| ToolFailure::Signing(e.to_string()))?
            .into();
        let body = req.body().and_then(reqwest::Body::as_bytes).unwrap_or(&[]);
        let headers: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            req.url().as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| ToolFailure::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| ToolFailure::Signing(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }
}

/// The region of an Amazon Managed Prometheus URL
/// (`https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-...`).
pub fn amp_region(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = host.strip_prefix("aps-workspaces.")?;
    let (region, domain) = rest.split_once('.')?;
    domain.starts_with("amazonaws.").then(|| region.to_owned())
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// Standard base64 with padding (basic auth's encoding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[idx as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("admin:s3cr3t", "YWRtaW46czNjcjN0"),
        ] {
            assert_eq!(base64(raw.as_bytes()), encoded, "{raw}");
        }
    }

    #[test]
    fn amp_urls_carry_their_region() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(
            amp_region(&url(
                "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1"
            )),
            Some("eu-west-1".into())
        );
        assert_eq!(amp_region(&url("http://prometheus:9090")), None);
        assert_eq!(
            amp_region(&url("https://aps-workspaces.evil.example.com/")),
            None
        );
    }

    /// Every result is redacted on its way out: advice must not look like a credential.
    #[test]
    fn advice_survives_redaction() {
        let modes = [
            Auth::None,
            Auth::Bearer("t".into()),
            Auth::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        ];
        for a in modes {
            assert_eq!(sopilot_mcp_common::redact(a.fix()), a.fix(), "{a:?}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = Auth::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert_eq!(format!("{a:?}"), "basic");
        assert_eq!(format!("{:?}", Auth::Bearer("tok".into())), "bearer");
    }
}
