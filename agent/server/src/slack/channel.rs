//! A run's Slack thread: one status message edited as the run proceeds (at most one edit per
//! interval), Approve/Deny buttons for its escalations, and the report at the end.
//!
//! Each followed run has one task that owns its thread and takes updates in order from the
//! run's observer, the approval hub and the run manager; nothing here is awaited by the run,
//! so a slow or absent Slack never holds it up.
//!
//! Where each approval message was posted is recorded in the store before its buttons can be
//! pressed; only a press on that message decides the approval. Once decided (or expired),
//! the message is rewritten to say who decided, through which door and when — at once when
//! the hub tells, and by a sweep for what happened while Slack or the server was down.

use std::sync::Arc;

use sopilot_protocol::{ApprovalState, RunEvent, RunEventKind};
use sopilot_runtime::{ApprovalRecord, CancellationToken, Observer, RunReport, UnroutedTrigger};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::SlackBot;
use super::blocks;
use super::client::{Posted, SlackClient, SlackError};
use super::progress::Progress;
use crate::approvals::ApprovalChannel;
use crate::runs::{Origin, RunListener};

/// What a run's thread task is told.
#[derive(Debug)]
pub(crate) enum Update {
    Event(Box<RunEvent>),
    Announce(Box<ApprovalRecord>),
    Resolved(Box<ApprovalRecord>),
    /// The run ended; its report, or `None` when it could not start.
    Finished(Option<Box<RunReport>>),
}

/// Where a run's messages go: a channel, and a thread in it when there is one already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub channel: String,
    pub thread_ts: Option<String>,
}

fn started_by(origin: &Origin) -> String {
    match origin {
        Origin::Slack { user, .. } => format!("<@{user}>"),
        Origin::Webhook(name) => name.clone(),
        Origin::Api => "the API".into(),
        Origin::Schedule(name) => format!("schedule {name}"),
        Origin::Watcher => "a Kubernetes event".into(),
        Origin::Takeover(run) => format!("a takeover of run {run}"),
    }
}

impl SlackBot {
    /// Where runs of this origin report: Slack requests in their thread, unattended runs in
    /// the incident channel (if one is configured); API runs not at all.
    pub(crate) fn place(&self, origin: &Origin) -> Option<Place> {
        match origin {
            Origin::Slack {
                channel, thread_ts, ..
            } => Some(Place {
                channel: channel.clone(),
                thread_ts: thread_ts.clone(),
            }),
            Origin::Webhook(_) | Origin::Schedule(_) | Origin::Watcher | Origin::Takeover(_) => {
                self.settings.channel.clone().map(|channel| Place {
                    channel,
                    thread_ts: None,
                })
            }
            Origin::Api => None,
        }
    }

    /// The run's thread task, started if needed; `None` when the run is not followed.
    pub(crate) fn follow(
        &self,
        run_id: &str,
        sop: &str,
        origin: &Origin,
    ) -> Option<mpsc::UnboundedSender<Update>> {
        let client = self.client.clone()?;
        let place = self.place(origin)?;
        let mut threads = super::lock(&self.threads);
        if let Some(tx) = threads.get(run_id) {
            return Some(tx.clone());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        threads.insert(run_id.to_owned(), tx.clone());
        let thread = Thread {
            bot: self.clone(),
            client,
            progress: Progress::new(run_id, sop, &started_by(origin)),
            place,
            status: None,
            open: Vec::new(),
        };
        tokio::spawn(thread.run(rx));
        Some(tx)
    }

    fn send(&self, run_id: &str, update: Update) -> bool {
        super::lock(&self.threads)
            .get(run_id)
            .is_some_and(|tx| tx.send(update).is_ok())
    }

    /// Shows a decided (or expired) approval on the message SOPilot posted for it, saying who
    /// decided, through which door and when; notes in the store what the message shows.
    pub(crate) async fn show_resolved(&self, record: &ApprovalRecord) {
        let Some(client) = &self.client else { return };
        if record.state == ApprovalState::Pending {
            return;
        }
        let at = match self.store.approval_message(&record.id) {
            Ok(Some(m)) => Posted {
                channel: m.channel,
                ts: m.ts,
            },
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(approval = %record.id, "cannot read where its message is: {e}");
                return;
            }
        };
        let decided_at = self.store.approval_decided_at(&record.id).ok().flatten();
        let blocks = blocks::approval_resolved(record, decided_at);
        let shown = match client
            .update(&at, &blocks::approval_text(record), Some(&blocks))
            .await
        {
            Ok(()) => true,
            // The message is gone or cannot be edited: trying again would not help.
            Err(e @ SlackError::Api(_)) => {
                tracing::warn!(approval = %record.id, "cannot update the approval message: {e}");
                true
            }
            Err(e) => {
                tracing::warn!(approval = %record.id, "cannot update the approval message (will retry): {e}");
                false
            }
        };
        if shown
            && let Err(e) = self
                .store
                .set_approval_message_shown(&record.id, record.state)
        {
            tracing::warn!(approval = %record.id, "cannot note the approval message's state: {e}");
        }
    }

