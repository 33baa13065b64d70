//! The Kubernetes API access each tool needs: one table, read from what each tool's code
//! calls through kube-rs (dry runs included: a server-side dry run needs the same verb as
//! the real call). `sopilot rbac` turns the rules of the enabled tools into a ClusterRole;
//! a unit test keeps the table in step with the tools the server offers. Discovery (`/api`,
//! `/apis`) needs no rule: every authenticated identity may read it. Secrets never appear.

use std::collections::{BTreeMap, BTreeSet};

/// One permission: verbs on a resource (or `resource/subresource`) of an API group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The API group (`""` for the core group).
    pub group: &'static str,
    /// The resource, or `resource/subresource` (`pods/log`).
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
}

/// What one tool needs.
#[derive(Debug, Clone, Copy)]
pub struct ToolAccess {
    pub tool: &'static str,
    /// Whether the tool mutates (offered only with `--allow-write`).
    pub writes: bool,
    pub access: &'static [Access],
}

const GET: &[&str] = &["get"];
const LIST: &[&str] = &["list"];
const GET_LIST: &[&str] = &["get", "list"];
const GET_PATCH: &[&str] = &["get", "patch"];
const PATCH: &[&str] = &["patch"];
const CREATE: &[&str] = &["create"];
const GET_DELETE_LIST: &[&str] = &["delete", "get", "list"];
const GET_LIST_PATCH: &[&str] = &["get", "list", "patch"];

