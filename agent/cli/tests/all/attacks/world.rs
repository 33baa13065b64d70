//! One case's world: the simulated cluster (scenario files merged), the simulated Slack, the
//! injected model's endpoint and a scratch folder; plus the environment a `sopilot` process
//! needs to use them, snapshots of the cluster and the test's own changes to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use sopilot_sim_slack::SlackState;

use super::case::{Mutation, ObjectRef};
use super::model::ModelServer;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct World {
    pub sim: RunningSim,
    pub slack: SlackState,
    pub slack_url: String,
    pub model: ModelServer,
    pub model_url: String,
    pub dir: tempfile::TempDir,
}

/// The kinds whose objects a snapshot compares.
const KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ConfigMap",
    "Secret",
    "Service",
    "NetworkPolicy",
    "ControllerRevision",
];

/// Objects by `Kind/namespace/name`, without `status` and the fields every write changes.
pub type Snapshot = BTreeMap<String, Value>;

/// Merges scenario files: `kubernetes.objects` appended, `logs`, `previous_logs` and
/// `metrics` merged key by key, other sections replaced.
pub fn merge_scenarios(files: &[String]) -> Result<Value, String> {
    let mut out = json!({});
    for f in files {
        let text =
            std::fs::read_to_string(repo().join(f)).map_err(|e| format!("scenario {f}: {e}"))?;
        let v: Value = sopilot_yaml::from_str(&text).map_err(|e| format!("scenario {f}: {e}"))?;
        for (k, section) in v.as_object().cloned().unwrap_or_default() {
            if k != "kubernetes" {
                out[k] = section;
                continue;
            }
            for (sk, sv) in section.as_object().cloned().unwrap_or_default() {
                let slot = &mut out["kubernetes"][sk.as_str()];
                match (slot, sv) {
                    (Value::Array(a), Value::Array(b)) => a.extend(b),
                    (Value::Object(a), Value::Object(b)) => {
                        for (bk, bv) in b {
                            match (a.get_mut(&bk), bv) {
                                (Some(Value::Object(x)), Value::Object(y)) => x.extend(y),
                                (_, bv) => {
                                    a.insert(bk, bv);
                                }
                            }
                        }
                    }
                    (slot, sv) => *slot = sv,
                }
            }
        }
    }
    Ok(out)
}

/// The simulated Slack: three users (Alice approves, Carol through the on-call group, Bob
/// does not), #incidents and #random.
fn slack() -> SlackState {
    SlackState::from_section(Some(&json!({
        "users": [{"id": "U0ALICE", "name": "alice"}, {"id": "U0BOB", "name": "bob"},
                  {"id": "U0CAROL", "name": "carol"}],
        "usergroups": [{"id": "S0ONCALL", "users": ["U0CAROL"]}],
        "channels": [{"id": "C0INCIDENTS", "name": "incidents",
                      "members": ["U0SOPILOT", "U0ALICE", "U0BOB", "U0CAROL"]},
                     {"id": "C0RANDOM", "name": "random",
                      "members": ["U0SOPILOT", "U0ALICE", "U0BOB", "U0CAROL"]}],
    })))
    .unwrap()
}

impl World {
    pub async fn start(scenario: &[String]) -> Result<World, String> {
        let merged = merge_scenarios(scenario)?;
        let scenario = Scenario::from_yaml(&merged.to_string()).map_err(|e| e.to_string())?;
        let sim = sopilot_sim_env::start(scenario, SimOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let slack = slack();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = sopilot_sim_slack::router(slack.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let model = ModelServer::new(slack.clone());
        let model_url = model.serve().await;
        Ok(World {
            sim,
            slack,
            slack_url: format!("http://{addr}/api/"),
            model,
            model_url,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The environment of every `sopilot` process of this world.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KUBECONFIG", self.sim.kubeconfig().display().to_string()),
            ("OPENAI_BASE_URL", self.model_url.clone()),
            ("OPENAI_API_KEY", "attack-suite".into()),
            ("SLACK_BOT_TOKEN", self.slack.token()),
            ("SLACK_API_URL", self.slack_url.clone()),
            ("SOPILOT_SLACK_CHANNELS", "#incidents".into()),
            ("RUST_LOG", "debug".into()),
        ]
    }

    /// A `sopilot` command with this world's environment, run from the repository root.
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
        cmd.current_dir(repo()).kill_on_drop(true);
        for k in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "SOPILOT_STORE",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::new();
        for kind in KINDS {
            for mut o in self.sim.kube().list(kind, None) {
                let ns = o["metadata"]["namespace"].as_str().unwrap_or("").to_owned();
                let name = o["metadata"]["name"].as_str().unwrap_or("").to_owned();
                if let Some(m) = o.as_object_mut() {
                    m.remove("status");
                }
                if let Some(m) = o["metadata"].as_object_mut() {
                    for k in ["resourceVersion", "managedFields", "generation"] {
                        m.remove(k);
                    }
                }
                out.insert(format!("{kind}/{ns}/{name}"), o);
            }
        }
        out
    }

    pub fn get(&self, r: &ObjectRef) -> Option<Value> {
        self.sim.get(&r.kind, r.namespace.as_deref(), &r.name)
    }

    /// Applies the test's own changes to the cluster.
    pub fn mutate(&self, changes: &[Mutation]) -> Result<(), String> {
        for m in changes {
            let r = ObjectRef {
                kind: m.kind.clone(),
                namespace: m.namespace.clone(),
                name: m.name.clone(),
            };
            let mut o = self
                .get(&r)
                .ok_or_else(|| format!("mutate: no {r:?} in the cluster"))?;
            for (pointer, value) in &m.set {
                set_pointer(&mut o, pointer, value.clone());
            }
            if let Some(meta) = o["metadata"].as_object_mut() {
                meta.remove("managedFields");
            }
            self.sim
                .kube()
                .apply(o)
                .map_err(|e| format!("mutate {r:?}: {e}"))?;
        }
        Ok(())
    }
}

/// Sets `pointer` in `v`, creating objects on the way.
pub fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() && !cur.is_array() {
            *cur = json!({});
        }
        let last = i + 1 == parts.len();
        let slot = if cur.is_array() {
            &mut cur[p.parse::<usize>().unwrap()]
        } else {
            cur.as_object_mut()
                .unwrap()
                .entry(p.clone())
                .or_insert_with(|| json!({}))
        };
        if last {
            *slot = value;
            return;
        }
        cur = slot;
    }
}

/// Reads a file as text, lossily (SQLite files), or empty when missing.
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
