//! Who decides an escalated call made from an IDE.
//!
//! - The client declared elicitation and its caller may approve (on `sopilot serve` a token
//!   of role `approver`; on stdio the local user): the IDE asks its user
//!   (`elicitation/create`, a yes/no with the approval's description). The decision is
//!   recorded under the caller's identity (`mcp:<token name>`, `local:<OS user>`), never a
//!   name the client reports. On `sopilot serve` the escalation is also announced on every
//!   approval channel, and whichever door decides first wins; the decision is stored through
//!   the [`ApprovalHub`] so Slack and the API see it.
//! - Otherwise, on `sopilot serve`: the call waits for another door (Slack, the API) until
//!   the approval expires, telling the client how to approve through progress notifications.
//! - Otherwise, on stdio: nobody can be asked, so the call is refused (fail closed).

use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    ClientResult, ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    ProgressNotificationParam, ProgressToken, ServerRequest,
};
use rmcp::service::Peer;
use sopilot_protocol::ApprovalState;
use sopilot_runtime::approval::describe;
use sopilot_runtime::{Answer, ApprovalRecord, Approver};

use crate::approvals::{ApprovalHub, HubApprover};
use crate::auth::Role;

/// How often a waiting call tells the client it is still waiting.
const NOTICE_EVERY: Duration = Duration::from_secs(10);

/// The channel name decisions made in the IDE are recorded under.
pub const CHANNEL: &str = "mcp";

/// Which door can decide this session's escalations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The IDE, through MCP elicitation (and, on serve, the other channels too).
    Elicitation,
    /// Only the other channels of `sopilot serve` (Slack, the HTTP API).
    OtherChannels,
    /// Nobody: the call is refused.
    Nobody,
}

/// How a person gets a call like this one approved, for the text the client reads.
pub fn how_to_approve(id: &str, door: Door) -> String {
    let api = format!(
        "`POST /api/approvals/{id}` with {{\"decision\": \"approve\"}} and the bearer token of an approver (a `serve.api_tokens` entry of role approver, or SOPILOT_API_TOKEN)"
    );
    match door {
        Door::Elicitation => format!(
            "It can also be approved in Slack (the Approve button) or with {api} while it is pending."
        ),
        Door::OtherChannels => format!(
            "Approve it while it is pending in Slack (the Approve button on the SOPilot message) or with {api}; pending approvals are listed by `GET /api/approvals?state=pending`."
        ),
        Door::Nobody => format!(
            "This MCP client cannot ask you (it did not declare the elicitation capability) and `sopilot mcp` on stdio has no other approval channel, so it was refused. To get such a call approved, use an MCP client that supports elicitation, or connect to `sopilot serve` at /mcp, where an escalation can be approved in Slack (the Approve button) or with {api}."
        ),
    }
}

fn yes_no_schema() -> Option<ElicitationSchema> {
    ElicitationSchema::builder()
        .required_bool_property("approve", |b| {
            b.title("Approve this call")
                .description("true runs exactly the call shown, once; false denies it")
        })
        .build()
        .ok()
}

/// Asks the IDE's user through MCP elicitation.
#[derive(Clone)]
pub struct Eliciting {
    pub peer: Peer<RoleServer>,
    /// On `sopilot serve`: the other doors, raced against the IDE.
    pub hub: Option<HubApprover>,
    /// Who decides, as recorded: the identity of the session's token (`mcp:NAME`) or the
    /// local user (`local:USER`).
    pub by: String,
}

impl std::fmt::Debug for Eliciting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eliciting").field("by", &self.by).finish()
    }
}

impl Eliciting {
    /// The IDE user's decision, or `None` when the client could not answer.
    async fn elicit(&self, record: &ApprovalRecord) -> Option<ApprovalState> {
        let message = format!(
            "SOPilot's policy escalated this call to a human. Approve it?\n{}\n  expires: {}\n",
            describe(record).trim_end(),
            record.expires_at.to_rfc3339()
        );
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema: yes_no_schema()?,
        };
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.peer.send_request(request).await {
            Ok(ClientResult::ElicitResult(r)) => {
                let yes = r.action == ElicitationAction::Accept
                    && r.content
                        .as_ref()
                        .and_then(|c| c.get("approve"))
                        .and_then(serde_json::Value::as_bool)
                        == Some(true);
                Some(if yes {
                    ApprovalState::Approved
                } else {
                    ApprovalState::Denied
                })
            }
            Ok(other) => {
                tracing::warn!("elicitation answered with an unexpected result: {other:?}");
                None
            }
            Err(e) => {
                tracing::warn!(approval = %record.id, "elicitation failed: {e}");
                None
            }
        }
    }
}

