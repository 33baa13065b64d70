//! STS (AWS Query protocol: `POST /`, form body `Action=...&Version=2011-06-15`, XML answers):
//! AssumeRole, which issues temporary credentials and records which role was assumed (see
//! [`AssumedRole`]), and GetCallerIdentity, which names the caller by its access key ID (an
//! assumed role's session for keys AssumeRole issued). Nothing is authorized: any role may be
//! assumed, as a trust policy allowing the caller would.

pub(crate) mod http;
mod xml;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::req::{int_of, str_of};
use crate::state::Clock;

/// The account the simulator's own credentials belong to.
pub const SIM_ACCOUNT: &str = "123456789012";
const VALIDATION: &str = "ValidationError";

/// One AssumeRole the simulator answered, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    /// The `RoleArn` asked for.
    pub role_arn: String,
    /// The `RoleSessionName` asked for.
    pub session_name: String,
    /// The `ExternalId` sent, if any.
    pub external_id: Option<String>,
    /// The access key ID of the credentials that asked (the base credentials).
    pub caller_access_key: Option<String>,
    /// The access key ID of the temporary credentials issued.
    pub issued_access_key: String,
}

/// The simulated STS.
#[derive(Debug, Default)]
pub(crate) struct Sts {
    assumed: Vec<AssumedRole>,
}

impl Sts {
    /// Every role assumed so far, oldest first.
    pub fn assumed(&self) -> &[AssumedRole] {
        &self.assumed
    }

    pub fn handle(
        &mut self,
        operation: &str,
        body: &Value,
        caller: Option<&str>,
        clock: Clock,
    ) -> ApiResult {
        match operation {
            "AssumeRole" => self.assume_role(body, caller, clock.now),
            "GetCallerIdentity" => Ok(self.caller_identity(caller)),
            other => Err(ApiError::client(
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            )),
        }
    }

    fn assume_role(&mut self, body: &Value, caller: Option<&str>, now: DateTime<Utc>) -> ApiResult {
        let role_arn = member(body, "RoleArn", "roleArn")?;
        let session_name = member(body, "RoleSessionName", "roleSessionName")?;
        let Some((account, role_name)) = parse_role_arn(role_arn) else {
            return Err(ApiError::client(
                VALIDATION,
                format!("{role_arn} is invalid"),
            ));
        };
        // Form values are strings; a JSON number (a test's body) is read as well.
        let seconds = match str_of(body, "DurationSeconds") {
            Some(text) => text.parse::<i64>().unwrap_or(-1),
            None => int_of(body, "DurationSeconds").unwrap_or(3600),
        };
        if !(900..=43_200).contains(&seconds) {
            return Err(ApiError::client(
                VALIDATION,
                format!(
                    "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"
                ),
            ));
        }
        let n = self.assumed.len() + 1;
        let issued_access_key = format!("ASIASIMROLE{n:09}");
        self.assumed.push(AssumedRole {
            role_arn: role_arn.to_owned(),
            session_name: session_name.to_owned(),
            external_id: str_of(body, "ExternalId").map(str::to_owned),
            caller_access_key: caller.map(str::to_owned),
            issued_access_key: issued_access_key.clone(),
        });
        let expiration = now + Duration::seconds(seconds);
        Ok(json!({
            "Credentials": {
                "AccessKeyId": issued_access_key,
                "SecretAccessKey": format!("sim-secret-{n}"),
                "SessionToken": format!("sim-session-token-{n}"),
                "Expiration": expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": format!("AROASIMROLE{n:09}:{session_name}"),
                "Arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            },
        }))
    }

    fn caller_identity(&self, caller: Option<&str>) -> Value {
        let key = caller.unwrap_or("AKIDSIM");
        match self.assumed.iter().find(|a| a.issued_access_key == key) {
            Some(a) => {
                let (account, role_name) =
                    parse_role_arn(&a.role_arn).unwrap_or((SIM_ACCOUNT, "unknown"));
                json!({
                    "UserId": format!("AROASIMROLE:{}", a.session_name),
                    "Account": account,
                    "Arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/{}", a.session_name),
                })
            }
            None => json!({
                "UserId": key,
                "Account": SIM_ACCOUNT,
                "Arn": format!("arn:aws:iam::{SIM_ACCOUNT}:user/sopilot-sim"),
            }),
        }
    }
}

/// A required form member, with STS's validation message naming its `model` name.
fn member<'a>(body: &'a Value, key: &str, model: &str) -> Result<&'a str, ApiError> {
    str_of(body, key).filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::client(
            VALIDATION,
            format!(
                "1 validation error detected: Value null at '{model}' failed to satisfy constraint: Member must not be null"
            ),
        )
    })
}

/// The account and the role's name (its last path segment) of `arn:aws:iam::ACCOUNT:role/...`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some((account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Clock { now: Utc::now() }
    }

    #[test]
    fn assume_role_issues_credentials_and_records_the_role() {
        let mut sts = Sts::default();
        let body = json!({"RoleArn": "arn:aws:iam::210987654321:role/ops/reader", "RoleSessionName": "sopilot", "ExternalId": "x"});
        let out = sts
            .handle("AssumeRole", &body, Some("AKIDTEST"), clock())
            .unwrap();
        assert_eq!(out["Credentials"]["AccessKeyId"], "ASIASIMROLE000000001");
        assert_eq!(
            out["AssumedRoleUser"]["Arn"],
            "arn:aws:sts::210987654321:assumed-role/reader/sopilot"
        );
        let a = &sts.assumed()[0];
        assert_eq!(a.external_id.as_deref(), Some("x"));
        assert_eq!(a.caller_access_key.as_deref(), Some("AKIDTEST"));
        let me = sts
            .handle(
                "GetCallerIdentity",
                &json!({}),
                Some("ASIASIMROLE000000001"),
                clock(),
            )
            .unwrap();
        assert_eq!(me["Account"], "210987654321");
    }

    #[test]
    fn bad_requests_are_validation_errors() {
        let mut sts = Sts::default();
        for body in [
            json!({"RoleSessionName": "s"}),
            json!({"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "s"}),
            json!({"RoleArn": "arn:aws:iam::210987654321:role/x", "RoleSessionName": "s", "DurationSeconds": "60"}),
        ] {
            let e = sts.handle("AssumeRole", &body, None, clock()).unwrap_err();
            assert_eq!(e.code, "ValidationError", "{body}");
        }
        assert!(sts.assumed().is_empty());
    }
}
