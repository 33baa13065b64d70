//! Simulated AWS for SOPilot: CloudWatch (Smithy RPC v2 CBOR), CloudWatch Logs and Cost
//! Explorer (AWS JSON 1.1), X-Ray and ARC zonal shift (REST-JSON) on one listener, seeded from a
//! scenario's `cloudwatch`, `logs`, `cost`, `xray` and `arc` sections ([`AwsState::with_xray`],
//! [`AwsState::with_arc`]) and driven by the
//! real AWS SDKs through `endpoint_url`.
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
mod error;
mod faults;
mod http;
mod logs;
mod req;
mod state;
mod time;
mod xray;

pub use cloudwatch::MetricHistory;
pub use error::{ApiError, AwsSimError};
pub use faults::{Fault, FaultKind};
pub use http::router;
pub use state::{AwsState, RecordedRequest};

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
        }
    }
}
