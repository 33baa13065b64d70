//! `POST /hooks/sns`: an SNS HTTP(S) subscription.
//!
//! Every message is verified before anything else: the signing certificate is fetched only
//! from `https://sns.<allowed region>.amazonaws.com/*.pem` (no redirects, cached), and the
//! signature (version 1 or 2) must match. Then:
//! - `SubscriptionConfirmation` is confirmed by fetching its `SubscribeURL`, which must be
//!   an SNS endpoint of an allowed region too;
//! - `Notification` carrying a CloudWatch alarm becomes a trigger (others are acknowledged
//!   and ignored);
//! - `UnsubscribeConfirmation` is acknowledged.
//!
//! Only topics named in `serve.sns.topics`, or of the AWS accounts in `serve.sns.accounts`,
//! are accepted (one of the two is required). Messages older than an hour, or seen before
//! (by `MessageId`, remembered in the store, so also after a restart), start nothing.

pub mod verify;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};
use sopilot_protocol::Trigger;
use sopilot_runtime::Store;

use self::verify::{MessageType, SigningKey, Trust, VerifyError};
use crate::runs::{Origin, StartRequest};
use crate::{ApiError, AppState};

/// How long a fetched signing certificate is reused.
const CERT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Messages older than this (by their signed `Timestamp`) are refused as replays.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// The largest certificate or confirmation response read.
const MAX_FETCH_BYTES: usize = 64 * 1024;

/// `serve.sns` settings.
#[derive(Debug, Clone, Default)]
pub struct SnsOptions {
    pub trust: Trust,
    /// TESTS ONLY: trust this CA (PEM) instead of the system roots and connect every
    /// `sns.<region>.amazonaws.com` host to `connect_to`. Production never sets it.
    pub test_only: Option<SnsTestOnly>,
}

/// The test-only trust override (see [`SnsOptions::test_only`]).
#[derive(Debug, Clone)]
pub struct SnsTestOnly {
    pub ca_pem: Vec<u8>,
    pub connect_to: SocketAddr,
}

/// What the hook keeps between requests: the HTTP client, cached keys; seen message ids are
/// in the store.
#[derive(Debug)]
pub struct SnsHook {
    options: SnsOptions,
    http: reqwest::Client,
    certs: Mutex<HashMap<String, (SigningKey, Instant)>>,
    store: Arc<Store>,
    pruned: Mutex<Option<Instant>>,
}

