//! Simulated AWS for SOPilot: CloudWatch (Smithy RPC v2 CBOR), CloudWatch Logs and Cost
//! Explorer (AWS JSON 1.1), X-Ray, ARC zonal shift and EKS DescribeCluster (REST-JSON) and STS
//! AssumeRole/GetCallerIdentity (AWS Query, XML) on one listener, seeded from a scenario's
//! `cloudwatch`, `logs`, `cost`, `xray`, `arc` and `eks` sections ([`AwsState::with_xray`],
//! [`AwsState::with_arc`], [`AwsState::with_eks`]) and driven by the real AWS SDKs through
//! `endpoint_url`. Requests record the access key ID they were signed with, and
//! [`AwsState::assumed_roles`] the roles STS handed out.
//!
//! Scenario times are relative to when the state is built (`-30m`), and metric series are
//! generated (baseline, seasonality, trend, seeded noise, steps and spikes), so scenarios
//! never go stale. The format is documented in `docs/scenarios-aws.md`.
//!
//! ```no_run
//! # async fn demo(cw: Option<&serde_json::Value>) -> Result<(), Box<dyn std::error::Error>> {
//! let state = sopilot_sim_aws::AwsState::from_sections(cw, None, None)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}", listener.local_addr()?); // AWS_ENDPOINT_URL
//! tokio::spawn(async move { axum::serve(listener, sopilot_sim_aws::router(state)).await });
//! # Ok(()) }
//! ```

mod arc;
mod cbor;
mod cloudwatch;
mod cost;
mod eks;
mod error;
mod faults;
mod http;
mod logs;
mod req;
mod state;
mod sts;
mod time;
mod xray;

pub use cloudwatch::MetricHistory;
pub use eks::EksCluster;
pub use error::{ApiError, AwsSimError};
pub use faults::{Fault, FaultKind};
pub use http::router;
pub use state::{AwsState, RecordedRequest};
pub use sts::{AssumedRole, SIM_ACCOUNT};

/// The simulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// CloudWatch metrics and alarms (Smithy RPC v2 CBOR).
    CloudWatch,
    /// CloudWatch Logs (AWS JSON 1.1, `Logs_20140328`).
    Logs,
    /// Cost Explorer (AWS JSON 1.1, `AWSInsightsIndexService`).
    CostExplorer,
    /// X-Ray (REST-JSON: `POST /ServiceGraph`, `POST /TraceSummaries`).
    XRay,
    /// ARC zonal shift (REST-JSON: `/managedresources`, `/zonalshifts`).
    Arc,
    /// STS (AWS Query: `POST /` with a form body `Action=AssumeRole|GetCallerIdentity`, XML).
    Sts,
    /// EKS (REST-JSON: `GET /clusters/{name}`, DescribeCluster).
    Eks,
}

impl Service {
    /// The scenario section that seeds this service.
    pub fn section(self) -> &'static str {
        match self {
            Service::CloudWatch => "cloudwatch",
            Service::Logs => "logs",
            Service::CostExplorer => "cost",
            Service::XRay => "xray",
            Service::Arc => "arc",
            Service::Sts => "sts",
            Service::Eks => "eks",
        }
    }
}
