//! Starting and stopping the simulated Kubernetes API: its listener on loopback, a
//! kubeconfig pointing at it, and graceful shutdown. (`sopilot-sim-env` starts it with the
//! other simulators.)

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::k8s::{KubeState, Limits, kube_router};
use crate::{K8sSimError, KubernetesScenario, kubeconfig};

/// How to start the simulated Kubernetes API.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Where the Kubernetes API listens. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Where to write the kubeconfig; `None` writes it into a temporary directory the
    /// [`RunningKube`] owns and removes when dropped.
    pub kubeconfig_path: Option<PathBuf>,
    /// Seed for generated names and uids (same seed, same names).
    pub seed: u64,
    /// Request, watch and history bounds.
    pub limits: Limits,
    /// Play the EKS cluster of this name: requests need an EKS bearer token (see
    /// [`KubeState::require_eks_token`]); the kubeconfig's token is refused.
    pub eks_cluster: Option<String>,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig_path: None,
            seed: 0x0509_1107,
            limits: Limits::default(),
            eks_cluster: None,
        }
    }
}

/// A running simulated Kubernetes API. Dropping it stops the server (abruptly); call
/// [`RunningKube::shutdown`] to stop it gracefully.
#[derive(Debug)]
pub struct RunningKube {
    kube: KubeState,
    kube_addr: SocketAddr,
    /// `http`, or `https` for [`start_tls`].
    scheme: &'static str,
    kubeconfig: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Runs the time-driven controllers (see [`KubeState::tick`]).
    ticker: JoinHandle<()>,
    // Holds the temporary directory (and so the kubeconfig) for the server's lifetime.
    _tempdir: Option<tempfile::TempDir>,
}

/// Loads the `kubernetes` section, binds the listener and writes the kubeconfig.
pub async fn start(
    kubernetes: &KubernetesScenario,
    options: KubeOptions,
) -> Result<RunningKube, K8sSimError> {
    start_with(kubernetes, options, false).await
}

/// [`start`] over HTTPS, with a fixed test certificate the kubeconfig trusts: what the real
/// kubectl needs to send a ServiceAccount's token (it sends none over plain HTTP).
pub async fn start_tls(
    kubernetes: &KubernetesScenario,
    options: KubeOptions,
) -> Result<RunningKube, K8sSimError> {
    start_with(kubernetes, options, true).await
}

async fn start_with(
    kubernetes: &KubernetesScenario,
    options: KubeOptions,
    tls: bool,
) -> Result<RunningKube, K8sSimError> {
    let kube = KubeState::new(kubernetes, options.seed, options.limits)?;
    if let Some(cluster) = &options.eks_cluster {
        kube.require_eks_token(cluster);
    }
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|source| K8sSimError::Bind {
            addr: options.addr,
            source,
        })?;
    let kube_addr = listener.local_addr().map_err(|source| K8sSimError::Bind {
        addr: options.addr,
        source,
    })?;
    let (tempdir, kubeconfig_path) = match options.kubeconfig_path {
        Some(path) => (None, path),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("sopilot-sim-")
                .tempdir()
                .map_err(|source| K8sSimError::Kubeconfig {
                    path: std::env::temp_dir(),
                    source,
                })?;
            let path = dir.path().join("kubeconfig");
            (Some(dir), path)
        }
    };
    let scheme = if tls { "https" } else { "http" };
    let ca = tls.then_some(crate::tls::CA_PEM);
    kubeconfig::write(&kubeconfig_path, &format!("{scheme}://{kube_addr}"), ca)?;
    let router = kube_router(kube.clone());
    let ticker = kube.spawn_ticker();
    let (stop, task) = if tls {
        let acceptor = crate::tls::acceptor().map_err(|e| K8sSimError::Bind {
            addr: kube_addr,
            source: std::io::Error::other(e),
        })?;
        serve(
            crate::tls::TlsListener {
                tcp: listener,
                acceptor,
            },
            router,
        )
    } else {
        // Without TCP_NODELAY, small responses of some clients wait ~200 ms for delayed ACKs.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        serve(listener, router)
    };
    tracing::info!(kubernetes = %kube_addr, kubeconfig = %kubeconfig_path.display(), "simulated Kubernetes API started");
    Ok(RunningKube {
        kube,
        kube_addr,
        scheme,
        kubeconfig: kubeconfig_path,
        stop: Some(stop),
        task: Some(task),
        ticker,
        _tempdir: tempdir,
    })
}

/// Serves `router` on `listener` until the returned sender fires (or is dropped).
fn serve<L>(listener: L, router: axum::Router) -> (oneshot::Sender<()>, JoinHandle<()>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(service = "kubernetes", %error, "simulated service stopped with an error");
        }
    });
    (stop, task)
}

impl RunningKube {
    /// The Kubernetes API's base URL (`http://127.0.0.1:PORT`, `https://` for [`start_tls`]).
    pub fn kubernetes_url(&self) -> String {
        format!("{}://{}", self.scheme, self.kube_addr)
    }

    /// The Kubernetes API's address.
    pub fn kubernetes_addr(&self) -> SocketAddr {
        self.kube_addr
    }

    /// The PEM of the CA the HTTPS server's certificate is signed by ([`start_tls`]; `None`
    /// over HTTP): what a client that is not given the kubeconfig needs to trust.
    pub fn ca_pem(&self) -> Option<&'static str> {
        (self.scheme == "https").then_some(crate::tls::CA_PEM)
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

    /// Stops accepting connections, ends open watches and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        self.kube.stop_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(service = "kubernetes", %error, "simulated service task failed");
        }
    }
}

impl Drop for RunningKube {
    fn drop(&mut self) {
        self.ticker.abort();
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
