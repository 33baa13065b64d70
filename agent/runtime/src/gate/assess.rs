//! Stage 2, assess: a builtin mutating tool is asked what it would do (`dry_run: true`).
//!
//! Fail closed: a failing dry run stops the call; a reply that does not say it executed
//! nothing stops it and is audited as possibly executed; an impact that is missing,
//! malformed or names no target can never be allowed (the decide stage escalates it).
//! Relative arguments are pinned to what the dry run assessed (its `pin` object), so the
//! real call does exactly what was judged.

use serde_json::Value;
use sopilot_protocol::{Impact, RunEventKind};

use super::call::{Call, Step};
use super::decide::keys;
use super::resolve::Target;
use super::{Gate, call_timeout};
use crate::gateway::ToolOutput;

/// What the dry run said.
#[derive(Debug, Clone, Default)]
pub(super) struct Assessed {
    pub impact: Option<Impact>,
    /// Why the impact cannot be relied on; when set, the call is never allowed.
    pub impact_problem: Option<String>,
    pub dry_output: Option<ToolOutput>,
}

/// The impact of a dry run's structured reply, or why it cannot be used.
fn read_impact(structured: Option<&Value>) -> Result<Impact, String> {
    let raw = structured
        .and_then(|s| s.get("impact"))
        .ok_or("the dry run reported no impact")?;
    let impact: Impact = serde_json::from_value(raw.clone())
        .map_err(|e| format!("the dry run's impact is malformed ({e})"))?;
    match impact.problem() {
        Some(p) => Err(format!("the dry run's report: {p}")),
        None => Ok(impact),
    }
}

/// Whether a dry run's reply says it executed nothing.
fn confirms_nothing_executed(structured: Option<&Value>) -> bool {
    structured.is_some_and(|s| {
        s.get("dry_run") == Some(&Value::Bool(true))
            && s.get("executed") == Some(&Value::Bool(false))
    })
}

impl Gate {
    pub(super) async fn assess(&self, call: &mut Call<'_>, target: &Target) -> Step<Assessed> {
        if !(target.info.mutating() && target.info.dry_runnable()) {
            return Ok(Assessed::default());
        }
        let mut dry_args = call.args.clone();
        if let Value::Object(m) = &mut dry_args {
            m.insert("dry_run".into(), Value::Bool(true));
        }
        let reply = self
            .gateway
            .call(&target.tool, dry_args, call_timeout(&call.args))
            .await;
        let o = match reply {
            Err(e) => {
                let text = format!("not executed: the impact could not be assessed: {e}");
                return Err(call.fail(text.clone(), text, Some(e.to_string())));
            }
            Ok(o) if o.is_error => {
                let reason = "the dry run failed, so nothing was executed".to_owned();
                return Err(call.fail(o.text.clone(), reason, Some(o.text)));
            }
            Ok(o) => o,
        };
        if !confirms_nothing_executed(o.structured.as_ref()) {
            // It may have acted: say so in the audit, and go no further.
            call.out.executed = true;
            call.audit.executed = true;
            let why = format!(
                "{} did not confirm that its dry run executed nothing (`dry_run: true, executed: false`); it may have acted, so nothing more was done — check it",
                target.tool
            );
            return Err(call.fail(format!("not executed further: {why}"), why, None));
        }
        let (impact, impact_problem) = match read_impact(o.structured.as_ref()) {
            Ok(i) => (Some(i), None),
            Err(why) => (None, Some(why)),
        };
        self.pin_from(call, o.structured.as_ref())?;
        if let Some(i) = &impact {
            call.log.emit(RunEventKind::ImpactAssessed {
                call_id: call.call_id().to_owned(),
                impact: i.clone(),
            })?;
            call.audit.impact = serde_json::to_value(i).ok();
            let (t, w) = keys(i, call.target.as_ref().map(|t| t.name.as_str()));
            call.audit.target = Some(t);
            call.audit.workload = w;
        }
        call.out.impact = impact.clone();
        Ok(Assessed {
            impact,
            impact_problem,
            dry_output: Some(o),
        })
    }

    /// Pins the arguments a dry run names in its `pin` object. An argument the caller gave
    /// with another value means the dry run assessed something else: the call stops.
    fn pin_from(&self, call: &mut Call<'_>, structured: Option<&Value>) -> Step<()> {
        let Some(Value::Object(pins)) = structured.and_then(|s| s.get("pin")) else {
            return Ok(());
        };
        for (key, value) in pins {
            match call.args.get(key) {
                Some(given) if given != value => {
                    let why = format!(
                        "the dry run assessed {key} = {value}, but the call asks for {key} = {given}; nothing was executed"
                    );
                    return Err(call.fail(format!("not executed: {why}"), why, None));
                }
                Some(_) => {}
                None => call.pin(key, value.clone()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn impacts_must_be_well_formed_and_name_a_target() {
        assert!(read_impact(None).is_err());
        assert!(read_impact(Some(&json!({"impact": {"action": 3}}))).is_err());
        assert!(
            read_impact(Some(&json!({"impact": {"action": "scale"}})))
                .unwrap_err()
                .contains("no target")
        );
        assert!(
            read_impact(Some(
                &json!({"impact": {"action": "", "target": {"kind": "Pod", "name": "p"}}})
            ))
            .is_err()
        );
        let ok =
            json!({"impact": {"action": "scale", "target": {"kind": "Deployment", "name": "w"}}});
        assert_eq!(read_impact(Some(&ok)).unwrap().action, "scale");
    }

    #[test]
    fn only_an_explicit_confirmation_counts() {
        assert!(confirms_nothing_executed(Some(
            &json!({"dry_run": true, "executed": false})
        )));
        for no in [
            json!({"dry_run": true}),
            json!({"executed": false}),
            json!({"dry_run": "true", "executed": false}),
            json!({"dry_run": true, "executed": true}),
        ] {
            assert!(!confirms_nothing_executed(Some(&no)), "{no}");
        }
        assert!(!confirms_nothing_executed(None));
    }
}
