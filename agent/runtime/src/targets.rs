//! The targets a deployment serves (clusters and AWS accounts), each with its own gateway:
//! one connection per target to every server. Without configured targets there is one
//! implicit target, `default`, and nothing about calls changes.
//!
//! A call's target is chosen, in order: the run's own target (bound by its trigger or by
//! whoever started it; a call naming another is refused), the call's [`TARGET_ARG`]
//! argument, the default target. With several targets and none of these, the call is
//! refused: SOPilot never guesses where to act.

use std::sync::Arc;

use serde_json::Value;
use sopilot_protocol::{Routes, TARGET_ARG, Target, ToolRef, Trigger};

use crate::gateway::{Gateway, GatewayError, ServerSpec};

/// One configured target, before its servers are started.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub target: Target,
    /// Its servers (builtin and configured), started with its kubeconfig and AWS settings.
    pub servers: Vec<ServerSpec>,
    pub routes: Routes,
    /// Calls that name no target and belong to no bound run go here.
    pub default: bool,
}

/// A target with its connected servers.
#[derive(Debug)]
pub struct Place {
    pub target: Target,
    pub gateway: Arc<Gateway>,
    pub routes: Routes,
}

/// Every target of the deployment.
#[derive(Debug)]
pub struct Targets {
    places: Vec<Place>,
    default: Option<usize>,
    /// Configured (not the implicit `default`): calls carry their target.
    configured: bool,
}

/// A tool a target's server declared with its own `target` argument: left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub target: String,
    pub tool: ToolRef,
}

impl Targets {
    /// The implicit single target over `gateway`.
    pub fn single(gateway: Arc<Gateway>) -> Self {
        Targets {
            places: vec![Place {
                target: Target::implicit(),
                gateway,
                routes: Routes::default(),
            }],
            default: Some(0),
            configured: false,
        }
    }

    /// Starts every target's servers (all targets at once). A target whose servers fail
    /// to start keeps the others; the failures are returned, naming the target.
    pub async fn connect(specs: Vec<TargetSpec>) -> (Self, Vec<GatewayError>, Vec<Clash>) {
        let default = specs.iter().position(|s| s.default);
        let starts = specs.into_iter().map(|s| async move {
            let (gateway, failures) = Gateway::connect(s.servers).await;
            let failures: Vec<GatewayError> = failures
                .into_iter()
                .map(|e| in_target(&s.target.name, e))
                .collect();
            ((s.target, s.routes, gateway), failures)
        });
        let (connected, failures): (Vec<_>, Vec<_>) =
            futures::future::join_all(starts).await.into_iter().unzip();
        let (targets, clashes) = Self::from_gateways(connected, default);
        (targets, failures.into_iter().flatten().collect(), clashes)
    }

    /// Targets over gateways already connected (in order; `default` indexes them). Each
    /// gateway routes by target from now on ([`Gateway::route_by_target`]).
    pub fn from_gateways(
        list: Vec<(Target, Routes, Gateway)>,
        default: Option<usize>,
    ) -> (Self, Vec<Clash>) {
        let names: Vec<String> = list.iter().map(|(t, _, _)| t.name.clone()).collect();
        let mut clashes = Vec::new();
        let places = list
            .into_iter()
            .map(|(target, routes, mut gateway)| {
                clashes.extend(
                    gateway
                        .route_by_target(&names)
                        .into_iter()
                        .map(|tool| Clash {
                            target: target.name.clone(),
                            tool,
                        }),
                );
                Place {
                    target,
                    gateway: Arc::new(gateway),
                    routes,
                }
            })
            .collect();
        let targets = Targets {
            places,
            default,
            configured: true,
        };
        (targets, clashes)
    }

    /// Whether targets are configured (calls carry their target).
    pub fn configured(&self) -> bool {
        self.configured
    }

    /// The gateway whose catalog is offered: the default target's, else the first's.
    pub fn catalog(&self) -> &Arc<Gateway> {
        let i = self.default.unwrap_or(0);
        &self.places[i.min(self.places.len() - 1)].gateway
    }

