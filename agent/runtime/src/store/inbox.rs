//! What `sopilot serve` must remember about the outside world across restarts:
//!
//! - **approval messages**: where SOPilot posted each approval's Slack message (channel id
//!   and message ts). A button press decides an approval only when it comes from exactly that
//!   message, so a look-alike button posted anywhere else (by a model through the Slack tool,
//!   by a person) decides nothing. Written synced to disk, since decisions depend on it; also
//!   which state the message shows, so a decision made while Slack was unreachable or the
//!   server was down is still shown on it later.
//! - **seen messages**: ids of inbound messages already handled (SNS `MessageId`s), so a
//!   replay is refused even after a restart; pruned after the replay window.

use chrono::{DateTime, Utc};
use sopilot_protocol::ApprovalState;

use super::backend::enum_text;
use super::{Store, StoreError, now};

/// Where an approval's Slack message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalMessage {
    pub approval_id: String,
    /// The channel id Slack answered `chat.postMessage` with (`C…`), not a name.
    pub channel: String,
    pub ts: String,
    /// The approval state the message shows.
    pub shown: ApprovalState,
}

impl Store {
    /// Records where an approval's message was posted (replacing an earlier one), durably:
    /// from now on only a press on this message decides the approval.
    pub fn set_approval_message(
        &self,
        approval_id: &str,
        channel: &str,
        ts: &str,
        shown: ApprovalState,
    ) -> Result<(), StoreError> {
        let m = ApprovalMessage {
            approval_id: approval_id.to_owned(),
            channel: channel.to_owned(),
            ts: ts.to_owned(),
            shown,
        };
        self.backend.set_approval_message(&m, now())
    }

    /// Where an approval's message is, if SOPilot posted one.
    pub fn approval_message(
        &self,
        approval_id: &str,
    ) -> Result<Option<ApprovalMessage>, StoreError> {
        self.backend.approval_message(approval_id)
    }

    /// Notes which state an approval's message now shows.
    pub fn set_approval_message_shown(
        &self,
        approval_id: &str,
        shown: ApprovalState,
    ) -> Result<(), StoreError> {
        self.backend
            .set_approval_message_shown(approval_id, &enum_text(shown))
    }

    /// Approval messages that still show an older state than their record's (a decision or
    /// an expiry the message does not show yet), oldest first, at most `limit`.
    pub fn stale_approval_messages(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.backend.stale_approval_messages(limit)
    }

    /// When an approval was decided (or expired), if it was.
    pub fn approval_decided_at(
        &self,
        approval_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.backend.approval_decided_at(approval_id)
    }

    /// Remembers an inbound message id of `source` (e.g. `sns`): true the first time it is
    /// seen, false for a replay.
    pub fn remember_message(
        &self,
        source: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.backend.remember_message(source, id, now)
    }

    /// Forgets one message id again (its handling failed and the sender will retry it).
    pub fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError> {
        self.backend.forget_message(source, id)
    }

    /// Forgets the message ids of `source` seen before `before` (outside the replay window);
    /// returns how many.
    pub fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.backend.prune_messages(source, before)
    }
}
