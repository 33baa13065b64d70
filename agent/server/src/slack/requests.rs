//! Carrying out a request from a mention or `/sopilot`: start a run (explicit, or picked by
//! the model when one is configured, else by keywords), report status, or explain usage.
//! Shared by both doors; answers as text.
//!
//! Each user may start at most `serve.slack.max_runs_per_user_per_hour` runs in any hour; a
//! request beyond it is refused privately, saying when they can try again. Status answers
//! name pending approvals by id only to approvers.

use std::fmt::Write as _;

use sopilot_protocol::{ApprovalState, SlackRequest, Trigger};

use super::SlackBot;
use super::blocks::{escape, mask_approval_ids, status_word};
use super::intent::{self, Request};
use super::route_by_model::{Choice, choose};
use crate::AppState;
use crate::runs::{Origin, StartError, StartRequest, Started};

/// Who asked, where, and what they wrote.
#[derive(Debug, Clone)]
pub(crate) struct Asker {
    pub channel: String,
    pub user: String,
    /// The thread the run reports to (a mention's thread); `None` starts a new one.
    pub thread_ts: Option<String>,
    /// The asking message's own ts, which makes each mention a request of its own.
    pub message_ts: Option<String>,
    pub text: String,
}

/// What came of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Started {
        run_id: String,
        sop: String,
    },
    Joined {
        run_id: String,
    },
    /// Nothing started; this is the answer.
    Said(String),
    /// Refused by the per-user run limit; said only to the asker.
    Limited(String),
    /// The model is choosing; the outcome is posted when it has.
    Routing,
}

impl Outcome {
    /// The answer for the person who asked.
    pub fn text(&self) -> String {
        match self {
            Outcome::Started { run_id, sop } => {
                format!(
                    "Started `{sop}` as run `{run_id}`; progress and the report go to its thread."
                )
            }
            Outcome::Joined { run_id } => {
                format!("That is already being handled by run `{run_id}`; follow its thread.")
            }
            Outcome::Said(text) | Outcome::Limited(text) => text.clone(),
            Outcome::Routing => "Finding the SOP for that…".into(),
        }
    }
}

/// The refusal of a run beyond the user's hourly limit, saying when they can try again.
fn limited(s: &AppState, bot: &SlackBot, wait: std::time::Duration) -> Outcome {
    s.metrics
        .slack_runs_limited
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let minutes = wait.as_secs().div_ceil(60).max(1);
    let at = chrono::Utc::now()
        + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1));
    Outcome::Limited(format!(
        "You have started the most runs one person may start from Slack in an hour ({}). You can start another in {minutes} min (at {} UTC); meanwhile ask an on-call engineer, or follow the runs already going with `status`.",
        bot.runs_per_hour(),
        at.format("%H:%M")
    ))
}

/// Carries out `text` for `who`.
pub(crate) async fn act(s: &AppState, bot: &SlackBot, who: &Asker) -> Outcome {
    let request = match intent::parse(&who.text) {
        Ok(r) => r,
        Err(e) => return Outcome::Said(format!("{e}\n\n{}", help(s))),
    };
    match request {
        Request::Help => Outcome::Said(help(s)),
        Request::Status(run) => {
            let approver = bot.may_decide(&who.user).await;
            Outcome::Said(status(s, run.as_deref(), approver))
        }
        Request::Run { sop, params } => start(s, bot, who, sop, params),
        Request::Free { text, params } => {
            if let Err(wait) = bot.run_slot_free(&who.user) {
                return limited(s, bot, wait);
            }
            match s.runs.runner().model.clone() {
                Some(model) => {
                    // The model may take longer than Slack waits for an answer.
                    let (s, bot, who) = (s.clone(), bot.clone(), who.clone());
                    tokio::spawn(async move {
                        let outcome = routed(&s, &bot, &who, model.as_ref(), &text, params).await;
                        answer_later(&bot, &who, &outcome).await;
                    });
                    Outcome::Routing
                }
                None => by_keywords(s, bot, who, &text, &params),
            }
        }
    }
}

/// Free text routed by the model (or, when it cannot be asked, by keywords).
async fn routed(
    s: &AppState,
    bot: &SlackBot,
    who: &Asker,
    model: &dyn sopilot_llm::ModelClient,
    text: &str,
    params: std::collections::BTreeMap<String, String>,
) -> Outcome {
    match choose(model, s.runs.sops(), text).await {
        Ok(Choice::Run(mut pick)) => {
            pick.params.extend(params);
            start(s, bot, who, pick.sop, pick.params)
        }
        Ok(Choice::Nothing(why)) if !why.is_empty() => {
            Outcome::Said(format!("{why}\n\n{}", help(s)))
        }
        Ok(Choice::Nothing(_)) => Outcome::Said(format!(
            "I could not tell which SOP fits that.\n\n{}",
            help(s)
        )),
        Err(Some(answer)) => Outcome::Said(answer),
        Err(None) => by_keywords(s, bot, who, text, &params),
    }
}

