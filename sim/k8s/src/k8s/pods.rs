//! Pods: scheduling, the status a "kubelet" gives them, and the crash modelling.
//!
//! A pod whose template (or own metadata) carries the annotation
//! `sim.sopilot.dev/crash: MODE` never becomes ready: see [`CrashMode`].

use serde_json::{Value, json};

use super::events::{self, EventType, Source};
use super::obj;
use super::store::Store;

/// The annotation that makes a pod's containers fail.
pub const CRASH_ANNOTATION: &str = "sim.sopilot.dev/crash";

/// How the containers of a pod carrying [`CRASH_ANNOTATION`] fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Exits with code 1 and is restarted with back-off.
    CrashLoopBackOff,
    /// Is killed for exceeding its memory limit (exit 137) and restarted with back-off.
    OomKilled,
    /// Its image cannot be pulled; never starts.
    ImagePullBackOff,
}

impl CrashMode {
    /// The annotation values, as written in scenarios.
    pub const NAMES: &[&str] = &["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "CrashLoopBackOff" => Some(CrashMode::CrashLoopBackOff),
            "OOMKilled" => Some(CrashMode::OomKilled),
            "ImagePullBackOff" => Some(CrashMode::ImagePullBackOff),
            _ => None,
        }
    }

    /// The mode of a pod, from its annotation.
    pub fn of(pod: &Value) -> Option<Self> {
        obj::annotation(pod, CRASH_ANNOTATION).and_then(Self::parse)
    }
}

/// Whether the pod counts as ready (its Ready condition is True).
pub fn is_ready(pod: &Value) -> bool {
    condition_true(pod, "Ready")
}

pub fn condition_true(object: &Value, kind: &str) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Whether the pod still counts for its controller (not terminating, not finished).
pub fn is_active(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && !matches!(
            obj::str_at(pod, "/status/phase"),
            Some("Succeeded") | Some("Failed")
        )
}

/// A new pod for a controller, from its pod template.
pub fn from_template(
    template: &Value,
    owner: &Value,
    name: &str,
    generate_name: Option<&str>,
) -> Value {
    let mut metadata = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    obj::remove(&mut metadata, &["creationTimestamp"]);
    obj::set(&mut metadata, &["name"], json!(name));
    obj::set(&mut metadata, &["namespace"], json!(obj::namespace(owner)));
    if let Some(generate) = generate_name {
        obj::set(&mut metadata, &["generateName"], json!(generate));
    }
    obj::set(
        &mut metadata,
        &["ownerReferences"],
        json!([obj::controller_ref(owner)]),
    );
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Fills what the API server, the scheduler and the kubelet would add to a pod before it
/// is stored: defaults, a node, an IP and a status. Keeps whatever the pod already has, so
/// a scenario's pod status is kept as written. Records the kubelet's events for new pods.
pub fn admit(store: &mut Store, pod: &mut Value) {
    super::defaults::apply("Pod", pod);
    if pod.pointer("/spec/serviceAccountName").is_none() {
        // The ServiceAccount admission plugin's choice.
        obj::set(pod, &["spec", "serviceAccountName"], json!("default"));
    }
    if let Some(phase) = obj::str_at(pod, "/status/phase").map(str::to_owned) {
        // A status written in the scenario is kept; a pod it describes as Pending with no
        // node stays so (its reason, such as insufficient memory, is not simulated).
        let unplaced = obj::str_at(pod, "/spec/nodeName").is_none_or(str::is_empty);
        if unplaced && phase != "Pending" {
            super::scheduler::schedule(store, pod, true);
        }
        fill_scenario_status(store, pod);
        return;
    }
    let scheduled = super::scheduler::schedule(store, pod, false);
    if scheduled {
        start(store, pod);
    } else {
        // Remembered so that the pod is placed once a node frees up (after an uncordon).
        store.unscheduled.insert(obj::uid(pod).to_owned());
        let qos = qos_class(pod);
        obj::set(pod, &["status", "phase"], json!("Pending"));
        obj::set(pod, &["status", "qosClass"], json!(qos));
    }
}

/// Moves every timestamp the simulator gave a new pod back to `born`: pods that
/// controllers create while a scenario loads are as old as their owner, not brand new.
pub fn backdate(pod: &mut Value, born: &str) {
    fn walk(value: &mut Value, born: &str) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if crate::time::is_time_key(key) && child.is_string() {
                        *child = json!(born);
                    } else {
                        walk(child, born);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, born)),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
    obj::set(pod, &["metadata", "creationTimestamp"], json!(born));
    if let Some(status) = pod.get_mut("status") {
        walk(status, born);
    }
}

