//! What changed between two pod templates (two revisions of a workload), as short lines an
//! SRE reads: image, env, resources, probes, command and args. Env values never appear: an
//! env var is shown by name as added, removed or `changed` (a reference to a ConfigMap or
//! Secret key is named, never resolved). Command and args go through the one redactor.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar, PodTemplateSpec, Probe};
use sopilot_mcp_common::redact;

/// The label every ReplicaSet's template carries; it differs between revisions by design.
const HASH_LABEL: &str = "pod-template-hash";
/// What `kubectl rollout restart` sets: a restart, not a change of the pod.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// The differences from `old` to `new`, one line each; empty when the templates are equal.
pub fn template_diff(old: &PodTemplateSpec, new: &PodTemplateSpec) -> Vec<String> {
    let mut out = Vec::new();
    let empty = Vec::new();
    let spec_old = old.spec.as_ref();
    let spec_new = new.spec.as_ref();
    let containers = |s: Option<&k8s_openapi::api::core::v1::PodSpec>| {
        s.map_or(&empty, |s| &s.containers).clone()
    };
    let init = |s: Option<&k8s_openapi::api::core::v1::PodSpec>| {
        s.and_then(|s| s.init_containers.clone())
            .unwrap_or_default()
    };
    containers_diff("", &containers(spec_old), &containers(spec_new), &mut out);
    containers_diff("init ", &init(spec_old), &init(spec_new), &mut out);
    let restarted = |t: &PodTemplateSpec| {
        t.metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(RESTARTED_AT).cloned())
    };
    if restarted(old) != restarted(new) && restarted(new).is_some() {
        out.push("restarted (kubectl rollout restart)".to_owned());
    }
    if out.is_empty() && !same_apart_from_hash(old, new) {
        out.push(
            "pod template changed in fields other than image, env, resources, probes, command and args (compare with get_resource)"
                .to_owned(),
        );
    }
    out
}

