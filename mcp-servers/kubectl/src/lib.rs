//! `mcp-kubectl`: Kubernetes for incident response, as an MCP server.
//!
//! Read tools answer the diagnosis questions an SRE asks (what is crash-looping, why, which
//! node is hot, which NetworkPolicy blocks a connection) in compact tables with structured
//! content beside them. Mutating tools exist only with `--allow-write`; each takes `dry_run`
//! and reports the Impact (owner workload, replicas affected, PodDisruptionBudget, revision,
//! stateful, data-loss risk) that SOPilot's policy gate decides on. Every `kind` argument is
//! resolved against discovery before anything else ([`resolve`], `resolve_resource`), so
//! decisions are made on the resource the API server will be asked for; Secrets are never
//! returned, every result is redacted in one place ([`sopilot_mcp_common::redacted`], through
//! [`sopilot_mcp_common::run`]), and nothing shells out to kubectl.

mod args;
mod changes;
mod changes_cluster;
mod changes_diff;
mod changes_workloads;
pub mod cli;
mod client;
mod discovery;
mod drain;
pub mod eks;
mod error;
mod events;
mod format;
mod impact;
mod karpenter;
mod lookup;
mod mutate;
mod names;
mod netpol;
mod nodes;
mod pods;
pub mod rbac;
mod resolve;
mod resource;
mod selector;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use sopilot_mcp_common::{Failure, redacted, run};

pub use client::{ConnectError, connect, connect_eks};
pub use error::ToolFailure;

/// The longest any tool may take (drain has its own, longer, budget).
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The MCP server: a kube client and the tools it may offer.
#[derive(Clone)]
pub struct KubeTools {
    client: kube::Client,
    resolver: Arc<discovery::Resolver>,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for KubeTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeTools")
            .field("tools", &self.tool_router.list_all().len())
            .finish()
    }
}

impl KubeTools {
    /// The server; without `allow_write` the mutating tools are not even listed.
    pub fn new(client: kube::Client, allow_write: bool) -> Self {
        let mut tool_router = Self::read_router();
        if allow_write {
            tool_router.merge(Self::write_router());
        }
        Self {
            resolver: Arc::new(discovery::Resolver::new(client.clone())),
            client,
            tool_router,
        }
    }

    /// The tools this server offers, as `tools/list` returns them.
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        let mut tools = self.tool_router.list_all();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }
}

#[tool_router(router = read_router)]
impl KubeTools {
    #[tool(
        description = "List pods with READY, STATUS, RESTARTS, LAST-EXIT (last termination reason and exit code, e.g. OOMKilled(137)), NODE and AGE. Filter by namespace (or all_namespaces), label_selector, field_selector, or status (a phase, waiting reason or termination reason such as CrashLoopBackOff, OOMKilled, Pending; NotReady for unready pods).",
        annotations(title = "List pods", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_pods(
        &self,
        Parameters(a): Parameters<args::ListPods>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, pods::list_pods(&self.client, a)).await
    }

    #[tool(
        description = "Describe one pod: status, owner workload, each container's state, last termination (reason, exit code), restarts, requests and limits, env (Secret references shown as references, values redacted), volumes, and its events grouped by reason with counts.",
        annotations(
            title = "Describe a pod",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn describe_pod(
        &self,
        Parameters(a): Parameters<args::Named>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, pods::describe_pod(&self.client, a)).await
    }