/// Gives a scheduled pod the status of started containers (or of failing ones).
pub fn start(store: &mut Store, pod: &mut Value) {
    let now = store.now_string();
    let node = obj::str_at(pod, "/spec/nodeName").unwrap_or("").to_owned();
    let host_ip = node_ip(store, &node);
    let pod_ip = pod_ip(store, &host_ip);
    let mode = CrashMode::of(pod);
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let kubelet = Source {
        component: "kubelet",
        host: Some(&node),
    };
    let mut statuses = Vec::new();
    let mut unready = Vec::new();
    for container in &containers {
        let name = obj::str_at(container, "/name").unwrap_or("");
        let image = obj::str_at(container, "/image").unwrap_or("");
        let container_id = format!(
            "containerd://{:016x}{:016x}",
            store.random(),
            store.random()
        );
        let image_id = format!(
            "{image}@sha256:{:016x}{:016x}",
            store.random(),
            store.random()
        );
        let pod_view = pod.clone();
        let status = match mode {
            None => {
                for (reason, message) in [
                    (
                        "Pulled",
                        format!("Container image \"{image}\" already present on machine"),
                    ),
                    ("Created", format!("Created container: {name}")),
                    ("Started", format!("Started container {name}")),
                ] {
                    events::record(
                        store,
                        &pod_view,
                        EventType::Normal,
                        reason,
                        &message,
                        kubelet,
                    );
                }
                json!({"name": name, "state": {"running": {"startedAt": now}}, "lastState": {},
                       "ready": true, "restartCount": 0, "image": image, "imageID": image_id,
                       "containerID": container_id, "started": true})
            }
            Some(CrashMode::ImagePullBackOff) => {
                unready.push(name.to_owned());
                let message = format!("Back-off pulling image \"{image}\"");
                events::record(
                    store,
                    &pod_view,
                    EventType::Normal,
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                    kubelet,
                );
                events::record(
                    store,
                    &pod_view,
                    EventType::Warning,
                    "Failed",
                    &format!("Failed to pull image \"{image}\": not found"),
                    kubelet,
                );
                events::record(
                    store,
                    &pod_view,
                    EventType::Normal,
                    "BackOff",
                    &message,
                    kubelet,
                );
                json!({"name": name, "state": {"waiting": {"reason": "ImagePullBackOff", "message": message}},
                       "lastState": {}, "ready": false, "restartCount": 0, "image": image, "imageID": "",
                       "started": false})
            }
            Some(crash @ (CrashMode::CrashLoopBackOff | CrashMode::OomKilled)) => {
                unready.push(name.to_owned());
                let (reason, code) = match crash {
                    CrashMode::OomKilled => ("OOMKilled", 137),
                    CrashMode::CrashLoopBackOff | CrashMode::ImagePullBackOff => ("Error", 1),
                };
                let message = format!(
                    "back-off 10s restarting failed container={name} pod={}_{}({})",
                    obj::name(pod),
                    obj::namespace(pod),
                    obj::uid(pod)
                );
                events::record(
                    store,
                    &pod_view,
                    EventType::Normal,
                    "Started",
                    &format!("Started container {name}"),
                    kubelet,
                );
                events::record(
                    store,
                    &pod_view,
                    EventType::Warning,
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {name} in pod {}_{}({})",
                        obj::name(pod),
                        obj::namespace(pod),
                        obj::uid(pod)
                    ),
                    kubelet,
                );
                json!({"name": name, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                       "lastState": {"terminated": {"exitCode": code, "reason": reason, "startedAt": now,
                                                     "finishedAt": now, "containerID": container_id}},
                       "ready": false, "restartCount": 1, "image": image, "imageID": image_id,
                       "containerID": container_id, "started": false})
            }
        };
        statuses.push(status);
    }
    let ready = unready.is_empty();
    let phase = if mode == Some(CrashMode::ImagePullBackOff) {
        "Pending"
    } else {
        "Running"
    };
    let mut status = json!({
        "phase": phase,
        "conditions": conditions(ready, &unready, &now),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    });
    if pod.pointer("/status/conditions").is_some() {
        // A pod that waited for a node keeps nothing of its Pending status.
        obj::remove(pod, &["status"]);
    }
    if let Some(map) = status.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    obj::set(pod, &["status"], status);
}

