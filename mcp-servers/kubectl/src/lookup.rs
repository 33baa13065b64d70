//! Getting objects with errors that say how to find the right name.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde::de::DeserializeOwned;

use crate::error::{ToolFailure, ToolResult, api_code};

/// Fails with the namespaces that do exist when `ns` does not.
pub async fn ensure_namespace(client: &kube::Client, ns: &str) -> ToolResult<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(ns).await? {
        Some(_) => Ok(()),
        None => {
            let names: Vec<String> = api
                .list(&ListParams::default())
                .await
                .map(|l| {
                    l.items
                        .into_iter()
                        .filter_map(|n| n.metadata.name)
                        .collect()
                })
                .unwrap_or_default();
            Err(ToolFailure::not_found(
                "namespace",
                None,
                ns,
                format!("existing namespaces: {}", names.join(", ")),
            ))
        }
    }
}

/// A namespaced object, or a not-found failure naming what to do instead.
pub async fn get_namespaced<K>(
    client: &kube::Client,
    kind: &'static str,
    ns: &str,
    name: &str,
    hint: &str,
) -> ToolResult<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await? {
        Some(o) => Ok(o),
        None => {
            ensure_namespace(client, ns).await?;
            Err(ToolFailure::not_found(
                kind,
                Some(ns),
                name,
                hint.to_owned(),
            ))
        }
    }
}

/// A pod; when it is gone, suggests pods of the same owner (controllers replace deleted pods
/// under new names).
pub async fn get_pod(client: &kube::Client, ns: &str, name: &str) -> ToolResult<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(Some(p)) => return Ok(p),
        Ok(None) => {}
        Err(e) if api_code(&e) == Some(404) => {}
        Err(e) => return Err(e.into()),
    }
    ensure_namespace(client, ns).await?;
    // payment-service-7d8f9c6b5-x2k9p → payment-service-7d8f9c6b5-
    let prefix = name.rsplit_once('-').map_or(name, |(p, _)| p);
    let similar: Vec<String> = api
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .filter(|n| n.starts_with(prefix))
                .take(5)
                .collect()
        })
        .unwrap_or_default();
    let hint = if similar.is_empty() {
        format!("list pods with list_pods {{namespace: {ns}}}")
    } else {
        format!(
            "it may have been replaced; pods with the same prefix: {}",
            similar.join(", ")
        )
    };
    Err(ToolFailure::not_found("pod", Some(ns), name, hint))
}

/// The metrics.k8s.io resource for pods or nodes.
pub fn metrics_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", kind),
        plural,
    )
}

/// Pod metrics of a namespace (or all), empty when the Metrics API is absent.
pub async fn pod_metrics(client: &kube::Client, ns: Option<&str>) -> Vec<DynamicObject> {
    let ar = metrics_resource("PodMetrics", "pods");
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// Node metrics, empty when the Metrics API is absent.
pub async fn node_metrics(client: &kube::Client) -> Vec<DynamicObject> {
    let ar = metrics_resource("NodeMetrics", "nodes");
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}
