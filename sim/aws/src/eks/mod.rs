//! EKS (REST-JSON): DescribeCluster (`GET /clusters/{name}`) of the clusters of a scenario's
//! `eks` section (`clusters: [{name, endpoint, ca, version}]`) or added by the environment
//! ([`crate::AwsState::add_eks_cluster`], the simulated Kubernetes API's endpoint and CA).
//! An unknown name is 404 ResourceNotFoundException, as EKS answers.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, AwsSimError, decode};
use crate::req::required;
use crate::sts::SIM_ACCOUNT;

const SECTION: &str = "eks";

/// An EKS cluster the simulator describes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksCluster {
    /// The cluster's name (`--eks-cluster NAME`).
    pub name: String,
    /// The Kubernetes API endpoint, `https://...`.
    pub endpoint: String,
    /// The CA certificate the endpoint's certificate is signed by, as PEM text (EKS answers
    /// it base64-encoded, as `certificateAuthority.data`).
    pub ca: String,
    /// The Kubernetes version (default `1.33`).
    #[serde(default = "default_version")]
    pub version: String,
}

fn default_version() -> String {
    "1.33".to_owned()
}

/// The `eks` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    clusters: Vec<EksCluster>,
}

/// The simulated EKS control plane API.
#[derive(Debug, Default)]
pub(crate) struct Eks {
    clusters: Vec<EksCluster>,
}

impl Eks {
    /// Loads the `eks` section (absent: no clusters).
    pub fn from_section(section: Option<&Value>) -> Result<Self, AwsSimError> {
        let section: Section = match section {
            Some(v) => decode(SECTION, v)?,
            None => Section::default(),
        };
        Ok(Eks {
            clusters: section.clusters,
        })
    }

    /// Adds a cluster, replacing one of the same name.
    pub fn add(&mut self, cluster: EksCluster) {
        self.clusters.retain(|c| c.name != cluster.name);
        self.clusters.push(cluster);
    }

    pub fn handle(&self, operation: &str, body: &Value, region: &str) -> ApiResult {
        match operation {
            "DescribeCluster" => self.describe(body, region),
            other => Err(ApiError {
                status: 404,
                code: "UnknownOperationException".into(),
                message: format!("the simulated EKS does not implement {other}"),
            }),
        }
    }

    fn describe(&self, body: &Value, region: &str) -> ApiResult {
        let name = required(body, "name", "InvalidParameterException")?;
        let Some(c) = self.clusters.iter().find(|c| c.name == name) else {
            return Err(ApiError {
                status: 404,
                code: "ResourceNotFoundException".into(),
                message: format!("No cluster found for name: {name}."),
            });
        };
        let ca = base64::engine::general_purpose::STANDARD.encode(&c.ca);
        Ok(json!({"cluster": {
            "name": c.name,
            "arn": format!("arn:aws:eks:{region}:{SIM_ACCOUNT}:cluster/{}", c.name),
            "createdAt": 1.7e9,
            "version": c.version,
            "endpoint": c.endpoint,
            "status": "ACTIVE",
            "certificateAuthority": {"data": ca},
            "platformVersion": "eks.1",
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        }}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eks() -> Eks {
        let section = json!({"clusters": [
            {"name": "prod", "endpoint": "https://10.0.0.1", "ca": "-----BEGIN CERTIFICATE-----\n"}
        ]});
        Eks::from_section(Some(&section)).unwrap()
    }

    #[test]
    fn describe_answers_the_endpoint_and_the_ca_base64() {
        let out = eks()
            .handle("DescribeCluster", &json!({"name": "prod"}), "eu-west-1")
            .unwrap();
        let c = &out["cluster"];
        assert_eq!(c["endpoint"], "https://10.0.0.1");
        assert_eq!(c["status"], "ACTIVE");
        assert_eq!(c["version"], "1.33");
        assert_eq!(c["arn"], "arn:aws:eks:eu-west-1:123456789012:cluster/prod");
        assert_eq!(
            c["certificateAuthority"]["data"],
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        );
    }

    #[test]
    fn an_unknown_cluster_is_404_and_bad_sections_name_the_field() {
        let e = eks()
            .handle("DescribeCluster", &json!({"name": "nope"}), "us-east-1")
            .unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (404, "ResourceNotFoundException")
        );
        assert_eq!(e.message, "No cluster found for name: nope.");
        let bad = json!({"clusters": [{"name": "x", "endpoint": "https://y"}]});
        let err = Eks::from_section(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("`eks`") && err.contains("ca"), "{err}");
    }
}
