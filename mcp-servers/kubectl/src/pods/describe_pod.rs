//! `describe_pod`: one pod as `kubectl describe pod` shows it — status, owner, each
//! container's state, resources and environment (redacted), volumes, and events by reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Container, ContainerState, ContainerStatus, Pod};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{cap, ok_json, redact};

use crate::args;
use crate::error::ToolResult;
use crate::events;
use crate::format::{self, LIST_BYTES};
use crate::lookup::get_pod;

fn container_resources(c: &Container) -> String {
    let get = |which: Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        which
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.0))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into())
    };
    let r = c.resources.as_ref();
    format!(
        "requests: {}  limits: {}",
        get(r.and_then(|r| r.requests.as_ref())),
        get(r.and_then(|r| r.limits.as_ref()))
    )
}

/// Environment variables as an SRE may see them: references shown as references, literal
/// values redacted, and values of secret-looking names hidden entirely.
fn env_text(c: &Container) -> Option<String> {
    let env = c.env.as_ref().filter(|e| !e.is_empty())?;
    let sensitive = |name: &str| {
        let n = name.to_ascii_uppercase();
        ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"]
            .iter()
            .any(|s| n.contains(s))
    };
    let parts: Vec<String> = env
        .iter()
        .map(|e| {
            let value = match (&e.value, &e.value_from) {
                (_, Some(from)) => {
                    if let Some(s) = &from.secret_key_ref {
                        format!("<secret {}/{}>", s.name, s.key)
                    } else if let Some(c) = &from.config_map_key_ref {
                        format!("<configmap {}/{}>", c.name, c.key)
                    } else if let Some(f) = &from.field_ref {
                        format!("<field {}>", f.field_path)
                    } else {
                        "<resource>".to_owned()
                    }
                }
                (Some(_), None) if sensitive(&e.name) => "[REDACTED]".to_owned(),
                (Some(v), None) => redact(v).into_owned(),
                (None, None) => String::new(),
            };
            format!("{}={value}", e.name)
        })
        .collect();
    Some(parts.join(", "))
}

/// `describe_pod`
pub async fn describe_pod(client: &kube::Client, a: args::Named) -> ToolResult<CallToolResult> {
    let pod = get_pod(client, &a.namespace, &a.name).await?;
    let now = format::now();
    let s = format::summarize(&pod, now);
    let mut out = String::new();
    let _ = writeln!(out, "Pod {}/{}", s.namespace, s.name);
    let ip = pod
        .status
        .as_ref()
        .and_then(|st| st.pod_ip.clone())
        .unwrap_or_else(|| "<none>".into());
    let _ = writeln!(
        out,
        "Status: {}  Ready: {}  Restarts: {}  Node: {}  IP: {ip}  Age: {}",
        s.status,
        s.ready,
        s.restarts,
        s.node.as_deref().unwrap_or("<none>"),
        sopilot_mcp_common::age(s.age_seconds)
    );
    let owner = crate::impact::workload_of_pod(client, &pod)
        .await
        .ok()
        .flatten();
    let _ = writeln!(
        out,
        "Owner: {}{}",
        s.owner.as_deref().unwrap_or("<none>"),
        owner
            .as_ref()
            .filter(|w| Some(format!("{}/{}", w.kind, w.name)) != s.owner)
            .map(|w| format!(" ({}/{})", w.kind, w.name))
            .unwrap_or_default()
    );
    if let Some(qos) = pod.status.as_ref().and_then(|st| st.qos_class.as_ref()) {
        let _ = writeln!(out, "QoS: {qos}");
    }
    let statuses = pod
        .status
        .as_ref()
        .and_then(|st| st.container_statuses.clone())
        .unwrap_or_default();
    let _ = writeln!(out, "Containers:");
    let containers = pod
        .spec
        .as_ref()
        .map(|sp| sp.containers.clone())
        .unwrap_or_default();
    let mut structured_containers = Vec::new();
    for c in &containers {
        let cs = statuses.iter().find(|x| x.name == c.name);
        structured_containers.push(write_container(&mut out, c, cs, now));
    }
    if let Some(conds) = pod.status.as_ref().and_then(|st| st.conditions.as_ref()) {
        let c: Vec<String> = conds
            .iter()
            .map(|c| format!("{}={}", c.type_, c.status))
            .collect();
        let _ = writeln!(out, "Conditions: {}", c.join(" "));
    }
    if let Some(volumes) = volumes_text(&pod) {
        let _ = writeln!(out, "Volumes: {volumes}");
    }
    let evs = events::for_object(client, &a.namespace, "Pod", &a.name)
        .await
        .unwrap_or_default();
    let groups = events::aggregate(&evs, now);
    write_events(&mut out, &groups);
    let capped = cap(&out, LIST_BYTES, "use pod_logs and list_events for details");
    Ok(ok_json(
        capped.text,
        &json!({"pod": s, "containers": structured_containers, "events": groups}),
    ))
}

