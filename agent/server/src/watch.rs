//! The Kubernetes event trigger: a kube-runtime watcher on core/v1 Events that turns
//! warnings with chosen reasons (BackOff, OOMKilling, FailedScheduling, ...) into runs.
//!
//! Each object and reason triggers at most once per dedup window (10 minutes by default),
//! however often the Event is updated or re-listed. Events older than `max_age` are history,
//! not incidents: a (re)start does not replay them. After an API disconnect the watcher
//! resumes with backoff and re-lists; the dedup window keeps that from re-triggering.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::Value;
use sopilot_protocol::Trigger;
use sopilot_runtime::CancellationToken;

use crate::metrics::Metrics;
use crate::runs::{Origin, RunManager, StartError, StartRequest, Started};

/// The reasons watched unless configured otherwise.
pub const DEFAULT_REASONS: &[&str] = &[
    "BackOff",
    "CrashLoopBackOff",
    "OOMKilling",
    "OOMKilled",
    "FailedScheduling",
    "Unhealthy",
    "NodeHasDiskPressure",
    "NodeHasMemoryPressure",
    "NodeHasPIDPressure",
    "EvictionThresholdMet",
];

/// `serve.kubernetes_events`.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub reasons: Vec<String>,
    /// Namespaces watched; empty: all.
    pub namespaces: Vec<String>,
    /// One trigger per object and reason within this window.
    pub dedup: Duration,
    /// Events last seen longer ago than this are ignored.
    pub max_age: Duration,
    /// Events last seen before this are ignored too: under leader election, a new leader's
    /// initial list leaves what came before its term to the previous leader
    /// ([`crate::leader::Term::previous_until`]).
    pub not_before: Option<chrono::DateTime<chrono::Utc>>,
    /// The target whose cluster is watched (several targets configured): its events name it
    /// (`trigger.event.cluster`) and their runs are bound to it.
    pub cluster: Option<String>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            reasons: DEFAULT_REASONS.iter().map(|r| (*r).to_owned()).collect(),
            namespaces: Vec::new(),
            dedup: Duration::from_secs(600),
            max_age: Duration::from_secs(300),
            not_before: None,
            cluster: None,
        }
    }
}

/// What the watcher did with one Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not a watched reason or namespace, or not a Warning.
    Ignored,
    /// Older than `max_age`.
    Stale,
    /// The same object and reason triggered within the dedup window.
    Duplicate,
    /// Handed to the run manager.
    Submitted(Result<Started, StartError>),
}

/// The filtering and dedup half of the watcher, without the API connection.
#[derive(Debug)]
pub struct EventFilter {
    options: WatchOptions,
    last: HashMap<String, Instant>,
}

