//! Kubernetes: the API answers, and the identity SOPilot runs as may do what the kubectl
//! tools need (one SelfSubjectAccessReview per verb and resource of `sopilot rbac`'s rules).

use axum::http;
use serde_json::{Value, json};

use super::{CHECK_TIMEOUT, Line, Target};

/// One permission to ask about: verb on `resource[/subresource]` of an API group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ask {
    pub group: String,
    pub resource: String,
    pub verb: String,
}

impl std::fmt::Display for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.group.as_str() {
            "" => write!(f, "{} {}", self.verb, self.resource),
            g => write!(f, "{} {}.{g}", self.verb, self.resource),
        }
    }
}

/// What the given kubectl tools need, one question per verb and resource.
pub(super) fn asks(tools: &[String]) -> Vec<Ask> {
    let known: Vec<&str> = tools
        .iter()
        .map(String::as_str)
        .filter(|t| mcp_kubectl::rbac::access_of(t).is_some())
        .collect();
    let rules = mcp_kubectl::rbac::rules_for(known).unwrap_or_default();
    let mut out = Vec::new();
    for rule in rules {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                out.push(Ask {
                    group: rule.api_group.clone(),
                    resource: resource.clone(),
                    verb: verb.clone(),
                });
            }
        }
    }
    out
}

/// The SelfSubjectAccessReview asking about one permission, cluster-wide.
fn review(ask: &Ask) -> Value {
    let (resource, subresource) = match ask.resource.split_once('/') {
        Some((r, s)) => (r, s),
        None => (ask.resource.as_str(), ""),
    };
    json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {
            "group": ask.group, "resource": resource, "subresource": subresource, "verb": ask.verb,
        }},
    })
}

async fn client(target: &Target<'_>) -> Result<kube::Client, String> {
    match target.sim {
        Some(sim) => crate::cmd::serve::kube_client_for(sim.kubeconfig()).await,
        None => kube::Client::try_default().await.map_err(|e| e.to_string()),
    }
}

/// Whether the API allows `ask`, as it answers a SelfSubjectAccessReview.
async fn allowed(client: &kube::Client, ask: &Ask) -> Result<bool, String> {
    let body = serde_json::to_vec(&review(ask)).map_err(|e| e.to_string())?;
    let request = http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        .header("content-type", "application/json")
        .body(body)
        .map_err(|e| e.to_string())?;
    let answer: Value = tokio::time::timeout(CHECK_TIMEOUT, client.request(request))
        .await
        .map_err(|_| format!("no answer within {} s", CHECK_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    Ok(answer.pointer("/status/allowed").and_then(Value::as_bool) == Some(true))
}

/// The Kubernetes lines: reachable (with the server's version), then the permissions.
pub(super) async fn check(target: &Target<'_>, tools: &[String]) -> Vec<Line> {
    let fix_reach = "point KUBECONFIG (or the in-cluster service account) at the cluster; `kubectl version` should answer";
    let client = match client(target).await {
        Ok(c) => c,
        Err(e) => return vec![Line::fail("kubernetes", e, fix_reach)],
    };
    let version = match tokio::time::timeout(CHECK_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(v)) => v.git_version,
        Ok(Err(e)) => return vec![Line::fail("kubernetes", e.to_string(), fix_reach)],
        Err(_) => {
            return vec![Line::fail(
                "kubernetes",
                format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
                fix_reach,
            )];
        }
    };
    let mut lines = vec![Line::ok(
        "kubernetes",
        format!(
            "the API answers ({version}) at {}",
            client.default_namespace()
        ),
    )];
    lines.push(permissions(&client, tools).await);
    lines
}

async fn permissions(client: &kube::Client, tools: &[String]) -> Line {
    if tools.is_empty() {
        return Line::skip("kubernetes", "no kubectl tools to check permissions for");
    }
    let asks = asks(tools);
    let mut denied = Vec::new();
    for ask in &asks {
        match allowed(client, ask).await {
            Ok(true) => {}
            Ok(false) => denied.push(ask.to_string()),
            Err(e) => {
                return Line::warn(
                    "kubernetes",
                    format!("cannot ask which verbs are allowed (SelfSubjectAccessReview): {e}"),
                    "allow `create selfsubjectaccessreviews.authorization.k8s.io` (every authenticated user has it by default)",
                );
            }
        }
    }
    if denied.is_empty() {
        Line::ok(
            "kubernetes",
            format!(
                "all {} permissions the {} kubectl tools need are allowed",
                asks.len(),
                tools.len()
            ),
        )
    } else {
        Line::fail(
            "kubernetes",
            format!(
                "{} of {} permissions the kubectl tools need are denied: {}",
                denied.len(),
                asks.len(),
                denied.join(", ")
            ),
            "apply the role `sopilot rbac` prints (`sopilot rbac | kubectl apply -f -`), or the Helm chart's",
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn each_verb_and_resource_is_one_question_with_its_subresource() {
        let asks = asks(&["pod_logs".to_owned(), "no_such_tool".to_owned()]);
        let log = asks
            .iter()
            .find(|a| a.resource == "pods/log")
            .unwrap_or_else(|| panic!("{asks:?}"));
        assert_eq!(log.to_string(), "get pods/log");
        let r = review(log);
        assert_eq!(r["spec"]["resourceAttributes"]["resource"], "pods");
        assert_eq!(r["spec"]["resourceAttributes"]["subresource"], "log");
        assert!(asks.iter().all(|a| !a.resource.starts_with("secrets")));
    }
}