fn conditions(ready: bool, unready: &[String], now: &str) -> Value {
    let flag = if ready { "True" } else { "False" };
    let mut ready_cond =
        json!({"type": "Ready", "status": flag, "lastProbeTime": null, "lastTransitionTime": now});
    let mut containers_ready = json!({"type": "ContainersReady", "status": flag, "lastProbeTime": null, "lastTransitionTime": now});
    if !ready {
        let message = format!("containers with unready status: [{}]", unready.join(" "));
        for c in [&mut ready_cond, &mut containers_ready] {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(message);
        }
    }
    json!([
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
        ready_cond,
        containers_ready,
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
    ])
}

/// Completes a scenario pod's status without overriding what the scenario wrote:
/// IPs, start time, QoS class, conditions derived from the container statuses, and a
/// running status for containers the scenario did not describe.
fn fill_scenario_status(store: &mut Store, pod: &mut Value) {
    let now = store.now_string();
    let node = obj::str_at(pod, "/spec/nodeName").unwrap_or("").to_owned();
    let phase = obj::str_at(pod, "/status/phase").unwrap_or("").to_owned();
    if phase == "Running" {
        if pod.pointer("/status/hostIP").is_none() {
            let ip = node_ip(store, &node);
            obj::set(pod, &["status", "hostIP"], json!(ip));
            obj::set(pod, &["status", "hostIPs"], json!([{"ip": ip}]));
        }
        if pod.pointer("/status/podIP").is_none() {
            let host = obj::str_at(pod, "/status/hostIP").unwrap_or("").to_owned();
            let ip = pod_ip(store, &host);
            obj::set(pod, &["status", "podIP"], json!(ip));
            obj::set(pod, &["status", "podIPs"], json!([{"ip": ip}]));
        }
    }
    let created = obj::str_at(pod, "/metadata/creationTimestamp").map(str::to_owned);
    if pod.pointer("/status/startTime").is_none() {
        obj::set(
            pod,
            &["status", "startTime"],
            json!(created.clone().unwrap_or(now.clone())),
        );
    }
    if pod.pointer("/status/qosClass").is_none() {
        let qos = qos_class(pod);
        obj::set(pod, &["status", "qosClass"], json!(qos));
    }
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut statuses: Vec<Value> = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let started = obj::str_at(pod, "/status/startTime")
        .unwrap_or(&now)
        .to_owned();
    for container in &containers {
        let name = obj::str_at(container, "/name").unwrap_or("");
        let image = obj::str_at(container, "/image").unwrap_or("");
        match statuses
            .iter_mut()
            .find(|s| obj::str_at(s, "/name") == Some(name))
        {
            Some(status) => {
                if status.get("image").is_none() {
                    status["image"] = json!(image);
                }
                if status.get("restartCount").is_none() {
                    status["restartCount"] = json!(0);
                }
                if status.get("ready").is_none() {
                    let running = status.pointer("/state/running").is_some();
                    status["ready"] = json!(running && phase == "Running");
                }
                if status.get("started").is_none() {
                    status["started"] = json!(status.pointer("/state/running").is_some());
                }
            }
            None if phase == "Running" => statuses.push(json!({
                "name": name, "state": {"running": {"startedAt": started}}, "lastState": {},
                "ready": true, "restartCount": 0, "image": image, "started": true,
            })),
            None => {}
        }
    }
    if !statuses.is_empty() {
        obj::set(pod, &["status", "containerStatuses"], json!(statuses));
    }
    if pod.pointer("/status/conditions").is_none() && phase != "Pending" {
        let unready: Vec<String> = statuses
            .iter()
            .filter(|s| s.get("ready").and_then(Value::as_bool) != Some(true))
            .filter_map(|s| obj::str_at(s, "/name").map(str::to_owned))
            .collect();
        let ready = unready.is_empty() && phase == "Running";
        let at = created.unwrap_or(now);
        obj::set(
            pod,
            &["status", "conditions"],
            conditions(ready, &unready, &at),
        );
    }
}

