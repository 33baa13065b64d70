//! Provisioning: pending pods that fit no node become NodeClaims. Pods first go to NodeClaims
//! still launching (Karpenter counts in-flight capacity); the rest are packed, per NodePool
//! (highest weight first), onto the largest instance type the NodePool's requirements and
//! limits allow, which is then shrunk to the cheapest type that holds them. A NodePool at its
//! limits launches nothing; its pods stay Pending with an event naming the limit.

use serde_json::{Map, Value, json};

use super::catalogue::{CATALOGUE, InstanceType, bytes_text, cpu_text};
use super::fit::{Resources, priority, requests};
use super::limits::{self, Left};
use super::record_once;
use super::requirements::{all_satisfied, capacity_types, of_pool, pool_labels, selector_met};
use crate::k8s::events::EventType;
use crate::k8s::obj;
use crate::k8s::store::Store;

/// Pods the scheduler could not place, highest priority first.
fn pending(store: &Store) -> Vec<Value> {
    let mut pods: Vec<Value> = store
        .list("pods", None)
        .filter(|p| store.unscheduled.contains(obj::uid(p)))
        .filter(|p| obj::str_at(p, "/spec/nodeName").is_none_or(str::is_empty))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .cloned()
        .collect();
    pods.sort_by_key(|p| {
        (
            -priority(store, p),
            obj::namespace(p).to_owned(),
            obj::name(p).to_owned(),
        )
    });
    pods
}

/// Room for pending pods that needs no new NodeClaim: a NodeClaim still launching, or a
/// node whose pods leave some (the scheduler places pods there on its next pass).
struct InFlight {
    labels: Map<String, Value>,
    room: Resources,
}

fn in_flight(store: &Store) -> Vec<InFlight> {
    let launching = store
        .list("nodeclaims", None)
        .filter(|c| obj::str_at(c, "/status/nodeName").is_none_or(str::is_empty))
        .filter_map(|c| {
            let a = c.pointer("/status/allocatable")?;
            Some(InFlight {
                labels: obj::labels(c),
                room: Resources {
                    cpu: obj::str_at(a, "/cpu").and_then(super::catalogue::cpu_millis)?,
                    memory: obj::str_at(a, "/memory").and_then(super::catalogue::bytes)?,
                },
            })
        });
    let nodes = store
        .list("nodes", None)
        .filter(|n| n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true))
        .filter(|n| crate::k8s::pods::condition_true(n, "Ready"))
        .filter_map(|n| {
            Some(InFlight {
                labels: obj::labels(n),
                room: super::fit::free(store, n)?,
            })
        });
    launching.chain(nodes).collect()
}

/// One pass: nominate pending pods to launching NodeClaims, launch new ones for the rest.
pub fn reconcile(store: &mut Store) {
    let pods = pending(store);
    if pods.is_empty() {
        return;
    }
    let mut flights = in_flight(store);
    let mut pools: Vec<Value> = store.list_owned("nodepools", None);
    pools.sort_by_key(|p| {
        (
            -obj::i64_at(p, "/spec/weight").unwrap_or(0),
            obj::name(p).to_owned(),
        )
    });
    let mut per_pool: Vec<Vec<Value>> = vec![Vec::new(); pools.len()];
    'pods: for pod in pods {
        let need = requests(&pod);
        for f in &mut flights {
            if selector_met(&pod, &f.labels) && f.room.short_of(need).is_none() {
                f.room = f.room.sub(need);
                continue 'pods;
            }
        }
        match pools.iter().position(|pool| accepts(pool, &pod)) {
            Some(i) => per_pool[i].push(pod),
            None => record_once(
                store,
                &pod,
                EventType::Warning,
                "FailedScheduling",
                "Failed to schedule pod, incompatible with every nodepool: its nodeSelector or tolerations match none of their requirements and taints",
            ),
        }
    }
    for (pool, pods) in pools.iter().zip(per_pool) {
        if !pods.is_empty() {
            launch_for_pool(store, pool, pods);
        }
    }
}

/// Whether a pod may go to a NodePool: it tolerates the pool's taints and some instance type
/// the pool allows meets its nodeSelector.
fn accepts(pool: &Value, pod: &Value) -> bool {
    let taints = json!({"spec": {"taints": pool.pointer("/spec/template/spec/taints").cloned().unwrap_or(json!([]))}});
    crate::k8s::scheduler::tolerates(pod, &taints)
        && allowed_types(pool)
            .iter()
            .any(|(_, labels)| selector_met(pod, labels))
}

