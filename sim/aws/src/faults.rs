//! Injected failures, so retry paths can be tested: throttling or server errors for an
//! operation, a number of times or always.

use serde::Deserialize;

use crate::Service;
use crate::error::ApiError;

/// What an injected failure answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The service's throttling error (`Throttling`, `ThrottlingException`,
    /// `LimitExceededException`), HTTP 400; the SDKs retry it.
    Throttle,
    /// An internal error, HTTP 500; the SDKs retry it.
    ServerError,
}

/// A failure injected into the operations of one service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// The operation (`GetMetricData`, `FilterLogEvents`, ...), or `*` for all of them.
    pub operation: String,
    #[serde(default = "throttle")]
    pub kind: FaultKind,
    /// How many requests fail before the operation works again; absent means always.
    #[serde(default)]
    pub times: Option<u32>,
}

fn throttle() -> FaultKind {
    FaultKind::Throttle
}

/// The faults in force, per service.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    active: Vec<(Service, Fault)>,
}

impl Faults {
    pub fn add(&mut self, service: Service, fault: Fault) {
        self.active.push((service, fault));
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    /// The error this request gets, if a fault applies; consumes one of its `times`.
    pub fn take(&mut self, service: Service, operation: &str) -> Option<ApiError> {
        let index = self.active.iter().position(|(s, f)| {
            *s == service && (f.operation == "*" || f.operation == operation) && f.times != Some(0)
        })?;
        let (_, fault) = self.active.get_mut(index)?;
        if let Some(n) = fault.times.as_mut() {
            *n = n.saturating_sub(1);
        }
        Some(error(service, fault.kind))
    }
}

fn error(service: Service, kind: FaultKind) -> ApiError {
    match (kind, service) {
        (FaultKind::Throttle, Service::CloudWatch) => {
            ApiError::client("Throttling", "Rate exceeded")
        }
        (FaultKind::Throttle, Service::Logs) => {
            ApiError::client("ThrottlingException", "Rate exceeded")
        }
        (FaultKind::Throttle, Service::CostExplorer) => ApiError::client(
            "LimitExceededException",
            "You have exceeded the rate limit for this operation. Slow down and try again.",
        ),
        (FaultKind::ServerError, Service::CloudWatch) => ApiError::server(
            "InternalServiceError",
            "Internal service error (injected by the scenario)",
        ),
        (FaultKind::ServerError, Service::Logs) => ApiError::server(
            "ServiceUnavailableException",
            "The service cannot complete the request (injected by the scenario)",
        ),
        (FaultKind::ServerError, Service::CostExplorer) => ApiError::server(
            "InternalFailure",
            "Internal failure (injected by the scenario)",
        ),
        (FaultKind::Throttle, Service::XRay) => crate::xray::throttled(),
        (FaultKind::ServerError, Service::XRay) => ApiError::server(
            "InternalFailure",
            "Internal failure (injected by the scenario)",
        ),
        (FaultKind::Throttle, Service::Arc) => ApiError {
            status: 429,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        },
        (FaultKind::ServerError, Service::Arc) => ApiError::server(
            "InternalServerException",
            "Internal server error (injected by the scenario)",
        ),
        (FaultKind::Throttle, Service::Sts) => ApiError::client("Throttling", "Rate exceeded"),
        (FaultKind::ServerError, Service::Sts) => ApiError::server(
            "InternalFailure",
            "Internal failure (injected by the scenario)",
        ),
        (FaultKind::Throttle, Service::Eks) => ApiError {
            status: 429,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        },
        (FaultKind::ServerError, Service::Eks) => ApiError::server(
            "ServerException",
            "Internal server error (injected by the scenario)",
        ),
    }
}
