//! Configuration: the site from `JIRA_URL`, credentials from `JIRA_EMAIL` + `JIRA_API_TOKEN`
//! (Cloud, Basic) or `JIRA_PAT` (Data Center, Bearer) only, never from a flag; the REST API
//! version from `JIRA_API_VERSION` (`3` or `2`; by default 3 with an API token, 2 with a
//! personal access token); the projects from `--projects`. Secrets never reach a log, an
//! error or a result.

use base64::Engine;
use reqwest::Url;

use crate::error::JiraError;

pub const URL_ENV: &str = "JIRA_URL";
pub const EMAIL_ENV: &str = "JIRA_EMAIL";
pub const TOKEN_ENV: &str = "JIRA_API_TOKEN";
pub const PAT_ENV: &str = "JIRA_PAT";
pub const API_VERSION_ENV: &str = "JIRA_API_VERSION";

/// Which REST API the site speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Jira Data Center's REST v2: bodies in wiki markup, `search` paged by `startAt`.
    V2,
    /// Jira Cloud's REST v3: bodies in ADF, the enhanced `search/jql`.
    V3,
}

impl ApiVersion {
    /// `2` or `3`, as in `/rest/api/N/`.
    pub fn number(self) -> u8 {
        match self {
            ApiVersion::V2 => 2,
            ApiVersion::V3 => 3,
        }
    }

    /// `JIRA_API_VERSION`'s value.
    pub fn parse(text: &str) -> Result<ApiVersion, JiraError> {
        match text.trim() {
            "2" => Ok(ApiVersion::V2),
            "3" => Ok(ApiVersion::V3),
            other => Err(JiraError::Config(format!(
                "{API_VERSION_ENV}={other:?}: use 3 (Jira Cloud) or 2 (Jira Data Center), or unset it to choose by the credentials"
            ))),
        }
    }
}

/// An `Authorization` header value; its `Debug` shows none of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    header: String,
    /// `api token` or `personal access token`, for messages.
    pub kind: &'static str,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, [REDACTED])", self.kind)
    }
}

impl Credentials {
    /// Jira Cloud: `Basic base64(email:api_token)`.
    pub fn cloud(email: &str, token: &str) -> Credentials {
        let raw = format!("{email}:{token}");
        Credentials {
            header: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
            kind: "api token",
        }
    }

    /// Jira Data Center: `Bearer PAT`.
    pub fn data_center(pat: &str) -> Credentials {
        Credentials {
            header: format!("Bearer {pat}"),
            kind: "personal access token",
        }
    }

    pub(crate) fn header(&self) -> &str {
        &self.header
    }

    /// The API these credentials usually go with: v3 for a Cloud API token, v2 for a Data
    /// Center personal access token.
    pub fn default_api(&self) -> ApiVersion {
        if self.header.starts_with("Bearer ") {
            ApiVersion::V2
        } else {
            ApiVersion::V3
        }
    }
}

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The site root, e.g. `https://example.atlassian.net`.
    pub url: Url,
    pub credentials: Credentials,
    /// The REST API spoken (by default the credentials' usual one).
    pub api: ApiVersion,
    /// Upper-case project keys.
    pub projects: Vec<String>,
}

fn project_key_ok(k: &str) -> bool {
    let mut b = k.bytes();
    b.next().is_some_and(|c| c.is_ascii_uppercase())
        && b.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

impl Config {
    pub fn new(
        url: &str,
        credentials: Credentials,
        projects: Vec<String>,
    ) -> Result<Config, JiraError> {
        let url = Url::parse(url.trim().trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| JiraError::Config(format!("{URL_ENV} must be the site's http(s) URL, e.g. https://example.atlassian.net (got {url:?})")))?;
        let projects: Vec<String> = projects
            .iter()
            .map(|p| p.trim().to_ascii_uppercase())
            .filter(|p| !p.is_empty())
            .collect();
        if projects.is_empty() {
            return Err(JiraError::Config("--projects is required: name the Jira projects the tools may use, e.g. --projects OPS,PAY".into()));
        }
        if let Some(bad) = projects.iter().find(|p| !project_key_ok(p)) {
            return Err(JiraError::Config(format!(
                "--projects: {bad:?} is not a project key (letters, digits and _, starting with a letter, e.g. OPS)"
            )));
        }
        Ok(Config {
            url,
            api: credentials.default_api(),
            credentials,
            projects,
        })
    }

    /// From the environment and `--projects`.
    pub fn from_env(projects: Vec<String>) -> Result<Config, JiraError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let url = var(URL_ENV).ok_or_else(|| JiraError::Config(format!("{URL_ENV} is not set: export the Jira site's URL, e.g. https://example.atlassian.net")))?;
        let credentials = match (var(EMAIL_ENV), var(TOKEN_ENV), var(PAT_ENV)) {
            (_, Some(_), Some(_)) => {
                return Err(JiraError::Config(format!(
                    "both {TOKEN_ENV} and {PAT_ENV} are set: set {EMAIL_ENV} + {TOKEN_ENV} for Jira Cloud, or {PAT_ENV} alone for Data Center"
                )));
            }
            (Some(email), Some(token), None) => Credentials::cloud(email.trim(), token.trim()),
            (None, Some(_), None) => {
                return Err(JiraError::Config(format!(
                    "{TOKEN_ENV} needs {EMAIL_ENV}, the email of the Atlassian account the token belongs to"
                )));
            }
            (_, None, Some(pat)) => Credentials::data_center(pat.trim()),
            (_, None, None) => {
                return Err(JiraError::Config(format!(
                    "no Jira credentials: export {EMAIL_ENV} and {TOKEN_ENV} (Jira Cloud) or {PAT_ENV} (Data Center) in mcp-jira's environment (never a flag)"
                )));
            }
        };
        let mut config = Config::new(&url, credentials, projects)?;
        if let Some(v) = var(API_VERSION_ENV) {
            config.api = ApiVersion::parse(&v)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_and_projects_are_checked() {
        let c = Config::new(
            "https://x.atlassian.net/",
            Credentials::cloud("a@b.c", "s3cret-token"),
            vec!["ops".into(), " PAY ".into()],
        );
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(c.projects, ["OPS", "PAY"]);
        assert!(Config::new("https://x", Credentials::data_center("p"), vec![]).is_err());
        assert!(
            Config::new(
                "https://x",
                Credentials::data_center("p"),
                vec!["A-1".into()]
            )
            .is_err()
        );
        assert!(Config::new("ftp://x", Credentials::data_center("p"), vec!["A".into()]).is_err());
    }

    #[test]
    fn the_api_follows_the_credentials_unless_named() {
        let cloud = Config::new(
            "https://x",
            Credentials::cloud("a@b.c", "t"),
            vec!["A".into()],
        );
        assert_eq!(cloud.map(|c| c.api).ok(), Some(ApiVersion::V3));
        let dc = Config::new("https://x", Credentials::data_center("p"), vec!["A".into()]);
        assert_eq!(dc.map(|c| c.api).ok(), Some(ApiVersion::V2));
        assert_eq!(ApiVersion::parse(" 3 ").ok(), Some(ApiVersion::V3));
        let bad = ApiVersion::parse("latest").err().map(|e| e.to_string());
        assert!(bad.is_some_and(|m| m.contains("JIRA_API_VERSION")));
    }
}
