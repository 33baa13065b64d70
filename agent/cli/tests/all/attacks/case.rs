//! The case file format (`tests/attacks/*.yaml`, documented in `tests/attacks/README.md`):
//! a class, the default scenario and markers, and cases. A case is one of: `run` / `runs`
//! (`sopilot run` against the simulator with an injected model), `policy_check` (`sopilot
//! policy check`), `config_refused` (a configuration `sopilot run`/`serve` must refuse) or
//! `serve` (steps against `sopilot serve` with the simulated Slack).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// One file of cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub class: String,
    pub description: String,
    /// Scenario files merged in order (objects appended, log maps merged).
    #[serde(default)]
    pub scenario: Vec<String>,
    /// Values that must appear in no output (besides anything containing `attackmarker`).
    #[serde(default)]
    pub markers: Vec<String>,
    pub cases: Vec<Case>,
}

/// One attack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub description: String,
    /// Replaces the file's scenario.
    #[serde(default)]
    pub scenario: Option<Vec<String>>,
    /// Added to the file's markers.
    #[serde(default)]
    pub markers: Vec<String>,
    #[serde(default)]
    pub run: Option<RunSpec>,
    #[serde(default)]
    pub runs: Vec<RunSpec>,
    #[serde(default)]
    pub policy_check: Vec<PolicyCheck>,
    #[serde(default)]
    pub config_refused: Vec<ConfigRefused>,
    #[serde(default)]
    pub serve: Option<ServeSpec>,
}

/// A change to the simulated cluster made by the test (before a run, while an approval
/// waits, or while `serve` is down).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    /// JSON pointer → new value.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
}

/// One `sopilot run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// A shipped SOP name or a path from the repository root.
    pub sop: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The injected model: a script (`turns`), played by an OpenAI-compatible endpoint.
    pub model: Value,
    /// A configuration file's text (`--config`).
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// Cluster changes before the run starts.
    #[serde(default)]
    pub before: Vec<Mutation>,
    /// Answers to the run's approval prompts, in order; absent: unattended
    /// (`--on-escalate deny`).
    #[serde(default)]
    pub approvals: Option<Vec<ApprovalStep>>,
    #[serde(default)]
    pub expect: RunExpect,
}

/// What to do when the next approval is asked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalStep {
    /// Text the approval's reason must contain (e.g. what changed since the last approval).
    #[serde(default)]
    pub reason_contains: Vec<String>,
    /// Cluster changes made after the approval is asked and before it is answered.
    #[serde(default)]
    pub mutate: Vec<Mutation>,
    /// `approve` or `deny`.
    pub answer: String,
}

/// What a run must have done.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunExpect {
    #[serde(default)]
    pub exit: Option<i32>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub calls: Vec<CallExpect>,
    /// Text that must reach the model (proves the read happened, with its secrets masked).
    #[serde(default)]
    pub model_saw: Vec<String>,
    /// Text that must never reach the model (e.g. a Secret object's `"kind":"Secret"`).
    #[serde(default)]
    pub model_never_saw: Vec<String>,
    /// Text the run's events must contain (notes, reasons).
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub cluster: ClusterExpect,
    /// Slack messages that must exist afterwards (text or blocks containing each string).
    #[serde(default)]
    pub slack_has: Vec<String>,
    /// Text no Slack message may contain.
    #[serde(default)]
    pub slack_lacks: Vec<String>,
}

/// Expectations about the audit rows of one tool: every row matching `tool` and `args`
/// must satisfy the rest, and there must be `count` of them (default: at least one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallExpect {
    pub tool: String,
    /// A subset the row's (pinned) arguments must contain.
    #[serde(default)]
    pub args: Option<Value>,
    /// Only rows of this origin (`model`, `tool_block`, `api`: a resumed approval).
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub executed: Option<bool>,
    #[serde(default)]
    pub ok: Option<bool>,
    /// Every one of these rules is among the row's rules.
    #[serde(default)]
    pub rules: Vec<String>,
    /// At least one of these rules is among the row's rules.
    #[serde(default)]
    pub rule_any: Vec<String>,
    #[serde(default)]
    pub reason_contains: Vec<String>,
    /// The approval's final state (`approved`, `denied`, `expired`).
    #[serde(default)]
    pub approval: Option<String>,
    #[serde(default)]
    pub count: Option<usize>,
}

/// The cluster after a run: `unchanged` (the default), or the changes expected.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum ClusterExpect {
    #[default]
    Unchanged,
    Word(String),
    Changed(ClusterChanges),
}

/// Expected changes; any other change (besides Events and `status`) fails the case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterChanges {
    /// Values objects must hold afterwards.
    #[serde(default)]
    pub changed: Vec<ObjectValue>,
    /// Objects that must be gone.
    #[serde(default)]
    pub gone: Vec<ObjectRef>,
    /// Kinds whose objects may also change (controller effects: new pods, ReplicaSets).
    #[serde(default)]
    pub may_change: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectValue {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    pub at: String,
    pub is: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
}