/// The source name of SNS message ids in the store.
const SEEN_SOURCE: &str = "sns";
/// How long a message id is remembered: past the accepted age, with room for clock skew.
const SEEN_FOR: Duration = Duration::from_secs(2 * 3600);
/// How often old message ids are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(300);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl SnsHook {
    /// A hook with its own HTTP client (no redirects, 10 s timeout), remembering message ids
    /// in `store`. Refuses options that name neither topics nor accounts.
    pub fn new(mut options: SnsOptions, store: Arc<Store>) -> Result<SnsHook, String> {
        if options.trust.topics.is_empty() && options.trust.accounts.is_empty() {
            return Err(
                "serve.sns needs `topics` (the topic ARNs to accept) or `accounts` (the 12-digit AWS account ids whose topics to accept)"
                    .into(),
            );
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5));
        if let Some(t) = &options.test_only {
            tracing::warn!(
                "serve.sns.test_only is set: SNS certificates are trusted from a test CA and \
                 SNS hosts connect to {}. Never use this in production.",
                t.connect_to
            );
            let ca = reqwest::Certificate::from_pem(&t.ca_pem)
                .map_err(|e| format!("serve.sns.test_only.ca_file: {e}"))?;
            builder = builder.tls_certs_only([ca]);
            for region in &options.trust.regions {
                builder = builder.resolve(&format!("sns.{region}.amazonaws.com"), t.connect_to);
            }
            options.trust.any_port = true;
        } else {
            options.trust.any_port = false;
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the SNS HTTP client: {e}"))?;
        Ok(SnsHook {
            options,
            http,
            certs: Mutex::new(HashMap::new()),
            store,
            pruned: Mutex::new(None),
        })
    }

    async fn fetch(&self, url: url::Url) -> Result<Vec<u8>, String> {
        let mut resp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_FETCH_BYTES {
                return Err(format!("response larger than {MAX_FETCH_BYTES} bytes"));
            }
        }
        Ok(body)
    }

    async fn signing_key(&self, url: &str) -> Result<SigningKey, VerifyError> {
        let parsed = self.options.trust.cert_url(url)?;
        if let Some((key, at)) = lock(&self.certs).get(url)
            && at.elapsed() < CERT_TTL
        {
            return Ok(key.clone());
        }
        let pem = self
            .fetch(parsed)
            .await
            .map_err(|e| VerifyError::Certificate(format!("fetching {url}: {e}")))?;
        let key = SigningKey::from_pem(&pem)?;
        let mut certs = lock(&self.certs);
        if certs.len() >= 32 {
            certs.clear();
        }
        certs.insert(url.to_owned(), (key.clone(), Instant::now()));
        Ok(key)
    }

    /// Verifies origin, freshness and signature; returns the message type.
    async fn verify(&self, msg: &Value) -> Result<MessageType, VerifyError> {
        let kind = MessageType::of(msg)?;
        let topic = msg
            .get("TopicArn")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Missing("TopicArn"))?;
        self.options.trust.topic(topic)?;
        let cert_url = msg
            .get("SigningCertURL")
            .or_else(|| msg.get("SigningCertUrl"))
            .and_then(Value::as_str)
            .ok_or(VerifyError::Missing("SigningCertURL"))?;
        let key = self.signing_key(cert_url).await?;
        key.valid_at(SystemTime::now())?;
        key.verify(msg)?;
        Ok(kind)
    }

    /// Refuses stale messages; claims this `MessageId` in the store: false when it was
    /// handled (or claimed) before, even before a restart.
    fn first_sight(&self, msg: &Value) -> Result<bool, ApiError> {
        let ts = msg.get("Timestamp").and_then(Value::as_str).unwrap_or("");
        let at = chrono::DateTime::parse_from_rfc3339(ts)
            .map_err(|_| ApiError::BadRequest(format!("Timestamp {ts:?} is not RFC 3339")))?;
        let now = chrono::Utc::now();
        let age = now.signed_duration_since(at);
        if age > chrono::Duration::from_std(MAX_AGE).unwrap_or_default()
            || age < chrono::Duration::minutes(-5)
        {
            return Err(ApiError::BadRequest(format!(
                "Timestamp {ts} is outside the accepted hour; refusing a possible replay"
            )));
        }
        self.prune(now);
        Ok(self
            .store
            .remember_message(SEEN_SOURCE, message_id(msg), now)?)
    }

    /// Forgets a claimed message whose handling failed, so SNS's retry is handled.
    fn release(&self, msg: &Value) {
        if let Err(e) = self.store.forget_message(SEEN_SOURCE, message_id(msg)) {
            tracing::warn!("cannot release SNS message {}: {e}", message_id(msg));
        }
    }

    /// Forgets message ids older than the replay window, at most every few minutes.
    fn prune(&self, now: chrono::DateTime<chrono::Utc>) {
        {
            let mut last = lock(&self.pruned);
            if last.is_some_and(|t| t.elapsed() < PRUNE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let before = now - chrono::Duration::from_std(SEEN_FOR).unwrap_or_default();
        if let Err(e) = self.store.prune_messages(SEEN_SOURCE, before) {
            tracing::warn!("cannot prune old SNS message ids: {e}");
        }
    }
}

fn message_id(msg: &Value) -> &str {
    msg.get("MessageId").and_then(Value::as_str).unwrap_or("")
}

fn refused(s: &AppState, e: VerifyError) -> ApiError {
    s.metrics
        .requests_refused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::warn!("/hooks/sns refused: {e}");
    match e {
        VerifyError::Missing(_) | VerifyError::Type(_) | VerifyError::Version(_) => {
            ApiError::BadRequest(e.to_string())
        }
        _ => ApiError::Forbidden(e.to_string()),
    }
}

pub(crate) async fn handle(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(hook) = s.sns.clone() else {
        return Err(ApiError::Forbidden(
            "SNS hook disabled: set serve.sns.regions and serve.sns.topics (or accounts) in the config".into(),
        ));
    };
    let msg: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not JSON: {e}")))?;
    let kind = hook.verify(&msg).await.map_err(|e| refused(&s, e))?;
    if !hook.first_sight(&msg)? {
        // SNS redelivers when an answer was lost: acknowledge, do nothing twice.
        return Ok(Json(json!({"status": "duplicate"})));
    }
    let answer = match kind {
        MessageType::SubscriptionConfirmation => confirm(&s, &hook, &msg).await,
        MessageType::UnsubscribeConfirmation => Ok(Json(json!({"status": "acknowledged"}))),
        MessageType::Notification => notification(&s, &msg),
    };
    if answer.is_err() {
        hook.release(&msg);
    }
    answer
}

async fn confirm(s: &AppState, hook: &SnsHook, msg: &Value) -> Result<Json<Value>, ApiError> {
    let url = msg
        .get("SubscribeURL")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let parsed = hook
        .options
        .trust
        .sns_url("SubscribeURL", url)
        .map_err(|e| refused(s, e))?;
    hook.fetch(parsed)
        .await
        .map_err(|e| ApiError::Unavailable(format!("confirming the subscription failed: {e}")))?;
    let topic = msg.get("TopicArn").and_then(Value::as_str).unwrap_or("");
    tracing::info!("confirmed the SNS subscription to {topic}");
    Ok(Json(json!({"status": "confirmed", "topic": topic})))
}

/// Why a notification's alarm cannot be believed: an SNS alarm that is not an SNS alarm, or
/// one that says it comes from another account than the (signed) topic's.
fn implausible(trigger: &Trigger, msg: &Value) -> Option<String> {
    let Trigger::CloudwatchAlarm {
        source: sopilot_protocol::AlarmSource::Sns,
        alarm,
    } = trigger
    else {
        return Some("the message is not a CloudWatch alarm".into());
    };
    let topic = msg.get("TopicArn").and_then(Value::as_str).unwrap_or("");
    let topic_account = topic.split(':').nth(4).unwrap_or("");
    match &alarm.account {
        Some(a) if a != topic_account => Some(format!(
            "the alarm says it is from account {a}, but topic {topic} is account {topic_account}'s"
        )),
        _ => None,
    }
}

fn notification(s: &AppState, msg: &Value) -> Result<Json<Value>, ApiError> {
    let trigger = match Trigger::from_payload(msg) {
        Ok(t) if let Some(why) = implausible(&t, msg) => {
            tracing::warn!("SNS notification refused: {why}");
            return Ok(Json(json!({"status": "ignored", "reason": why})));
        }
        Ok(t) => t,
        Err(e) => {
            // A notification that is not a CloudWatch alarm: acknowledged so SNS does not
            // retry it, but it starts nothing.
            tracing::info!("SNS notification ignored: {e}");
            return Ok(Json(
                json!({"status": "ignored", "reason": format!("not a CloudWatch alarm: {e}")}),
            ));
        }
    };
    super::submit(
        s,
        StartRequest {
            trigger,
            sop: None,
            params: Default::default(),
            origin: Origin::Webhook("sns".into()),
            target: None,
            carries_on: None,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn message(account: &str, topic_account: &str) -> Value {
        let alarm = json!({"AlarmName": "payment-5xx", "AWSAccountId": account,
            "NewStateValue": "ALARM", "Region": "EU (Ireland)",
            "Trigger": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"}});
        json!({"Type": "Notification", "MessageId": "m-1",
            "TopicArn": format!("arn:aws:sns:eu-west-1:{topic_account}:ops"),
            "Message": alarm.to_string()})
    }

    #[test]
    fn an_alarm_claiming_another_account_than_its_topics_is_not_believed() {
        let honest = message("111111111111", "111111111111");
        let t = Trigger::from_payload(&honest).unwrap();
        assert_eq!(implausible(&t, &honest), None);
        let claiming = message("111111111111", "222222222222");
        let t = Trigger::from_payload(&claiming).unwrap();
        let why = implausible(&t, &claiming).unwrap();
        assert!(why.contains("222222222222"), "{why}");
        // A normalised trigger of another kind inside a signed message: not an alarm.
        let event = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:ops",
            "Message": json!({"kind": "manual"}).to_string()});
        if let Ok(t) = Trigger::from_payload(&event) {
            assert!(implausible(&t, &event).is_some());
        }
    }
}
