//! The configuration's `targets`: the clusters and AWS accounts one SOPilot serves, each
//! with its own servers (one connection per target).
//!
//! ```yaml
//! targets:
//!   - name: prod-eu
//!     labels: {env: prod}
//!     kubernetes: {kubeconfig: /etc/sopilot/kubeconfig, context: prod-eu}
//!     aws: {region: eu-west-1, role_arn: "arn:aws:iam::111111111111:role/sopilot"}
//!     routes: {accounts: ["111111111111"], regions: [eu-west-1], clusters: [prod-eu]}
//!   - name: staging
//!     labels: {env: staging}
//!     default: true
//!     kubernetes: {eks_cluster: staging}       # endpoint and token through the AWS SDK
//!     aws: {region: us-east-1, profile: staging}
//!     routes: {accounts: ["222222222222"]}
//! ```
//!
//! Credentials never go here: `aws` names a profile or a role, the environment or the
//! instance role provides the keys, and `env` refuses credential-like names.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use sopilot_protocol::{Routes, Target, valid_target_name};
use sopilot_runtime::{ServerSource, ServerSpec, TargetSpec};

/// One `targets` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub name: String,
    /// What policies read as `target.labels` (`env: prod`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Calls that name no target, in runs bound to none, act here.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub kubernetes: Option<KubeTarget>,
    #[serde(default)]
    pub aws: Option<AwsTarget>,
    /// More environment for this target's servers (`PROMETHEUS_URL`, `AWS_ENDPOINT_URL`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Which alarms, alerts and events belong to this target.
    #[serde(default)]
    pub routes: Routes,
}

/// The cluster of a target: a kubeconfig context, or an EKS cluster reached through the
/// AWS SDK (no exec plugin needed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeTarget {
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub eks_cluster: Option<String>,
}

/// The AWS account and region of a target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsTarget {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume (in the target's account) over the base credentials.
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// Environment names that hold credentials: never written in the configuration file.
fn credential_like(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "ACCESS_KEY",
        "PRIVATE",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| n.contains(w))
}

impl TargetConfig {
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if !valid_target_name(name) {
            return Err(format!(
                "targets: name {name:?} must be 1 to 63 lowercase letters, digits or '-', starting with a letter (e.g. prod-eu)"
            ));
        }
        if let Some(k) = &self.kubernetes
            && k.eks_cluster.is_some()
            && (k.kubeconfig.is_some() || k.context.is_some())
        {
            return Err(format!(
                "targets: {name}: kubernetes names both an EKS cluster and a kubeconfig/context; use one: `eks_cluster: NAME` (reached through the AWS SDK) or `kubeconfig`/`context`"
            ));
        }
        if let Some(key) = self.env.keys().find(|k| credential_like(k)) {
            return Err(format!(
                "targets: {name}: env {key} looks like a credential, which this file must not hold; set it in SOPilot's own environment, or use `aws: {{profile: ...}}` or `aws: {{role_arn: ...}}`"
            ));
        }
        for account in &self.routes.accounts {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "targets: {name}: routes.accounts {account:?} is not a 12-digit AWS account id (quote it in YAML: \"012345678901\")"
                ));
            }
        }
        Ok(())
    }

    /// The environment of this target's servers: `base` (the process's additions, such as
    /// a simulator's), then `env`, then the `aws` settings.
    pub(crate) fn server_env(&self, base: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = base.iter().cloned().collect();
        env.extend(self.env.clone());
        if let Some(aws) = &self.aws {
            let set = [
                ("AWS_REGION", &aws.region),
                ("AWS_PROFILE", &aws.profile),
                ("SOPILOT_AWS_ROLE_ARN", &aws.role_arn),
                ("SOPILOT_AWS_EXTERNAL_ID", &aws.external_id),
            ];
            for (k, v) in set {
                if let Some(v) = v {
                    env.insert(k.to_owned(), v.clone());
                }
            }
        }
        env.into_iter().collect()
    }

    /// `mcp-kubectl`'s arguments for this target's cluster.
    fn kube_args(&self) -> Vec<String> {
        let Some(k) = &self.kubernetes else {
            return Vec::new();
        };
        let mut args = Vec::new();
        if let Some(p) = &k.kubeconfig {
            args.extend(["--kubeconfig".to_owned(), p.display().to_string()]);
        }
        if let Some(c) = &k.context {
            args.extend(["--context".to_owned(), c.clone()]);
        }
        if let Some(e) = &k.eks_cluster {
            args.extend(["--eks-cluster".to_owned(), e.clone()]);
        }
        args
    }
}