/// Stores a decision through the hub (first wins) and answers with what stands.
async fn decide(hub: &Arc<ApprovalHub>, id: &str, state: ApprovalState, by: &str) -> Answer {
    match hub.decide(id, state, by, CHANNEL).await {
        Ok(d) => Answer {
            state: d.record.state,
            by: d.record.decided_by.unwrap_or_else(|| by.to_owned()),
            channel: d.record.channel.unwrap_or_else(|| CHANNEL.to_owned()),
        },
        Err(e) => {
            tracing::error!(approval = %id, "cannot store the IDE's decision: {e}");
            Answer {
                state,
                by: by.to_owned(),
                channel: CHANNEL.to_owned(),
            }
        }
    }
}

#[async_trait::async_trait]
impl Approver for Eliciting {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        let Some(other) = &self.hub else {
            let state = self.elicit(record).await?;
            return Some(Answer {
                state,
                by: self.by.clone(),
                channel: CHANNEL.to_owned(),
            });
        };
        // The other doors' wait lives until the end, whoever answers: while it does, the hub
        // knows this call is waited for and leaves carrying it out to the gate (a record
        // decided with nobody waiting is executed by the hub itself).
        let doors = other.ask(record);
        tokio::pin!(doors);
        let ide = self.elicit(record);
        tokio::pin!(ide);
        tokio::select! {
            answer = &mut doors => answer,
            state = &mut ide => match state {
                Some(state) => Some(decide(&other.hub, &record.id, state, &self.by).await),
                // The IDE could not answer: the other doors still can.
                None => doors.await,
            },
        }
    }

    fn reachable(&self) -> bool {
        true
    }
}

/// `sopilot serve`, a client that cannot elicit: waits for Slack or the API like a run
/// does, and keeps telling the client how to approve.
#[derive(Clone)]
pub struct Noticing {
    pub inner: HubApprover,
    pub peer: Peer<RoleServer>,
    pub progress: Option<ProgressToken>,
}

impl std::fmt::Debug for Noticing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Noticing").finish()
    }
}

#[async_trait::async_trait]
impl Approver for Noticing {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        let text = format!(
            "waiting for a human to approve {} ({}). {}",
            record.tool,
            record.id,
            how_to_approve(&record.id, Door::OtherChannels)
        );
        tracing::info!(approval = %record.id, "an IDE call waits for approval on another channel");
        let notices = async {
            let Some(token) = &self.progress else {
                return std::future::pending::<()>().await;
            };
            let mut n = 0.0;
            loop {
                let p = ProgressNotificationParam::new(token.clone(), n).with_message(text.clone());
                let _ = self.peer.notify_progress(p).await;
                n += 1.0;
                tokio::time::sleep(NOTICE_EVERY).await;
            }
        };
        tokio::select! {
            answer = self.inner.ask(record) => answer,
            () = notices => None,
        }
    }

    fn reachable(&self) -> bool {
        self.inner.reachable()
    }
}

/// stdio, a client that cannot elicit: nobody can approve, so escalations are refused.
#[derive(Debug, Clone)]
pub struct Refusing;

#[async_trait::async_trait]
impl Approver for Refusing {
    async fn ask(&self, _record: &ApprovalRecord) -> Option<Answer> {
        Some(Answer {
            state: ApprovalState::Denied,
            by: "sopilot (no approver: the MCP client cannot elicit)".into(),
            channel: CHANNEL.into(),
        })
    }

    // Reachable on purpose: the policy keeps its escalations as escalations (so they are
    // recorded as approval requests and explained), and this approver refuses them.
    fn reachable(&self) -> bool {
        true
    }
}

/// Who is calling: how their decisions are recorded, and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `mcp:<token name>` on `sopilot serve`, `local:<OS user>` on stdio.
    pub recorded: String,
    pub role: Role,
}

/// The approver for one session and the door it stands for. Only a caller who may approve
/// is asked through elicitation.
pub fn choose(
    hub: Option<&Arc<ApprovalHub>>,
    peer: &Peer<RoleServer>,
    progress: Option<ProgressToken>,
    run_id: &str,
    caller: &Caller,
) -> (Arc<dyn Approver>, Door) {
    // Form elicitation: declared as `elicitation: {}` or with `form`; url-only clients
    // cannot answer a yes/no form.
    let elicits = peer
        .peer_info()
        .and_then(|i| i.capabilities.elicitation.clone())
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    let other = hub.map(|hub| HubApprover {
        hub: hub.clone(),
        run_id: run_id.to_owned(),
        origin: crate::runs::Origin::Api,
    });
    match (elicits && caller.role >= Role::Approver, other) {
        (true, other) => (
            Arc::new(Eliciting {
                peer: peer.clone(),
                hub: other,
                by: caller.recorded.clone(),
            }),
            Door::Elicitation,
        ),
        (false, Some(inner)) => (
            Arc::new(Noticing {
                inner,
                peer: peer.clone(),
                progress,
            }),
            Door::OtherChannels,
        ),
        (false, None) => (Arc::new(Refusing), Door::Nobody),
    }
}
