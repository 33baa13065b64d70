//! Events, aggregated by reason so a page of repeats becomes one line with a count.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{Table, age, cap, ok_json, redact};

use crate::args;
use crate::discovery::Resolver;
use crate::error::ToolResult;
use crate::format::{self, LIST_BYTES};
use crate::lookup::ensure_namespace;

/// Events of one reason about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventGroup {
    pub namespace: String,
    pub object: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    pub count: i64,
    pub last_seen_seconds: i64,
    /// The newest message.
    pub message: String,
}

fn last_seen(e: &Event) -> Option<i64> {
    e.last_timestamp
        .as_ref()
        .map(format::epoch)
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| e.first_timestamp.as_ref().map(format::epoch))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(format::epoch))
}

/// Groups events by (object, type, reason): counts summed, newest message kept, newest first.
pub fn aggregate(events: &[Event], now: i64) -> Vec<EventGroup> {
    let mut groups: BTreeMap<(String, String, String, String), (EventGroup, i64)> = BTreeMap::new();
    for e in events {
        let seen = last_seen(e).unwrap_or(now);
        let object = format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or("?"),
            e.involved_object.name.as_deref().unwrap_or("?")
        );
        let ns = e.metadata.namespace.clone().unwrap_or_default();
        let event_type = e.type_.clone().unwrap_or_else(|| "Normal".into());
        let reason = e.reason.clone().unwrap_or_default();
        let count = i64::from(e.count.unwrap_or(1).max(1));
        let message = redact(e.message.as_deref().unwrap_or("").trim()).into_owned();
        let key = (
            ns.clone(),
            object.clone(),
            event_type.clone(),
            reason.clone(),
        );
        let entry = groups.entry(key).or_insert_with(|| {
            (
                EventGroup {
                    namespace: ns,
                    object,
                    event_type,
                    reason,
                    count: 0,
                    last_seen_seconds: 0,
                    message: message.clone(),
                },
                seen,
            )
        });
        entry.0.count += count;
        if seen >= entry.1 {
            entry.1 = seen;
            entry.0.message = message;
        }
    }
    let mut out: Vec<(EventGroup, i64)> = groups.into_values().collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.1));
    out.into_iter()
        .map(|(mut g, seen)| {
            g.last_seen_seconds = (now - seen).max(0);
            g
        })
        .collect()
}

/// Events about one object.
pub async fn for_object(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> ToolResult<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}"
    ));
    Ok(api.list(&lp).await?.items)
}

/// `list_events`; the KIND of `involved_object` is resolved like every resource argument.
pub async fn list_events(
    client: &kube::Client,
    resolver: &Resolver,
    a: args::ListEvents,
) -> ToolResult<CallToolResult> {
    let ns = a.namespace.filter(|n| !n.trim().is_empty());
    let api: Api<Event> = match &ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut fields = Vec::new();
    if let Some(obj) = a
        .involved_object
        .as_deref()
        .filter(|o| !o.trim().is_empty())
    {
        match obj.rsplit_once('/') {
            Some((kind, name)) => {
                let kind = resolver.resolve_for("list_events", kind).await?.kind;
                fields.push(format!("involvedObject.kind={kind}"));
                fields.push(format!("involvedObject.name={name}"));
            }
            None => fields.push(format!("involvedObject.name={obj}")),
        }
    }
    if let Some(r) = a.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        fields.push(format!("reason={r}"));
    }
    let mut lp = ListParams::default();
    if !fields.is_empty() {
        lp = lp.fields(&fields.join(","));
    }
    let events = api.list(&lp).await?.items;
    if let (true, Some(ns)) = (events.is_empty(), &ns) {
        ensure_namespace(client, ns).await?;
    }
    let now = format::now();
    let mut groups = aggregate(&events, now);
    if let Some(since) = a.since_seconds.filter(|s| *s > 0) {
        groups.retain(|g| g.last_seen_seconds <= since);
    }
    let mut t = Table::new(["LAST", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"]);
    for g in &groups {
        let object = if ns.is_some() {
            g.object.clone()
        } else {
            format!("{}/{}", g.namespace, g.object)
        };
        let message: String = g.message.chars().take(160).collect();
        t.row([
            age(g.last_seen_seconds),
            g.event_type.clone(),
            g.reason.clone(),
            object,
            g.count.to_string(),
            message,
        ]);
    }
    let warnings = groups.iter().filter(|g| g.event_type == "Warning").count();
    let text = format!(
        "{} event group{} ({} warning) in {}\n{}",
        groups.len(),
        if groups.len() == 1 { "" } else { "s" },
        warnings,
        ns.as_deref()
            .map_or("all namespaces".to_owned(), |n| format!("namespace {n}")),
        if groups.is_empty() {
            String::new()
        } else {
            t.render()
        }
    );
    let capped = cap(
        &text,
        LIST_BYTES,
        "filter with involved_object, reason or since_seconds",
    );
    Ok(ok_json(
        capped.text,
        &json!({"events": groups, "truncated": capped.truncated}),
    ))
}
