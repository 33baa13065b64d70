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

/// Room for new placeholder pods, counted conservatively (room that is not really theirs
/// would hide nodes Karpenter has to launch, and their cost):
/// - each Ready, schedulable node without a `NoSchedule`/`NoExecute` taint: its allocatable
///   less its pods' requests; each launching NodeClaim without taints: its allocatable;
/// - the pods already Pending take theirs first, from the launching NodeClaims (Karpenter
///   launched those for them) and then from the nodes;
/// - none at all when the placeholder's pods are not free to run `anywhere` (a nodeSelector,
///   affinity or tolerations: where they may go is not worked out here).
pub async fn rooms(
    client: &kube::Client,
    claims: &[DynamicObject],
    anywhere: bool,
) -> ToolResult<Vec<Res>> {
    if !anywhere {
        return Ok(Vec::new());
    }
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let launching: Vec<Res> = claims
        .iter()
        .filter(|c| str_at(c, "/status/nodeName").is_none_or(str::is_empty))
        .filter(|c| {
            c.data
                .pointer("/spec/taints")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
        .map(|c| Res {
            cpu: millis(str_at(c, "/status/allocatable/cpu")).unwrap_or(0),
            memory: bytes(str_at(c, "/status/allocatable/memory")).unwrap_or(0),
        })
        .collect();
    let free: Vec<Res> = nodes.iter().filter_map(|n| node_room(n, &pods)).collect();
    let waiting: Vec<Res> = pods.iter().filter(|p| pending(p)).map(requests).collect();
    Ok(after_pending(launching, free, &waiting))
}

/// The room left once the pods already Pending take theirs: first on the launching NodeClaims
/// (Karpenter launched them for those pods), then on the nodes.
fn after_pending(mut launching: Vec<Res>, mut free: Vec<Res>, waiting: &[Res]) -> Vec<Res> {
    for &need in waiting {
        if let Some(room) = launching
            .iter_mut()
            .chain(free.iter_mut())
            .find(|r| r.fits(need))
        {
            *room = room.minus(need);
        }
    }
    free.extend(launching);
    free
}

/// A Ready, schedulable, untainted node's allocatable less its pods' requests.
fn node_room(n: &Node, pods: &[Pod]) -> Option<Res> {
    let status = n.status.as_ref()?;
    let ready = status
        .conditions
        .as_ref()
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let spec = n.spec.as_ref();
    let cordoned = spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let tainted = spec
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| ts.iter().any(|t| t.effect != "PreferNoSchedule"));
    let alloc = status.allocatable.as_ref()?;
    if !ready || cordoned || tainted {
        return None;
    }
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
    Some(
        Res {
            cpu: (q("cpu") * 1000.0).round() as i64,
            memory: q("memory").round() as i64,
        }
        .minus(used),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus, Taint};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    const GIB: i64 = 1 << 30;

    fn node(taints: Option<Vec<Taint>>) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some("n1".into());
        n.spec = Some(NodeSpec {
            taints,
            ..NodeSpec::default()
        });
        n.status = Some(NodeStatus {
            allocatable: Some(
                [
                    ("cpu".to_owned(), Quantity("3900m".into())),
                    ("memory".to_owned(), Quantity("8Gi".into())),
                ]
                .into(),
            ),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        });
        n
    }

    fn taint(effect: &str) -> Taint {
        Taint {
            key: "dedicated".into(),
            value: Some("system".into()),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    #[test]
    fn a_tainted_node_offers_placeholders_no_room() {
        let room = Res {
            cpu: 3900,
            memory: 8 * GIB,
        };
        assert_eq!(node_room(&node(None), &[]), Some(room));
        assert_eq!(
            node_room(&node(Some(vec![taint("PreferNoSchedule")])), &[]),
            Some(room)
        );
        assert_eq!(node_room(&node(Some(vec![taint("NoSchedule")])), &[]), None);
        assert_eq!(node_room(&node(Some(vec![taint("NoExecute")])), &[]), None);
    }

    #[test]
    fn pending_pods_are_counted_on_the_launching_nodeclaims_first() {
        let cpu = |m: i64| Res {
            cpu: m,
            memory: GIB,
        };
        // Karpenter launched the NodeClaim for the Pending pod: its room is the one taken,
        // even though the pod would fit the node too (the total is the same either way).
        let rooms = after_pending(vec![cpu(2000)], vec![cpu(2000)], &[cpu(2000)]);
        assert_eq!(rooms, [cpu(2000), Res { cpu: 0, memory: 0 }]);
    }
}