    /// Brings approval messages up to date with their records (decisions made while Slack
    /// was unreachable, expiries, decisions from before a restart) until `stop`.
    pub async fn keep_approval_messages_current(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SWEEP_EVERY) => {}
            }
            let stale = match self.store.stale_approval_messages(20) {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!("cannot list approval messages to update: {e}");
                    continue;
                }
            };
            for id in stale {
                if let Ok(Some(record)) = self.store.approval(&id) {
                    self.show_resolved(&record).await;
                }
            }
        }
    }
}

/// How often approval messages are compared with their records.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl RunListener for SlackBot {
    fn observer(&self, run_id: &str, sop: &str, origin: &Origin) -> Option<Observer> {
        let tx = self.follow(run_id, sop, origin)?;
        Some(Arc::new(move |e: &RunEvent| {
            let _ = tx.send(Update::Event(Box::new(e.clone())));
        }))
    }

    fn finished(&self, run_id: &str, report: Option<&RunReport>) {
        self.send(run_id, Update::Finished(report.cloned().map(Box::new)));
    }

    /// An unattended trigger no SOP could take is said in the incident channel (Slack
    /// requests get their own answer; API requests their HTTP error).
    fn unrouted(&self, trigger: &UnroutedTrigger, origin: &Origin) {
        if matches!(origin, Origin::Slack { .. } | Origin::Api) {
            return;
        }
        let (Some(client), Some(channel)) = (self.client.clone(), self.settings.channel.clone())
        else {
            return;
        };
        if !self.first_note_in_a_while(&trigger.dedup_key) {
            return;
        }
        let text = unrouted_text(trigger);
        tokio::spawn(async move {
            if let Err(e) = client.post_message(&channel, &text, None, None).await {
                tracing::warn!("cannot say in Slack that a trigger was not taken: {e}");
            }
        });
    }
}

/// At most one unrouted-trigger note per trigger key in this time: a sender repeating an
/// alert no SOP takes must not flood the incident channel.
pub(crate) const UNROUTED_NOTE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

impl SlackBot {
    /// True when no note about `key` was posted within [`UNROUTED_NOTE_EVERY`] (and notes it).
    fn first_note_in_a_while(&self, key: &str) -> bool {
        let now = std::time::Instant::now();
        let mut notes = super::lock(&self.unrouted_notes);
        notes.retain(|_, at| now.duration_since(*at) < UNROUTED_NOTE_EVERY);
        if notes.contains_key(key) {
            return false;
        }
        notes.insert(key.to_owned(), now);
        true
    }
}