    /// Every target, in configuration order.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The target called `name`.
    pub fn get(&self, name: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.target.name == name)
    }

    /// The default target: calls naming none in unbound runs, and machine triggers no route
    /// claims, go there.
    pub fn default_target(&self) -> Option<&Target> {
        self.default.map(|i| &self.places[i].target)
    }

    /// The target `trigger` belongs to: the first whose routes match it.
    pub fn route(&self, trigger: &Trigger) -> Option<&Target> {
        self.places
            .iter()
            .find(|p| p.routes.matches(trigger))
            .map(|p| &p.target)
    }

    /// The target a call acts on (see the module's rules), or why none may be chosen.
    pub fn choose(&self, named: Option<&Value>, bound: Option<&str>) -> Result<&Place, String> {
        let named = match named {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(format!(
                    "`{TARGET_ARG}` must be a target's name (one of {}), not {other}",
                    self.list()
                ));
            }
        };
        if !self.configured {
            return match named {
                Some(n) => Err(format!(
                    "`{TARGET_ARG}: {n}` names a target, but this SOPilot has none configured; call the tool without it"
                )),
                None => Ok(&self.places[0]),
            };
        }
        let unknown = |n: &str| format!("no target {n:?}; the targets are {}", self.list());
        match (bound, named) {
            (Some(b), Some(n)) if b != n => Err(format!(
                "this run works on target {b:?} (where its alert came from) and cannot act on {n:?}; start a run for {n:?} instead"
            )),
            (Some(b), _) => self.get(b).ok_or_else(|| unknown(b)),
            (None, Some(n)) => self.get(n).ok_or_else(|| unknown(n)),
            (None, None) => self.default.map(|i| &self.places[i]).ok_or_else(|| {
                format!(
                    "name the target to act on with `{TARGET_ARG}`: one of {}",
                    self.list()
                )
            }),
        }
    }

    fn list(&self) -> String {
        let names: Vec<&str> = self.places.iter().map(|p| p.target.name.as_str()).collect();
        names.join(", ")
    }

    /// The configured targets' names, in order; empty without configured targets (the
    /// implicit `default` is nobody's to name).
    pub fn names(&self) -> Vec<&str> {
        self.places
            .iter()
            .filter(|_| self.configured)
            .map(|p| p.target.name.as_str())
            .collect()
    }
}

/// A start failure, naming the target it happened in.
fn in_target(target: &str, e: GatewayError) -> GatewayError {
    match e {
        GatewayError::Start {
            server,
            message,
            stderr,
        } => GatewayError::Start {
            server: format!("{server} (target {target})"),
            message,
            stderr,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    async fn targets(default: Option<&str>) -> Targets {
        let spec = |name: &str| TargetSpec {
            target: Target {
                name: name.into(),
                labels: Default::default(),
            },
            servers: Vec::new(),
            routes: Routes {
                accounts: vec![
                    if name == "prod" {
                        "111111111111"
                    } else {
                        "222222222222"
                    }
                    .into(),
                ],
                ..Routes::default()
            },
            default: Some(name) == default,
        };
        Targets::connect(vec![spec("prod"), spec("staging")])
            .await
            .0
    }

    fn chosen(t: &Targets, named: Option<Value>, bound: Option<&str>) -> Result<String, String> {
        t.choose(named.as_ref(), bound)
            .map(|p| p.target.name.clone())
    }

    #[tokio::test]
    async fn a_bound_run_acts_only_on_its_own_target() {
        let t = targets(None).await;
        assert_eq!(chosen(&t, None, Some("staging")).unwrap(), "staging");
        assert_eq!(
            chosen(&t, Some(json!("staging")), Some("staging")).unwrap(),
            "staging"
        );
        let err = chosen(&t, Some(json!("prod")), Some("staging")).unwrap_err();
        assert!(err.contains("cannot act on \"prod\""), "{err}");
    }

    #[tokio::test]
    async fn an_unbound_call_names_its_target_or_gets_the_default() {
        let t = targets(None).await;
        assert_eq!(chosen(&t, Some(json!("prod")), None).unwrap(), "prod");
        let err = chosen(&t, None, None).unwrap_err();
        assert!(err.contains("one of prod, staging"), "{err}");
        let err = chosen(&t, Some(json!("qa")), None).unwrap_err();
        assert!(err.contains("no target \"qa\""), "{err}");
        let err = chosen(&t, Some(json!(["prod"])), None).unwrap_err();
        assert!(err.contains("must be a target's name"), "{err}");
        let with_default = targets(Some("staging")).await;
        assert_eq!(chosen(&with_default, None, None).unwrap(), "staging");
    }

    #[tokio::test]
    async fn triggers_route_by_account_and_the_implicit_target_takes_no_name() {
        let t = targets(None).await;
        let alarm = |account: &str| Trigger::CloudwatchAlarm {
            source: sopilot_protocol::AlarmSource::Sns,
            alarm: sopilot_protocol::Alarm {
                account: Some(account.into()),
                ..Default::default()
            },
        };
        assert_eq!(t.route(&alarm("222222222222")).unwrap().name, "staging");
        assert!(t.route(&alarm("333333333333")).is_none());
        let single = Targets::single(Arc::new(Gateway::connect(Vec::new()).await.0));
        assert_eq!(chosen(&single, None, None).unwrap(), "default");
        assert!(chosen(&single, Some(json!("prod")), None).is_err());
    }
}