    #[tool(
        description = "Read a pod's logs: the last tail_lines lines (default 200), optionally since_seconds, filtered by a grep regular expression. previous=true reads the crashed container's logs, which usually hold the reason it exited. Capped at 16 KiB (the newest lines are kept); credentials are redacted.",
        annotations(title = "Pod logs", read_only_hint = true, open_world_hint = false)
    )]
    async fn pod_logs(
        &self,
        Parameters(a): Parameters<args::PodLogs>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, pods::pod_logs(&self.client, a)).await
    }

    #[tool(
        description = "List events grouped by object and reason, with counts and the newest message, newest first. Filter by namespace, involved_object (NAME or KIND/NAME), reason (BackOff, OOMKilling, FailedScheduling, Unhealthy, ...) and since_seconds.",
        annotations(title = "List events", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_events(
        &self,
        Parameters(a): Parameters<args::ListEvents>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            events::list_events(&self.client, &self.resolver, a),
        )
        .await
    }

    #[tool(
        description = "Show a Deployment: desired/updated/ready/available replicas, rollout strategy and how many pods it may take down at once, images, conditions, its PodDisruptionBudget and HPA, and its recent revisions.",
        annotations(
            title = "Get a deployment",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_deployment(
        &self,
        Parameters(a): Parameters<args::Named>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, workloads::get_deployment(&self.client, a)).await
    }

    #[tool(
        description = "List a Deployment's recorded revisions (from its ReplicaSets): revision number, ReplicaSet, pods, images, age, change cause, and which one is current. Use before rollout_undo.",
        annotations(
            title = "Rollout history",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn rollout_history(
        &self,
        Parameters(a): Parameters<args::Named>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, workloads::rollout_history(&self.client, a)).await
    }

    #[tool(
        description = "What changed recently, as one timeline (oldest first, newest last, each line with its time and object): rollouts with the difference between consecutive revisions (image, env vars by name - values are never shown, a changed value reads 'changed' -, resources, probes, command/args), replica and HPA changes, ConfigMap updates (which keys, by whom), nodes joining, leaving, tainted or unhealthy, and warning events. For a namespace or one workload, over the last since_minutes (default 120). Call it early: a change just before an alarm is the first suspect.",
        annotations(
            title = "Recent changes",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn recent_changes(
        &self,
        Parameters(a): Parameters<args::RecentChanges>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            changes::recent_changes(&self.client, &self.resolver, a),
        )
        .await
    }

    #[tool(
        description = "Karpenter NodePools: node class, weight, nodes, CPU and memory in use against spec.limits (what is left), consolidation policy and consolidateAfter, disruption budgets, Ready; then every Pending pod with its priority class, requests and why it waits (the newest scheduler or Karpenter event: Insufficient cpu, nominated to a launching NodeClaim, or a NodePool's limits reached). Fails plainly when Karpenter is not installed.",
        annotations(
            title = "Karpenter NodePools and pending pods",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn karpenter_nodepools(
        &self,
        Parameters(a): Parameters<karpenter::read::NodePoolsArgs>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            karpenter::read::list_nodepools(&self.client, a),
        )
        .await
    }

    #[tool(
        description = "Karpenter NodeClaims: NodePool, instance type, capacity type, zone, node, Launched/Registered/Ready and since when Ready. wait_ready_seconds (at most 50) waits for every NodeClaim to be Ready, and peak_in_minutes (minutes until the forecast peak) says whether they were all Ready before it and how far ahead: use both after pre-provisioning.",
        annotations(
            title = "Karpenter NodeClaims",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn karpenter_nodeclaims(
        &self,
        Parameters(a): Parameters<karpenter::read::NodeClaimsArgs>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            karpenter::read::list_nodeclaims(&self.client, a),
        )
        .await
    }

    #[tool(
        description = "List nodes with status (Ready, NotReady, SchedulingDisabled), roles, zone, version, CPU% and memory% of allocatable in use, and abnormal conditions (MemoryPressure, DiskPressure, PIDPressure, NotReady).",
        annotations(title = "List nodes", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_nodes(
        &self,
        Parameters(a): Parameters<args::ListNodes>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, nodes::list_nodes(&self.client, a)).await
    }

    #[tool(
        description = "Describe a node: conditions, taints, allocatable, usage, requested resources, and the pods on it with their requests and limits.",
        annotations(
            title = "Describe a node",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn describe_node(
        &self,
        Parameters(a): Parameters<args::NodeName>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, nodes::describe_node(&self.client, a)).await
    }

    #[tool(
        description = "Current CPU and memory use of pods (metrics.k8s.io) beside their limits, with memory use as a percent of the limit; sorted by memory (or cpu), highest first.",
        annotations(title = "Top pods", read_only_hint = true, open_world_hint = false)
    )]
    async fn top_pods(
        &self,
        Parameters(a): Parameters<args::TopPods>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, pods::top_pods(&self.client, a)).await
    }

    #[tool(
        description = "Current CPU and memory use of nodes as a percent of allocatable, highest CPU first; cpu_threshold_percent / memory_threshold_percent keep only the hot ones (e.g. 80).",
        annotations(title = "Top nodes", read_only_hint = true, open_world_hint = false)
    )]
    async fn top_nodes(
        &self,
        Parameters(a): Parameters<args::TopNodes>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, nodes::top_nodes(&self.client, a)).await
    }

    #[tool(
        description = "Find containers whose last termination was OOMKilled, in one namespace or all, with memory request, limit, current usage, usage as a percent of the limit, and a suggested limit (peak + 30 %, rounded up to 64Mi).",
        annotations(
            title = "OOMKilled pods",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn oom_killed_pods(
        &self,
        Parameters(a): Parameters<args::OomPods>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, pods::oom_killed_pods(&self.client, a)).await
    }

    #[tool(
        description = "Resolve a resource spelling to the one resource the API server serves under it, without reading any object: kind, plural, singular or short name (deploy, Deployment, hpa), optionally qualified as NAME.GROUP (deployments.apps), NAME.VERSION.GROUP (deployments.v1.apps), NAME.VERSION for the core group (pods.v1), GROUP/VERSION/KIND (apps/v1/Deployment) or VERSION/KIND (v1/Pod). Answers with the fully qualified PLURAL.VERSION.GROUP name, the kind and whether it is namespaced; a name served by several groups resolves to the core group, then to built-in groups in kubectl's priority, otherwise it is reported as ambiguous. Unknown, ambiguous or malformed spellings are errors that list the accepted forms. Every other tool's kind argument is resolved the same way, and calls resolving to core Secrets are refused.",
        annotations(
            title = "Resolve a resource kind",
            read_only_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn resolve_resource(
        &self,
        Parameters(a): Parameters<args::ResolveResource>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, resource::resolve_resource(&self.resolver, a)).await
    }

    #[tool(
        description = "Get one object (as JSON, without managed fields or the last-applied copy; credential values redacted) or list objects of any kind: Service, ConfigMap, PersistentVolumeClaim, pdb, hpa, netpol, Ingress, custom resources. The kind is resolved as resolve_resource does. Never returns Secrets: any spelling that resolves to core Secrets is refused.",
        annotations(
            title = "Get a resource",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_resource(
        &self,
        Parameters(a): Parameters<args::GetResource>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            resource::get_resource(&self.client, &self.resolver, a),
        )
        .await
    }

    #[tool(
        description = "Explain whether NetworkPolicies let a source pod reach a destination Service (or pod) on a port: which policies select each side, which rules admit or not, and the verdict (ALLOWED or BLOCKED by a named policy, with the labels it lacks).",
        annotations(
            title = "Check network policy",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn check_network_policy(
        &self,
        Parameters(a): Parameters<args::CheckNetworkPolicy>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, netpol::check_network_policy(&self.client, a)).await
    }
}