/// The instance types a NodePool's requirements allow, with the labels their nodes get.
pub fn allowed_types(pool: &Value) -> Vec<(&'static InstanceType, Map<String, Value>)> {
    let requirements = of_pool(pool);
    let capacity_type = capacity_types(&requirements)
        .first()
        .copied()
        .unwrap_or("on-demand");
    let zone = zone_of(&requirements);
    CATALOGUE
        .iter()
        .filter_map(|t| {
            let mut labels = pool_labels(pool);
            labels.extend(t.labels(capacity_type, &zone));
            all_satisfied(&requirements, &labels).then_some((t, labels))
        })
        .collect()
}

/// The zone new nodes go to: the first the requirements allow, else us-east-1a.
fn zone_of(requirements: &[Value]) -> String {
    requirements
        .iter()
        .find(|r| {
            obj::str_at(r, "/key") == Some("topology.kubernetes.io/zone")
                && obj::str_at(r, "/operator") == Some("In")
        })
        .and_then(|r| r.pointer("/values/0"))
        .and_then(Value::as_str)
        .unwrap_or("us-east-1a")
        .to_owned()
}

/// Packs a NodePool's pods onto new NodeClaims within its limits.
fn launch_for_pool(store: &mut Store, pool: &Value, mut pods: Vec<Value>) {
    let types = allowed_types(pool);
    while let Some(first) = pods.first().cloned() {
        let left = limits::left(store, pool);
        let within: Vec<&(&InstanceType, Map<String, Value>)> =
            types.iter().filter(|(t, _)| left.admits(t)).collect();
        let Some((largest, labels)) = within
            .iter()
            .filter(|(_, l)| selector_met(&first, l))
            .max_by_key(|(t, _)| (t.vcpu, t.memory_gib, -(t.on_demand_hourly * 1e6) as i64))
            .map(|(t, l)| (*t, l.clone()))
        else {
            limit_events(store, pool, &pods, &left);
            return;
        };
        let (cpu, memory) = largest.allocatable();
        let mut room = Resources { cpu, memory };
        let (packed, rest): (Vec<Value>, Vec<Value>) = pods.into_iter().partition(|p| {
            let need = requests(p);
            let fits = selector_met(p, &labels) && room.short_of(need).is_none();
            if fits {
                room = room.sub(need);
            }
            fits
        });
        pods = rest;
        if packed.is_empty() {
            let message = format!(
                "Failed to schedule pod, no instance type the nodepool {:?} allows fits its requests (largest: {})",
                obj::name(pool),
                largest.name
            );
            record_once(
                store,
                &first,
                EventType::Warning,
                "FailedScheduling",
                &message,
            );
            pods.retain(|p| obj::uid(p) != obj::uid(&first));
            continue;
        }
        let total = packed
            .iter()
            .fold(Resources::default(), |a, p| a.add(requests(p)));
        let cheapest = within
            .iter()
            .filter(|(t, l)| {
                let (c, m) = t.allocatable();
                packed.iter().all(|p| selector_met(p, l))
                    && Resources { cpu: c, memory: m }.short_of(total).is_none()
            })
            .min_by(|(a, _), (b, _)| a.on_demand_hourly.total_cmp(&b.on_demand_hourly))
            .map(|(t, l)| (*t, l.clone()))
            .unwrap_or((largest, labels));
        super::lifecycle::launch(store, pool, cheapest.0, cheapest.1, total, &packed);
    }
}

/// The event each pod of a NodePool at its limits gets.
fn limit_events(store: &mut Store, pool: &Value, pods: &[Value], left: &Left) {
    let message = format!(
        "Failed to schedule pod, all available instance types exceed limits for nodepool: {:?} ({})",
        obj::name(pool),
        left.describe()
    );
    for pod in pods {
        record_once(store, pod, EventType::Warning, "FailedScheduling", &message);
    }
}

/// `cpu: 2, memory: 4Gi` for a NodeClaim's `spec.resources.requests`.
pub fn requests_json(total: Resources) -> Value {
    json!({"cpu": cpu_text(total.cpu), "memory": bytes_text(total.memory)})
}
