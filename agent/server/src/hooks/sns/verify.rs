//! The pure half of SNS message verification: which fields are signed, which URLs may be
//! trusted, and the RSA check against the signing certificate. No I/O here.
//!
//! AWS documents the algorithm in "Verifying the signatures of Amazon SNS messages":
//! SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over `Key\nValue\n` pairs of
//! fixed fields in byte order of their names.

use std::time::SystemTime;

use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    VerificationAlgorithm,
};
use base64::Engine;
use serde_json::Value;
use url::Url;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

/// Why a message is not trusted. Every variant names the bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("field {0} is missing or not a string")]
    Missing(&'static str),
    #[error(
        "unknown Type {0:?}: expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
    )]
    Type(String),
    #[error("unsupported SignatureVersion {0:?}: expected \"1\" or \"2\"")]
    Version(String),
    #[error("{field} {url:?} is not trusted: {why}")]
    Url {
        field: &'static str,
        url: String,
        why: String,
    },
    #[error(
        "TopicArn {0:?} is not an SNS topic of an allowed region, or neither it (serve.sns.topics) nor its account (serve.sns.accounts) is allowed"
    )]
    Topic(String),
    #[error("the signing certificate is unusable: {0}")]
    Certificate(String),
    #[error("Signature is not base64")]
    Encoding,
    #[error("the signature does not match the message")]
    Signature,
}

/// The kinds of messages SNS posts to an HTTP subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The message's `Type`.
    pub fn of(msg: &Value) -> Result<MessageType, VerifyError> {
        match field(msg, "Type")? {
            "Notification" => Ok(MessageType::Notification),
            "SubscriptionConfirmation" => Ok(MessageType::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Ok(MessageType::UnsubscribeConfirmation),
            other => Err(VerifyError::Type(other.to_owned())),
        }
    }

    /// The signed fields, in the order AWS concatenates them.
    fn signed_fields(self) -> &'static [&'static str] {
        match self {
            MessageType::Notification => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
        }
    }
}

fn field<'a>(msg: &'a Value, name: &'static str) -> Result<&'a str, VerifyError> {
    msg.get(name)
        .and_then(Value::as_str)
        .ok_or(VerifyError::Missing(name))
}

/// The bytes AWS signed. `Subject` is signed only when the notification has one.
pub fn string_to_sign(msg: &Value) -> Result<String, VerifyError> {
    let kind = MessageType::of(msg)?;
    let mut out = String::new();
    for &name in kind.signed_fields() {
        let value = match (name, msg.get(name)) {
            ("Subject", None | Some(Value::Null)) => continue,
            _ => field(msg, name)?,
        };
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    Ok(out)
}

/// What may be trusted: regions, topics, and (tests only) a non-default port.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Regions whose SNS endpoints are trusted (`us-east-1`, ...).
    pub regions: Vec<String>,
    /// Topic ARNs accepted.
    pub topics: Vec<String>,
    /// AWS account ids (12 digits) whose topics are accepted. With `topics` empty too,
    /// nothing is accepted: there is no "any account".
    pub accounts: Vec<String>,
    /// Accept SNS hosts on any port: set only with the test-only CA.
    pub any_port: bool,
}

