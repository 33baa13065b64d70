//! The EKS bearer token, built as `aws eks get-token` and aws-iam-authenticator build it:
//! `k8s-aws-v1.` and the unpadded base64url of an STS GetCallerIdentity URL presigned with
//! SigV4 (`X-Amz-Expires=60`, the `x-k8s-aws-id: <cluster>` header signed). EKS accepts it
//! for 15 minutes after signing; [`TokenSource`] signs a new one once the last is
//! [`REFRESH_AFTER`] old, on the request that finds it so (no timer), and adds it to every
//! request as a tower [`AsyncPredicate`]. Credentials are resolved again only when the last
//! ones would expire within a token's lifetime (an assumed role is not assumed per token).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use http::HeaderValue;
use tower::BoxError;

use super::EksError;

/// The prefix of every EKS token.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header naming the cluster, signed so a token is only good for its cluster.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the presigned URL, as `aws eks get-token` sets it.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
/// A token older than this is re-signed before it is sent (EKS accepts one for 15 min).
pub const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);
/// How long resolving credentials (instance metadata, SSO, AssumeRole) may take.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(15);
/// Credentials are reused while they outlive a token signed now by this much (a presigned
/// URL is only good while its credentials are).
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(16 * 60);

/// The token for `cluster` in `region`, signed with `credentials` at `time`.
pub fn presign(
    cluster: &str,
    region: &str,
    credentials: Credentials,
    time: SystemTime,
) -> Result<String, EksError> {
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = Identity::from(credentials);
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| EksError::Sign(e.to_string()))?
        .into();
    let headers = [(CLUSTER_HEADER, cluster)];
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| EksError::Sign(e.to_string()))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| EksError::Sign(e.to_string()))?
        .into_parts();
    let mut signed = url;
    for (name, value) in instructions.params() {
        signed.push('&');
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&uri_encode(value));
    }
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed);
    Ok(format!("{TOKEN_PREFIX}{encoded}"))
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (SigV4's rule).
fn uri_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Signs tokens for one cluster with the credentials of a provider, caching the last.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    cluster: String,
    region: String,
    credentials: SharedCredentialsProvider,
    refresh_after: Duration,
    cached: tokio::sync::Mutex<Option<(HeaderValue, Instant)>>,
    /// The credentials the last token was signed with.
    last_credentials: std::sync::Mutex<Option<Credentials>>,
    /// How many tokens were signed (for tests of the refresh).
    signed: AtomicUsize,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("cluster", &self.inner.cluster)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens for `cluster` in `region`, re-signed once [`REFRESH_AFTER`] old.
    pub fn new(cluster: &str, region: &str, credentials: SharedCredentialsProvider) -> Self {
        Self::with_refresh(cluster, region, credentials, REFRESH_AFTER)
    }

    fn with_refresh(
        cluster: &str,
        region: &str,
        credentials: SharedCredentialsProvider,
        refresh_after: Duration,
    ) -> Self {
        TokenSource {
            inner: Arc::new(Inner {
                cluster: cluster.to_owned(),
                region: region.to_owned(),
                credentials,
                refresh_after,
                cached: tokio::sync::Mutex::new(None),
                last_credentials: std::sync::Mutex::new(None),
                signed: AtomicUsize::new(0),
            }),
        }
    }

    /// The `Authorization` header: the cached token while younger than the refresh age,
    /// else a newly signed one.
    pub async fn header(&self) -> Result<HeaderValue, EksError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some((value, at)) = cached.as_ref()
            && at.elapsed() < self.inner.refresh_after
        {
            return Ok(value.clone());
        }
        let token = self.sign_now().await?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| EksError::Sign(e.to_string()))?;
        value.set_sensitive(true);
        *cached = Some((value.clone(), Instant::now()));
        Ok(value)
    }

    async fn sign_now(&self) -> Result<String, EksError> {
        let credentials = self.credentials().await?;
        let inner = &self.inner;
        inner.signed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(cluster = %inner.cluster, "signed a new EKS token");
        presign(
            &inner.cluster,
            &inner.region,
            credentials,
            SystemTime::now(),
        )
    }

    /// The last credentials while they outlive [`CREDENTIALS_MARGIN`], else the provider's.
    async fn credentials(&self) -> Result<Credentials, EksError> {
        let inner = &self.inner;
        let last = inner
            .last_credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let deadline = SystemTime::now() + CREDENTIALS_MARGIN;
        if let Some(c) = last.filter(|c| c.expiry().is_none_or(|e| e > deadline)) {
            return Ok(c);
        }
        let credentials =
            tokio::time::timeout(CREDENTIALS_TIMEOUT, inner.credentials.provide_credentials())
                .await
                .map_err(|_| EksError::CredentialsTimeout {
                    cluster: inner.cluster.clone(),
                    seconds: CREDENTIALS_TIMEOUT.as_secs(),
                })?
                .map_err(|source| EksError::Credentials {
                    cluster: inner.cluster.clone(),
                    source,
                })?;
        *inner
            .last_credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(credentials.clone());
        Ok(credentials)
    }

    /// How many tokens this source has signed.
    pub fn signed(&self) -> usize {
        self.inner.signed.load(Ordering::Relaxed)
    }
}

