//! The simulated services' state, shared by every request, and what tests read back.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Service;
use crate::arc::ZonalShifts;
use crate::cloudwatch::CloudWatch;
use crate::cost::Cost;
use crate::eks::{Eks, EksCluster};
use crate::error::{ApiResult, AwsSimError};
use crate::faults::{Fault, Faults};
use crate::logs::Logs;
use crate::sts::{AssumedRole, Sts};
use crate::xray::XRay;

/// One request the simulator answered, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub service: Service,
    /// The operation, e.g. `GetMetricData`.
    pub operation: String,
    /// The request body (CloudWatch's CBOR shown as JSON, timestamps as epoch seconds).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// The error code answered, if any (`Throttling`, `ResourceNotFoundException`, ...).
    pub error: Option<String>,
    /// The access key ID the request was signed with (`Credential=AKID/...`), if signed.
    pub access_key: Option<String>,
}

/// Who signed a request: the access key ID and region of its SigV4 credential scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Signer {
    pub access_key: Option<String>,
    pub region: Option<String>,
}

/// The current time of the simulated world.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// The time of this request: the wall clock, or the start when frozen.
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
struct Inner {
    start: DateTime<Utc>,
    frozen: bool,
    cloudwatch: CloudWatch,
    logs: Logs,
    cost: Cost,
    xray: XRay,
    arc: ZonalShifts,
    sts: Sts,
    eks: Eks,
    faults: Faults,
    requests: Vec<RecordedRequest>,
    /// Requests kept for assertions; older ones are dropped first.
    request_cap: usize,
}

/// The simulated CloudWatch, Logs and Cost Explorer. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct AwsState {
    inner: Arc<Mutex<Inner>>,
}

impl AwsState {
    /// Builds the services from a scenario's `cloudwatch`, `logs` and `cost` sections (each
    /// optional). Relative times are relative to now.
    pub fn from_sections(
        cloudwatch: Option<&Value>,
        logs: Option<&Value>,
        cost: Option<&Value>,
    ) -> Result<Self, AwsSimError> {
        Self::build(cloudwatch, logs, cost, Utc::now(), false)
    }

    /// Like [`AwsState::from_sections`] with a frozen clock at `start`: answers never depend
    /// on when the test runs.
    pub fn from_sections_at(
        cloudwatch: Option<&Value>,
        logs: Option<&Value>,
        cost: Option<&Value>,
        start: DateTime<Utc>,
    ) -> Result<Self, AwsSimError> {
        Self::build(cloudwatch, logs, cost, start, true)
    }

    fn build(
        cloudwatch: Option<&Value>,
        logs: Option<&Value>,
        cost: Option<&Value>,
        start: DateTime<Utc>,
        frozen: bool,
    ) -> Result<Self, AwsSimError> {
        // Whole seconds, so generated series line up with period boundaries.
        let start = DateTime::from_timestamp(start.timestamp(), 0).unwrap_or(start);
        let mut faults = Faults::default();
        let (cloudwatch, cw_faults) = CloudWatch::from_section(cloudwatch, start)?;
        let (logs, logs_faults) = Logs::from_section(logs, start)?;
        let (cost, cost_faults) = Cost::from_section(cost, start)?;
        for (service, list) in [
            (Service::CloudWatch, cw_faults),
            (Service::Logs, logs_faults),
            (Service::CostExplorer, cost_faults),
        ] {
            for fault in list {
                faults.add(service, fault);
            }
        }
        Ok(AwsState {
            inner: Arc::new(Mutex::new(Inner {
                start,
                frozen,
                cloudwatch,
                logs,
                cost,
                xray: XRay::default(),
                arc: ZonalShifts::default(),
                sts: Sts::default(),
                eks: Eks::default(),
                faults,
                requests: Vec::new(),
                request_cap: 10_000,
            })),
        })
    }

    /// Adds X-Ray, from a scenario's `xray` section (services and the edges between them;
    /// absent means an empty service graph). Times are relative to [`AwsState::start`]; the
    /// section's `faults` are added to the others.
    pub fn with_xray(self, section: Option<&Value>) -> Result<Self, AwsSimError> {
        {
            let mut inner = self.lock();
            let (xray, faults) = XRay::from_section(section, inner.start)?;
            inner.xray = xray;
            for fault in faults {
                inner.faults.add(Service::XRay, fault);
            }
        }
        Ok(self)
    }

    /// Adds ARC zonal shift, from a scenario's `arc` section (managed resources, zonal shifts
    /// already started, the account's zone IDs; absent means no managed resources). Times are
    /// relative to [`AwsState::start`]; the section's `faults` are added to the others.
    pub fn with_arc(self, section: Option<&Value>) -> Result<Self, AwsSimError> {
        {
            let mut inner = self.lock();
            let (arc, faults) = ZonalShifts::from_section(section, inner.start)?;
            inner.arc = arc;
            for fault in faults {
                inner.faults.add(Service::Arc, fault);
            }
        }
        Ok(self)
    }

