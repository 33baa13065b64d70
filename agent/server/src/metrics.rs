//! `/metrics`: Prometheus text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sopilot_protocol::RunStatus;

use crate::AppState;

/// Counters of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    pub triggers_received: AtomicU64,
    pub triggers_joined: AtomicU64,
    pub triggers_rejected: AtomicU64,
    /// Triggers no SOP could take (recorded; see `GET /api/triggers/unrouted`).
    pub triggers_unrouted: AtomicU64,
    pub runs_started: AtomicU64,
    pub runs_succeeded: AtomicU64,
    pub runs_needs_human: AtomicU64,
    pub runs_failed: AtomicU64,
    pub runs_cancelled: AtomicU64,
    pub runs_inconclusive: AtomicU64,
    pub requests_refused: AtomicU64,
    /// Approve/Deny presses refused: not an approver, or not SOPilot's approval message.
    pub presses_refused: AtomicU64,
    /// Slack requests to start a run refused by the per-user hourly limit.
    pub slack_runs_limited: AtomicU64,
    /// 1 while this replica runs the schedules and the event watcher (leads, or no election).
    pub leader: AtomicU64,
    /// Terms of leadership this replica began.
    pub leader_terms: AtomicU64,
    /// The Lease's `leaseTransitions` as last read (changes of leader, cluster-wide).
    pub lease_transitions: AtomicU64,
}

impl Metrics {
    /// Counts a finished run.
    pub fn finished(&self, status: RunStatus) {
        let c = match status {
            RunStatus::Succeeded => &self.runs_succeeded,
            RunStatus::NeedsHuman => &self.runs_needs_human,
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => &self.runs_failed,
            RunStatus::Cancelled => &self.runs_cancelled,
            RunStatus::Inconclusive => &self.runs_inconclusive,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut counter = |name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                o,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            "sopilot_triggers_received_total",
            "Trigger requests received.",
            &self.triggers_received,
        );
        counter(
            "sopilot_triggers_joined_total",
            "Repeats that joined a running run.",
            &self.triggers_joined,
        );
        counter(
            "sopilot_triggers_rejected_total",
            "Triggers that started nothing (no SOP, bad parameters, queue full).",
            &self.triggers_rejected,
        );
        counter(
            "sopilot_triggers_unrouted_total",
            "Triggers no SOP could take (no match, or no matching SOP's parameters could be filled); listed by GET /api/triggers/unrouted.",
            &self.triggers_unrouted,
        );
        counter(
            "sopilot_requests_refused_total",
            "Requests refused for authentication or bad input.",
            &self.requests_refused,
        );
        counter(
            "sopilot_approval_presses_rejected_total",
            "Approve/Deny presses refused: the presser is not an approver, or the button is not on SOPilot's approval message.",
            &self.presses_refused,
        );
        counter(
            "sopilot_slack_runs_rate_limited_total",
            "Runs asked for in Slack and refused by serve.slack.max_runs_per_user_per_hour.",
            &self.slack_runs_limited,
        );
        counter(
            "sopilot_runs_started_total",
            "Runs started.",
            &self.runs_started,
        );
        let mut o2 = o;
        for (name, help, v) in [
            (
                "sopilot_leader",
                "1 while this replica runs the schedules and the Kubernetes event watcher (it holds the leader Lease, or leader election is off).",
                &self.leader,
            ),
            (
                "sopilot_leader_lease_transitions",
                "The leader Lease's leaseTransitions as last read: how many times leadership changed hands.",
                &self.lease_transitions,
            ),
        ] {
            let _ = writeln!(
                o2,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            o2,
            "# HELP sopilot_leader_terms_total Terms of leadership this replica began.\n# TYPE sopilot_leader_terms_total counter\nsopilot_leader_terms_total {}",
            self.leader_terms.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            o2,
            "# HELP sopilot_runs_finished_total Runs finished, by status.\n# TYPE sopilot_runs_finished_total counter"
        );
        for (status, v) in [
            ("succeeded", &self.runs_succeeded),
            ("needs_human", &self.runs_needs_human),
            ("failed", &self.runs_failed),
            ("cancelled", &self.runs_cancelled),
            ("inconclusive", &self.runs_inconclusive),
        ] {
            let _ = writeln!(
                o2,
                "sopilot_runs_finished_total{{status=\"{status}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        o2
    }
}

async fn metrics(State(s): State<AppState>) -> String {
    s.metrics.render()
}

/// The `/metrics` route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finished_status_has_its_own_count() {
        let m = Metrics::default();
        m.finished(RunStatus::Inconclusive);
        m.finished(RunStatus::Inconclusive);
        m.finished(RunStatus::Succeeded);
        let text = m.render();
        assert!(
            text.contains("sopilot_runs_finished_total{status=\"inconclusive\"} 2"),
            "{text}"
        );
        assert!(text.contains("sopilot_runs_finished_total{status=\"succeeded\"} 1"));
        assert!(text.contains("sopilot_runs_finished_total{status=\"failed\"} 0"));
    }
}
