//! `list_pods`: pods of a namespace (or all) as `kubectl get pods` shows them, with the last
//! termination beside each, filtered by selectors or status.

use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use super::{list, list_params, scope};
use crate::args;
use crate::error::ToolResult;
use crate::format::{self, LIST_BYTES, PodSummary};

fn status_matches(s: &PodSummary, want: &str) -> bool {
    let w = want.to_ascii_lowercase();
    if w == "notready" {
        return s.ready_containers < s.containers;
    }
    [
        Some(&s.status),
        Some(&s.phase),
        s.waiting_reason.as_ref(),
        s.last_termination.as_ref().map(|t| &t.reason),
    ]
    .into_iter()
    .flatten()
    .any(|v| v.to_ascii_lowercase() == w)
}

/// `list_pods`
pub async fn list_pods(client: &kube::Client, a: args::ListPods) -> ToolResult<CallToolResult> {
    let ns = scope(a.namespace.as_deref(), a.all_namespaces)?;
    let pods = list(
        client,
        ns.as_deref(),
        &list_params(a.label_selector.as_deref(), a.field_selector.as_deref()),
    )
    .await?;
    let now = format::now();
    let mut summaries: Vec<PodSummary> = pods.iter().map(|p| format::summarize(p, now)).collect();
    if let Some(want) = &a.status {
        summaries.retain(|s| status_matches(s, want));
    }
    summaries.sort_by(|x, y| (&x.namespace, &x.name).cmp(&(&y.namespace, &y.name)));
    let mut headers = vec![
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "LAST-EXIT",
        "NODE",
        "AGE",
    ];
    if ns.is_none() {
        headers.insert(0, "NAMESPACE");
    }
    let mut t = Table::new(headers);
    for s in &summaries {
        let mut row = vec![
            s.name.clone(),
            s.ready.clone(),
            s.status.clone(),
            s.restarts.to_string(),
            format::termination_text(s.last_termination.as_ref()),
            s.node.clone().unwrap_or_else(|| "<none>".into()),
            sopilot_mcp_common::age(s.age_seconds),
        ];
        if ns.is_none() {
            row.insert(0, s.namespace.clone());
        }
        t.row(row);
    }
    let not_ready = summaries
        .iter()
        .filter(|s| s.ready_containers < s.containers)
        .count();
    let mut text = format!(
        "{} pod{} in {}{}",
        summaries.len(),
        if summaries.len() == 1 { "" } else { "s" },
        ns.as_deref()
            .map_or("all namespaces".to_owned(), |n| format!("namespace {n}")),
        if not_ready > 0 {
            format!(", {not_ready} not ready")
        } else {
            String::new()
        }
    );
    text.push('\n');
    if !t.is_empty() {
        text.push_str(&t.render());
    }
    let capped = cap(
        &text,
        LIST_BYTES,
        "narrow with label_selector, field_selector or status",
    );
    Ok(ok_json(
        capped.text,
        &json!({"pods": summaries, "truncated": capped.truncated}),
    ))
}