    /// Adds EKS, from a scenario's `eks` section (`clusters: [{name, endpoint, ca, version}]`;
    /// absent means no clusters), for DescribeCluster.
    pub fn with_eks(self, section: Option<&Value>) -> Result<Self, AwsSimError> {
        let eks = Eks::from_section(section)?;
        self.lock().eks = eks;
        Ok(self)
    }

    /// Adds (or replaces) one EKS cluster: how the environment describes its simulated
    /// Kubernetes API as an EKS cluster.
    pub fn add_eks_cluster(&self, cluster: EksCluster) {
        self.lock().eks.add(cluster);
    }

    /// Every STS AssumeRole answered so far, oldest first.
    pub fn assumed_roles(&self) -> Vec<AssumedRole> {
        self.lock().sts.assumed().to_vec()
    }

    /// The `arc` section's zone name → zone ID pairs (ARC names zones by ID, CloudWatch by
    /// name), for the servers' `SOPILOT_AZ_IDS`.
    pub fn zone_ids(&self) -> Vec<(String, String)> {
        self.lock().arc.zone_ids().to_vec()
    }

    /// Every zonal shift ARC knows, oldest first, as ListZonalShifts answers them now.
    pub fn zonal_shifts(&self) -> Vec<Value> {
        let inner = self.lock();
        let now = if inner.frozen {
            inner.start
        } else {
            Utc::now()
        };
        inner.arc.shifts(now)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters to a simulator; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The instant relative scenario times are relative to.
    pub fn start(&self) -> DateTime<Utc> {
        self.lock().start
    }

    /// Handles one decoded request: faults first, then the operation. Recorded either way.
    pub(crate) fn handle(
        &self,
        service: Service,
        operation: &str,
        body: Value,
        signer: &Signer,
    ) -> ApiResult {
        let mut inner = self.lock();
        let clock = Clock {
            now: if inner.frozen {
                inner.start
            } else {
                Utc::now()
            },
        };
        let result = match inner.faults.take(service, operation) {
            Some(error) => Err(error),
            None => match service {
                Service::CloudWatch => inner.cloudwatch.handle(operation, &body, clock),
                Service::Logs => inner.logs.handle(operation, &body, clock),
                Service::CostExplorer => inner.cost.handle(operation, &body, clock),
                Service::XRay => inner.xray.handle(operation, &body, clock),
                Service::Arc => inner.arc.handle(operation, &body, clock),
                Service::Sts => {
                    let caller = signer.access_key.as_deref();
                    inner.sts.handle(operation, &body, caller, clock)
                }
                Service::Eks => {
                    let region = signer.region.as_deref().unwrap_or("us-east-1");
                    inner.eks.handle(operation, &body, region)
                }
            },
        };
        let (status, error) = match &result {
            Ok(_) => (200, None),
            Err(e) => (e.status, Some(e.code.clone())),
        };
        inner.record(RecordedRequest {
            service,
            operation: operation.to_owned(),
            body,
            status,
            error,
            access_key: signer.access_key.clone(),
        });
        result
    }

    /// Records a request refused before it reached an operation (no signature, bad body).
    pub(crate) fn record_refused(
        &self,
        service: Service,
        operation: &str,
        status: u16,
        code: &str,
    ) {
        self.lock().record(RecordedRequest {
            service,
            operation: operation.to_owned(),
            body: Value::Null,
            status,
            error: Some(code.to_owned()),
            access_key: None,
        });
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Injects a failure into a service's operations (see [`Fault`]).
    pub fn inject(&self, service: Service, fault: Fault) {
        self.lock().faults.add(service, fault);
    }

    /// Removes every injected failure, including the scenario's.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// An alarm's state value (`OK`, `ALARM`, `INSUFFICIENT_DATA`), e.g. after SetAlarmState.
    pub fn alarm_state(&self, name: &str) -> Option<String> {
        self.lock().cloudwatch.alarm_state(name)
    }

    /// Every CloudWatch metric's points in `[from, to]` (epoch seconds), for exporters that
    /// replay the scenario elsewhere (a real Prometheus, through sim/env).
    pub fn metric_history(&self, from: i64, to: i64) -> Vec<crate::MetricHistory> {
        self.lock().cloudwatch.history(from, to)
    }

    /// Names of the log groups.
    pub fn log_groups(&self) -> Vec<String> {
        self.lock().logs.group_names()
    }
}

impl Inner {
    fn record(&mut self, request: RecordedRequest) {
        if self.requests.len() >= self.request_cap {
            self.requests.remove(0);
        }
        self.requests.push(request);
    }
}