/// Writes one container's lines (image, state, last termination, restarts, resources,
/// env) and answers its structured form.
fn write_container(
    out: &mut String,
    c: &Container,
    cs: Option<&ContainerStatus>,
    now: i64,
) -> Value {
    let _ = writeln!(
        out,
        "  {}  image={}",
        c.name,
        c.image.as_deref().unwrap_or("?")
    );
    let state = cs
        .and_then(|x| x.state.as_ref())
        .map(|st| state_text(st, now));
    let _ = writeln!(
        out,
        "    state: {}",
        state.unwrap_or_else(|| "Unknown".into())
    );
    if let Some(t) = cs
        .and_then(|x| x.last_state.as_ref())
        .and_then(|l| l.terminated.as_ref())
    {
        let _ = writeln!(
            out,
            "    last: Terminated {} exit={} finished {} ago",
            t.reason.as_deref().unwrap_or("?"),
            t.exit_code,
            format::age_of(t.finished_at.as_ref(), now)
        );
    }
    let _ = writeln!(
        out,
        "    restarts: {}  ready: {}",
        cs.map_or(0, |x| x.restart_count),
        cs.is_some_and(|x| x.ready)
    );
    let _ = writeln!(out, "    {}", container_resources(c));
    if let Some(env) = env_text(c) {
        let _ = writeln!(out, "    env: {env}");
    }
    json!({
        "name": c.name,
        "image": c.image,
        "restart_count": cs.map_or(0, |x| x.restart_count),
        "ready": cs.is_some_and(|x| x.ready),
        "limits": c.resources.as_ref().and_then(|r| r.limits.as_ref()).map(|l| l.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect::<BTreeMap<_, _>>()),
        "requests": c.resources.as_ref().and_then(|r| r.requests.as_ref()).map(|l| l.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect::<BTreeMap<_, _>>()),
    })
}

/// A container's current state, as `kubectl describe` words it.
fn state_text(st: &ContainerState, now: i64) -> String {
    if let Some(w) = &st.waiting {
        format!(
            "Waiting ({}: {})",
            w.reason.as_deref().unwrap_or("?"),
            w.message.as_deref().unwrap_or("")
        )
    } else if let Some(t) = &st.terminated {
        format!(
            "Terminated {} exit={}",
            t.reason.as_deref().unwrap_or("?"),
            t.exit_code
        )
    } else if let Some(r) = &st.running {
        format!(
            "Running since {}",
            r.started_at
                .as_ref()
                .map_or("?".into(), |t| format::age_of(Some(t), now) + " ago")
        )
    } else {
        "Unknown".into()
    }
}

/// The pod's volumes with their source (`data (pvc data-0), config (configMap app)`).
fn volumes_text(pod: &Pod) -> Option<String> {
    let vols = pod
        .spec
        .as_ref()
        .and_then(|sp| sp.volumes.as_ref())
        .filter(|v| !v.is_empty())?;
    let v: Vec<String> = vols
        .iter()
        .map(|v| {
            let kind = if v.empty_dir.is_some() {
                "emptyDir".to_owned()
            } else if let Some(p) = &v.persistent_volume_claim {
                format!("pvc {}", p.claim_name)
            } else if let Some(c) = &v.config_map {
                format!("configMap {}", c.name)
            } else if let Some(s) = &v.secret {
                format!("secret {}", s.secret_name.as_deref().unwrap_or("?"))
            } else {
                "other".to_owned()
            };
            format!("{} ({kind})", v.name)
        })
        .collect();
    Some(v.join(", "))
}

/// Writes the pod's events grouped by reason (as `events::aggregate` orders them), or `<none>`.
fn write_events(out: &mut String, groups: &[events::EventGroup]) {
    if groups.is_empty() {
        let _ = writeln!(out, "Events: <none>");
    } else {
        let _ = writeln!(out, "Events (by reason):");
        for g in groups {
            let _ = writeln!(
                out,
                "  {} {} x{} (last {} ago): {}",
                g.event_type,
                g.reason,
                g.count,
                sopilot_mcp_common::age(g.last_seen_seconds),
                g.message
            );
        }
    }
}