/// The incident channel's note about a trigger no SOP could take. The key and reason come
/// from the trigger's sender: escaped and kept on one line, so they cannot mention, link or
/// break out of their formatting.
pub(crate) fn unrouted_text(t: &UnroutedTrigger) -> String {
    use sopilot_slack_api::text::escape;
    let one_line = |s: &str| escape(s).replace(['\n', '\r'], " ");
    format!(
        ":warning: No SOP took a {kind} trigger from {origin}: `{key}`\n{reason}\nIt is recorded (`GET /api/triggers/unrouted`); add or widen an SOP's `triggers:` to handle it.",
        kind = t.kind.replace('_', " "),
        origin = one_line(&t.origin),
        key = one_line(&t.dedup_key).replace('`', "'"),
        reason = one_line(&t.reason),
    )
}

#[async_trait::async_trait]
impl ApprovalChannel for SlackBot {
    async fn announce(&self, record: &ApprovalRecord, origin: &Origin) {
        if self.send(&record.run_id, Update::Announce(Box::new(record.clone()))) {
            return;
        }
        // A run without a thread (e.g. started by the API): the incident channel still
        // shows the buttons, so a person can decide.
        let (Some(client), Some(channel)) = (self.client.clone(), self.settings.channel.clone())
        else {
            return;
        };
        let _ = origin;
        let bot = self.clone();
        let record = record.clone();
        tokio::spawn(async move {
            let place = Place {
                channel,
                thread_ts: None,
            };
            post_approval(&bot, &client, &place, &record).await;
        });
    }

    async fn resolved(&self, record: &ApprovalRecord) {
        if self.send(&record.run_id, Update::Resolved(Box::new(record.clone()))) {
            return;
        }
        let bot = self.clone();
        let record = record.clone();
        tokio::spawn(async move { bot.show_resolved(&record).await });
    }
}

/// Posts an approval's message; whether it wears buttons is read from the store, since a
/// decision made elsewhere may have overtaken the announcement. True when it does.
///
/// Only a press on this very message decides the approval, so its place must be on disk
/// before it has buttons: it is posted without them, recorded (synced), and only then given
/// its buttons. A crash in between leaves a message without buttons, never buttons that
/// decide nothing or a place that is not recorded.
async fn post_approval(
    bot: &SlackBot,
    client: &SlackClient,
    place: &Place,
    r: &ApprovalRecord,
) -> bool {
    let current = match bot.store.approval(&r.id) {
        Ok(Some(now)) => now,
        _ => r.clone(),
    };
    let r = &current;
    let pending = r.state == ApprovalState::Pending;
    let first = if pending {
        blocks::approval_preparing(r)
    } else {
        blocks::approval_resolved(r, bot.store.approval_decided_at(&r.id).ok().flatten())
    };
    let text = blocks::approval_text(r);
    let at = match client
        .post_message(
            &place.channel,
            &text,
            Some(&first),
            place.thread_ts.as_deref(),
        )
        .await
    {
        Ok(at) => at,
        Err(e) => {
            tracing::warn!(approval = %r.id, "cannot post the approval message: {e}");
            return false;
        }
    };
    if let Err(e) = bot
        .store
        .set_approval_message(&r.id, &at.channel, &at.ts, r.state)
    {
        tracing::error!(approval = %r.id, "cannot record the approval message, so it gets no buttons; decide it through the API: {e}");
        return false;
    }
    if !pending {
        return false;
    }
    let buttons = blocks::approval_request(r);
    match client.update(&at, &text, Some(&buttons)).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(approval = %r.id, "cannot add the buttons to the approval message; decide it through the API: {e}");
            false
        }
    }
}

/// The task that owns one run's thread.
struct Thread {
    bot: SlackBot,
    client: SlackClient,
    progress: Progress,
    place: Place,
    /// The status message, once posted.
    status: Option<Posted>,
    /// Approvals whose buttons are still shown.
    open: Vec<String>,
}

