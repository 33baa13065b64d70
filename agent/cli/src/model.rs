//! `--model PROVIDER:MODEL` → a model client.
//!
//! Bedrock is built here rather than in `sopilot-llm`: its client lives in
//! `sopilot-llm-bedrock` (the AWS SDK), which depends on `sopilot-llm`, not the other way.

use std::sync::Arc;
use std::time::Duration;

use sopilot_llm::{LlmError, ModelClient, ModelSpec};
use sopilot_llm_bedrock::{BedrockClient, BedrockOptions};

/// Builds the client a spec names; `None` for `none`. `timeout` bounds one model turn.
pub(crate) async fn build_client(
    spec: &ModelSpec,
    timeout: Duration,
) -> Result<Option<Arc<dyn ModelClient>>, LlmError> {
    match spec {
        ModelSpec::Bedrock { model_id } => {
            let client = BedrockClient::from_env(model_id, BedrockOptions::new(timeout)).await?;
            Ok(Some(Arc::new(client)))
        }
        ModelSpec::OpenAi { .. } | ModelSpec::Scripted(_) | ModelSpec::None => {
            sopilot_llm::build_client(spec, timeout)
        }
    }
}

/// The timeout of one model turn when neither `--model-timeout` nor `model_timeout:` says:
/// local servers (an OpenAI-compatible base URL on a loopback address) are slow, remote APIs
/// are not.
pub(crate) const REMOTE_MODEL_TIMEOUT: Duration = Duration::from_secs(120);
/// See [`REMOTE_MODEL_TIMEOUT`].
pub(crate) const LOCAL_MODEL_TIMEOUT: Duration = Duration::from_secs(600);

/// One model turn's timeout: the flag, else the configuration, else by where the model is
/// (600 s for an OpenAI-compatible endpoint on loopback, 120 s otherwise).
pub(crate) fn model_timeout(
    flag: Option<Duration>,
    configured: Option<Duration>,
    spec: &ModelSpec,
) -> Duration {
    if let Some(t) = flag.or(configured) {
        return t;
    }
    let local = match spec {
        ModelSpec::OpenAi { base_url, .. } => base_url
            .clone()
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
            .is_some_and(|u| is_loopback_url(&u)),
        ModelSpec::Bedrock { .. } | ModelSpec::Scripted(_) | ModelSpec::None => false,
    };
    if local {
        LOCAL_MODEL_TIMEOUT
    } else {
        REMOTE_MODEL_TIMEOUT
    }
}

/// Whether a URL's host is this machine: `localhost`, `127.0.0.0/8`, `::1`, `0.0.0.0`.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// Parses `--model-timeout`: `90s`, `10m`, `1h`, or seconds.
pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    let span =
        sopilot_sop::Duration::parse(s).map_err(|e| format!("{e}; write e.g. 90s, 10m or 1h"))?;
    if span.seconds() == 0 {
        return Err("a timeout of 0 would fail every model turn; write e.g. 90s or 10m".into());
    }
    Ok(Duration::from_secs(span.seconds()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn openai(base: &str) -> ModelSpec {
        ModelSpec::OpenAi {
            model: "m".into(),
            base_url: Some(base.into()),
        }
    }

    #[test]
    fn local_servers_get_a_longer_timeout() {
        for local in [
            "http://localhost:11434/v1",
            "http://127.0.0.1:8000/v1",
            "http://127.1.2.3/v1",
            "http://[::1]:8080/v1",
            "https://user:pw@LOCALHOST/v1",
            "http://0.0.0.0:4000",
        ] {
            assert!(is_loopback_url(local), "{local}");
            assert_eq!(
                model_timeout(None, None, &openai(local)),
                LOCAL_MODEL_TIMEOUT
            );
        }
        for remote in [
            "https://api.openai.com/v1",
            "http://10.0.0.5:8000/v1",
            "http://localhost.example.com/v1",
            "http://[2001:db8::1]/v1",
        ] {
            assert!(!is_loopback_url(remote), "{remote}");
            assert_eq!(
                model_timeout(None, None, &openai(remote)),
                REMOTE_MODEL_TIMEOUT
            );
        }
        let bedrock = ModelSpec::Bedrock {
            model_id: "x".into(),
        };
        assert_eq!(model_timeout(None, None, &bedrock), REMOTE_MODEL_TIMEOUT);
    }

    #[test]
    fn the_flag_beats_the_configuration_which_beats_the_default() {
        let s = Duration::from_secs;
        let local = openai("http://localhost:11434/v1");
        assert_eq!(model_timeout(Some(s(5)), Some(s(7)), &local), s(5));
        assert_eq!(model_timeout(None, Some(s(7)), &local), s(7));
        assert_eq!(parse_timeout("10m").unwrap(), s(600));
        assert_eq!(parse_timeout("45").unwrap(), s(45));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").unwrap_err().contains("10m"));
    }
}