const fn core(resource: &'static str, verbs: &'static [&'static str]) -> Access {
    Access {
        group: "",
        resource,
        verbs,
    }
}

const fn apps(resource: &'static str, verbs: &'static [&'static str]) -> Access {
    Access {
        group: "apps",
        resource,
        verbs,
    }
}

/// Checking that a namespace exists (and listing the ones that do) on a miss.
const NAMESPACES: Access = core("namespaces", GET_LIST);
/// Finding the workload that owns a pod (`impact::workload_of_pod`).
const OWNERS: [Access; 4] = [
    apps("replicasets", GET),
    apps("deployments", GET),
    apps("statefulsets", GET),
    apps("daemonsets", GET),
];
/// Karpenter's NodePools and NodeClaims (`karpenter.sh/v1`).
const NODEPOOLS: Access = Access {
    group: "karpenter.sh",
    resource: "nodepools",
    verbs: LIST,
};
const NODECLAIMS: Access = Access {
    group: "karpenter.sh",
    resource: "nodeclaims",
    verbs: LIST,
};
const PDBS: Access = Access {
    group: "policy",
    resource: "poddisruptionbudgets",
    verbs: LIST,
};
const POD_METRICS: Access = Access {
    group: "metrics.k8s.io",
    resource: "pods",
    verbs: LIST,
};
const NODE_METRICS: Access = Access {
    group: "metrics.k8s.io",
    resource: "nodes",
    verbs: LIST,
};

/// What `get_resource` may read: the built-in kinds an SRE looks at, never Secrets. Custom
/// resources are not granted; add a rule for the ones you want it to read.
const READABLE: &[Access] = &[
    core("configmaps", GET_LIST),
    core("endpoints", GET_LIST),
    core("events", GET_LIST),
    core("limitranges", GET_LIST),
    core("namespaces", GET_LIST),
    core("nodes", GET_LIST),
    core("persistentvolumeclaims", GET_LIST),
    core("persistentvolumes", GET_LIST),
    core("pods", GET_LIST),
    core("replicationcontrollers", GET_LIST),
    core("resourcequotas", GET_LIST),
    core("serviceaccounts", GET_LIST),
    core("services", GET_LIST),
    apps("controllerrevisions", GET_LIST),
    apps("daemonsets", GET_LIST),
    apps("deployments", GET_LIST),
    apps("replicasets", GET_LIST),
    apps("statefulsets", GET_LIST),
    Access {
        group: "autoscaling",
        resource: "horizontalpodautoscalers",
        verbs: GET_LIST,
    },
    Access {
        group: "batch",
        resource: "cronjobs",
        verbs: GET_LIST,
    },
    Access {
        group: "batch",
        resource: "jobs",
        verbs: GET_LIST,
    },
    Access {
        group: "discovery.k8s.io",
        resource: "endpointslices",
        verbs: GET_LIST,
    },
    Access {
        group: "networking.k8s.io",
        resource: "ingresses",
        verbs: GET_LIST,
    },
    Access {
        group: "networking.k8s.io",
        resource: "networkpolicies",
        verbs: GET_LIST,
    },
    Access {
        group: "policy",
        resource: "poddisruptionbudgets",
        verbs: GET_LIST,
    },
];

/// Every tool the server offers and the access it needs, in the order the server lists them.
pub static TOOLS: &[ToolAccess] = &[
    read("list_pods", &[core("pods", LIST), NAMESPACES]),
    read(
        "describe_pod",
        &[
            core("pods", GET_LIST),
            NAMESPACES,
            core("events", LIST),
            OWNERS[0],
            OWNERS[1],
            OWNERS[2],
            OWNERS[3],
        ],
    ),
    read(
        "pod_logs",
        &[core("pods", GET_LIST), core("pods/log", GET), NAMESPACES],
    ),
    read("list_events", &[core("events", LIST), NAMESPACES]),
    read(
        "get_deployment",
        &[
            apps("deployments", GET),
            apps("replicasets", LIST),
            NAMESPACES,
            PDBS,
            Access {
                group: "autoscaling",
                resource: "horizontalpodautoscalers",
                verbs: LIST,
            },
        ],
    ),
    read(
        "rollout_history",
        &[
            apps("deployments", GET),
            apps("replicasets", LIST),
            NAMESPACES,
        ],
    ),
    read(
        "recent_changes",
        &[
            NAMESPACES,
            apps("deployments", GET_LIST),
            apps("statefulsets", GET_LIST),
            apps("daemonsets", GET_LIST),
            apps("replicasets", GET_LIST),
            apps("controllerrevisions", LIST),
            core("pods", GET_LIST),
            core("configmaps", LIST),
            core("events", LIST),
            core("nodes", LIST),
            Access {
                group: "autoscaling",
                resource: "horizontalpodautoscalers",
                verbs: LIST,
            },
        ],
    ),
    read("list_nodes", &[core("nodes", LIST), NODE_METRICS]),
    read(
        "karpenter_nodepools",
        &[
            NODEPOOLS,
            NODECLAIMS,
            core("pods", LIST),
            core("events", LIST),
        ],
    ),
    read("karpenter_nodeclaims", &[NODECLAIMS]),
    read(
        "describe_node",
        &[core("nodes", GET_LIST), core("pods", LIST), NODE_METRICS],
    ),
    read("top_pods", &[core("pods", LIST), NAMESPACES, POD_METRICS]),
    read("top_nodes", &[core("nodes", LIST), NODE_METRICS]),
    read(
        "oom_killed_pods",
        &[core("pods", LIST), NAMESPACES, POD_METRICS],
    ),
    read("resolve_resource", &[]),
    read("get_resource", READABLE),
    read(
        "check_network_policy",
        &[
            core("pods", GET_LIST),
            core("services", GET),
            NAMESPACES,
            Access {
                group: "networking.k8s.io",
                resource: "networkpolicies",
                verbs: LIST,
            },
        ],
    ),
    write(
        "delete_pod",
        &[
            core("pods", GET_DELETE_LIST),
            NAMESPACES,
            OWNERS[0],
            OWNERS[1],
            OWNERS[2],
            OWNERS[3],
            PDBS,
        ],
    ),
    write(
        "rollout_restart",
        &[
            apps("deployments", GET_PATCH),
            apps("statefulsets", GET_PATCH),
            apps("daemonsets", GET_PATCH),
            NAMESPACES,
            PDBS,
        ],
    ),
    write(
        "rollout_undo",
        &[
            apps("deployments", GET_PATCH),
            apps("replicasets", LIST),
            NAMESPACES,
            PDBS,
        ],
    ),
    write(
        "scale",
        &[
            apps("deployments", GET),
            apps("statefulsets", GET),
            apps("deployments/scale", PATCH),
            apps("statefulsets/scale", PATCH),
            NAMESPACES,
        ],
    ),
    write(
        "patch_hpa",
        &[
            Access {
                group: "autoscaling",
                resource: "horizontalpodautoscalers",
                verbs: GET_PATCH,
            },
            NAMESPACES,
        ],
    ),
    write(
        "scale_placeholder_capacity",
        &[
            // list: every placeholder in the cluster counts towards the reservation's cost.
            apps("deployments", GET_LIST_PATCH),
            NAMESPACES,
            Access {
                group: "scheduling.k8s.io",
                resource: "priorityclasses",
                verbs: GET,
            },
            NODEPOOLS,
            NODECLAIMS,
            core("nodes", LIST),
            core("pods", LIST),
        ],
    ),
    write("cordon", &[core("nodes", GET_LIST_PATCH)]),
    write("uncordon", &[core("nodes", GET_LIST_PATCH)]),
    write(
        "drain",
        &[
            core("nodes", GET_LIST_PATCH),
            core("pods", LIST),
            core("pods/eviction", CREATE),
            OWNERS[0],
            OWNERS[1],
            OWNERS[2],
            OWNERS[3],
            PDBS,
        ],
    ),
];

const fn read(tool: &'static str, access: &'static [Access]) -> ToolAccess {
    ToolAccess {
        tool,
        writes: false,
        access,
    }
}

const fn write(tool: &'static str, access: &'static [Access]) -> ToolAccess {
    ToolAccess {
        tool,
        writes: true,
        access,
    }
}

/// A tool name the table does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mcp-kubectl has no tool {tool:?}; its tools: {known}")]
pub struct UnknownTool {
    pub tool: String,
    pub known: String,
}

/// The access one tool needs, or `None` for a tool the server does not have.
pub fn access_of(tool: &str) -> Option<&'static [Access]> {
    TOOLS.iter().find(|t| t.tool == tool).map(|t| t.access)
}

/// The names of every tool, or of the read-only ones.
pub fn tool_names(include_writes: bool) -> Vec<&'static str> {
    TOOLS
        .iter()
        .filter(|t| include_writes || !t.writes)
        .map(|t| t.tool)
        .collect()
}