impl Thread {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Update>) {
        let interval = self.bot.interval;
        self.flush().await;
        let mut last_edit = Instant::now();
        let mut dirty = false;
        let report = loop {
            let due = last_edit + interval;
            let update = tokio::select! {
                u = rx.recv() => u,
                _ = tokio::time::sleep_until(due), if dirty => {
                    self.flush().await;
                    last_edit = Instant::now();
                    dirty = false;
                    continue;
                }
            };
            match update {
                Some(Update::Event(e)) => {
                    let finished = matches!(e.kind, RunEventKind::RunFinished { .. });
                    if let RunEventKind::ApprovalResolved { approval_id, .. } = &e.kind {
                        self.close_from_store(approval_id).await;
                    }
                    self.progress.apply(&e);
                    dirty = true;
                    if finished || Instant::now() >= due {
                        self.flush().await;
                        last_edit = Instant::now();
                        dirty = false;
                    }
                }
                Some(Update::Announce(r)) => {
                    let place = self.thread();
                    if post_approval(&self.bot, &self.client, &place, &r).await {
                        self.open.push(r.id.clone());
                    }
                }
                Some(Update::Resolved(r)) => self.close(&r).await,
                Some(Update::Finished(report)) => break report,
                None => break None,
            }
        };
        if dirty {
            self.flush().await;
        }
        if let Some(report) = report {
            let blocks = blocks::report(&report);
            let place = self.thread();
            if let Err(e) = self
                .client
                .post_message(
                    &place.channel,
                    &blocks::report_text(&report),
                    Some(&blocks),
                    place.thread_ts.as_deref(),
                )
                .await
            {
                tracing::warn!(run = %self.progress.run_id, "cannot post the report: {e}");
            }
        }
        super::lock(&self.bot.threads).remove(&self.progress.run_id);
    }

    /// Where replies go: the existing thread, or the status message's.
    fn thread(&self) -> Place {
        Place {
            channel: self
                .status
                .as_ref()
                .map_or_else(|| self.place.channel.clone(), |s| s.channel.clone()),
            thread_ts: self
                .place
                .thread_ts
                .clone()
                .or_else(|| self.status.as_ref().map(|s| s.ts.clone())),
        }
    }

    /// Posts the status message, or edits it to the current progress.
    async fn flush(&mut self) {
        let text = self.progress.text();
        let blocks = self.progress.blocks();
        let result = match &self.status {
            Some(at) => self.client.update(at, &text, Some(&blocks)).await,
            None => {
                let place = self.place.clone();
                self.client
                    .post_message(
                        &place.channel,
                        &text,
                        Some(&blocks),
                        place.thread_ts.as_deref(),
                    )
                    .await
                    .map(|at| self.status = Some(at))
            }
        };
        if let Err(e) = result {
            tracing::warn!(run = %self.progress.run_id, "cannot show the run's status: {e}");
        }
    }

    async fn close(&mut self, record: &ApprovalRecord) {
        if record.state == ApprovalState::Pending {
            return;
        }
        if let Some(i) = self.open.iter().position(|id| id == &record.id) {
            self.open.remove(i);
            self.bot.show_resolved(record).await;
        }
    }

    /// An approval resolved without the hub telling us (it expired): read how, and show it.
    async fn close_from_store(&mut self, approval_id: &str) {
        if !self.open.iter().any(|id| id == approval_id) {
            return;
        }
        let record = self.bot.store.approval(approval_id);
        match record {
            Ok(Some(r)) => self.close(&r).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(approval = %approval_id, "cannot read the approval: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unrouted_note_names_the_trigger_and_the_fix_and_cannot_mention() {
        let t = UnroutedTrigger {
            at: chrono::Utc::now(),
            kind: "cloudwatch_alarm".into(),
            dedup_key: "alarm:<!channel> `x`:\nhttps://evil.example/".into(),
            origin: "webhook sns".into(),
            reason: "pod-crashloop: parameter pod has no value <@U123>".into(),
            trigger: serde_json::Value::Null,
        };
        let text = unrouted_text(&t);
        assert!(
            text.contains("cloudwatch alarm trigger from webhook sns"),
            "{text}"
        );
        assert!(text.contains("parameter pod has no value"), "{text}");
        assert!(text.contains("triggers:"), "{text}");
        assert!(
            !text.contains("<!channel>") && !text.contains("<@U123>"),
            "{text}"
        );
        assert!(
            text.contains("&lt;!channel&gt; 'x': https://evil.example/`"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