fn by_keywords(
    s: &AppState,
    bot: &SlackBot,
    who: &Asker,
    text: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> Outcome {
    match intent::pick(s.runs.sops(), text, params) {
        Ok(p) => start(s, bot, who, p.sop, p.params.clone()),
        Err(e) => Outcome::Said(format!("{e}\n\n{}", help(s))),
    }
}

/// Tells the asker how a request answered after the fact turned out: in the mention's
/// thread, or privately for a slash command. A started run speaks through its thread.
async fn answer_later(bot: &SlackBot, who: &Asker, outcome: &Outcome) {
    let Some(client) = &bot.client else { return };
    let (text, private) = match outcome {
        Outcome::Started { .. } | Outcome::Routing => return,
        Outcome::Joined { .. } | Outcome::Said(_) => (outcome.text(), false),
        Outcome::Limited(_) => (outcome.text(), true),
    };
    let result = match &who.thread_ts {
        Some(thread) if !private => client
            .post_message(&who.channel, &text, None, Some(thread))
            .await
            .map(|_| ()),
        _ => {
            client
                .post_ephemeral(&who.channel, &who.user, &text, who.thread_ts.as_deref())
                .await
        }
    };
    if let Err(e) = result {
        tracing::warn!("cannot answer {} in Slack: {e}", who.user);
    }
}

fn start(
    s: &AppState,
    bot: &SlackBot,
    who: &Asker,
    sop: String,
    params: std::collections::BTreeMap<String, String>,
) -> Outcome {
    let origin = Origin::Slack {
        channel: who.channel.clone(),
        thread_ts: who.thread_ts.clone(),
        user: who.user.clone(),
    };
    let trigger = Trigger::Slack {
        request: SlackRequest {
            channel: who.channel.clone(),
            user: who.user.clone(),
            text: super::intent::strip_mentions(&who.text),
            thread_ts: who.message_ts.clone(),
        },
    };
    let req = StartRequest {
        trigger,
        sop: Some(sop),
        params,
        origin: origin.clone(),
        target: None,
        carries_on: None,
    };
    let slot = match bot.take_run_slot(&who.user) {
        Ok(slot) => slot,
        Err(wait) => return limited(s, bot, wait),
    };
    let submitted = s.runs.submit(req);
    if !matches!(submitted, Ok(Started::New { .. })) {
        bot.give_back(&who.user, slot);
    }
    match submitted {
        Ok(Started::New { run_id, sop }) => {
            tracing::info!(user = %who.user, %run_id, "run started from Slack");
            // Post the status message now, while the run may still be queued.
            bot.follow(&run_id, &sop, &origin);
            Outcome::Started { run_id, sop }
        }
        Ok(Started::Joined { run_id }) => Outcome::Joined { run_id },
        Err(StartError::NoSop(_)) => Outcome::Said("No SOP matches that.".into()),
        Err(StartError::BadRequest(m)) => Outcome::Said(format!("Cannot start it: {m}")),
        Err(StartError::QueueFull(n)) => Outcome::Said(format!(
            "Too busy: {n} runs are waiting. Try again in a minute."
        )),
        Err(StartError::Unavailable(why)) => Outcome::Said(format!(
            "Cannot queue it right now ({why}). Try again in a minute."
        )),
    }
}

/// Usage and the SOPs on offer.
pub(crate) fn help(s: &AppState) -> String {
    let mut o = String::from(
        "*SOPilot* — `run SOP name=value ...` starts an SOP · `status [run_id]` shows runs · anything else picks an SOP by its words (e.g. `investigate payment-service namespace=payment`).\n*SOPs*:",
    );
    for sop in s.runs.sops() {
        let required: Vec<&str> = sop
            .parameters
            .iter()
            .filter(|p| p.required && p.default.is_none())
            .map(|p| p.name.as_str())
            .collect();
        let _ = write!(o, "\n• `{}` — {}", sop.name, escape(&sop.title));
        if !required.is_empty() {
            let _ = write!(o, " (needs {})", required.join(", "));
        }
    }
    o
}

/// The latest runs, or one run and what it waits for; approval ids only for an approver
/// (others learn which call waits, not the id that decides it).
fn status(s: &AppState, run: Option<&str>, approver: bool) -> String {
    let store = s.runs.store();
    let Some(id) = run else {
        return match store.runs(5) {
            Ok(runs) if runs.is_empty() => "No runs yet.".into(),
            Ok(runs) => {
                let mut o = String::from("*Latest runs*");
                for r in runs {
                    let summary = if approver {
                        escape(&r.summary)
                    } else {
                        escape(&mask_approval_ids(&r.summary))
                    };
                    let _ = write!(
                        o,
                        "\n• `{}` `{}` {} — {summary}",
                        r.id,
                        r.sop,
                        status_word(r.status),
                    );
                }
                o
            }
            Err(e) => {
                tracing::error!("cannot list runs: {e}");
                "Cannot read the runs right now.".into()
            }
        };
    };
    match store.run(id) {
        Ok((r, _, _)) => {
            let mut o = format!(
                "`{}` `{}` {} since {}",
                r.id,
                r.sop,
                status_word(r.status),
                r.started_at
            );
            if !r.summary.is_empty() {
                let summary = if approver {
                    r.summary.clone()
                } else {
                    mask_approval_ids(&r.summary)
                };
                let _ = write!(o, "\n*Summary*: {}", escape(&summary));
            }
            let pending = store
                .approvals(Some(ApprovalState::Pending))
                .unwrap_or_default();
            for a in pending.iter().filter(|a| a.run_id == r.id) {
                if approver {
                    let _ = write!(o, "\n• waiting for approval `{}`: `{}`", a.id, a.tool);
                } else {
                    let _ = write!(o, "\n• waiting for an approver to decide `{}`", a.tool);
                }
            }
            o
        }
        Err(_) => format!("No run `{}`.", escape(id)),
    }
}
