//! Resource arguments resolved before anything else: the built-in list of common kinds
//! first, the API server's discovery otherwise (cached for a minute, refreshed once when a
//! spelling is not found), and core Secrets refused on the resolved resource.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::core::{ApiResource, GroupVersionKind};
use sopilot_protocol::Resource;
use tokio::sync::Mutex;

use crate::error::{ToolFailure, ToolResult};
use crate::resolve::{self, Candidate, ResolveError};

/// How long a discovery answer is reused.
const TTL: Duration = Duration::from_secs(60);

/// Resolves resource spellings for the tools of one server.
pub struct Resolver {
    client: kube::Client,
    cache: Mutex<Option<(Instant, Arc<Vec<Candidate>>)>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl Resolver {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(None),
        }
    }

    /// The resource a spelling names, Secrets included (a resolution reveals no data).
    pub async fn resolve(&self, spelling: &str) -> ToolResult<Resource> {
        if let Some(known) = resolve::resolve_known(spelling) {
            return Ok(known?);
        }
        let (list, fresh) = self.candidates(false).await?;
        match resolve::resolve(spelling, &list) {
            Err(ResolveError::Unknown { .. }) if !fresh => {
                let (list, _) = self.candidates(true).await?;
                Ok(resolve::resolve(spelling, &list)?)
            }
            other => Ok(other?),
        }
    }

    /// The resource a tool argument names; core Secrets are refused before any API call.
    pub async fn resolve_for(&self, tool: &str, spelling: &str) -> ToolResult<Resource> {
        let r = self.resolve(spelling).await?;
        if r.is_secret() {
            return Err(ToolFailure::Refused(format!(
                "{tool} refused: kind {spelling:?} resolves to core Secrets ({}). mcp-kubectl never returns Secrets or acts on them: their contents must not reach a model or a log. describe_pod shows which Secrets a pod references, by name and key.",
                r.qualified()
            )));
        }
        Ok(r)
    }

    /// Discovery's candidates and whether they were fetched just now.
    async fn candidates(&self, refresh: bool) -> ToolResult<(Arc<Vec<Candidate>>, bool)> {
        let mut cache = self.cache.lock().await;
        if let Some((at, list)) = cache.as_ref()
            && !refresh
            && at.elapsed() < TTL
        {
            return Ok((Arc::clone(list), false));
        }
        let list = Arc::new(discover(&self.client).await?);
        *cache = Some((Instant::now(), Arc::clone(&list)));
        Ok((list, true))
    }
}

/// The kube-rs resource for a resolved one.
pub fn api_resource(r: &Resource) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&r.group, &r.version, &r.kind),
        &r.plural,
    )
}

/// Every resource the API server serves (legacy discovery: `/api`, `/apis` and each group
/// version). A group version that fails (an aggregated API that is down) is skipped, as
/// kubectl skips it.
async fn discover(client: &kube::Client) -> ToolResult<Vec<Candidate>> {
    let mut out = Vec::new();
    let core = client.list_core_api_versions().await?;
    for (i, version) in core.versions.iter().enumerate() {
        match client.list_core_api_resources(version).await {
            Ok(list) => push(&mut out, "", version, i == 0, &list),
            Err(e) => tracing::warn!("discovery of core/{version} failed: {e}"),
        }
    }
    for g in client.list_api_groups().await?.groups {
        let preferred = g
            .preferred_version
            .as_ref()
            .or(g.versions.first())
            .map(|p| p.version.clone());
        for gv in &g.versions {
            match client.list_api_group_resources(&gv.group_version).await {
                Ok(list) => push(
                    &mut out,
                    &g.name,
                    &gv.version,
                    preferred.as_deref() == Some(gv.version.as_str()),
                    &list,
                ),
                Err(e) => tracing::warn!("discovery of {} failed: {e}", gv.group_version),
            }
        }
    }
    Ok(out)
}

/// Adds a group version's resources (not their subresources) as candidates.
fn push(
    out: &mut Vec<Candidate>,
    group: &str,
    version: &str,
    preferred: bool,
    list: &APIResourceList,
) {
    for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
        out.push(Candidate {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: r.kind.clone(),
            plural: r.name.clone(),
            singular: r.singular_name.clone(),
            short_names: r.short_names.clone().unwrap_or_default(),
            namespaced: r.namespaced,
            preferred,
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The built-in list agrees with what the simulated API server's discovery answers, for
    /// every spelling of every known kind, and discovery resolves every qualified name.
    #[tokio::test]
    async fn known_kinds_agree_with_discovery() {
        let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let scenario = sopilot_sim_env::Scenario::from_file(
            repo.join("tests/scenarios/payment-incident.yaml"),
        )
        .unwrap();
        let sim = sopilot_sim_env::start(scenario, sopilot_sim_env::SimOptions::default())
            .await
            .unwrap();
        let client = crate::connect(Some(sim.kubeconfig().to_owned()), None)
            .await
            .unwrap();
        let list = discover(&client).await.unwrap();
        assert!(
            list.iter()
                .any(|c| c.plural == "secrets" && c.group.is_empty())
        );
        for k in resolve::known() {
            for name in [&k.plural, &k.singular, &k.kind]
                .into_iter()
                .chain(&k.short_names)
            {
                assert_eq!(
                    resolve::resolve(name, &list).unwrap(),
                    k.resource(),
                    "{name}: discovery disagrees with the built-in list"
                );
            }
        }
        for c in &list {
            let r = c.resource();
            assert_eq!(resolve::resolve(&r.qualified(), &list).unwrap(), r);
        }
        let resolver = Resolver::new(client);
        let r = resolver.resolve("leases").await.unwrap();
        assert_eq!(r.qualified(), "leases.v1.coordination.k8s.io");
        let e = resolver
            .resolve_for("get_resource", "secrets.v1.core")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("never returns Secrets"), "{e}");
        sim.shutdown().await;
    }
}
