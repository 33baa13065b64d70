//! Targets: the clusters and AWS accounts one deployment serves. A target has a name and
//! labels (`env: prod`); policies read them as `target.name` and `target.labels.*`, and
//! triggers are routed to a target by their alarm's account and region or their alert's
//! `cluster` label ([`Routes`]).
//!
//! Every tool call carries its target in the argument [`TARGET_ARG`] when several are
//! configured; the gate pins it, so the audit, approvals and reports name it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::trigger::Trigger;

/// The argument naming a call's target.
pub const TARGET_ARG: &str = "target";

/// The name of the one implicit target of a deployment that configures none.
pub const DEFAULT_TARGET: &str = "default";

/// A cluster and account SOPilot acts on, as policies see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Target {
    /// The implicit target of a deployment without `targets`.
    pub fn implicit() -> Self {
        Target {
            name: DEFAULT_TARGET.to_owned(),
            labels: BTreeMap::new(),
        }
    }
}

/// Whether `name` can name a target: 1 to 63 lowercase letters, digits and `-`, starting
/// with a letter (it appears in arguments, audit rows and Slack messages).
pub fn valid_target_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Which triggers belong to a target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// AWS account ids (12 digits) whose alarms and investigations are this target's.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions the accounts' alarms must come from; empty: any region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Values of an alert's `cluster` label that are this target's.
    #[serde(default)]
    pub clusters: Vec<String>,
}

impl Routes {
    /// Whether `trigger` belongs here. An alarm matches by account (and region, when
    /// regions are listed); an Alertmanager alert group by its common `cluster` label (a
    /// group spanning clusters belongs to none). A Kubernetes event is bound by the watcher
    /// of its cluster, never routed; other triggers name no place and match nothing.
    pub fn matches(&self, trigger: &Trigger) -> bool {
        match trigger {
            Trigger::CloudwatchAlarm { alarm, .. } => {
                self.account_region(alarm.account.as_deref(), alarm.region.as_deref())
            }
            Trigger::Investigation { investigation } => self.account_region(
                investigation.account.as_deref(),
                investigation.region.as_deref(),
            ),
            Trigger::Alertmanager { group, .. } => group
                .common_labels
                .get("cluster")
                .is_some_and(|c| self.clusters.iter().any(|x| x == c)),
            Trigger::KubernetesEvent { .. }
            | Trigger::Slack { .. }
            | Trigger::Schedule { .. }
            | Trigger::Manual { .. } => false,
        }
    }

    fn account_region(&self, account: Option<&str>, region: Option<&str>) -> bool {
        let account_ok = account.is_some_and(|a| self.accounts.iter().any(|x| x == a));
        let region_ok =
            self.regions.is_empty() || region.is_some_and(|r| self.regions.iter().any(|x| x == r));
        account_ok && region_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::{Alarm, AlarmSource, Alert, AlertGroup};

    fn alarm(account: &str, region: &str) -> Trigger {
        Trigger::CloudwatchAlarm {
            source: AlarmSource::Sns,
            alarm: Alarm {
                name: "a".into(),
                state: "ALARM".into(),
                account: Some(account.into()),
                region: Some(region.into()),
                ..Alarm::default()
            },
        }
    }

    fn routes() -> Routes {
        Routes {
            accounts: vec!["111111111111".into()],
            regions: vec!["eu-west-1".into()],
            clusters: vec!["prod-eu".into()],
        }
    }

    #[test]
    fn an_alarm_routes_by_account_and_region() {
        let r = routes();
        assert!(r.matches(&alarm("111111111111", "eu-west-1")));
        assert!(!r.matches(&alarm("111111111111", "us-east-1")));
        assert!(!r.matches(&alarm("222222222222", "eu-west-1")));
        let any_region = Routes {
            regions: Vec::new(),
            ..routes()
        };
        assert!(any_region.matches(&alarm("111111111111", "us-east-1")));
    }

    #[test]
    fn an_alert_group_routes_by_its_common_cluster_label_and_an_event_never() {
        let mut group = AlertGroup::default();
        group
            .common_labels
            .insert("cluster".into(), "prod-eu".into());
        let t = Trigger::Alertmanager {
            group,
            alert: Alert::default(),
        };
        assert!(routes().matches(&t));
        assert!(!Routes::default().matches(&t));
        // One alert's label is not the group's: a group spanning clusters routes nowhere.
        let mut alert = Alert::default();
        alert.labels.insert("cluster".into(), "prod-eu".into());
        let spanning = Trigger::Alertmanager {
            group: AlertGroup::default(),
            alert,
        };
        assert!(!routes().matches(&spanning));
        // An event's cluster is its watcher's to bind, and a payload cannot claim one.
        let event: Trigger = serde_json::from_value(serde_json::json!({"kind": "kubernetes_event",
            "event": {"reason": "BackOff", "object": {"kind": "Pod", "name": "p"}, "cluster": "prod-eu"}}))
        .unwrap();
        let Trigger::KubernetesEvent { event: e } = &event else {
            panic!()
        };
        assert_eq!(e.cluster, None);
        assert!(!routes().matches(&event));
        assert!(!routes().matches(&Trigger::Manual { by: None }));
    }

    #[test]
    fn target_names_are_short_lowercase_words() {
        for ok in ["prod-eu", "staging", "a1"] {
            assert!(valid_target_name(ok), "{ok}");
        }
        for bad in ["", "Prod", "1prod", "prod eu", "prod_eu", &"a".repeat(64)] {
            assert!(!valid_target_name(bad), "{bad}");
        }
    }
}
