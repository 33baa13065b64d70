//! Starting and stopping the whole simulated environment: the Kubernetes API (with its
//! kubeconfig), AWS, Slack and the model, each on its own loopback listener, built from its
//! scenario section (and Jira, when the scenario has a `jira` section); one graceful
//! shutdown for all of them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::serve::ListenerExt;
use serde_json::{Value, json};
use sopilot_sim_aws::AwsState;
use sopilot_sim_jira::JiraState;
use sopilot_sim_k8s::{KubeOptions, KubeState, Limits, RunningKube};
use sopilot_sim_model::ModelState;
use sopilot_sim_slack::SlackState;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::prometheus::RunningPrometheus;
use crate::{Scenario, SimError};

/// The region the simulated AWS answers for.
pub const SIM_REGION: &str = "us-east-1";

/// How to start the simulated environment.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where the Kubernetes API listens. Port 0 picks a free port. (AWS, Slack and the
    /// model always take a free port on 127.0.0.1.)
    pub kubernetes_addr: SocketAddr,
    /// Where to write the kubeconfig; `None` writes it into a temporary directory the
    /// [`RunningSim`] owns and removes when dropped.
    pub kubeconfig_path: Option<PathBuf>,
    /// Seed for generated names and uids (same seed, same names).
    pub seed: u64,
    /// Request, watch and history bounds of the Kubernetes API.
    pub limits: Limits,
    /// Start a real Prometheus on the scenario's history when it has a `prometheus` section
    /// (default); `false` for callers that export the history themselves.
    pub prometheus: bool,
    /// Play an EKS cluster of this name: the Kubernetes API serves HTTPS and wants EKS bearer
    /// tokens (the kubeconfig's token is refused), and the simulated AWS's DescribeCluster
    /// answers its endpoint and CA for the name.
    pub eks_cluster: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        let kube = KubeOptions::default();
        SimOptions {
            kubernetes_addr: kube.addr,
            kubeconfig_path: kube.kubeconfig_path,
            seed: kube.seed,
            limits: kube.limits,
            prometheus: true,
            eks_cluster: None,
        }
    }
}

/// The running simulated environment. Dropping it stops every server (abruptly); call
/// [`RunningSim::shutdown`] to stop them gracefully.
#[derive(Debug)]
pub struct RunningSim {
    scenario: Scenario,
    kube: RunningKube,
    aws: AwsState,
    slack: SlackState,
    model: ModelState,
    aws_service: Service,
    slack_service: Service,
    model_service: Service,
    prometheus: Option<RunningPrometheus>,
    jira: Option<(JiraState, Service)>,
}

/// Loads every section of the scenario, starts every simulator and writes the kubeconfig;
/// with a `prometheus` section (and [`SimOptions::prometheus`]), a real Prometheus too; with
/// a `jira` section, the simulated Jira.
pub async fn start(scenario: Scenario, options: SimOptions) -> Result<RunningSim, SimError> {
    let with_prometheus = options.prometheus && scenario.prometheus.is_some();
    let model = ModelState::from_section(scenario.model.as_ref())?;
    let kube_options = KubeOptions {
        addr: options.kubernetes_addr,
        kubeconfig_path: options.kubeconfig_path,
        seed: options.seed,
        limits: options.limits,
        eks_cluster: options.eks_cluster.clone(),
    };
    let kube = match options.eks_cluster {
        Some(_) => sopilot_sim_k8s::start_tls(&scenario.kubernetes, kube_options).await?,
        None => sopilot_sim_k8s::start(&scenario.kubernetes, kube_options).await?,
    };
    let slack = SlackState::from_section(scenario.slack.as_ref())?;
    let aws = AwsState::from_sections(
        scenario.cloudwatch.as_ref(),
        scenario.logs.as_ref(),
        scenario.cost.as_ref(),
    )?
    .with_xray(scenario.xray.as_ref())?
    .with_arc(scenario.arc.as_ref())?
    .with_eks(scenario.eks.as_ref())?;
    if let (Some(name), Some(ca)) = (&options.eks_cluster, kube.ca_pem()) {
        aws.add_eks_cluster(sopilot_sim_aws::EksCluster {
            name: name.clone(),
            endpoint: kube.kubernetes_url(),
            ca: ca.to_owned(),
            version: "1.33".to_owned(),
        });
    }
    let aws_service = Service::start("AWS", sopilot_sim_aws::router(aws.clone())).await?;
    let model_service = Service::start("model", sopilot_sim_model::router(model.clone())).await?;
    let slack_service = Service::start("Slack", sopilot_sim_slack::router(slack.clone())).await?;
    let jira = start_jira(scenario.jira.as_ref()).await?;
    let mut sim = RunningSim {
        scenario,
        kube,
        aws,
        slack,
        model,
        aws_service,
        slack_service,
        model_service,
        prometheus: None,
        jira,
    };
    if with_prometheus {
        sim.prometheus = Some(crate::prometheus::start(&sim).await?);
    }
    Ok(sim)
}