#[tool_router(router = write_router)]
impl KubeTools {
    #[tool(
        description = "Delete (restart) a pod; its ReplicaSet or StatefulSet recreates it. dry_run=true changes nothing and reports the impact: owner workload and replicas, PodDisruptionBudget, restart count, waiting and last termination reason, data-loss risk.",
        annotations(
            title = "Delete a pod",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_pod(
        &self,
        Parameters(a): Parameters<args::DeletePod>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::delete_pod(&self.client, a)).await
    }

    #[tool(
        description = "Rolling restart of a Deployment (default), StatefulSet or DaemonSet, as `kubectl rollout restart` does. dry_run=true reports the impact: replicas, how many go down at once, PodDisruptionBudget.",
        annotations(
            title = "Rollout restart",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn rollout_restart(
        &self,
        Parameters(a): Parameters<args::RolloutRestart>,
    ) -> Result<CallToolResult, McpError> {
        run(
            TOOL_TIMEOUT,
            mutate::rollout_restart(&self.client, &self.resolver, a),
        )
        .await
    }

    #[tool(
        description = "Roll a Deployment back to its previous revision (or to_revision), as `kubectl rollout undo` does. dry_run=true reports the impact, including revision from/to, how many revisions back, and whether the PodDisruptionBudget allows the disruption, plus a pin {to_revision: N}: the revision it assessed. Pass that to_revision to the real call so it rolls back to exactly that revision even if another rollout happens in between; a to_revision that no longer exists fails and changes nothing.",
        annotations(
            title = "Rollout undo",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn rollout_undo(
        &self,
        Parameters(a): Parameters<args::RolloutUndo>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::rollout_undo(&self.client, a)).await
    }

    #[tool(
        description = "Scale a Deployment or StatefulSet to a number of replicas. dry_run=true reports replicas before/after and the fraction of replicas removed.",
        annotations(
            title = "Scale",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn scale(
        &self,
        Parameters(a): Parameters<args::Scale>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::scale(&self.client, &self.resolver, a)).await
    }

    #[tool(
        description = "Change a HorizontalPodAutoscaler's minReplicas and/or maxReplicas. dry_run=true reports the bounds before and after.",
        annotations(
            title = "Patch an HPA",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn patch_hpa(
        &self,
        Parameters(a): Parameters<args::PatchHpa>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::patch_hpa(&self.client, a)).await
    }

    #[tool(
        description = "Pre-provision nodes with Karpenter ahead of a forecast peak: scale a placeholder Deployment to `replicas`, or to the pods that reserve `vcpus`; 0 releases the capacity. A placeholder runs only pause containers (image repository named `pause`, e.g. registry.k8s.io/pause:3.10; no command, ports or data volumes) under a PriorityClass with a negative value; any other Deployment is refused (scale real workloads with kubectl.scale). Its pods go Pending, Karpenter launches nodes for them, and real pods that arrive later preempt them and start on Ready nodes. dry_run=true reports the impact: pods that fit existing capacity, nodes and vCPUs Karpenter would launch per NodePool with instance types, NodePool limits left, estimated hourly cost (built-in us-east-1 on-demand prices), whether everything stays within the NodePools' limits, the whole reservation after the call (pods, vCPUs, nodes and hourly cost on nodes of its own), and what every placeholder Deployment in the cluster reserves together after it (cluster_reserved_*). The scale applies only to the Deployment as it was checked: if it changed in between, nothing is scaled and the call can be made again.",
        annotations(
            title = "Scale placeholder capacity (Karpenter pre-provisioning)",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn scale_placeholder_capacity(
        &self,
        Parameters(a): Parameters<karpenter::placeholder::ScalePlaceholder>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, karpenter::placeholder::scale(&self.client, a)).await
    }

    #[tool(
        description = "Mark a node unschedulable (running pods stay). dry_run=true reports the node's conditions.",
        annotations(
            title = "Cordon a node",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn cordon(
        &self,
        Parameters(a): Parameters<args::NodeArg>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::cordon(&self.client, a, true)).await
    }

    #[tool(
        description = "Mark a node schedulable again. dry_run=true changes nothing.",
        annotations(
            title = "Uncordon a node",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn uncordon(
        &self,
        Parameters(a): Parameters<args::NodeArg>,
    ) -> Result<CallToolResult, McpError> {
        run(TOOL_TIMEOUT, mutate::cordon(&self.client, a, false)).await
    }

    #[tool(
        description = "Drain a node: cordon it, then evict its pods (DaemonSet pods stay) through the eviction API, which honours PodDisruptionBudgets; refused evictions are retried until timeout_seconds (default 60), with progress notifications. Refuses when a pod has no controller. dry_run=true reports the pods, the worst share of any workload and the tightest PodDisruptionBudget.",
        annotations(
            title = "Drain a node",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn drain(
        &self,
        Parameters(a): Parameters<args::Drain>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let progress = ctx.meta.get_progress_token().map(|token| drain::Progress {
            peer: ctx.peer.clone(),
            token,
        });
        let budget =
            Duration::from_secs(a.timeout_seconds.unwrap_or(60).clamp(1, 1800)) + TOOL_TIMEOUT;
        run(budget, drain::drain(&self.client, a, progress.as_ref())).await
    }
}

#[tool_handler(router = self.tool_router, name = "mcp-kubectl", instructions = "Kubernetes diagnosis and remediation for incident response. Start broad (list_pods with status, list_events, top_nodes), then narrow (describe_pod, pod_logs with previous=true for crashed containers). Mutating tools take dry_run: call them with dry_run=true first to see the impact (replicas affected, PodDisruptionBudget, revision). Kind arguments are resolved against the API server's discovery first (resolve_resource shows the resolution). Secrets are never returned; credentials in logs, env and objects are redacted.")]
impl ServerHandler for KubeTools {
    /// Checks object names before any tool builds a request from them, then dispatches.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, McpError> {
        if let Some(why) = names::invalid(request.arguments.as_ref()) {
            return Ok(rmcp::model::CallToolResponse::Complete(redacted(
                ToolFailure::BadArgument(why).into_result(),
            )));
        }
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        self.tool_router.call(tcc).await
    }
}