/// Whether the templates are equal once the pod-template-hash label and the restart
/// annotation are set aside.
fn same_apart_from_hash(old: &PodTemplateSpec, new: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(m) = t.metadata.as_mut() {
            if let Some(l) = m.labels.as_mut() {
                l.remove(HASH_LABEL);
            }
            if let Some(a) = m.annotations.as_mut() {
                a.remove(RESTARTED_AT);
            }
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(old) == strip(new)
}

fn containers_diff(prefix: &str, old: &[Container], new: &[Container], out: &mut Vec<String>) {
    for c in new {
        match old.iter().find(|o| o.name == c.name) {
            Some(o) => container_diff(prefix, o, c, out),
            None => out.push(format!(
                "{prefix}container {} added (image {})",
                c.name,
                c.image.as_deref().unwrap_or("?")
            )),
        }
    }
    for o in old.iter().filter(|o| !new.iter().any(|c| c.name == o.name)) {
        out.push(format!("{prefix}container {} removed", o.name));
    }
}

fn container_diff(prefix: &str, old: &Container, new: &Container, out: &mut Vec<String>) {
    let who = format!("{prefix}container {}", new.name);
    if old.image != new.image {
        out.push(format!(
            "{who}: image {} -> {}",
            old.image.as_deref().unwrap_or("<none>"),
            new.image.as_deref().unwrap_or("<none>")
        ));
    }
    for line in env_diff(old.env.as_deref(), new.env.as_deref()) {
        out.push(format!("{who}: {line}"));
    }
    if let Some(line) = env_from_diff(old, new) {
        out.push(format!("{who}: {line}"));
    }
    for line in resources_diff(old, new) {
        out.push(format!("{who}: {line}"));
    }
    for (name, o, n) in [
        ("livenessProbe", &old.liveness_probe, &new.liveness_probe),
        ("readinessProbe", &old.readiness_probe, &new.readiness_probe),
        ("startupProbe", &old.startup_probe, &new.startup_probe),
    ] {
        if o != n {
            out.push(format!(
                "{who}: {name} {} -> {}",
                probe_text(o.as_ref()),
                probe_text(n.as_ref())
            ));
        }
    }
    for (name, o, n) in [
        ("command", &old.command, &new.command),
        ("args", &old.args, &new.args),
    ] {
        if o != n {
            out.push(format!(
                "{who}: {name} {} -> {}",
                words(o.as_deref()),
                words(n.as_deref())
            ));
        }
    }
}

/// Env vars by name: added, removed or changed. Values are never shown; a reference to a
/// ConfigMap or Secret key is named (it is not a value).
pub fn env_diff(old: Option<&[EnvVar]>, new: Option<&[EnvVar]>) -> Vec<String> {
    let map = |e: Option<&[EnvVar]>| -> BTreeMap<String, EnvVar> {
        e.unwrap_or_default()
            .iter()
            .map(|v| (v.name.clone(), v.clone()))
            .collect()
    };
    let (old, new) = (map(old), map(new));
    let mut out = Vec::new();
    for (name, v) in &new {
        match old.get(name) {
            None => out.push(format!("env {name} added{}", source(v))),
            Some(o) if o != v => out.push(format!("env {name} changed{}", source(v))),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("env {name} removed"));
    }
    out
}

/// ` (from ConfigMap NAME key KEY)` for a referenced value; nothing for a literal.
fn source(v: &EnvVar) -> String {
    let Some(from) = v.value_from.as_ref() else {
        return String::new();
    };
    if let Some(r) = &from.config_map_key_ref {
        return format!(" (now from ConfigMap {} key {})", r.name, r.key);
    }
    if let Some(r) = &from.secret_key_ref {
        return format!(" (now from Secret {} key {})", r.name, r.key);
    }
    if let Some(r) = &from.field_ref {
        return format!(" (now from field {})", r.field_path);
    }
    " (now from a resource field)".to_owned()
}

fn env_from_diff(old: &Container, new: &Container) -> Option<String> {
    let names = |c: &Container| -> Vec<String> {
        c.env_from
            .iter()
            .flatten()
            .map(|e| {
                if let Some(r) = &e.config_map_ref {
                    format!("ConfigMap {}", r.name)
                } else if let Some(r) = &e.secret_ref {
                    format!("Secret {}", r.name)
                } else {
                    "?".to_owned()
                }
            })
            .collect()
    };
    (old.env_from != new.env_from).then(|| {
        format!(
            "envFrom [{}] -> [{}]",
            names(old).join(", "),
            names(new).join(", ")
        )
    })
}

fn resources_diff(old: &Container, new: &Container) -> Vec<String> {
    let mut out = Vec::new();
    let get = |c: &Container, limits: bool| {
        c.resources
            .as_ref()
            .and_then(|r| {
                if limits {
                    r.limits.clone()
                } else {
                    r.requests.clone()
                }
            })
            .unwrap_or_default()
    };
    for (label, limits) in [("requests", false), ("limits", true)] {
        let (o, n) = (get(old, limits), get(new, limits));
        let keys: std::collections::BTreeSet<&String> = o.keys().chain(n.keys()).collect();
        for k in keys {
            let (a, b) = (
                o.get(k).map(|q| q.0.as_str()),
                n.get(k).map(|q| q.0.as_str()),
            );
            if a != b {
                out.push(format!(
                    "{label}.{k} {} -> {}",
                    a.unwrap_or("<none>"),
                    b.unwrap_or("<none>")
                ));
            }
        }
    }
    out
}

/// A probe in one line: its action, then its timing.
pub fn probe_text(p: Option<&Probe>) -> String {
    let Some(p) = p else {
        return "<none>".to_owned();
    };
    let action = if let Some(h) = &p.http_get {
        format!(
            "http-get :{}{}",
            port(&h.port),
            h.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("tcp :{}", port(&t.port))
    } else if let Some(g) = &p.grpc {
        format!("grpc :{}", g.port)
    } else if let Some(e) = &p.exec {
        format!("exec {}", words(e.command.as_deref()))
    } else {
        "?".to_owned()
    };
    format!(
        "[{action} delay={}s timeout={}s period={}s failure={}]",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.failure_threshold.unwrap_or(3)
    )
}

fn port(p: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match p {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    }
}

/// A command or args list, redacted (a password passed as a flag stays masked).
fn words(w: Option<&[String]>) -> String {
    match w {
        None => "<none>".to_owned(),
        Some(w) => redact(&format!("{w:?}")).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn template(v: serde_json::Value) -> PodTemplateSpec {
        serde_json::from_value(v).unwrap()
    }

    fn payment(pool: &str, image: &str, memory: &str) -> PodTemplateSpec {
        template(json!({
            "metadata": {"labels": {"app": "payment", "pod-template-hash": image}},
            "spec": {"containers": [{
                "name": "payment", "image": image,
                "env": [{"name": "DB_HOST", "value": "postgres"}, {"name": "DB_POOL_MAX_SIZE", "value": pool},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                "resources": {"limits": {"memory": memory}},
                "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
                "args": ["--db-password=hunter2-very-secret"]
            }]}
        }))
    }

    #[test]
    fn env_changes_are_named_and_values_never_shown() {
        let d = template_diff(
            &payment("50", "pay:v1", "1Gi"),
            &payment("10", "pay:v1", "1Gi"),
        );
        assert_eq!(d, ["container payment: env DB_POOL_MAX_SIZE changed"]);
        let text = d.join("\n");
        assert!(!text.contains("50") && !text.contains("10"), "{text}");
    }

    #[test]
    fn image_resources_probes_and_args_are_compared() {
        let old = payment("50", "pay:v1", "1Gi");
        let mut new = payment("50", "pay:v2", "512Mi");
        let c = &mut new.spec.as_mut().unwrap().containers[0];
        c.readiness_probe.as_mut().unwrap().period_seconds = Some(5);
        c.args = Some(vec!["--db-password=another-secret-value".into()]);
        c.env.as_mut().unwrap().pop();
        let d = template_diff(&old, &new).join("\n");
        assert!(d.contains("image pay:v1 -> pay:v2"), "{d}");
        assert!(d.contains("limits.memory 1Gi -> 512Mi"), "{d}");
        assert!(d.contains("period=10s") && d.contains("period=5s"), "{d}");
        assert!(d.contains("env DB_PASSWORD removed"), "{d}");
        assert!(d.contains("args"), "{d}");
        assert!(
            !d.contains("hunter2") && !d.contains("another-secret-value"),
            "args are redacted: {d}"
        );
    }

    #[test]
    fn references_are_named_added_and_removed_containers_seen() {
        let old = payment("50", "pay:v1", "1Gi");
        let mut new = old.clone();
        let spec = new.spec.as_mut().unwrap();
        spec.containers[0].env.as_mut().unwrap()[1] = serde_json::from_value(json!(
            {"name": "DB_POOL_MAX_SIZE", "valueFrom": {"configMapKeyRef": {"name": "pool", "key": "size"}}}
        ))
        .unwrap();
        spec.containers.push(
            template(json!({"spec": {"containers": [{"name": "sidecar", "image": "envoy:1"}]}}))
                .spec
                .unwrap()
                .containers[0]
                .clone(),
        );
        let d = template_diff(&old, &new).join("\n");
        assert!(
            d.contains("env DB_POOL_MAX_SIZE changed (now from ConfigMap pool key size)"),
            "{d}"
        );
        assert!(d.contains("container sidecar added (image envoy:1)"), "{d}");
        assert_eq!(
            template_diff(&new, &old).len(),
            2,
            "{:?}",
            template_diff(&new, &old)
        );
    }

    #[test]
    fn equal_templates_differ_in_nothing_but_a_restart_is_seen() {
        let old = payment("50", "pay:v1", "1Gi");
        let mut same = old.clone();
        same.metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(HASH_LABEL.into(), "other".into());
        assert!(template_diff(&old, &same).is_empty());
        let mut restarted = old.clone();
        restarted.metadata.as_mut().unwrap().annotations =
            Some([(RESTARTED_AT.to_owned(), "2025-01-01T00:00:00Z".to_owned())].into());
        assert_eq!(
            template_diff(&old, &restarted),
            ["restarted (kubectl rollout restart)"]
        );
        let mut other = old.clone();
        other.spec.as_mut().unwrap().service_account_name = Some("payments".into());
        assert!(template_diff(&old, &other)[0].contains("other than image"));
    }
}
