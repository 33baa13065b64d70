//! The defaults the API server writes into objects it stores, so that what clients read
//! back (and what `kubectl describe` prints) looks like a real cluster's objects, and so
//! that kubectl's rollout commands find the strategies they check for.

use serde_json::{Value, json};

use super::obj;

/// Fills the defaults of `kind` that are missing. Applied to API creates and to
/// scenario objects alike, so templates written either way compare equal.
pub fn apply(kind: &str, object: &mut Value) {
    match kind {
        "Deployment" => {
            fill(object, &["spec", "replicas"], json!(1));
            fill(
                object,
                &["spec", "strategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            );
            fill(object, &["spec", "revisionHistoryLimit"], json!(10));
            fill(object, &["spec", "progressDeadlineSeconds"], json!(600));
            template(object);
        }
        "ReplicaSet" => {
            fill(object, &["spec", "replicas"], json!(1));
            template(object);
        }
        "StatefulSet" => {
            fill(object, &["spec", "replicas"], json!(1));
            fill(
                object,
                &["spec", "updateStrategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            fill(
                object,
                &["spec", "podManagementPolicy"],
                json!("OrderedReady"),
            );
            fill(object, &["spec", "revisionHistoryLimit"], json!(10));
            template(object);
        }
        "DaemonSet" => {
            fill(
                object,
                &["spec", "updateStrategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            fill(object, &["spec", "revisionHistoryLimit"], json!(10));
            template(object);
        }
        "Service" => {
            fill(object, &["spec", "type"], json!("ClusterIP"));
            fill(object, &["spec", "sessionAffinity"], json!("None"));
            if obj::str_at(object, "/spec/type") != Some("ExternalName") {
                fill(object, &["spec", "ipFamilies"], json!(["IPv4"]));
                fill(object, &["spec", "ipFamilyPolicy"], json!("SingleStack"));
                fill(object, &["spec", "internalTrafficPolicy"], json!("Cluster"));
                if let Some(ip) = obj::str_at(object, "/spec/clusterIP").map(str::to_owned) {
                    fill(object, &["spec", "clusterIPs"], json!([ip]));
                }
            }
            if let Some(ports) = object
                .pointer_mut("/spec/ports")
                .and_then(Value::as_array_mut)
            {
                for port in ports {
                    fill(port, &["protocol"], json!("TCP"));
                    if let Some(number) = port.get("port").cloned() {
                        fill(port, &["targetPort"], number);
                    }
                }
            }
        }
        "Pod" => {
            if let Some(spec) = object.get_mut("spec") {
                pod_spec(spec);
            }
        }
        _ => {}
    }
}

/// Sets `value` where the field is missing or empty (`""`, `{}`): Go clients send empty
/// structs, and the API defaults them as if absent.
fn fill(object: &mut Value, path: &[&str], value: Value) {
    let pointer = format!("/{}", path.join("/"));
    let empty = match object.pointer(&pointer) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(_) | Value::Bool(_) | Value::Number(_)) => false,
    };
    if empty {
        obj::set(object, path, value);
    }
}

fn template(object: &mut Value) {
    if let Some(spec) = object.pointer_mut("/spec/template/spec") {
        pod_spec(spec);
    }
}

/// Pod spec defaults (the pod-level ones and each container's).
fn pod_spec(spec: &mut Value) {
    fill(spec, &["restartPolicy"], json!("Always"));
    fill(spec, &["terminationGracePeriodSeconds"], json!(30));
    fill(spec, &["dnsPolicy"], json!("ClusterFirst"));
    fill(spec, &["schedulerName"], json!("default-scheduler"));
    fill(spec, &["securityContext"], json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            containers.iter_mut().for_each(container);
        }
    }
}

fn container(c: &mut Value) {
    let image = obj::str_at(c, "/image").unwrap_or("").to_owned();
    // The API pulls untagged and :latest images every time, others only when missing.
    let tag = image
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'))
        .map(|(_, t)| t);
    let policy = if image.contains('@') || tag.is_some_and(|t| t != "latest") {
        "IfNotPresent"
    } else {
        "Always"
    };
    fill(c, &["imagePullPolicy"], json!(policy));
    fill(
        c,
        &["terminationMessagePath"],
        json!("/dev/termination-log"),
    );
    fill(c, &["terminationMessagePolicy"], json!("File"));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            fill(port, &["protocol"], json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe) {
            fill(p, &["timeoutSeconds"], json!(1));
            fill(p, &["periodSeconds"], json!(10));
            fill(p, &["successThreshold"], json!(1));
            fill(p, &["failureThreshold"], json!(3));
            if let Some(http) = p.get_mut("httpGet") {
                fill(http, &["scheme"], json!("HTTP"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_and_containers() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "repo/app:v1", "readinessProbe": {"httpGet": {"port": 80}}},
            {"name": "b", "image": "busybox"}
        ]}}}});
        apply("Deployment", &mut d);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        let a = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(a["imagePullPolicy"], "IfNotPresent");
        assert_eq!(a["readinessProbe"]["failureThreshold"], 3);
        assert_eq!(a["readinessProbe"]["httpGet"]["scheme"], "HTTP");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"],
            "Always"
        );
        let mut s = json!({"spec": {"updateStrategy": {"type": "OnDelete"}}});
        apply("StatefulSet", &mut s);
        assert_eq!(
            s["spec"]["updateStrategy"]["type"], "OnDelete",
            "given values are kept"
        );
        assert_eq!(s["spec"]["replicas"], 1);
    }
}
