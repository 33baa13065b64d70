//! The Helm chart (deploy/helm/sopilot) as Helm itself sees it, then as the API server does:
//! tests/python/helm_chart_check.py lints, schema-checks and renders it with Helm v4's own
//! library (PyPI helm-python-sdk; scripts/test installs it) for the default values and
//! deploy/helm/values-production.yaml, and shows bad values refused; the rendered manifests are
//! checked for what the chart promises (non-root, read-only root filesystem, probes, no Secrets
//! in the ClusterRole...) and applied to the simulated Kubernetes API with the real
//! `kubectl apply --dry-run=server`, which must accept them, and refuse a misspelt field and an
//! invalid value with the API server's messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{repo, sim};

/// How long Helm's checks may take (the library loads once per call; rendering is fast).
const HELM_TIMEOUT: Duration = Duration::from_secs(300);
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
const NAMESPACE: &str = "sopilot";

/// Runs the Helm checks, writing the manifests under `out`; their JSON report.
async fn helm_checks(out: &Path) -> Value {
    let run = tokio::time::timeout(
        HELM_TIMEOUT,
        tokio::process::Command::new("python3")
            .current_dir(repo())
            .arg("tests/python/helm_chart_check.py")
            .args(["--chart", "deploy/helm/sopilot"])
            .args(["--production", "deploy/helm/values-production.yaml"])
            .arg("--out")
            .arg(out)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Helm checks timed out")
    .expect("python3 runs");
    assert!(
        run.status.success(),
        "the Helm checks failed (scripts/test installs helm-python-sdk):\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("the Helm checks print JSON")
}

/// The objects of a multi-document manifest file.
fn objects(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .split("\n---\n")
        .map(|doc| sopilot_yaml::from_str::<Value>(doc).unwrap())
        .filter(|o| !o.is_null())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> Run {
    let out = tokio::time::timeout(
        KUBECTL_TIMEOUT,
        tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
    .expect("kubectl is installed");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What every set of values must render: the pod's promises and a ClusterRole without Secrets.
fn check_common(objects: &[Value]) {
    let deployment = find(objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(
        pod["securityContext"]["runAsUser"], 10001,
        "the image's user"
    );
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        assert_eq!(container[probe]["httpGet"]["path"], "/healthz", "{probe}");
    }
    assert!(container["resources"]["limits"]["memory"].is_string());
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    for writable in ["/var/lib/sopilot", "/tmp", "/etc/sopilot/sopilot.yaml"] {
        assert!(mounts.contains(&writable), "{writable} in {mounts:?}");
    }
    let account = pod["serviceAccountName"].as_str().unwrap();
    assert_eq!(find(objects, "ServiceAccount")["metadata"]["name"], account);
    let binding = find(objects, "ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["name"], account);
    assert_eq!(binding["subjects"][0]["namespace"], NAMESPACE);
    let role = find(objects, "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    let mut resources = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().unwrap());
    assert!(resources.all(|r| r != "secrets" && r != "*"), "{role}");
    let config = find(objects, "ConfigMap")["data"]["sopilot.yaml"]
        .as_str()
        .unwrap();
    let config: Value = sopilot_yaml::from_str(config).unwrap();
    assert_eq!(config["store"], "/var/lib/sopilot/sopilot.db");
    assert_eq!(config["serve"]["listen"], "0.0.0.0:8080");
}

fn check_production(objects: &[Value]) {
    let deployment = find(objects, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let account = find(objects, "ServiceAccount");
    assert!(
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::"),
        "IRSA: {account}"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"], "sopilot-tokens",
        "tokens come from the existing Secret"
    );
    assert!(!objects.iter().any(|o| o["kind"] == "Secret"));
    for kind in [
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "ServiceMonitor",
    ] {
        find(objects, kind);
    }
    let monitor = find(objects, "ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let service = find(objects, "Service");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        service["metadata"]["labels"]["app.kubernetes.io/name"]
    );
}

#[tokio::test]
async fn the_chart_lints_renders_and_applies_to_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let report = helm_checks(dir.path()).await;
    assert!(
        report["helm_sdk"].as_str().unwrap().starts_with("v4."),
        "Helm v4's library: {}",
        report["helm_sdk"]
    );
    for (case, needle) in [
        (
            "misspelt_top_level_key",
            "additional properties 'replicaCountt' not allowed",
        ),
        (
            "misspelt_nested_key",
            "at '/serviceMonitor': additional properties 'enabeld' not allowed",
        ),
        ("wrong_type", "got string, want integer"),
        ("secrets_rule_by_schema", "/rbac/clusterRules/0/resources/1"),
        ("secrets_rule_by_template", "SOPilot never needs Secrets"),
        ("token_rule_by_schema", "/rbac/clusterRules/0/resources/0"),
        ("exec_rule_by_template", "reaches Secrets another way"),
        (
            "writable_root_filesystem",
            "/securityContext/readOnlyRootFilesystem",
        ),
        ("shared_readwriteonce_volume", "needs replicaCount 1"),
    ] {
        let message = report["refused"][case].as_str().unwrap_or("");
        assert!(message.contains(needle), "{case}: {message}");
    }
    let sets = &report["sets"];
    for set in ["default", "production"] {
        let lint = sets[set]["lint"].as_array().unwrap();
        assert!(
            lint.iter().all(|m| m["severity"].as_i64() < Some(2)),
            "{set}: lint warnings or errors: {lint:?}"
        );
    }
    let default = sets["default"]["manifests"].as_str().unwrap();
    let production = sets["production"]["manifests"].as_str().unwrap();
    check_common(&objects(default));
    check_common(&objects(production));
    check_production(&objects(production));

    let sim = sim().await;
    let kubeconfig = sim.kubeconfig();
    kubectl(kubeconfig, &["create", "namespace", NAMESPACE]).await;
    for (set, path) in [("default", default), ("production", production)] {
        let run = kubectl(kubeconfig, &["apply", "--dry-run=server", "-f", path]).await;
        assert!(
            run.ok,
            "{set}: kubectl apply --dry-run=server failed:\n{}",
            run.stderr
        );
        let count = objects(path).len();
        assert_eq!(
            run.stdout.matches("created (server dry run)").count(),
            count,
            "{set}: every object accepted:\n{}",
            run.stdout
        );
        assert!(!run.stderr.contains("Warning"), "{set}: {}", run.stderr);
    }
    assert!(
        kubectl(
            kubeconfig,
            &["get", "deployments", "-n", NAMESPACE, "-o", "name"]
        )
        .await
        .stdout
        .trim()
        .is_empty(),
        "a dry run stores nothing"
    );

    // The simulator checks what it accepts: a misspelt field and an invalid value are refused
    // with the API server's messages.
    let text = std::fs::read_to_string(production).unwrap();
    assert!(text.contains("\n  replicas: 2\n"));
    let typo = dir.path().join("typo.yaml");
    std::fs::write(
        &typo,
        text.replace("\n  replicas: 2\n", "\n  replicass: 2\n"),
    )
    .unwrap();
    let typo = typo.to_str().unwrap();
    let run = kubectl(kubeconfig, &["apply", "--dry-run=server", "-f", typo]).await;
    assert!(!run.ok);
    assert!(
        run.stderr.contains(&format!(
            "Error from server (BadRequest): error when creating \"{typo}\": Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicass\""
        )),
        "{}",
        run.stderr
    );
    let invalid = dir.path().join("invalid.yaml");
    std::fs::write(
        &invalid,
        text.replace("\n  replicas: 2\n", "\n  replicas: -1\n"),
    )
    .unwrap();
    let run = kubectl(
        kubeconfig,
        &["apply", "--dry-run=server", "-f", invalid.to_str().unwrap()],
    )
    .await;
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
        "{}",
        run.stderr
    );
}

/// `sopilot` (the binary under test) with `args`, `KUBECONFIG` set and the machine's other
/// pointers at real systems removed.
async fn sopilot(args: &[&str], kubeconfig: &Path) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("sopilot");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.current_dir(repo())
        .args(args)
        .env("KUBECONFIG", kubeconfig);
    for k in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "SLACK_BOT_TOKEN",
    ] {
        cmd.env_remove(k);
    }
    tokio::time::timeout(Duration::from_secs(240), cmd.kill_on_drop(true).output())
        .await
        .expect("sopilot timed out")
        .expect("sopilot runs")
}

/// The chart's default rules are exactly what `sopilot rbac` prints for the default
/// configuration; under the role the chart renders, every permission the kubectl tools need
/// is allowed (`sopilot doctor` asks the API for each) and an SOP runs with no call refused.
/// Without the role, doctor names what is denied.
#[tokio::test]
async fn the_bot_runs_under_the_role_the_chart_renders() {
    let dir = tempfile::tempdir().unwrap();
    let rbac = sopilot(&["rbac", "--format", "helm-values"], dir.path()).await;
    assert!(
        rbac.status.success(),
        "{}",
        String::from_utf8_lossy(&rbac.stderr)
    );
    let generated: Value = sopilot_yaml::from_str(&String::from_utf8_lossy(&rbac.stdout)).unwrap();
    let values = std::fs::read_to_string(repo().join("deploy/helm/sopilot/values.yaml")).unwrap();
    let values: Value = sopilot_yaml::from_str(&values).unwrap();
    assert_eq!(
        values["rbac"]["clusterRules"], generated["rbac"]["clusterRules"],
        "values.yaml's rbac.clusterRules differ from `sopilot rbac --format helm-values`: run \
         `python3 deploy/helm/sync-rbac.py target/debug/sopilot`"
    );

    let report = helm_checks(dir.path()).await;
    let rendered = objects(report["sets"]["default"]["manifests"].as_str().unwrap());
    let sim = sim().await;
    let admin = sim.kubeconfig();
    kubectl(admin, &["create", "namespace", NAMESPACE]).await;
    // kubectl reads a folder of JSON files as one apply.
    let only = |kinds: &[&str]| -> String {
        let folder = dir.path().join(kinds.join("-"));
        std::fs::create_dir_all(&folder).unwrap();
        for (i, o) in rendered
            .iter()
            .filter(|o| kinds.contains(&o["kind"].as_str().unwrap_or("")))
            .enumerate()
        {
            std::fs::write(folder.join(format!("{i}.json")), o.to_string()).unwrap();
        }
        folder.display().to_string()
    };
    let account = only(&["ServiceAccount"]);
    let run = kubectl(admin, &["apply", "-f", &account]).await;
    assert!(run.ok, "{}", run.stderr);
    let name = find(&rendered, "ServiceAccount")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = kubectl(admin, &["create", "token", &name, "-n", NAMESPACE]).await;
    assert!(token.ok, "kubectl create token: {}", token.stderr);
    let server = sim.kubernetes_url();
    let kubeconfig = dir.path().join("sopilot-sa.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: sim, cluster: {{server: '{server}'}}}}]\n\
             contexts: [{{name: sa, context: {{cluster: sim, user: sa, namespace: payment}}}}]\n\
             current-context: sa\nusers: [{{name: sa, user: {{token: '{}'}}}}]\n",
            token.stdout.trim()
        ),
    )
    .unwrap();
    let config = dir.path().join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}/sopilot.db\nbuiltin: [kubectl]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let doctor = |kc: &Path| {
        let kc = kc.to_owned();
        let config = config.clone();
        async move {
            let o = sopilot(&["doctor", "--config", &config, "--json"], &kc).await;
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["area"] == "kubernetes")
                .cloned()
                .collect::<Vec<Value>>()
        }
    };

    // The ServiceAccount alone may do nothing the tools need: doctor names it.
    let before = doctor(&kubeconfig).await;
    let denied = before
        .iter()
        .find(|c| c["status"] == "FAIL")
        .unwrap_or_else(|| panic!("{before:?}"));
    assert!(
        denied["detail"].as_str().unwrap().contains("get pods/log"),
        "{denied}"
    );

    // With the chart's ClusterRole and binding, everything is allowed.
    let role = only(&["ClusterRole", "ClusterRoleBinding"]);
    let run = kubectl(admin, &["apply", "-f", &role]).await;
    assert!(run.ok, "{}", run.stderr);
    let after = doctor(&kubeconfig).await;
    assert!(
        after.iter().all(|c| c["status"] == "OK")
            && after
                .iter()
                .any(|c| c["detail"].as_str().unwrap().contains("permissions the")),
        "{after:?}"
    );

    // An SOP's tool blocks run under the role with no call refused by the API.
    let pods = kubectl(admin, &["get", "pods", "-n", "payment", "-o", "name"]).await;
    let pod = pods
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("pod/")
        .to_owned();
    let store = format!("{}/run.db", dir.path().display());
    let o = sopilot(
        &[
            "run",
            "pod-crashloop",
            "-p",
            "namespace=payment",
            "-p",
            &format!("pod={pod}"),
            "--model",
            "none",
            "--on-escalate",
            "deny",
            "--store",
            &store,
            "--json",
        ],
        &kubeconfig,
    )
    .await;
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(matches!(o.status.code(), Some(0 | 2)), "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert!(
        !out.to_lowercase().contains("forbidden"),
        "a call was refused by the API under the chart's role:\n{out}"
    );
    assert!(report.to_string().contains("kubectl."), "{out}");
}
