//! Resource fit and preemption, for the scheduler once Karpenter is installed (a NodePool
//! exists): a node that declares `status.allocatable` takes a pod only if the requests of the
//! pods on it leave room, and a pod that fits nowhere preempts lower-priority pods (the
//! placeholders) where that makes room, as kube-scheduler does.

use serde_json::Value;

use super::catalogue::{bytes, cpu_millis};
use crate::k8s::events::{self, EventType, Source};
use crate::k8s::obj;
use crate::k8s::pods::{self, is_active};
use crate::k8s::store::Store;

/// CPU (millicores) and memory (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu: i64,
    pub memory: i64,
}

impl Resources {
    pub fn add(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu + other.cpu,
            memory: self.memory + other.memory,
        }
    }

    pub fn sub(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu - other.cpu,
            memory: self.memory - other.memory,
        }
    }

    /// Whether `need` fits in this room; the first resource short otherwise.
    pub fn short_of(self, need: Resources) -> Option<&'static str> {
        if need.cpu > self.cpu {
            Some("cpu")
        } else if need.memory > self.memory {
            Some("memory")
        } else {
            None
        }
    }
}

/// Whether the simulated Karpenter is installed: some NodePool exists.
pub fn installed(store: &Store) -> bool {
    store.list("nodepools", None).next().is_some()
}

/// The sum of a pod's containers' requests.
pub fn requests(pod: &Value) -> Resources {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    containers.iter().fold(Resources::default(), |acc, c| {
        let q = |name: &str| obj::str_at(c, &format!("/resources/requests/{name}"));
        acc.add(Resources {
            cpu: q("cpu").and_then(cpu_millis).unwrap_or(0),
            memory: q("memory").and_then(bytes).unwrap_or(0),
        })
    })
}

/// A node's `status.allocatable`, or `None` when it declares none (then anything fits).
pub fn allocatable(node: &Value) -> Option<Resources> {
    let a = node.pointer("/status/allocatable")?;
    Some(Resources {
        cpu: obj::str_at(a, "/cpu").and_then(cpu_millis)?,
        memory: obj::str_at(a, "/memory").and_then(bytes)?,
    })
}

/// The active pods bound to a node.
pub fn pods_on<'a>(store: &'a Store, node: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    store
        .list("pods", None)
        .filter(move |p| obj::str_at(p, "/spec/nodeName") == Some(node) && is_active(p))
}

/// What is left on a node after its pods' requests.
pub fn free(store: &Store, node: &Value) -> Option<Resources> {
    let used =
        pods_on(store, obj::name(node)).fold(Resources::default(), |a, p| a.add(requests(p)));
    allocatable(node).map(|a| a.sub(used))
}

/// `None` when the pod fits the node (or fit is not simulated), else the resource short.
pub fn short_on(store: &Store, pod: &Value, node: &Value) -> Option<&'static str> {
    if !installed(store) {
        return None;
    }
    free(store, node)?.short_of(requests(pod))
}

/// A pod's priority: `spec.priority`, else its PriorityClass's value, else 0.
pub fn priority(store: &Store, pod: &Value) -> i64 {
    if let Some(p) = obj::i64_at(pod, "/spec/priority") {
        return p;
    }
    obj::str_at(pod, "/spec/priorityClassName")
        .and_then(|name| store.get("priorityclasses", "", name))
        .and_then(|pc| obj::i64_at(pc, "/value"))
        .unwrap_or(0)
}

/// A pod's namespace and name.
type PodKey = (String, String);

/// Makes room for `pod` on one of `candidates` (nodes it could run on but for their
/// resources) by deleting lower-priority pods, lowest priority first; picks the node that
/// needs the fewest victims. Returns the node, or `None` when no eviction makes room.
pub fn preempt(store: &mut Store, pod: &Value, candidates: &[String]) -> Option<String> {
    let own = priority(store, pod);
    let need = requests(pod);
    // (victims, node, the victims' namespace and name)
    let mut best: Option<(usize, String, Vec<PodKey>)> = None;
    for name in candidates {
        let node = store.get("nodes", "", name)?.clone();
        let mut room = free(store, &node)?;
        let mut lower: Vec<(i64, &Value)> = pods_on(store, name)
            .map(|p| (priority(store, p), p))
            .filter(|(p, _)| *p < own)
            .collect();
        lower.sort_by_key(|(p, v)| (*p, obj::name(v).to_owned()));
        let mut victims = Vec::new();
        for (_, victim) in lower {
            if room.short_of(need).is_none() {
                break;
            }
            room = room.add(requests(victim));
            victims.push((
                obj::namespace(victim).to_owned(),
                obj::name(victim).to_owned(),
            ));
        }
        if room.short_of(need).is_none() && best.as_ref().is_none_or(|(n, _, _)| victims.len() < *n)
        {
            best = Some((victims.len(), name.clone(), victims));
        }
    }
    let (_, node, victims) = best?;
    for (ns, name) in victims {
        if let Some(victim) = store.get("pods", &ns, &name).cloned() {
            let message = format!("Preempted by pod {} on node {node}", obj::uid(pod));
            events::record(
                store,
                &victim,
                EventType::Normal,
                "Preempted",
                &message,
                Source::controller("default-scheduler"),
            );
        }
        pods::kill(store, &ns, &name);
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_add_up() {
        let pod = json!({"spec": {"containers": [
            {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {"resources": {"requests": {"cpu": "1"}}},
        ]}});
        assert_eq!(
            requests(&pod),
            Resources {
                cpu: 1500,
                memory: 1024 * 1024 * 1024
            }
        );
        let room = Resources {
            cpu: 1000,
            memory: 1 << 40,
        };
        assert_eq!(room.short_of(requests(&pod)), Some("cpu"));
        assert_eq!(
            Resources {
                cpu: 2000,
                memory: 1 << 40
            }
            .short_of(requests(&pod)),
            None
        );
    }
}
