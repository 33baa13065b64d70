//! What the estimate needs from the cluster: each NodePool's requirements, limits and the
//! capacity its NodeClaims hold, and the room left for new pods on Ready nodes and launching
//! NodeClaims (after the pods already Pending take theirs).

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use kube::core::DynamicObject;
use serde_json::Value;

use super::plan::{Pool, Requirement, Res};
use super::{bytes, label, millis, name, str_at};
use crate::error::ToolResult;
use crate::format::parse_quantity;

/// A NodePool as the planner sees it, with the capacity of its NodeClaims.
pub fn pool(p: &DynamicObject, claims: &[DynamicObject]) -> Pool {
    let requirements = p
        .data
        .pointer("/spec/template/spec/requirements")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| Requirement {
                    key: r
                        .get("key")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    operator: r
                        .get("operator")
                        .and_then(Value::as_str)
                        .unwrap_or("In")
                        .to_owned(),
                    values: r
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|vs| {
                            vs.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let pool_name = name(p);
    let in_use = claims
        .iter()
        .filter(|c| label(c, "karpenter.sh/nodepool") == Some(pool_name.as_str()))
        .fold(Res::default(), |r, c| {
            r.plus(Res {
                cpu: millis(str_at(c, "/status/capacity/cpu")).unwrap_or(0),
                memory: bytes(str_at(c, "/status/capacity/memory")).unwrap_or(0),
            })
        });
    Pool {
        name: pool_name,
        requirements,
        cpu_limit: millis(str_at(p, "/spec/limits/cpu")),
        memory_limit: bytes(str_at(p, "/spec/limits/memory")),
        in_use,
    }
}

/// NodePools in Karpenter's order: highest `spec.weight` first, then by name.
pub fn ordered(pools: &mut [DynamicObject]) {
    pools.sort_by_key(|p| {
        (
            -p.data
                .pointer("/spec/weight")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            name(p),
        )
    });
}

/// The sum of a pod's containers' requests.
pub fn requests(pod: &Pod) -> Res {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .fold(Res::default(), |r, c| {
            let q = |k: &str| {
                c.resources
                    .as_ref()
                    .and_then(|res| res.requests.as_ref())
                    .and_then(|m| m.get(k))
                    .and_then(|q| parse_quantity(&q.0))
                    .unwrap_or(0.0)
            };
            r.plus(Res {
                cpu: (q("cpu") * 1000.0).round() as i64,
                memory: q("memory").round() as i64,
            })
        })
}

fn active(p: &Pod) -> bool {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    p.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Room for new pods: each Ready, schedulable node's allocatable less its pods' requests,
/// and each launching NodeClaim's allocatable; the pods already Pending take theirs first.
pub async fn rooms(client: &kube::Client, claims: &[DynamicObject]) -> ToolResult<Vec<Res>> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let mut rooms = Vec::new();
    for n in &nodes {
        let ready = n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let cordoned = n
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        let alloc = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
        let (Some(alloc), true, false) = (alloc, ready, cordoned) else {
            continue;
        };
        let q = |k: &str| {
            alloc
                .get(k)
                .and_then(|q| parse_quantity(&q.0))
                .unwrap_or(0.0)
        };
        let node_name = n.metadata.name.as_deref().unwrap_or("");
        let used = pods
            .iter()
            .filter(|p| {
                active(p) && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node_name)
            })
            .fold(Res::default(), |r, p| r.plus(requests(p)));
        rooms.push(
            Res {
                cpu: (q("cpu") * 1000.0).round() as i64,
                memory: q("memory").round() as i64,
            }
            .minus(used),
        );
    }
    for c in claims
        .iter()
        .filter(|c| str_at(c, "/status/nodeName").is_none_or(str::is_empty))
    {
        rooms.push(Res {
            cpu: millis(str_at(c, "/status/allocatable/cpu")).unwrap_or(0),
            memory: bytes(str_at(c, "/status/allocatable/memory")).unwrap_or(0),
        });
    }
    for pending in pods.iter().filter(|p| pending(p)) {
        let need = requests(pending);
        if let Some(room) = rooms.iter_mut().find(|r| r.fits(need)) {
            *room = room.minus(need);
        }
    }
    Ok(rooms)
}

/// A pod waiting for a node.
pub fn pending(p: &Pod) -> bool {
    active(p)
        && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
        && p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_none_or(str::is_empty)
}