/// Checks the section: each entry, unique names, at most one default.
pub fn check(targets: &[TargetConfig]) -> Result<(), String> {
    for (i, t) in targets.iter().enumerate() {
        t.check()?;
        if targets[..i].iter().any(|o| o.name == t.name) {
            return Err(format!("targets: {:?} is named twice", t.name));
        }
    }
    let defaults: Vec<&str> = targets
        .iter()
        .filter(|t| t.default)
        .map(|t| t.name.as_str())
        .collect();
    if defaults.len() > 1 {
        return Err(format!(
            "targets: {} are all `default: true`; at most one target is the default",
            defaults.join(", ")
        ));
    }
    Ok(())
}

/// What SOPilot's own environment would give every target's servers alike (they inherit it),
/// and so would blur which account or cluster a target reaches: refused. `var` reads the
/// environment.
fn check_environment(
    targets: &[TargetConfig],
    var: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    if var("SOPILOT_AWS_ROLE_ARN").is_some() {
        return Err("targets: SOPILOT_AWS_ROLE_ARN is set in SOPilot's environment, so every target's AWS servers would assume that one role; unset it and give each target `aws: {role_arn: ...}`".into());
    }
    if let Some(t) = targets
        .iter()
        .find(|t| t.aws.as_ref().is_some_and(|a| a.profile.is_some()))
        && var("AWS_ACCESS_KEY_ID").is_some()
    {
        return Err(format!(
            "targets: {} names an AWS profile, but AWS_ACCESS_KEY_ID in SOPilot's environment would win over it (the SDK reads environment keys first) for every target; remove the keys from the environment (use profiles or roles throughout)",
            t.name
        ));
    }
    let no_cluster: Vec<&str> = targets
        .iter()
        .filter(|t| t.kubernetes.is_none() && !t.env.contains_key("KUBECONFIG"))
        .map(|t| t.name.as_str())
        .collect();
    if no_cluster.len() > 1 {
        return Err(format!(
            "targets: {} name no cluster (`kubernetes`), so all would reach the one of SOPilot's own KUBECONFIG or service account; give each its own `kubernetes: {{context: ...}}` or `{{eks_cluster: ...}}`",
            no_cluster.join(", ")
        ));
    }
    Ok(())
}