/// `sopilot policy check` calls; with `kinds`, one check per kind (added to `args` as
/// `kind`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCheck {
    pub tool: String,
    #[serde(default)]
    pub args: Value,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub impact: Option<Value>,
    /// What the kind resolved to (`--resource`).
    #[serde(default)]
    pub resource: Option<Value>,
    /// What already happened to the target within the window (`--history`).
    #[serde(default)]
    pub history: Option<Value>,
    /// The tool's server is not one of SOPilot's own (`--foreign`).
    #[serde(default)]
    pub foreign: bool,
    #[serde(default)]
    pub unattended: bool,
    /// `deny`, `escalate`, `allow`, or `not_allow` (escalate, deny, or the input refused).
    pub expect: String,
    #[serde(default)]
    pub rules: Vec<String>,
}

/// A configuration a command must refuse to start with (exit 1, stderr naming why).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRefused {
    /// `run` or `serve`.
    pub command: String,
    pub config: String,
    pub stderr_contains: Vec<String>,
}

/// Steps against `sopilot serve` (Slack approvals, restarts).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSpec {
    /// The injected model of every run the server starts.
    pub model: Value,
    /// Appended to the `serve:` section of the configuration (two-space indented).
    #[serde(default)]
    pub serve_extra: Option<String>,
    pub steps: Vec<Step>,
}

/// One serve step; exactly one field is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Start a run with an Alertmanager alert (pod-crashloop for the crash-looping pod);
    /// the value names the run.
    #[serde(default)]
    pub alert: Option<String>,
    /// `/sopilot TEXT` by a user: starts a run; `{as, user, text}`.
    #[serde(default)]
    pub command: Option<CommandStep>,
    /// Wait for a new pending approval and its Slack message; the value names it.
    #[serde(default)]
    pub wait_approval: Option<String>,
    /// Post a look-alike approval message with the bot's token.
    #[serde(default)]
    pub forge: Option<ForgeStep>,
    /// Press a button.
    #[serde(default)]
    pub press: Option<PressStep>,
    /// Decide through the HTTP API.
    #[serde(default)]
    pub api_decide: Option<ApiDecide>,
    #[serde(default)]
    pub mutate: Vec<Mutation>,
    /// Kill `sopilot serve` and start it again on the same store.
    #[serde(default)]
    pub restart: bool,
    /// Wait until the named run is no longer running.
    #[serde(default)]
    pub wait_run: Option<String>,
    /// Wait this long (milliseconds) for anything a wrong press could have started.
    #[serde(default)]
    pub settle_ms: Option<u64>,
    /// Check the state now.
    #[serde(default)]
    pub expect: Option<ServeExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandStep {
    #[serde(rename = "as")]
    pub name: String,
    pub user: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeStep {
    #[serde(rename = "as")]
    pub name: String,
    /// The approval whose id the forged buttons carry.
    pub approval: String,
    /// `#incidents` or `#random`.
    pub channel: String,
    /// Post in the approval message's thread.
    #[serde(default)]
    pub in_thread: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressStep {
    pub user: String,
    /// `approve` or `deny`.
    pub action: String,
    /// The approval whose id the pressed button carries.
    pub approval: String,
    /// The message pressed: `approval` (SOPilot's own), a forged message's name, or
    /// `status` (the run's status message).
    pub on: String,
    /// Put this other approval's id in the button instead (a value swapped by hand).
    #[serde(default)]
    pub id_of: Option<String>,
    /// The answer's `status` (`accepted`, `refused`, `already_decided`).
    pub expect: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiDecide {
    pub approval: String,
    pub decision: String,
    pub by: String,
    #[serde(default = "ok_status")]
    pub status: u16,
}

fn ok_status() -> u16 {
    200
}

/// State checked in the middle or at the end of serve steps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeExpect {
    /// Approval name → state (`pending`, `approved`, `denied`, `expired`).
    #[serde(default)]
    pub approvals: BTreeMap<String, String>,
    /// Approvals whose Slack message must be exactly as SOPilot posted it.
    #[serde(default)]
    pub approval_message_unchanged: Vec<String>,
    /// Audit expectations per run name.
    #[serde(default)]
    pub calls: BTreeMap<String, Vec<CallExpect>>,
    /// Cluster values that must hold (compared with the start).
    #[serde(default)]
    pub cluster: ClusterExpect,
    /// Text no Slack message may contain.
    #[serde(default)]
    pub slack_lacks: Vec<String>,
    /// Number of messages carrying buttons, in #incidents and #random.
    #[serde(default)]
    pub button_messages: Option<usize>,
    /// Text that must reach the model.
    #[serde(default)]
    pub model_saw: Vec<String>,
}

impl CaseFile {
    /// Reads and checks one case file.
    pub fn load(path: &Path) -> Result<CaseFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: CaseFile =
            sopilot_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for case in &file.cases {
            let kinds = [
                case.run.is_some() || !case.runs.is_empty(),
                !case.policy_check.is_empty(),
                !case.config_refused.is_empty(),
                case.serve.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1
                || (case.run.is_some() && !case.runs.is_empty())
            {
                return Err(format!(
                    "{}: case {:?} needs exactly one of run, runs, policy_check, config_refused, serve",
                    path.display(),
                    case.name
                ));
            }
        }
        Ok(file)
    }
}

impl Case {
    /// The runs of a run case, in order.
    pub fn run_specs(&self) -> Vec<&RunSpec> {
        self.run.iter().chain(self.runs.iter()).collect()
    }
}
