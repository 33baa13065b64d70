//! EKS authentication: once [`KubeState::require_eks_token`] names a cluster, the API
//! accepts what `aws eks get-token` (and aws-iam-authenticator) send: `k8s-aws-v1.` and the
//! base64url (unpadded) of an STS GetCallerIdentity URL presigned with SigV4, `X-Amz-Expires`
//! set and the `x-k8s-aws-id` header signed, dated within the last 15 minutes. The check is
//! structural: EKS would call STS with the URL to learn the caller, and this crate does not
//! depend on the simulated AWS, so the signature itself is not verified. Such a token is the
//! cluster admin (as an access entry with the cluster-admin policy).

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::k8s::state::KubeState;

/// The prefix of an EKS bearer token.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// How long EKS accepts a token after the URL was signed.
const TOKEN_LIFETIME_SECS: i64 = 15 * 60;

impl KubeState {
    /// Makes this API an EKS cluster named `cluster`: from now on a request needs an EKS
    /// bearer token (or a ServiceAccount token the TokenRequest API issued); no token and
    /// the simulator's own kubeconfig token are 401.
    pub fn require_eks_token(&self, cluster: &str) {
        *self.tokens().eks_cluster() = Some(cluster.to_owned());
    }

    /// The EKS cluster name [`KubeState::require_eks_token`] set, if any.
    pub fn eks_cluster(&self) -> Option<String> {
        self.tokens().eks_cluster().clone()
    }
}

/// Why an EKS token is refused (logged at debug; the client sees the API server's 401).
pub(crate) fn check_token(token: &str, now: DateTime<Utc>) -> Result<(), String> {
    let encoded = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or("not an EKS token (no k8s-aws-v1. prefix)")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| format!("not unpadded base64url: {e}"))?;
    let url = String::from_utf8(bytes).map_err(|_| "the URL is not UTF-8".to_owned())?;
    let (base, query) = url.split_once('?').ok_or("the URL has no query")?;
    let host = base
        .strip_prefix("https://")
        .map(|rest| rest.trim_end_matches('/'))
        .ok_or("not an https URL")?;
    if !(host.starts_with("sts.") && host.ends_with(".amazonaws.com")) {
        return Err(format!("{host} is not an STS endpoint"));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or(format!("the URL has no {name}"))
    };
    if param("Action")? != "GetCallerIdentity" || param("Version")? != "2011-06-15" {
        return Err("not a GetCallerIdentity URL".into());
    }
    if param("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err("not signed with SigV4".into());
    }
    param("X-Amz-Credential")?;
    let expires: i64 = param("X-Amz-Expires")?
        .parse()
        .map_err(|_| "X-Amz-Expires is not a number".to_owned())?;
    if !(1..=TOKEN_LIFETIME_SECS).contains(&expires) {
        return Err(format!("X-Amz-Expires={expires} is out of range"));
    }
    if !param("X-Amz-SignedHeaders")?
        .split(';')
        .any(|h| h == "x-k8s-aws-id")
    {
        return Err("x-k8s-aws-id is not a signed header".into());
    }
    let signature = param("X-Amz-Signature")?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("X-Amz-Signature is not a SigV4 signature".into());
    }
    let signed_at = NaiveDateTime::parse_from_str(param("X-Amz-Date")?, "%Y%m%dT%H%M%SZ")
        .map_err(|_| "X-Amz-Date is not a SigV4 date".to_owned())?
        .and_utc();
    let age = (now - signed_at).num_seconds();
    if !(-300..=TOKEN_LIFETIME_SECS).contains(&age) {
        return Err(format!("the token was signed {age} s ago: expired"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_of(url: &str) -> String {
        format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    fn url(date: &str, signed: &str) -> String {
        format!(
            "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261207%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires=60&X-Amz-SignedHeaders={signed}&X-Amz-Signature={}",
            "a".repeat(64)
        )
    }

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
    }

    #[test]
    fn a_fresh_presigned_url_is_accepted() {
        let t = token_of(&url("20261207T120000Z", "host%3Bx-k8s-aws-id"));
        assert_eq!(check_token(&t, at("20261207T121000Z")), Ok(()));
    }

    fn headers(token: Option<&str>) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        if let Some(t) = token {
            h.insert(
                axum::http::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn an_eks_cluster_wants_an_eks_token_and_nothing_else() {
        use crate::k8s::rbac::{ADMIN_TOKEN, Identity, authenticate};
        let state = KubeState::new(
            &crate::KubernetesScenario::default(),
            1,
            crate::Limits::default(),
        )
        .unwrap();
        let now = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let good = token_of(&url(&now, "host%3Bx-k8s-aws-id"));
        let unsigned = token_of(&url(&now, "host"));
        // Before: the simulator's usual admission.
        assert_eq!(authenticate(&state, &headers(None)), Ok(Identity::Admin));
        assert_eq!(state.eks_cluster(), None);
        state.require_eks_token("prod");
        assert_eq!(state.eks_cluster().as_deref(), Some("prod"));
        assert_eq!(
            authenticate(&state, &headers(Some(&good))),
            Ok(Identity::Admin)
        );
        for refused in [
            None,
            Some(ADMIN_TOKEN),
            Some(unsigned.as_str()),
            Some("k8s-aws-v1."),
        ] {
            let status = authenticate(&state, &headers(refused)).unwrap_err();
            assert_eq!(status, super::super::unauthorized(), "{refused:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let now = at("20261207T121000Z");
        let good = url("20261207T120000Z", "host%3Bx-k8s-aws-id");
        for bad in [
            "sopilot-sim-token".to_owned(),
            format!("{TOKEN_PREFIX}not base64!"),
            format!(
                "{TOKEN_PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE.encode(format!("{good}&p"))
            ),
            token_of(&url("20261207T120000Z", "host")),
            token_of(&url("20261207T115000Z", "host%3Bx-k8s-aws-id")),
            token_of(&good.replace("GetCallerIdentity", "AssumeRole")),
            token_of(&good.replace("https://sts.", "https://evil.")),
            token_of(&good.replace("&X-Amz-Expires=60", "")),
        ] {
            assert!(check_token(&bad, now).is_err(), "{bad}");
        }
    }
}