impl Trust {
    /// Checks that `url` is `https://sns.<allowed region>.amazonaws.com/...` on port 443.
    pub fn sns_url(&self, field: &'static str, url: &str) -> Result<Url, VerifyError> {
        let bad = |why: &str| VerifyError::Url {
            field,
            url: url.chars().take(200).collect(),
            why: why.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "https" {
            return Err(bad("not https"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("carries credentials"));
        }
        let host = parsed.host_str().unwrap_or_default();
        let region = host
            .strip_prefix("sns.")
            .and_then(|h| h.strip_suffix(".amazonaws.com"))
            .ok_or_else(|| bad("host is not sns.<region>.amazonaws.com"))?;
        if !self.regions.iter().any(|r| r == region) {
            return Err(bad(&format!(
                "region {region} is not in serve.sns.regions ({})",
                self.regions.join(", ")
            )));
        }
        if parsed.port().is_some() && !self.any_port {
            return Err(bad("not on the default https port"));
        }
        Ok(parsed)
    }

    /// Checks the signing certificate URL: an SNS host, and a `.pem` path.
    pub fn cert_url(&self, url: &str) -> Result<Url, VerifyError> {
        let parsed = self.sns_url("SigningCertURL", url)?;
        if !parsed.path().ends_with(".pem") {
            return Err(VerifyError::Url {
                field: "SigningCertURL",
                url: url.chars().take(200).collect(),
                why: "path is not a .pem file".into(),
            });
        }
        Ok(parsed)
    }

    /// Checks `TopicArn`: `arn:aws:sns:<allowed region>:<account>:<name>`, listed in
    /// `topics` or of an account listed in `accounts` (neither listed: refused).
    pub fn topic(&self, arn: &str) -> Result<(), VerifyError> {
        let mut parts = arn
            .strip_prefix("arn:aws:sns:")
            .unwrap_or_default()
            .splitn(3, ':');
        let (region, account, name) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let well_formed = account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && !name.contains(':');
        let region_ok = self.regions.iter().any(|r| r == region);
        let listed =
            self.topics.iter().any(|t| t == arn) || self.accounts.iter().any(|a| a == account);
        if well_formed && region_ok && listed {
            Ok(())
        } else {
            Err(VerifyError::Topic(arn.chars().take(200).collect()))
        }
    }
}

/// A signing certificate's RSA key, parsed once and cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// PKCS#1 `RSAPublicKey` DER.
    rsa_public_key: Vec<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

impl SigningKey {
    /// Parses a PEM certificate with an RSA key.
    pub fn from_pem(pem: &[u8]) -> Result<SigningKey, VerifyError> {
        let cert = Certificate::from_pem(pem)
            .map_err(|e| VerifyError::Certificate(format!("not a PEM X.509 certificate: {e}")))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
            return Err(VerifyError::Certificate(format!(
                "key algorithm {} is not RSA",
                spki.algorithm.oid
            )));
        }
        let validity = tbs.validity();
        Ok(SigningKey {
            rsa_public_key: spki.subject_public_key.raw_bytes().to_vec(),
            not_before: validity.not_before.to_system_time(),
            not_after: validity.not_after.to_system_time(),
        })
    }

    /// Whether the certificate is valid at `now`.
    pub fn valid_at(&self, now: SystemTime) -> Result<(), VerifyError> {
        if now < self.not_before || now > self.not_after {
            return Err(VerifyError::Certificate(
                "outside its validity period".into(),
            ));
        }
        Ok(())
    }

    /// Verifies the message's `Signature` with this key, by its `SignatureVersion`.
    pub fn verify(&self, msg: &Value) -> Result<(), VerifyError> {
        let alg: &'static dyn VerificationAlgorithm = match field(msg, "SignatureVersion")? {
            "1" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "2" => &RSA_PKCS1_2048_8192_SHA256,
            other => return Err(VerifyError::Version(other.to_owned())),
        };
        let signature = base64::engine::general_purpose::STANDARD
            .decode(field(msg, "Signature")?)
            .map_err(|_| VerifyError::Encoding)?;
        let text = string_to_sign(msg)?;
        UnparsedPublicKey::new(alg, &self.rsa_public_key)
            .verify(text.as_bytes(), &signature)
            .map_err(|_| VerifyError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trust() -> Trust {
        Trust {
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            topics: vec![],
            accounts: vec!["123456789012".into()],
            any_port: false,
        }
    }

    #[test]
    fn notifications_sign_subject_only_when_present() {
        let mut m = json!({"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:1:ops",
            "Message": "hello", "Timestamp": "2026-11-27T10:00:00.000Z", "SignatureVersion": "1"});
        assert_eq!(
            string_to_sign(&m).unwrap(),
            "Message\nhello\nMessageId\nm1\nTimestamp\n2026-11-27T10:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:1:ops\nType\nNotification\n"
        );
        m["Subject"] = json!("ALARM: x");
        assert!(
            string_to_sign(&m)
                .unwrap()
                .contains("Subject\nALARM: x\nTimestamp")
        );
    }

    #[test]
    fn confirmations_sign_the_subscribe_url_and_token() {
        let m = json!({"Type": "SubscriptionConfirmation", "MessageId": "m", "Token": "t",
            "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Message": "confirm", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?a=b",
            "Timestamp": "ts"});
        let s = string_to_sign(&m).unwrap();
        assert!(s.contains(
            "SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?a=b\nTimestamp\nts\nToken\nt\n"
        ));
        let mut missing = m.clone();
        missing.as_object_mut().unwrap().remove("Token");
        assert_eq!(string_to_sign(&missing), Err(VerifyError::Missing("Token")));
    }

    #[test]
    fn only_sns_hosts_of_allowed_regions_are_trusted() {
        let t = trust();
        assert!(
            t.cert_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
                .is_ok()
        );
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.ap-south-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://s3.us-east-1.amazonaws.com/x.pem",
            "not a url",
        ] {
            assert!(t.cert_url(bad).is_err(), "{bad} was trusted");
        }
        let testing = Trust {
            any_port: true,
            ..trust()
        };
        assert!(
            testing
                .cert_url("https://sns.us-east-1.amazonaws.com:8443/x.pem")
                .is_ok()
        );
    }

    #[test]
    fn topics_need_an_allowed_region_and_the_list() {
        let mut t = trust();
        assert!(t.topic("arn:aws:sns:eu-west-1:123456789012:ops").is_ok());
        assert!(t.topic("arn:aws:sns:ap-south-1:123456789012:ops").is_err());
        assert!(t.topic("arn:aws:sqs:us-east-1:123456789012:ops").is_err());
        t.accounts.clear();
        t.topics = vec!["arn:aws:sns:us-east-1:123456789012:alarms".into()];
        assert!(t.topic("arn:aws:sns:us-east-1:123456789012:alarms").is_ok());
        assert!(t.topic("arn:aws:sns:us-east-1:123456789012:other").is_err());
    }

    #[test]
    fn another_accounts_topic_is_refused_and_nothing_listed_accepts_nothing() {
        let mut t = trust();
        // Before: with no topics listed, any account's topic of an allowed region passed.
        assert!(t.topic("arn:aws:sns:us-east-1:999999999999:ops").is_err());
        assert!(t.topic("arn:aws:sns:us-east-1:123456789012:ops").is_ok());
        // A look-alike account id, or a name smuggling another colon, is no match.
        assert!(t.topic("arn:aws:sns:us-east-1:1234567890123:ops").is_err());
        assert!(t.topic("arn:aws:sns:us-east-1:123456789012").is_err());
        t.accounts.clear();
        assert!(
            t.topic("arn:aws:sns:us-east-1:123456789012:ops").is_err(),
            "neither topics nor accounts: fail closed"
        );
    }

    #[test]
    fn garbage_certificates_and_versions_are_named() {
        assert!(matches!(
            SigningKey::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(VerifyError::Certificate(_))
        ));
        let key = SigningKey {
            rsa_public_key: vec![],
            not_before: SystemTime::UNIX_EPOCH,
            not_after: SystemTime::now(),
        };
        let m = json!({"Type": "Notification", "SignatureVersion": "3", "Signature": "AA=="});
        assert_eq!(key.verify(&m), Err(VerifyError::Version("3".into())));
    }
}
