//! What every placeholder in the cluster reserves together. The policy's cost ceiling bounds
//! this total, not one Deployment's reservation: otherwise a model could scale placeholder A
//! to just under the ceiling, then B, then C, each call allowed on its own.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::placeholder::{Placeholder, classify, priorities, priority_class};
use super::plan::{Pool, Reservation, reservation, total};
use crate::error::ToolResult;

/// Another placeholder Deployment that reserves capacity now (its replicas stay as they are).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Other {
    pub namespace: String,
    pub name: String,
    pub replicas: i64,
    pub vcpus: f64,
    pub hourly_cost_usd: Option<f64>,
}

/// Every placeholder in the cluster after the call: the others as they stand, and the total
/// with the target at its new replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub others: Vec<Other>,
    pub total: Reservation,
}

/// The other placeholder Deployments with pods, in every namespace, each checked as the
/// target is (pause containers only, a negative PriorityClass, a CPU request); Deployments
/// that are not placeholders reserve nothing here (their pods are real work).
pub async fn others(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> ToolResult<Vec<(String, String, Placeholder)>> {
    let all = Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let candidates: Vec<&Deployment> = all
        .iter()
        .filter(|d| {
            let ns = d.metadata.namespace.as_deref().unwrap_or("");
            let n = d.metadata.name.as_deref().unwrap_or("");
            (ns, n) != (namespace, name)
        })
        .collect();
    let values = priorities(client, candidates.iter().filter_map(|d| priority_class(d))).await?;
    Ok(candidates
        .into_iter()
        .filter_map(|d| {
            let p = classify(d, &values).ok()?;
            (p.replicas > 0).then(|| {
                (
                    d.metadata.namespace.clone().unwrap_or_default(),
                    d.metadata.name.clone().unwrap_or_default(),
                    p,
                )
            })
        })
        .collect())
}

/// Adds the target's reservation after the call (`mine`) to the others', each priced on nodes
/// of its own over `pools`.
pub fn cluster(
    mine: &Reservation,
    others: &[(String, String, Placeholder)],
    pools: &[Pool],
) -> Cluster {
    let theirs: Vec<(Other, Reservation)> = others
        .iter()
        .map(|(namespace, name, p)| {
            let r = reservation(p.replicas, p.per_pod, pools);
            let other = Other {
                namespace: namespace.clone(),
                name: name.clone(),
                replicas: p.replicas,
                vcpus: r.vcpus,
                hourly_cost_usd: r.hourly_cost_usd,
            };
            (other, r)
        })
        .collect();
    let total = total(std::iter::once(mine).chain(theirs.iter().map(|(_, r)| r)));
    Cluster {
        others: theirs.into_iter().map(|(o, _)| o).collect(),
        total,
    }
}
