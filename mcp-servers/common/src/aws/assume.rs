//! Assuming a role in another account: with `SOPILOT_AWS_ROLE_ARN` set, every AWS-backed
//! server's credentials come from STS `AssumeRole` over the standard chain's credentials
//! (session name `sopilot`, external ID from `SOPILOT_AWS_EXTERNAL_ID`), so one SOPilot can
//! reach a second account.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::ConfigError;

/// The role to assume, when set.
pub const ROLE_ARN_VAR: &str = "SOPILOT_AWS_ROLE_ARN";
/// The external ID the role's trust policy asks for, if any.
pub const EXTERNAL_ID_VAR: &str = "SOPILOT_AWS_EXTERNAL_ID";
/// The session name CloudTrail shows for SOPilot's calls.
pub const SESSION_NAME: &str = "sopilot";

/// A role to assume, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// `SOPILOT_AWS_EXTERNAL_ID`, when set and not empty.
    pub external_id: Option<String>,
}

impl AssumeRole {
    /// The role named by `SOPILOT_AWS_ROLE_ARN` (none when unset or empty); `var` reads one
    /// variable (the process environment in [`AssumeRole::from_env`]).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let Some(role_arn) = non_empty(ROLE_ARN_VAR) else {
            return Ok(None);
        };
        let role_arn = role_arn.trim().to_owned();
        if !is_role_arn(&role_arn) {
            return Err(ConfigError::RoleArn { value: role_arn });
        }
        Ok(Some(AssumeRole {
            role_arn,
            external_id: non_empty(EXTERNAL_ID_VAR),
        }))
    }

    /// [`AssumeRole::from_vars`] over the process environment.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// `base` with its credentials replaced by this role's, assumed through STS (at the
    /// endpoint, region, retries and timeouts of `base`) with `base`'s credentials. The
    /// clients' identity cache keeps the assumed credentials until shortly before they expire.
    pub async fn apply(&self, base: SdkConfig) -> SdkConfig {
        let mut builder = AssumeRoleProvider::builder(self.role_arn.clone())
            .session_name(SESSION_NAME)
            .configure(&base);
        if let Some(id) = &self.external_id {
            builder = builder.external_id(id.clone());
        }
        let provider = builder.build().await;
        base.into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build()
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn is_role_arn(arn: &str) -> bool {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = fields.as_slice() else {
        return false;
    };
    *prefix == "arn"
        && matches!(*partition, "aws" | "aws-cn" | "aws-us-gov")
        && *service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn unset_or_empty_means_no_role() {
        assert_eq!(AssumeRole::from_vars(vars(&[])).unwrap(), None);
        assert_eq!(
            AssumeRole::from_vars(vars(&[(ROLE_ARN_VAR, " ")])).unwrap(),
            None
        );
    }

    #[test]
    fn a_role_arn_with_an_external_id() {
        let role = AssumeRole::from_vars(vars(&[
            (
                ROLE_ARN_VAR,
                "arn:aws:iam::123456789012:role/ops/sopilot-reader",
            ),
            (EXTERNAL_ID_VAR, "ext-1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            role.role_arn,
            "arn:aws:iam::123456789012:role/ops/sopilot-reader"
        );
        assert_eq!(role.external_id.as_deref(), Some("ext-1"));
    }

    #[test]
    fn malformed_arns_are_refused_naming_the_variable() {
        for bad in [
            "sopilot-reader",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/x/y",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::12345678901a:role/x",
        ] {
            let err = AssumeRole::from_vars(vars(&[(ROLE_ARN_VAR, bad)])).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(ROLE_ARN_VAR) && text.contains(bad), "{text}");
        }
    }
}
