//! Connecting to the cluster named by a kubeconfig, or to an EKS cluster by name
//! ([`connect_eks`]), with timeouts on every call.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long one API request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no usable Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster): {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("kubeconfig context is not usable: {0}")]
    Context(#[source] kube::config::KubeconfigError),
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error(transparent)]
    Eks(#[from] crate::eks::EksError),
}

/// Builds a client from `kubeconfig` (or `KUBECONFIG`/`~/.kube/config`/in-cluster) and an
/// optional context.
pub async fn connect(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<kube::Client, ConnectError> {
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(&path)
                .map_err(|source| ConnectError::Kubeconfig { path, source })?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(ConnectError::Context)?
        }
        None if options.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(ConnectError::Context)?,
        None => kube::Config::infer().await.map_err(ConnectError::Infer)?,
    };
    tune(&mut config);
    kube::Client::try_from(config).map_err(ConnectError::Client)
}

/// A client for the EKS cluster `cluster` (see [`crate::eks`]): region and credentials from
/// the standard AWS chain (or `SOPILOT_AWS_ROLE_ARN`'s role), endpoint and CA from
/// DescribeCluster, a bearer token re-signed before it expires.
pub async fn connect_eks(cluster: &str) -> Result<kube::Client, ConnectError> {
    let (mut config, tokens) = crate::eks::configure(cluster).await?;
    tune(&mut config);
    crate::eks::client(config, tokens).map_err(ConnectError::Client)
}

/// Timeouts on every call, and no retries of 429s.
fn tune(config: &mut kube::Config) {
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    // kube's default retry waits out 429s for up to 15 attempts; an eviction refused by a
    // PodDisruptionBudget answers 429, and drain handles that itself within its timeout.
    config.default_retry = false;
}
