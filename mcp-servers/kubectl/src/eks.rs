//! `--eks-cluster NAME`: an EKS cluster without a kubeconfig, an exec plugin or the aws CLI.
//! The AWS configuration (region, credentials, `AWS_ENDPOINT_URL`, `SOPILOT_AWS_ROLE_ARN`)
//! comes from [`sopilot_mcp_common::aws::load`]; EKS DescribeCluster gives the endpoint and
//! CA; every request carries a bearer token ([`token`]) that is re-signed before EKS would
//! refuse it, by a tower layer in front of kube's own stack.

mod token;

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_eks::error::DisplayErrorContext;
use kube::client::ClientBuilder;
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use sopilot_mcp_common::aws::ConfigError;
use tower::buffer::BufferLayer;
use tower::filter::AsyncFilterLayer;

pub use token::{REFRESH_AFTER, TOKEN_PREFIX, TokenSource, presign};

/// Tries per AWS call (DescribeCluster, AssumeRole), throttling and 5xx retried.
const AWS_ATTEMPTS: u32 = 3;
/// Requests waiting for the token layer (kube's own buffer holds more).
const BUFFER: usize = 64;

/// Why an EKS cluster cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum EksError {
    #[error("--eks-cluster: {0}")]
    Config(#[from] ConfigError),
    #[error(
        "--eks-cluster {cluster}: no AWS credentials ({}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role (EKS Pod Identity, IRSA, instance profile)",
        DisplayErrorContext(source)
    )]
    Credentials {
        cluster: String,
        #[source]
        source: CredentialsError,
    },
    #[error("--eks-cluster {cluster}: resolving AWS credentials took longer than {seconds} s")]
    CredentialsTimeout { cluster: String, seconds: u64 },
    #[error(
        "--eks-cluster {cluster}: no EKS cluster of that name in {region}; check the name and AWS_REGION (aws eks list-clusters --region {region})"
    )]
    NotFound { cluster: String, region: String },
    #[error("--eks-cluster {cluster}: DescribeCluster failed: {message}")]
    Describe { cluster: String, message: String },
    #[error(
        "--eks-cluster {cluster}: the cluster has no {missing} yet (status {status}); wait until it is ACTIVE"
    )]
    NotReady {
        cluster: String,
        missing: &'static str,
        status: String,
    },
    #[error("cannot sign the EKS token: {0}")]
    Sign(String),
    #[error("--eks-cluster {cluster}: the endpoint or CA EKS gave is not usable: {source}")]
    Kubeconfig {
        cluster: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
}

/// What DescribeCluster says about a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksEndpoint {
    /// `https://...eks.amazonaws.com`.
    pub endpoint: String,
    /// The CA certificate, base64 of its PEM (as a kubeconfig's `certificate-authority-data`).
    pub ca_data: String,
}

/// The kube configuration and the token source of an EKS cluster: AWS configuration,
/// DescribeCluster, and a first token signed (so missing credentials fail here, not on the
/// first tool call).
pub async fn configure(cluster: &str) -> Result<(kube::Config, TokenSource), EksError> {
    let aws = sopilot_mcp_common::aws::load(AWS_ATTEMPTS).await?;
    configure_with(cluster, aws).await
}

/// [`configure`] with the AWS settings `var` names (a target's region, profile, endpoint and
/// role; see [`sopilot_mcp_common::aws::load_for`]) instead of this process's: how
/// `sopilot serve` watches a target's EKS cluster.
pub async fn configure_for(
    cluster: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(kube::Config, TokenSource), EksError> {
    let aws = sopilot_mcp_common::aws::load_for(AWS_ATTEMPTS, var).await?;
    configure_with(cluster, aws).await
}

async fn configure_with(
    cluster: &str,
    aws: sopilot_mcp_common::aws::SdkConfig,
) -> Result<(kube::Config, TokenSource), EksError> {
    let region = aws
        .region()
        .map(ToString::to_string)
        .ok_or(ConfigError::NoRegion)?;
    let credentials = aws
        .credentials_provider()
        .ok_or_else(|| EksError::Credentials {
            cluster: cluster.to_owned(),
            source: CredentialsError::not_loaded("no credentials provider is configured"),
        })?;
    let tokens = TokenSource::new(cluster, &region, credentials);
    tokens.header().await?;
    let found = describe(&aws_sdk_eks::Client::new(&aws), cluster, &region).await?;
    tracing::info!(cluster, endpoint = %found.endpoint, %region, "EKS cluster described");
    let config = kube_config(cluster, found).await?;
    Ok((config, tokens))
}

/// The client: kube's stack for `config` (which has no credentials of its own) behind a
/// layer that adds the EKS token to every request.
pub fn client(config: kube::Config, tokens: TokenSource) -> Result<kube::Client, kube::Error> {
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&BufferLayer::new(BUFFER))
        .with_layer(&AsyncFilterLayer::new(tokens))
        .build())
}

/// DescribeCluster: the endpoint and CA, or why not.
pub async fn describe(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    region: &str,
) -> Result<EksEndpoint, EksError> {
    let out = eks
        .describe_cluster()
        .name(cluster)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                EksError::NotFound {
                    cluster: cluster.to_owned(),
                    region: region.to_owned(),
                }
            } else {
                EksError::Describe {
                    cluster: cluster.to_owned(),
                    message: DisplayErrorContext(&e).to_string(),
                }
            }
        })?;
    let c = out.cluster();
    let status = c
        .and_then(|c| c.status())
        .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned());
    let not_ready = |missing| EksError::NotReady {
        cluster: cluster.to_owned(),
        missing,
        status: status.clone(),
    };
    let endpoint = c
        .and_then(|c| c.endpoint())
        .ok_or_else(|| not_ready("endpoint"))?;
    let ca_data = c
        .and_then(|c| c.certificate_authority())
        .and_then(|a| a.data())
        .ok_or_else(|| not_ready("certificate authority"))?;
    Ok(EksEndpoint {
        endpoint: endpoint.to_owned(),
        ca_data: ca_data.to_owned(),
    })
}

/// A kube configuration for the endpoint, trusting its CA, with no user credentials.
async fn kube_config(cluster: &str, found: EksEndpoint) -> Result<kube::Config, EksError> {
    let kubeconfig = Kubeconfig {
        clusters: vec![NamedCluster {
            name: cluster.to_owned(),
            cluster: Some(Cluster {
                server: Some(found.endpoint),
                certificate_authority_data: Some(found.ca_data),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: "eks".to_owned(),
            auth_info: Some(AuthInfo::default()),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: cluster.to_owned(),
            context: Some(Context {
                cluster: cluster.to_owned(),
                user: Some("eks".to_owned()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(cluster.to_owned()),
        ..Kubeconfig::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|source| EksError::Kubeconfig {
            cluster: cluster.to_owned(),
            source,
        })
}

/// How long after signing EKS accepts a token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
// A token is re-signed well before EKS would refuse it (a request may wait a while after).
const _: () = assert!(REFRESH_AFTER.as_secs() + 4 * 60 <= TOKEN_LIFETIME.as_secs());
