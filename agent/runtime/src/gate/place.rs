//! Stage 0, place: which target (cluster and account) the call acts on, when several are
//! configured. The choice is pinned into the call's [`TARGET_ARG`] argument, so the audit,
//! the approval (and its digest) and the report name it, and the rest of the stages run on
//! that target's own gateway.

use serde_json::Value;
use sopilot_protocol::TARGET_ARG;

use super::call::{Call, Step};
use super::{CallScope, Gate};

/// The rule name of a refusal because the call's target is unknown, missing, or not the
/// run's own.
pub const WRONG_TARGET: &str = "builtin:wrong-target";

impl Gate {
    /// The gate on the call's target's gateway. Without configured targets nothing is
    /// chosen and the arguments are left as they are (a foreign tool may take a `target`).
    pub(super) fn place(&self, call: &mut Call<'_>, scope: &CallScope) -> Step<Gate> {
        if !self.targets.configured() {
            return match &scope.target {
                // A run bound to a target (an approval carried out by a replica configured
                // without targets): nowhere here is that target.
                Some(t) => Err(call.refuse(
                    WRONG_TARGET,
                    format!("the run works on target {t:?}, which this SOPilot does not configure; nothing was executed"),
                )),
                None => Ok(self.clone()),
            };
        }
        let named = call.args.get(TARGET_ARG).cloned();
        match self.targets.choose(named.as_ref(), scope.target.as_deref()) {
            Ok(place) => {
                call.pin(TARGET_ARG, Value::String(place.target.name.clone()));
                call.target = Some(place.target.clone());
                call.out.target = Some(place.target.name.clone());
                Ok(Gate {
                    gateway: place.gateway.clone(),
                    ..self.clone()
                })
            }
            Err(why) => Err(call.refuse(WRONG_TARGET, why)),
        }
    }
}
