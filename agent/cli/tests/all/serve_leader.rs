//! Leader election of `sopilot serve` (two real processes, each with its own SQLite store,
//! on one simulated Kubernetes API): a schedule firing every 2 s starts runs on the leader
//! only; when the leader is SIGKILLed, the other replica takes the Lease once it expired and
//! its schedule starts firing; a replica stopped with SIGTERM releases the lease, and the
//! next one leads at once. And the Helm chart's Role is what a replica needs to lead
//! (without it, the refusal names the permissions to grant). (Terms, fencing and takeover
//! timing are tested in process in sopilot-server's `leader` module.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sopilot_sim_env::RunningSim;
use support::{Server, TOKEN, http, repo, sim, spawn};

/// Lease 3 s, renew deadline 2 s, retry 1 s: the schedule fires every 2 s.
const SERVE: &str = "  leader_election: {enabled: true, lease_duration: 3s, renew_deadline: 2s, retry_period: 1s}\n  schedules:\n    - name: crash-check\n      cron: \"*/2 * * * * *\"\n      sop: pod-crashloop\n      params: {namespace: payment, pod: payment-service-7d8f9c6b5-x2k9p}\n";

/// A replica: its own store, a scripted model with nothing to do (each run ends at once).
async fn replica(sim: &RunningSim, dir: &Path, pod: &str) -> Server {
    let script = dir.join("script.yaml");
    std::fs::write(&script, "turns: []\n").unwrap();
    let config = dir.join("sopilot.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {}\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n{SERVE}",
            dir.join("db").display(),
            script.display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("POD_NAME", pod)
        .env("RUST_LOG", "info")
        .env_remove("SLACK_BOT_TOKEN")
        .args(["serve", "--config"])
        .arg(&config);
    spawn(cmd).await
}

async fn runs(http: &reqwest::Client, server: &Server) -> Vec<Value> {
    let r = http
        .get(format!("{}/api/runs", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["runs"].as_array().unwrap().clone()
}

async fn leads(http: &reqwest::Client, server: &Server) -> bool {
    let text = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines().any(|l| l == "sopilot_leader 1")
}

/// Polls `check` every 100 ms until it holds; panics after `within`.
async fn until<F, Fut>(what: &str, within: Duration, check: F) -> Instant
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Instant::now()
}

#[tokio::test]
async fn schedules_fire_on_the_leader_only_and_move_when_it_dies() {
    let sim = sim().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let http = http();
    let mut a = replica(&sim, dir_a.path(), "sopilot-a").await;
    until("a to lead", Duration::from_secs(15), || leads(&http, &a)).await;
    let b = replica(&sim, dir_b.path(), "sopilot-b").await;

    // While both live, a fires and b does not.
    until("three runs on a", Duration::from_secs(30), || async {
        runs(&http, &a).await.len() >= 3
    })
    .await;
    let lease = sim.get("Lease", Some("default"), "sopilot-leader");
    let holder = lease
        .as_ref()
        .and_then(|l| l.pointer("/spec/holderIdentity"));
    assert!(
        holder
            .and_then(Value::as_str)
            .is_some_and(|h| h.starts_with("sopilot-a-")),
        "{lease:?}"
    );
    assert!(runs(&http, &b).await.is_empty());
    assert!(!leads(&http, &b).await);
    assert!(
        runs(&http, &a)
            .await
            .iter()
            .all(|r| r["sop"] == "pod-crashloop"),
    );

    // The leader dies without releasing the lease: b takes over once it expired, 3 s after b
    // last saw a renewal (which b reads within a retry period, 1 s, of its writing), at its
    // next retry (1 s); then its schedule fires.
    a.child.start_kill().unwrap();
    a.child.wait().await.unwrap();
    let killed = Instant::now();
    let took_over = until("b to lead", Duration::from_secs(15), || leads(&http, &b)).await;
    assert!(
        took_over - killed <= Duration::from_secs(1 + 3 + 1 + 1),
        "b led {:?} after the kill",
        took_over - killed
    );
    until("a run on b", Duration::from_secs(10), || async {
        !runs(&http, &b).await.is_empty()
    })
    .await;
    let lease = sim.get("Lease", Some("default"), "sopilot-leader").unwrap();
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .starts_with("sopilot-b-"),
        "{lease}"
    );
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    let log = b.log.lock().unwrap().join("\n");
    assert!(log.contains("leader_term{fencing=1}"), "{log}");

    // A third replica follows; b is stopped as Kubernetes stops a pod (SIGTERM): it releases
    // the lease, and c leads at its next retry, well before the 3 s lease would expire.
    let dir_c = tempfile::tempdir().unwrap();
    let c = replica(&sim, dir_c.path(), "sopilot-c").await;
    until("c to follow b", Duration::from_secs(10), || async {
        c.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("leads; following"))
    })
    .await;
    let terminated = Instant::now();
    let pid = b.child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let took_over = until("c to lead", Duration::from_secs(10), || leads(&http, &c)).await;
    assert!(
        took_over - terminated < Duration::from_millis(2500),
        "c led {:?} after b was stopped",
        took_over - terminated
    );
    let log = b.log.lock().unwrap().join("\n");
    assert!(
        log.contains("released lease default/sopilot-leader"),
        "{log}"
    );
    let lease = sim.get("Lease", Some("default"), "sopilot-leader").unwrap();
    assert_eq!(lease["spec"]["leaseTransitions"], 2);
}