/// A merged rule of a ClusterRole: the resources of one API group that need the same verbs,
/// and the tools that need them (for a comment beside the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub api_group: String,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub tools: Vec<String>,
}

/// The fewest rules granting exactly what `tools` need: verbs are united per resource, then
/// resources of one group with the same verbs share a rule. Ordered by group (core first),
/// then verbs, resources sorted: the same tools always give the same text.
pub fn rules_for<'a>(
    tools: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<PolicyRule>, UnknownTool> {
    type Key = (&'static str, &'static str);
    let mut verbs: BTreeMap<Key, BTreeSet<&'static str>> = BTreeMap::new();
    let mut users: BTreeMap<Key, BTreeSet<&'static str>> = BTreeMap::new();
    for tool in tools {
        let t = TOOLS
            .iter()
            .find(|t| t.tool == tool)
            .ok_or_else(|| UnknownTool {
                tool: tool.to_owned(),
                known: tool_names(true).join(", "),
            })?;
        for a in t.access {
            let key = (a.group, a.resource);
            verbs.entry(key).or_default().extend(a.verbs);
            users.entry(key).or_default().insert(t.tool);
        }
    }
    // (group, verbs) -> (resources, tools)
    type Merged<'t> = BTreeMap<(&'t str, Vec<&'t str>), (Vec<&'t str>, BTreeSet<&'t str>)>;
    let mut merged: Merged = BTreeMap::new();
    for ((group, resource), vs) in verbs {
        let entry = merged.entry((group, vs.into_iter().collect())).or_default();
        entry.0.push(resource);
        entry
            .1
            .extend(users.get(&(group, resource)).into_iter().flatten());
    }
    Ok(merged
        .into_iter()
        .map(|((group, vs), (resources, tools))| PolicyRule {
            api_group: group.to_owned(),
            resources: resources.into_iter().map(str::to_owned).collect(),
            verbs: vs.into_iter().map(str::to_owned).collect(),
            tools: tools.into_iter().map(str::to_owned).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Every tool the server offers has an entry, and every entry is a tool (a new tool
    /// without its RBAC needs fails here), with the right read/write side.
    #[test]
    fn every_tool_has_its_access() {
        let offered =
            |router: rmcp::handler::server::router::tool::ToolRouter<crate::KubeTools>| {
                router
                    .list_all()
                    .into_iter()
                    .map(|t| t.name.to_string())
                    .collect::<BTreeSet<_>>()
            };
        let reads = offered(crate::KubeTools::read_router());
        let writes = offered(crate::KubeTools::write_router());
        let table_reads: BTreeSet<String> =
            tool_names(false).into_iter().map(str::to_owned).collect();
        let table_all: BTreeSet<String> = tool_names(true).into_iter().map(str::to_owned).collect();
        assert_eq!(
            table_reads, reads,
            "read tools and their RBAC entries differ"
        );
        let all: BTreeSet<String> = reads.union(&writes).cloned().collect();
        assert_eq!(table_all, all, "tools and their RBAC entries differ");
    }

    #[test]
    fn never_secrets_and_no_wildcards() {
        for t in TOOLS {
            for a in t.access {
                let plain = a.resource.split('/').next().unwrap_or_default();
                assert!(plain != "secrets" && plain != "*", "{}: {a:?}", t.tool);
                assert!(
                    !a.verbs.contains(&"*") && a.group != "*",
                    "{}: {a:?}",
                    t.tool
                );
            }
        }
        let all = rules_for(tool_names(true)).unwrap();
        assert!(
            all.iter()
                .all(|r| !r.resources.iter().any(|x| x.starts_with("secrets")))
        );
    }

    #[test]
    fn subresources_are_their_own_rules() {
        let rules = rules_for(["pod_logs", "drain", "scale"]).unwrap();
        let find = |res: &str| {
            rules
                .iter()
                .find(|r| r.resources.iter().any(|x| x == res))
                .unwrap_or_else(|| panic!("{res} in {rules:?}"))
        };
        assert_eq!(find("pods/log").verbs, ["get"]);
        assert_eq!(find("pods/log").tools, ["pod_logs"]);
        assert_eq!(find("pods/eviction").verbs, ["create"]);
        assert_eq!(find("deployments/scale").verbs, ["patch"]);
        assert_eq!(find("deployments/scale").api_group, "apps");
    }

    #[test]
    fn merging_unites_verbs_and_groups_resources() {
        let rules = rules_for(["list_pods", "pod_logs", "cordon"]).unwrap();
        let core: Vec<_> = rules.iter().filter(|r| r.api_group.is_empty()).collect();
        // pods get+list (pod_logs widens list_pods' list), namespaces get+list: one rule.
        let get_list = core.iter().find(|r| r.verbs == ["get", "list"]).unwrap();
        assert_eq!(get_list.resources, ["namespaces", "pods"]);
        assert_eq!(get_list.tools, ["list_pods", "pod_logs"]);
        let nodes = core.iter().find(|r| r.resources == ["nodes"]).unwrap();
        assert_eq!(nodes.verbs, ["get", "list", "patch"]);
        assert_eq!(
            rules,
            rules_for(["cordon", "pod_logs", "list_pods"]).unwrap()
        );
        assert!(rules_for(["resolve_resource"]).unwrap().is_empty());
        let e = rules_for(["exec_pod"]).unwrap_err();
        assert!(e.to_string().contains("exec_pod") && e.to_string().contains("list_pods"));
    }
}