/// The node's InternalIP, or an address made up from its name.
fn node_ip(store: &Store, node: &str) -> String {
    store
        .get("nodes", "", node)
        .and_then(|n| n.pointer("/status/addresses"))
        .and_then(Value::as_array)
        .and_then(|addrs| {
            addrs
                .iter()
                .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
                .and_then(|a| obj::str_at(a, "/address"))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| "10.0.0.10".to_owned())
}

/// A pod address in the node's subnet (as the AWS VPC CNI hands them out).
fn pod_ip(store: &mut Store, host_ip: &str) -> String {
    let n = store.next_counter();
    let prefix = host_ip.rsplit_once('.').map(|(p, _)| p).unwrap_or("10.0.0");
    format!("{prefix}.{}", 100 + n % 150)
}

/// Guaranteed, Burstable or BestEffort, from the containers' requests and limits.
fn qos_class(pod: &Value) -> &'static str {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let requests = c.pointer("/resources/requests").and_then(Value::as_object);
        let limits = c.pointer("/resources/limits").and_then(Value::as_object);
        any |= requests.is_some_and(|r| !r.is_empty()) || limits.is_some_and(|l| !l.is_empty());
        let full = ["cpu", "memory"].iter().all(|r| {
            let limit = limits.and_then(|l| l.get(*r));
            let request = requests.and_then(|q| q.get(*r)).or(limit);
            limit.is_some() && request == limit
        });
        guaranteed &= full;
    }
    if guaranteed {
        "Guaranteed"
    } else if any {
        "Burstable"
    } else {
        "BestEffort"
    }
}

/// Deletes a pod as the kubelet would after its grace period, recording `Killing`.
pub fn kill(store: &mut Store, namespace: &str, name: &str) -> Option<Value> {
    let pod = store.get("pods", namespace, name)?.clone();
    let node = obj::str_at(&pod, "/spec/nodeName").unwrap_or("").to_owned();
    let kubelet = Source {
        component: "kubelet",
        host: Some(&node),
    };
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| obj::str_at(c, "/name").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for c in containers {
        events::record(
            store,
            &pod,
            EventType::Normal,
            "Killing",
            &format!("Stopping container {c}"),
            kubelet,
        );
    }
    // Watchers see what a real deletion shows them: the pod marked Terminating, then gone.
    if store.recording && pod.pointer("/metadata/deletionTimestamp").is_none() {
        let mut terminating = pod.clone();
        let grace = obj::i64_at(&pod, "/spec/terminationGracePeriodSeconds").unwrap_or(30);
        let now = store.now_string();
        obj::set(
            &mut terminating,
            &["metadata", "deletionTimestamp"],
            json!(now),
        );
        obj::set(
            &mut terminating,
            &["metadata", "deletionGracePeriodSeconds"],
            json!(grace),
        );
        store.replace("pods", terminating);
    }
    store.remove("pods", namespace, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos() {
        let pod = |res: Value| json!({"spec": {"containers": [{"name": "a", "resources": res}]}});
        assert_eq!(qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&pod(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&pod(json!({"requests": {"cpu": "1"}}))),
            "Burstable"
        );
    }
}