fn last_seen(event: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    [
        "/lastTimestamp",
        "/eventTime",
        "/series/lastObservedTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| event.pointer(p).and_then(Value::as_str))
    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    .map(|t| t.with_timezone(&chrono::Utc))
}

impl EventFilter {
    pub fn new(options: WatchOptions) -> EventFilter {
        EventFilter {
            options,
            last: HashMap::new(),
        }
    }

    /// Decides what to do with one Event (as JSON); `submit` starts the run.
    pub fn handle(
        &mut self,
        event: &Value,
        submit: impl FnOnce(StartRequest) -> Result<Started, StartError>,
    ) -> Seen {
        let reason = event.get("reason").and_then(Value::as_str).unwrap_or("");
        let warning = event.get("type").and_then(Value::as_str) == Some("Warning");
        let ns = event
            .pointer("/involvedObject/namespace")
            .or_else(|| event.pointer("/metadata/namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let watched_ns =
            self.options.namespaces.is_empty() || self.options.namespaces.iter().any(|n| n == ns);
        if !warning || !watched_ns || !self.options.reasons.iter().any(|r| r == reason) {
            return Seen::Ignored;
        }
        if let Some(at) = last_seen(event) {
            let age = chrono::Utc::now().signed_duration_since(at);
            if age.to_std().is_ok_and(|a| a > self.options.max_age)
                || self.options.not_before.is_some_and(|t| at < t)
            {
                return Seen::Stale;
            }
        }
        let Ok(mut trigger) = Trigger::from_payload(event) else {
            return Seen::Ignored;
        };
        if let Trigger::KubernetesEvent { event } = &mut trigger {
            event.cluster.clone_from(&self.options.cluster);
        }
        let key = trigger.dedup_key();
        let window = self.options.dedup;
        self.last.retain(|_, at| at.elapsed() < window);
        if self.last.contains_key(&key) {
            return Seen::Duplicate;
        }
        let result = submit(StartRequest {
            trigger,
            sop: None,
            params: Default::default(),
            origin: Origin::Watcher,
            target: self.options.cluster.clone(),
            carries_on: None,
        });
        // A full queue or a store that could not queue it is not a trigger seen: the next
        // update of the Event retries.
        if !matches!(
            result,
            Err(StartError::QueueFull(_) | StartError::Unavailable(_))
        ) {
            self.last.insert(key, Instant::now());
        }
        Seen::Submitted(result)
    }
}

/// Watches until `stop` is cancelled, resuming after errors with backoff.
pub async fn run(
    client: Client,
    runs: RunManager,
    metrics: Arc<Metrics>,
    options: WatchOptions,
    stop: CancellationToken,
) {
    let apis: Vec<Api<Event>> = if options.namespaces.is_empty() {
        vec![Api::all(client)]
    } else {
        options
            .namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let streams = apis.into_iter().map(|api| {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed()
    });
    let mut events = futures::stream::select_all(streams);
    let mut filter = EventFilter::new(options);
    match &filter.options.cluster {
        Some(c) => tracing::info!("watching Kubernetes events of target {c}"),
        None => tracing::info!("watching Kubernetes events"),
    }
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => break,
            next = events.next() => next,
        };
        let event = match next {
            None => break,
            Some(Err(e)) => {
                tracing::warn!("Kubernetes event watch interrupted ({e}); resuming with backoff");
                continue;
            }
            Some(Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e))) => e,
            Some(Ok(_)) => continue,
        };
        let Ok(json) = serde_json::to_value(&event) else {
            continue;
        };
        if let Seen::Submitted(r) = filter.handle(&json, |req| runs.submit(req)) {
            metrics.triggers_received.fetch_add(1, Ordering::Relaxed);
            match r {
                Ok(Started::New { run_id, sop }) => {
                    tracing::info!("Kubernetes event started {sop} ({run_id})");
                }
                Ok(Started::Joined { run_id }) => {
                    tracing::info!("Kubernetes event joined run {run_id}");
                }
                Err(e) => tracing::info!("Kubernetes event started nothing: {e}"),
            }
        }
    }
    tracing::info!("stopped watching Kubernetes events");
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::json;

    use super::*;

    fn event(reason: &str, pod: &str, age_s: i64) -> Value {
        let at = (chrono::Utc::now() - chrono::Duration::seconds(age_s)).to_rfc3339();
        json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": reason, "message": "Back-off restarting failed container",
            "count": 3, "lastTimestamp": at, "metadata": {"namespace": "payment", "name": format!("{pod}.1")},
            "involvedObject": {"kind": "Pod", "namespace": "payment", "name": pod}})
    }

    fn started() -> Result<Started, StartError> {
        Ok(Started::New {
            run_id: "r".into(),
            sop: "s".into(),
        })
    }

    #[test]
    fn one_trigger_per_object_and_reason_within_the_window() {
        let mut f = EventFilter::new(WatchOptions::default());
        let calls = Cell::new(0);
        let submit = |_: StartRequest| {
            calls.set(calls.get() + 1);
            started()
        };
        assert!(matches!(
            f.handle(&event("BackOff", "a", 5), submit),
            Seen::Submitted(Ok(_))
        ));
        assert_eq!(f.handle(&event("BackOff", "a", 1), submit), Seen::Duplicate);
        assert!(matches!(
            f.handle(&event("Unhealthy", "a", 1), submit),
            Seen::Submitted(_)
        ));
        assert!(matches!(
            f.handle(&event("BackOff", "b", 1), submit),
            Seen::Submitted(_)
        ));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn history_normal_events_and_other_reasons_start_nothing() {
        let mut f = EventFilter::new(WatchOptions {
            namespaces: vec!["payment".into()],
            ..WatchOptions::default()
        });
        let never = |_: StartRequest| -> Result<Started, StartError> { panic!("submitted") };
        assert_eq!(f.handle(&event("BackOff", "a", 3600), never), Seen::Stale);
        assert_eq!(f.handle(&event("Pulled", "a", 1), never), Seen::Ignored);
        let mut normal = event("BackOff", "a", 1);
        normal["type"] = json!("Normal");
        assert_eq!(f.handle(&normal, never), Seen::Ignored);
        let mut other_ns = event("BackOff", "a", 1);
        other_ns["involvedObject"]["namespace"] = json!("kube-system");
        assert_eq!(f.handle(&other_ns, never), Seen::Ignored);
    }

    #[test]
    fn a_new_leader_leaves_events_before_its_term_to_the_previous_one() {
        let mut f = EventFilter::new(WatchOptions {
            not_before: Some(chrono::Utc::now() - chrono::Duration::seconds(30)),
            ..WatchOptions::default()
        });
        let never = |_: StartRequest| -> Result<Started, StartError> { panic!("submitted") };
        // Recent (within max_age) but before the term: the previous leader's.
        assert_eq!(f.handle(&event("BackOff", "a", 60), never), Seen::Stale);
        assert!(matches!(
            f.handle(&event("BackOff", "a", 10), |_| started()),
            Seen::Submitted(Ok(_))
        ));
    }

    #[test]
    fn a_full_queue_is_retried_on_the_next_update() {
        let mut f = EventFilter::new(WatchOptions::default());
        let full = |_: StartRequest| Err(StartError::QueueFull(64));
        assert_eq!(
            f.handle(&event("BackOff", "a", 1), full),
            Seen::Submitted(Err(StartError::QueueFull(64)))
        );
        assert!(matches!(
            f.handle(&event("BackOff", "a", 1), |_| started()),
            Seen::Submitted(Ok(_))
        ));
    }
}
