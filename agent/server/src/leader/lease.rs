//! The Lease itself: read, create and replace a `coordination.k8s.io/v1` Lease with kube-rs,
//! each call bounded by a timeout. A replace carries the `resourceVersion` read, so the API
//! server refuses it (409 Conflict) when another replica wrote in between.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

use super::decide::Record;

/// Why a Lease call failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease {lease}: another replica wrote it first (409 Conflict)")]
    Conflict { lease: String },
    #[error(
        "lease {lease}: forbidden ({message}); grant this ServiceAccount get, create and update on leases.coordination.k8s.io in namespace {namespace} (the Helm chart's Role does when leaderElection.enabled)"
    )]
    Forbidden {
        lease: String,
        namespace: String,
        message: String,
    },
    #[error("lease {lease}: the Kubernetes API did not answer within {timeout:?}")]
    Timeout { lease: String, timeout: Duration },
    #[error("lease {lease}: {source}")]
    Api {
        lease: String,
        #[source]
        source: kube::Error,
    },
}

/// The record as read, with the `resourceVersion` a replace must carry.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub record: Record,
    pub version: String,
}

/// One Lease in one namespace.
#[derive(Clone)]
pub struct LeaseApi {
    api: Api<Lease>,
    namespace: String,
    name: String,
    timeout: Duration,
}

impl std::fmt::Debug for LeaseApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LeaseApi({})", self.lease())
    }
}

impl LeaseApi {
    /// The Lease `namespace/name`; every call gives up after `timeout`.
    pub fn new(client: kube::Client, namespace: &str, name: &str, timeout: Duration) -> LeaseApi {
        LeaseApi {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timeout,
        }
    }

    /// `namespace/name`, for messages.
    pub fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The record, or `None` when there is no Lease yet.
    pub async fn read(&self) -> Result<Option<Versioned>, LeaseError> {
        let lease = self.bounded(self.api.get_opt(&self.name)).await?;
        Ok(lease.map(|l| versioned(&l)))
    }

    /// Creates the Lease (409 when another replica just did).
    pub async fn create(&self, record: &Record) -> Result<Versioned, LeaseError> {
        let lease = self.lease_object(record, None);
        let created = self
            .bounded(self.api.create(&PostParams::default(), &lease))
            .await?;
        Ok(versioned(&created))
    }

    /// Replaces the Lease read at `version` (409 when it changed since).
    pub async fn replace(&self, version: &str, record: &Record) -> Result<Versioned, LeaseError> {
        let lease = self.lease_object(record, Some(version));
        let replaced = self
            .bounded(self.api.replace(&self.name, &PostParams::default(), &lease))
            .await?;
        Ok(versioned(&replaced))
    }

    fn lease_object(&self, record: &Record, version: Option<&str>) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                resource_version: version.map(str::to_owned),
                ..ObjectMeta::default()
            },
            spec: Some(spec_of(record)),
        }
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, LeaseError> {
        let lease = self.lease();
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(LeaseError::Timeout {
                lease,
                timeout: self.timeout,
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(kube::Error::Api(status))) if status.code == 409 => {
                Err(LeaseError::Conflict { lease })
            }
            Ok(Err(kube::Error::Api(status))) if status.code == 403 => Err(LeaseError::Forbidden {
                lease,
                namespace: self.namespace.clone(),
                message: status.message.clone(),
            }),
            Ok(Err(source)) => Err(LeaseError::Api { lease, source }),
        }
    }
}

fn micro(t: Option<DateTime<Utc>>) -> Option<MicroTime> {
    t.and_then(|t| Timestamp::from_microsecond(t.timestamp_micros()).ok())
        .map(MicroTime)
}

fn chrono_of(t: Option<&MicroTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp_micros(t.0.as_microsecond()))
}

fn spec_of(r: &Record) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(r.holder.clone()),
        lease_duration_seconds: Some(i32::try_from(r.lease_duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: micro(r.acquire_time),
        renew_time: micro(r.renew_time),
        lease_transitions: Some(i32::try_from(r.transitions).unwrap_or(i32::MAX)),
        ..LeaseSpec::default()
    }
}

/// The record of a Lease as read; absent fields read as client-go reads them (no holder,
/// zero duration, zero transitions).
pub fn record_of(lease: &Lease) -> Record {
    let spec = lease.spec.clone().unwrap_or_default();
    let non_negative = |v: Option<i32>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    Record {
        holder: spec.holder_identity.unwrap_or_default(),
        lease_duration: Duration::from_secs(non_negative(spec.lease_duration_seconds)),
        acquire_time: chrono_of(spec.acquire_time.as_ref()),
        renew_time: chrono_of(spec.renew_time.as_ref()),
        transitions: non_negative(spec.lease_transitions),
    }
}

fn versioned(lease: &Lease) -> Versioned {
    Versioned {
        record: record_of(lease),
        version: lease.metadata.resource_version.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_the_lease_round_trip_to_the_microsecond() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = Record {
            holder: "sopilot-0-1a2b3c4d".into(),
            lease_duration: Duration::from_secs(15),
            acquire_time: Some(t),
            renew_time: Some(t + chrono::Duration::seconds(4)),
            transitions: 7,
        };
        let lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(spec_of(&r)),
        };
        assert_eq!(record_of(&lease), r);
        // As the API sends it (MicroTime is RFC 3339 with microseconds).
        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["spec"]["renewTime"], "2026-12-07T10:00:04.123456Z");
        assert_eq!(json["spec"]["leaseTransitions"], 7);
    }

    #[test]
    fn an_empty_lease_reads_as_released_and_expired() {
        let r = record_of(&Lease::default());
        assert_eq!((r.holder.as_str(), r.transitions), ("", 0));
        assert!(r.lease_duration.is_zero());
    }
}
