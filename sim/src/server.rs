//! Starting and stopping the simulated environment: one listener per service on
//! loopback, a kubeconfig for the Kubernetes API, and graceful shutdown.

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::k8s::{KubeState, Limits, kube_router};
use crate::{Scenario, SimError, kubeconfig};

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where the Kubernetes API listens. Port 0 picks a free port.
    pub kubernetes_addr: SocketAddr,
    /// Where to write the kubeconfig; `None` writes it into a temporary directory the
    /// [`RunningSim`] owns and removes when dropped.
    pub kubeconfig_path: Option<PathBuf>,
    /// Seed for generated names and uids (same seed, same names).
    pub seed: u64,
    /// Request, watch and history bounds.
    pub limits: Limits,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            kubernetes_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig_path: None,
            seed: 0x0509_1107,
            limits: Limits::default(),
        }
    }
}

/// A running simulator. Dropping it stops the servers (abruptly); call
/// [`RunningSim::shutdown`] to stop them gracefully.
#[derive(Debug)]
pub struct RunningSim {
    kube: KubeState,
    kube_addr: SocketAddr,
    kubeconfig: PathBuf,
    scenario: Scenario,
    services: Vec<Service>,
    // Holds the temporary directory (and so the kubeconfig) for the sim's lifetime.
    _tempdir: Option<tempfile::TempDir>,
}

#[derive(Debug)]
struct Service {
    name: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Loads the scenario, binds every service and writes the kubeconfig.
pub async fn start(scenario: Scenario, options: SimOptions) -> Result<RunningSim, SimError> {
    let kube = KubeState::new(&scenario.kubernetes, options.seed, options.limits)?;
    let listener = TcpListener::bind(options.kubernetes_addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: options.kubernetes_addr,
            source,
        })?;
    let kube_addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: options.kubernetes_addr,
        source,
    })?;
    let (tempdir, kubeconfig_path) = match options.kubeconfig_path {
        Some(path) => (None, path),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("sopilot-sim-")
                .tempdir()
                .map_err(|source| SimError::Kubeconfig {
                    path: std::env::temp_dir(),
                    source,
                })?;
            let path = dir.path().join("kubeconfig");
            (Some(dir), path)
        }
    };
    kubeconfig::write(&kubeconfig_path, &format!("http://{kube_addr}"))?;
    let services = vec![serve("kubernetes", listener, kube_router(kube.clone()))];
    // More services (sopilot-sim-aws, -slack, -model) go here, each on its own listener
    // and built from its scenario section: `services.push(serve("slack", listener,
    // router))`, and `shutdown` stops them all.
    tracing::info!(kubernetes = %kube_addr, kubeconfig = %kubeconfig_path.display(), "simulator started");
    Ok(RunningSim {
        kube,
        kube_addr,
        kubeconfig: kubeconfig_path,
        scenario,
        services,
        _tempdir: tempdir,
    })
}

fn serve(name: &'static str, listener: TcpListener, router: axum::Router) -> Service {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Without TCP_NODELAY, small responses of some clients wait ~200 ms for delayed ACKs.
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
    Service {
        name,
        stop: Some(stop),
        task,
    }
}

impl RunningSim {
    /// The Kubernetes API's base URL (`http://127.0.0.1:PORT`).
    pub fn kubernetes_url(&self) -> String {
        format!("http://{}", self.kube_addr)
    }

    /// The Kubernetes API's address.
    pub fn kubernetes_addr(&self) -> SocketAddr {
        self.kube_addr
    }

    /// The kubeconfig file (works with the real `kubectl` and with kube-rs).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The simulated cluster's state, for assertions and for changing the world mid-run.
    pub fn kube(&self) -> &KubeState {
        &self.kube
    }

    /// Shorthand for `kube().get(kind, namespace, name)`.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.kube.get(kind, namespace, name)
    }

    /// The scenario the simulator was started with (its other sections are for the
    /// services others add).
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Stops accepting connections, ends open watches and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        self.kube.stop_watches();
        for service in &mut self.services {
            if let Some(stop) = service.stop.take() {
                let _ = stop.send(());
            }
        }
        for service in self.services.drain(..) {
            if let Err(error) = service.task.await {
                tracing::warn!(service = service.name, %error, "simulated service task failed");
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        for service in &self.services {
            service.task.abort();
        }
    }
}
