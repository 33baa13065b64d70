//! `pod_logs`: a container's logs, tail-limited, optionally of the previous container and
//! filtered by a regular expression, redacted as a whole before they are split into lines.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::{cap_tail, ok_json, redact};

use crate::args;
use crate::error::{ToolFailure, ToolResult};
use crate::lookup::get_pod;

/// Output budget of logs.
pub const LOG_BYTES: usize = 16 * 1024;

/// `pod_logs`
pub async fn pod_logs(client: &kube::Client, a: args::PodLogs) -> ToolResult<CallToolResult> {
    let pod = get_pod(client, &a.namespace, &a.name).await?;
    let names: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let container = match (&a.container, names.as_slice()) {
        (Some(c), _) if !names.contains(c) => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has no container {c:?}; its containers: {}",
                a.name,
                names.join(", ")
            )));
        }
        (Some(c), _) => Some(c.clone()),
        (None, [_]) => None,
        (None, many) => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has {} containers; name one with container: {}",
                a.name,
                many.len(),
                many.join(", ")
            )));
        }
    };
    let grep = match &a.grep {
        Some(g) => Some(
            regex::RegexBuilder::new(g)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    ToolFailure::BadArgument(format!(
                        "grep {g:?} is not a valid regular expression: {e}"
                    ))
                })?,
        ),
        None => None,
    };
    let lp = LogParams {
        container,
        previous: a.previous,
        tail_lines: Some(a.tail_lines.unwrap_or(200).clamp(1, 10_000)),
        since_seconds: a.since_seconds.filter(|s| *s > 0),
        limit_bytes: Some(4 * 1024 * 1024),
        ..LogParams::default()
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &a.namespace);
    let raw = match api.logs(&a.name, &lp).await {
        Ok(t) => t,
        Err(e) if crate::error::api_code(&e) == Some(400) && a.previous => {
            return Err(ToolFailure::BadArgument(format!(
                "pod {} has no previous container to read logs from (it has not restarted); call pod_logs without previous",
                a.name
            )));
        }
        Err(e) => return Err(e.into()),
    };
    // The whole text is redacted before it is split or filtered: a private key spans lines,
    // and a grep must not pick the lines of one out of it.
    let clean = redact(&raw);
    let total = clean.lines().count();
    let lines: Vec<&str> = clean
        .lines()
        .filter(|l| grep.as_ref().is_none_or(|g| g.is_match(l)))
        .collect();
    let header = format!(
        "{} log lines of {}/{}{}{}\n",
        lines.len(),
        a.namespace,
        a.name,
        if a.previous {
            " (previous container)"
        } else {
            ""
        },
        a.grep
            .as_ref()
            .map(|g| format!(" matching {g:?} (of {total})"))
            .unwrap_or_default()
    );
    let body = lines.join("\n");
    let capped = cap_tail(&body, LOG_BYTES, "lower tail_lines or use grep");
    Ok(ok_json(
        format!("{header}{}", capped.text),
        &json!({"lines": lines.len(), "matched_of": total, "truncated": capped.truncated}),
    ))
}
