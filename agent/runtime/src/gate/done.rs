//! After a takeover: a run carried on by another replica (its first replica died) never
//! repeats a change the first replica executed. The audit of the first run lists them; a
//! mutating call of the continuation on the same tool and the same object (or with the same
//! arguments) is refused before it is decided or executed.

use serde_json::Value;

use super::call::{Call, Step};
use super::resolve::Target;
use super::{CallScope, Gate};
use crate::approval::digest;
use crate::store::CallAudit;

/// The rule name of a refusal because the run this one carries on already executed it.
pub const ALREADY_EXECUTED: &str = "builtin:already-executed";

/// A change the run carried on had executed (its audit row said executed, whether or not
/// the answer ever came back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneBefore {
    pub run_id: String,
    pub tool: String,
    /// The object it changed (the history key), when its dry run named one.
    pub key: Option<String>,
    /// The digest of its tool and arguments.
    pub digest: String,
    pub at: Option<String>,
}

impl DoneBefore {
    /// The executed calls of `run_id`'s audit that `mutating` says may have changed
    /// something (an unknown tool counts as mutating).
    pub fn from_audit(
        run_id: &str,
        calls: &[CallAudit],
        mutating: impl Fn(&str) -> bool,
    ) -> Vec<DoneBefore> {
        calls
            .iter()
            .filter(|c| c.executed && mutating(&c.tool))
            .map(|c| DoneBefore {
                run_id: run_id.to_owned(),
                tool: c.tool.clone(),
                key: c.target.clone(),
                digest: digest(&c.tool, &without_dry_run(&c.args)),
                at: c.executed_at.map(|t| t.to_rfc3339()),
            })
            .collect()
    }
}

/// The arguments as they decide what a call does (a `dry_run: false` changes nothing).
fn without_dry_run(args: &Value) -> Value {
    let mut a = args.clone();
    if let Value::Object(m) = &mut a
        && m.get("dry_run") == Some(&Value::Bool(false))
    {
        m.remove("dry_run");
    }
    a
}

impl Gate {
    /// Refuses a mutating call the run this one carries on already executed.
    pub(super) fn not_done_before(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        target: &Target,
    ) -> Step<()> {
        if scope.done_before.is_empty() || !target.info.mutating() {
            return Ok(());
        }
        let tool = target.tool.to_string();
        let mine = digest(&tool, &without_dry_run(&call.args));
        let key = call.audit.target.clone();
        let done = scope
            .done_before
            .iter()
            .find(|d| d.tool == tool && (d.digest == mine || (key.is_some() && d.key == key)));
        match done {
            None => Ok(()),
            Some(d) => {
                let why = format!(
                    "run {} (whose replica stopped; this run carries it on) already executed {tool} on {} at {}; an executed change is never repeated after a takeover — check its effect instead",
                    d.run_id,
                    d.key.as_deref().unwrap_or("the same arguments"),
                    d.at.as_deref().unwrap_or("an unknown time")
                );
                Err(call.refuse(ALREADY_EXECUTED, why))
            }
        }
    }
}