/// Every target with its servers: `servers(env)` gives the servers of one environment (the
/// builtin ones and the configured ones), and each target's kubectl gets its cluster.
pub fn specs(
    targets: &[TargetConfig],
    base_env: &[(String, String)],
    servers: impl Fn(&[(String, String)]) -> Result<Vec<ServerSpec>, String>,
) -> Result<Vec<TargetSpec>, String> {
    if !targets.is_empty() {
        // The simulator's environment (`base_env`) is the process's own for the servers.
        check_environment(targets, |k| {
            base_env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
        })?;
    }
    let mut specs = Vec::new();
    for t in targets {
        let mut list = servers(&t.server_env(base_env))?;
        for s in &mut list {
            if let (true, "kubectl", ServerSource::Command { args, .. }) =
                (s.builtin, s.name.as_str(), &mut s.source)
            {
                args.extend(t.kube_args());
            }
        }
        specs.push(TargetSpec {
            target: Target {
                name: t.name.clone(),
                labels: t.labels.clone(),
            },
            servers: list,
            routes: t.routes.clone(),
            default: t.default || targets.len() == 1,
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(yaml: &str) -> Result<Vec<TargetConfig>, String> {
        let t: Vec<TargetConfig> = sopilot_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        check(&t).map(|()| t)
    }

    #[test]
    fn bad_targets_are_refused_naming_the_entry_and_the_fix() {
        let cases = [
            ("- {name: Prod}", "lowercase"),
            ("- {name: a}\n- {name: a}", "named twice"),
            (
                "- {name: a, default: true}\n- {name: b, default: true}",
                "at most one",
            ),
            (
                "- {name: a, env: {AWS_SECRET_ACCESS_KEY: x}}",
                "looks like a credential",
            ),
            ("- {name: a, routes: {accounts: [\"1234\"]}}", "12-digit"),
            (
                "- {name: a, kubernetes: {eks_cluster: x, context: y}}",
                "use one",
            ),
            (
                "- {name: a, routes: {account: [\"1234\"]}}",
                "unknown field",
            ),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn configured_servers_with_targets_and_unknown_schedule_targets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let load = |yaml: &str| {
            let path = dir.path().join("c.yaml");
            std::fs::write(&path, yaml).unwrap();
            crate::config::Config::load(&path).map(|_| ())
        };
        let err = load(
            "servers:\n  argocd: {url: \"http://argocd:8811/mcp\"}\ntargets:\n  - {name: prod}\n",
        )
        .unwrap_err();
        assert!(
            err.contains("per-target foreign servers are not supported"),
            "{err}"
        );
        let err = load(
            "targets:\n  - {name: prod}\nserve:\n  schedules:\n    - {name: nightly, cron: \"0 2 * * *\", target: qa}\n",
        )
        .unwrap_err();
        assert!(err.contains("does not name"), "{err}");
        load("targets:\n  - {name: prod}\nserve:\n  schedules:\n    - {name: nightly, cron: \"0 2 * * *\", target: prod}\n").unwrap();
    }

    #[test]
    fn what_the_environment_would_give_every_target_alike_is_refused() {
        let t =
            parse("- {name: a, aws: {profile: a}}\n- {name: b, kubernetes: {context: b}}").unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        check_environment(&t, env(&[])).unwrap();
        let err = check_environment(&t, env(&[("AWS_ACCESS_KEY_ID", "AKID")])).unwrap_err();
        assert!(err.contains("would win over it"), "{err}");
        let err = check_environment(&t, env(&[("SOPILOT_AWS_ROLE_ARN", "arn")])).unwrap_err();
        assert!(err.contains("every target's AWS servers"), "{err}");
        let two = parse("- {name: a}\n- {name: b}").unwrap();
        let err = check_environment(&two, env(&[])).unwrap_err();
        assert!(err.contains("a, b name no cluster"), "{err}");
    }

    #[test]
    fn each_target_gets_its_cluster_and_account() {
        let t = parse(
            "- {name: prod, kubernetes: {kubeconfig: /k, context: p}, aws: {region: eu-west-1, role_arn: r}, env: {PROMETHEUS_URL: http://p}}\n- {name: staging, kubernetes: {eks_cluster: s}}",
        )
        .unwrap();
        let servers = |env: &[(String, String)]| {
            Ok(vec![ServerSpec {
                name: "kubectl".into(),
                source: ServerSource::Command {
                    program: "sopilot".into(),
                    args: vec!["mcp-server".into(), "kubectl".into()],
                    env: env.to_vec(),
                },
                builtin: true,
            }])
        };
        let base = [("AWS_REGION".to_owned(), "us-east-1".to_owned())];
        let specs = specs(&t, &base, servers).unwrap();
        let ServerSource::Command { args, env, .. } = &specs[0].servers[0].source else {
            panic!()
        };
        assert_eq!(args[2..], ["--kubeconfig", "/k", "--context", "p"]);
        assert!(env.contains(&("AWS_REGION".into(), "eu-west-1".into())));
        assert!(env.contains(&("SOPILOT_AWS_ROLE_ARN".into(), "r".into())));
        assert!(env.contains(&("PROMETHEUS_URL".into(), "http://p".into())));
        let ServerSource::Command { args, env, .. } = &specs[1].servers[0].source else {
            panic!()
        };
        assert_eq!(args[2..], ["--eks-cluster", "s"]);
        assert!(env.contains(&("AWS_REGION".into(), "us-east-1".into())));
        assert!(!specs[0].default && !specs[1].default);
    }
}
