//! Karpenter: read its NodePools (limits, what is in use, disruption, which pods are pending
//! and why) and NodeClaims (launch, registration, readiness), and pre-provision capacity the
//! way the source document does: a placeholder Deployment of pause pods under a negative
//! PriorityClass, scaled to what a forecast needs ([`placeholder`]); real pods preempt the
//! placeholders and land on nodes that are already Ready.

mod cluster;
pub mod placeholder;
mod plan;
pub mod read;
mod reserved;

use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::error::{ToolFailure, ToolResult};

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// Lists a Karpenter kind (cluster-scoped); a 404 means Karpenter is not installed.
async fn list(client: &kube::Client, kind: &str, plural: &str) -> ToolResult<Vec<DynamicObject>> {
    let ar = resource("karpenter.sh", kind, plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list.items),
        Err(e) if crate::error::api_code(&e) == Some(404) => Err(ToolFailure::Refused(format!(
            "karpenter.sh/v1 {plural} are not served by this cluster: Karpenter (v1) is not installed, so there is nothing to read or pre-provision with"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn nodepools(client: &kube::Client) -> ToolResult<Vec<DynamicObject>> {
    list(client, "NodePool", "nodepools").await
}

pub async fn nodeclaims(client: &kube::Client) -> ToolResult<Vec<DynamicObject>> {
    list(client, "NodeClaim", "nodeclaims").await
}

fn name(o: &DynamicObject) -> String {
    o.metadata.name.clone().unwrap_or_default()
}

fn str_at<'a>(o: &'a DynamicObject, pointer: &str) -> Option<&'a str> {
    o.data.pointer(pointer).and_then(Value::as_str)
}

fn label<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The status of one condition (`True`, `False`, `Unknown`), and when it last changed.
fn condition<'a>(o: &'a DynamicObject, kind: &str) -> (Option<&'a str>, Option<&'a str>) {
    let c = o
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        });
    (
        c.and_then(|c| c.get("status")).and_then(Value::as_str),
        c.and_then(|c| c.get("lastTransitionTime"))
            .and_then(Value::as_str),
    )
}

/// Millicores of a quantity string.
fn millis(q: Option<&str>) -> Option<i64> {
    q.and_then(crate::format::parse_quantity)
        .map(|c| (c * 1000.0).round() as i64)
}

/// Bytes of a quantity string.
fn bytes(q: Option<&str>) -> Option<i64> {
    q.and_then(crate::format::parse_quantity)
        .map(|b| b.round() as i64)
}