impl<B: Send + 'static> tower::filter::AsyncPredicate<http::Request<B>> for TokenSource {
    type Future = Pin<Box<dyn Future<Output = Result<http::Request<B>, BoxError>> + Send>>;
    type Request = http::Request<B>;

    fn check(&mut self, mut request: http::Request<B>) -> Self::Future {
        let source = self.clone();
        Box::pin(async move {
            let value = source.header().await?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
            Ok(request)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    /// The decoded URL of a token, and its query as pairs.
    fn decode(token: &str) -> (String, Vec<(String, String)>) {
        let b64 = token.strip_prefix(TOKEN_PREFIX).unwrap();
        assert!(
            !b64.contains(['=', '+', '/']),
            "base64url without padding: {b64}"
        );
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        let query = url.split_once('?').unwrap().1;
        let pairs = query
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        (url, pairs)
    }

    fn get<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn a_token_is_a_presigned_get_caller_identity_url() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_108_800);
        let token = presign("prod", "eu-west-1", creds(Some("tok+en/=")), time).unwrap();
        let (url, q) = decode(&token);
        assert!(
            url.starts_with("https://sts.eu-west-1.amazonaws.com/?"),
            "{url}"
        );
        assert_eq!(get(&q, "Action"), "GetCallerIdentity");
        assert_eq!(get(&q, "Version"), "2011-06-15");
        assert_eq!(get(&q, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(get(&q, "X-Amz-Expires"), "60");
        assert_eq!(get(&q, "X-Amz-SignedHeaders"), "host%3Bx-k8s-aws-id");
        assert_eq!(
            get(&q, "X-Amz-Credential"),
            "AKIDEXAMPLE%2F20251207%2Feu-west-1%2Fsts%2Faws4_request"
        );
        assert_eq!(get(&q, "X-Amz-Date"), "20251207T120000Z");
        assert_eq!(get(&q, "X-Amz-Security-Token"), "tok%2Ben%2F%3D");
        let sig = get(&q, "X-Amz-Signature");
        assert!(sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    /// The URLs botocore 1.43's `SigV4QueryAuth` (what `aws eks get-token` signs with) makes
    /// of the same request, credentials and time: an independent implementation agrees (the
    /// same parameters and signature; their order does not matter to STS).
    #[test]
    fn the_url_is_the_one_botocore_presigns() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_108_800);
        let botocore = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20251207%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20251207T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=tok%2Ben%2F%3D&X-Amz-Signature=d79ecaa0bdef58201123f795bb329ed8abf32ac6c76472f1a0e6a92d08567242";
        let ours = presign("prod", "eu-west-1", creds(Some("tok+en/=")), time).unwrap();
        let (url, mut params) = decode(&ours);
        let (_, mut expected) = decode(&format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(botocore)
        ));
        assert!(url.starts_with("https://sts.eu-west-1.amazonaws.com/?"));
        params.sort();
        expected.sort();
        assert_eq!(params, expected);
        let plain = presign("prod", "us-east-1", creds(None), time).unwrap();
        assert_eq!(
            get(&decode(&plain).1, "X-Amz-Signature"),
            "5b3e47ab086a0a33f3a14b54cf92f49969f656f07255f28c3aefc5e5a58ef6cd"
        );
    }

    #[test]
    fn the_signature_covers_the_cluster_and_the_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_108_800);
        let a = presign("prod", "us-east-1", creds(None), t).unwrap();
        assert_eq!(a, presign("prod", "us-east-1", creds(None), t).unwrap());
        let other_cluster = presign("staging", "us-east-1", creds(None), t).unwrap();
        let later = presign("prod", "us-east-1", creds(None), t + Duration::from_secs(1)).unwrap();
        let sig = |tok: &str| get(&decode(tok).1, "X-Amz-Signature").to_owned();
        assert_ne!(sig(&a), sig(&other_cluster));
        assert_ne!(sig(&a), sig(&later));
        assert!(!decode(&a).0.contains("X-Amz-Security-Token"));
    }

    fn source(refresh_after: Duration) -> TokenSource {
        let provider = SharedCredentialsProvider::new(creds(None));
        TokenSource::with_refresh("prod", "us-east-1", provider, refresh_after)
    }

    #[tokio::test]
    async fn a_token_is_reused_until_the_refresh_age() {
        let tokens = source(REFRESH_AFTER);
        let first = tokens.header().await.unwrap();
        assert!(first.to_str().unwrap().starts_with("Bearer k8s-aws-v1."));
        assert!(first.is_sensitive());
        assert_eq!(tokens.header().await.unwrap(), first);
        assert_eq!(tokens.signed(), 1);
    }

    #[tokio::test]
    async fn an_old_token_is_signed_again() {
        let tokens = source(Duration::ZERO);
        tokens.header().await.unwrap();
        tokens.header().await.unwrap();
        assert_eq!(tokens.signed(), 2);
    }

    /// Credentials expiring `expires_in` from now (never: `None`), counting resolutions.
    #[derive(Debug)]
    struct Counting {
        expires_in: Option<Duration>,
        calls: Arc<AtomicUsize>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let expiry = self.expires_in.map(|d| SystemTime::now() + d);
            let c = Credentials::new("AKIDEXAMPLE", "secret", None, expiry, "test");
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(c))
        }
    }

    #[tokio::test]
    async fn credentials_are_resolved_again_only_when_they_would_expire_too_soon() {
        for (expires_in, resolved) in [
            (None, 1),
            (Some(Duration::from_secs(3600)), 1),
            (Some(Duration::from_secs(5 * 60)), 3),
        ] {
            let calls = Arc::new(AtomicUsize::new(0));
            let provider = SharedCredentialsProvider::new(Counting {
                expires_in,
                calls: calls.clone(),
            });
            let tokens = TokenSource::with_refresh("prod", "us-east-1", provider, Duration::ZERO);
            for _ in 0..3 {
                tokens.header().await.unwrap();
            }
            assert_eq!(tokens.signed(), 3);
            assert_eq!(calls.load(Ordering::Relaxed), resolved, "{expires_in:?}");
        }
    }
}