/// The simulated Jira of a `jira` section (none without one, so scenarios that do not ask
/// for Jira run without it, as most installations do).
async fn start_jira(section: Option<&Value>) -> Result<Option<(JiraState, Service)>, SimError> {
    let Some(section) = section else {
        return Ok(None);
    };
    let state = JiraState::from_section(Some(section))?;
    let service = Service::start("Jira", sopilot_sim_jira::router(state.clone())).await?;
    Ok(Some((state, service)))
}

impl RunningSim {
    /// The Kubernetes API's base URL (`http://127.0.0.1:PORT`).
    pub fn kubernetes_url(&self) -> String {
        self.kube.kubernetes_url()
    }

    /// The Kubernetes API's address.
    pub fn kubernetes_addr(&self) -> SocketAddr {
        self.kube.kubernetes_addr()
    }

    /// The kubeconfig file (works with the real `kubectl` and with kube-rs).
    pub fn kubeconfig(&self) -> &Path {
        self.kube.kubeconfig()
    }

    /// The simulated cluster's state, for assertions and for changing the world mid-run.
    pub fn kube(&self) -> &KubeState {
        self.kube.kube()
    }

    /// Shorthand for `kube().get(kind, namespace, name)`.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.kube.get(kind, namespace, name)
    }

    /// The scenario the environment was started with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The simulated AWS endpoint (`AWS_ENDPOINT_URL`): CloudWatch, Logs, Cost Explorer, X-Ray.
    pub fn aws_url(&self) -> String {
        format!("http://{}", self.aws_service.addr)
    }

    /// The simulated model's OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`).
    pub fn model_url(&self) -> String {
        format!("http://{}/v1", self.model_service.addr)
    }

    /// The simulated Slack Web API's base URL (`SLACK_API_URL`, ending in `/api/`).
    pub fn slack_url(&self) -> String {
        format!("http://{}/api/", self.slack_service.addr)
    }

    /// The simulated AWS's state, for assertions.
    pub fn aws(&self) -> &AwsState {
        &self.aws
    }

    /// The simulated Slack workspace, for assertions and its bot token.
    pub fn slack(&self) -> &SlackState {
        &self.slack
    }

    /// The simulated model, for its recorded requests.
    pub fn model(&self) -> &ModelState {
        &self.model
    }

    /// The simulated Jira, when the scenario has a `jira` section: its issues and requests.
    pub fn jira(&self) -> Option<&JiraState> {
        self.jira.as_ref().map(|(state, _)| state)
    }

    /// The simulated Jira's site URL (`JIRA_URL`), when the scenario has a `jira` section.
    pub fn jira_url(&self) -> Option<String> {
        self.jira
            .as_ref()
            .map(|(_, service)| format!("http://{}", service.addr))
    }

    /// The real Prometheus serving the scenario's history, when it has a `prometheus` section.
    pub fn prometheus(&self) -> Option<&RunningPrometheus> {
        self.prometheus.as_ref()
    }

    /// The environment the MCP servers need to talk to the simulators; with a Prometheus,
    /// its URL and the scenario's now as `SOPILOT_NOW` (the end of its history, so queries
    /// and windows do not depend on when the run happens); with a Jira, its URL, the
    /// credentials of its first user who may write and every project as
    /// `SOPILOT_JIRA_PROJECTS`.
    pub fn server_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("KUBECONFIG".into(), self.kubeconfig().display().to_string()),
            ("AWS_ENDPOINT_URL".into(), self.aws_url()),
            ("AWS_REGION".into(), SIM_REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), "sopilot-sim".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "sopilot-sim".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("SLACK_API_URL".into(), self.slack_url()),
            ("SLACK_BOT_TOKEN".into(), self.slack.token()),
        ];
        if let Some(p) = &self.prometheus {
            env.push(("PROMETHEUS_URL".into(), p.url().to_owned()));
            env.push(("SOPILOT_NOW".into(), p.now().to_rfc3339()));
        }
        if let (Some(url), Some(jira)) = (self.jira_url(), self.jira()) {
            env.extend(jira_env(url, jira));
        }
        let zones = self.aws.zone_ids();
        if !zones.is_empty() {
            // ARC names zones by ID, CloudWatch by name: the scenario's account mapping.
            let pairs: Vec<String> = zones.iter().map(|(n, id)| format!("{n}={id}")).collect();
            env.push(("SOPILOT_AZ_IDS".into(), pairs.join(",")));
        }
        env
    }

    /// Every URL, as the first line `sopilot sim serve` prints (the design's CONTRACTS.md).
    pub fn urls(&self) -> Value {
        let mut urls = json!({
            "kubernetes": self.kubernetes_url(),
            "kubeconfig": self.kubeconfig(),
            "aws": self.aws_url(),
            "slack": self.slack_url(),
            "model": self.model_url(),
        });
        if let Some(p) = &self.prometheus {
            urls["prometheus"] = json!(p.url());
        }
        if let Some(url) = self.jira_url() {
            urls["jira"] = json!(url);
        }
        urls
    }

    /// Stops accepting connections on every listener, ends open Kubernetes watches and
    /// waits for in-flight requests.
    pub async fn shutdown(self) {
        let RunningSim {
            kube,
            mut aws_service,
            mut slack_service,
            mut model_service,
            prometheus,
            jira,
            ..
        } = self;
        if let Some(p) = prometheus {
            p.shutdown().await;
        }
        if let Some((_, service)) = jira {
            service.wait().await;
        }
        for service in [&mut aws_service, &mut slack_service, &mut model_service] {
            service.signal();
        }
        kube.shutdown().await;
        for service in [aws_service, slack_service, model_service] {
            service.wait().await;
        }
    }
}