/// Renders the chart with the production values (two replicas: leader election on) through
/// Helm's library (tests/python/helm_chart_check.py); the objects.
async fn production_manifests(out: &Path) -> Vec<Value> {
    let run = tokio::time::timeout(
        Duration::from_secs(300),
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
    std::fs::read_to_string(out.join("production.yaml"))
        .unwrap()
        .split("\n---\n")
        .map(|doc| sopilot_yaml::from_str::<Value>(doc).unwrap())
        .filter(|o| !o.is_null())
        .collect()
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl timed out")
    .expect("kubectl is installed");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Applies the rendered objects of `kinds` (a folder of JSON files: one apply).
async fn apply(admin: &Path, objects: &[Value], kinds: &[&str], dir: &Path) {
    let folder: PathBuf = dir.join(kinds.join("-"));
    std::fs::create_dir_all(&folder).unwrap();
    let chosen = objects
        .iter()
        .filter(|o| kinds.contains(&o["kind"].as_str().unwrap_or("")));
    for (i, o) in chosen.enumerate() {
        std::fs::write(folder.join(format!("{i}.json")), o.to_string()).unwrap();
    }
    kubectl(admin, &["apply", "-f", folder.to_str().unwrap()]).await;
}

#[tokio::test]
async fn the_charts_role_is_what_a_replica_needs_to_lead() {
    let dir = tempfile::tempdir().unwrap();
    let objects = production_manifests(dir.path()).await;
    let config = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["data"]["sopilot.yaml"].is_string())
        .unwrap()["data"]["sopilot.yaml"]
        .as_str()
        .unwrap()
        .to_owned();
    let config: Value = sopilot_yaml::from_str(&config).unwrap();
    let election = &config["serve"]["leader_election"];
    assert_eq!(election["enabled"], true, "{config}");
    let (namespace, lease) = (
        election["namespace"].as_str().unwrap(),
        election["name"].as_str().unwrap(),
    );

    // The chart's ServiceAccount, with a token, in the chart's namespace.
    let sim = sim().await;
    let admin = sim.kubeconfig();
    kubectl(admin, &["create", "namespace", namespace]).await;
    apply(admin, &objects, &["ServiceAccount"], dir.path()).await;
    let account = objects
        .iter()
        .find(|o| o["kind"] == "ServiceAccount")
        .unwrap();
    let name = account["metadata"]["name"].as_str().unwrap();
    let token = kubectl(admin, &["create", "token", name, "-n", namespace]).await;
    let kubeconfig = dir.path().join("sa.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: sim, cluster: {{server: '{}'}}}}]\n\
             contexts: [{{name: sa, context: {{cluster: sim, user: sa, namespace: {namespace}}}}}]\n\
             current-context: sa\nusers: [{{name: sa, user: {{token: '{}'}}}}]\n",
            sim.kubernetes_url(),
            token.trim()
        ),
    )
    .unwrap();
    let file = dir.path().join("sopilot.yaml");
    std::fs::write(
        &file,
        format!(
            "store: {}\nbuiltin: []\nserve:\n  listen: 127.0.0.1:0\n  leader_election: {election}\n",
            dir.path().join("db").display()
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAME", "sopilot-0")
        .env("RUST_LOG", "info")
        .env_remove("SLACK_BOT_TOKEN")
        .args(["serve", "--config"])
        .arg(&file);
    let server = spawn(cmd).await;
    let http = http();

    // Without the Role: refused, and the log says what to grant.
    let log = |server: &Server| server.log.lock().unwrap().join("\n");
    until("the refusal", Duration::from_secs(20), || async {
        log(&server).contains("forbidden")
    })
    .await;
    assert!(
        log(&server).contains(&format!(
            "grant this ServiceAccount get, create and update on leases.coordination.k8s.io in namespace {namespace}"
        )),
        "{}",
        log(&server)
    );
    assert!(!leads(&http, &server).await);

    // With the chart's Role and RoleBinding, the next retry leads.
    apply(admin, &objects, &["Role", "RoleBinding"], dir.path()).await;
    until("the replica to lead", Duration::from_secs(20), || {
        leads(&http, &server)
    })
    .await;
    let held = sim.get("Lease", Some(namespace), lease).unwrap();
    assert!(
        held["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .starts_with("sopilot-0-"),
        "{held}"
    );
}