/// `JIRA_URL`, the login (an API token with its email, as Jira Cloud; a personal access
/// token for a user who has only that) and `SOPILOT_JIRA_PROJECTS`.
fn jira_env(url: String, jira: &JiraState) -> Vec<(String, String)> {
    let mut env = vec![
        ("JIRA_URL".to_owned(), url),
        (
            "SOPILOT_JIRA_PROJECTS".to_owned(),
            jira.project_keys().join(","),
        ),
    ];
    match jira.login() {
        Some(sopilot_sim_jira::Login {
            email,
            api_token: Some(token),
            ..
        }) => {
            env.push(("JIRA_EMAIL".to_owned(), email));
            env.push(("JIRA_API_TOKEN".to_owned(), token));
        }
        Some(sopilot_sim_jira::Login { pat: Some(pat), .. }) => {
            env.push(("JIRA_PAT".to_owned(), pat));
        }
        _ => {}
    }
    env
}

/// One simulator's listener and the task serving it.
#[derive(Debug)]
struct Service {
    name: &'static str,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Service {
    /// Serves `router` on a fresh loopback port until [`Service::signal`].
    async fn start(name: &'static str, router: axum::Router) -> Result<Service, SimError> {
        let listen = |source| SimError::Listen {
            service: name,
            source,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Without TCP_NODELAY, small responses of some clients wait ~200 ms for delayed
            // ACKs.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    // A dropped sender also means stop.
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = result {
                tracing::warn!(service = name, %error, "simulated service stopped with an error");
            }
        });
        Ok(Service {
            name,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops accepting connections; in-flight requests finish.
    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the service and waits until its last request is answered.
    async fn wait(mut self) {
        self.signal();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(service = self.name, %error, "simulated service task failed");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
