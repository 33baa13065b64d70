//! Carrying out a request from a mention or `/sopilot`: start a run (explicit, or picked by
//! the model when one is configured, else by keywords), report status, or explain usage.
//! Shared by both doors; answers as text.

use std::fmt::Write as _;

use sopilot_protocol::{ApprovalState, SlackRequest, Trigger};

use super::SlackBot;
use super::blocks::{escape, status_word};
use super::choose::{Choice, choose};
use super::intent::{self, Request};
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
            Outcome::Said(text) => text.clone(),
            Outcome::Routing => "Finding the SOP for that…".into(),
        }
    }
}

/// Carries out `text` for `who`.
pub(crate) fn act(s: &AppState, bot: &SlackBot, who: &Asker) -> Outcome {
    let request = match intent::parse(&who.text) {
        Ok(r) => r,
        Err(e) => return Outcome::Said(format!("{e}\n\n{}", help(s))),
    };
    match request {
        Request::Help => Outcome::Said(help(s)),
        Request::Status(run) => Outcome::Said(status(s, run.as_deref())),
        Request::Run { sop, params } => start(s, bot, who, sop, params),
        Request::Free { text, params } => match s.runs.runner().model.clone() {
            Some(model) => {
                // The model may take longer than Slack waits for an answer.
                let (s, bot, who) = (s.clone(), bot.clone(), who.clone());
                tokio::spawn(async move {
                    let outcome = match choose(model.as_ref(), s.runs.sops(), &text).await {
                        Ok(Choice::Run(mut pick)) => {
                            pick.params.extend(params);
                            start(&s, &bot, &who, pick.sop, pick.params)
                        }
                        Ok(Choice::Nothing(why)) if !why.is_empty() => {
                            Outcome::Said(format!("{why}\n\n{}", help(&s)))
                        }
                        Ok(Choice::Nothing(_)) => Outcome::Said(format!(
                            "I could not tell which SOP fits that.\n\n{}",
                            help(&s)
                        )),
                        Err(Some(answer)) => Outcome::Said(answer),
                        Err(None) => by_keywords(&s, &bot, &who, &text, &params),
                    };
                    answer_later(&bot, &who, &outcome).await;
                });
                Outcome::Routing
            }
            None => by_keywords(s, bot, who, &text, &params),
        },
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
    let text = match outcome {
        Outcome::Started { .. } | Outcome::Routing => return,
        Outcome::Joined { .. } | Outcome::Said(_) => outcome.text(),
    };
    let result = match &who.thread_ts {
        Some(thread) => client
            .post_message(&who.channel, &text, None, Some(thread))
            .await
            .map(|_| ()),
        None => {
            client
                .post_ephemeral(&who.channel, &who.user, &text, None)
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
    };
    match s.runs.submit(req) {
        Ok(Started::New { run_id, sop }) => {
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

fn status(s: &AppState, run: Option<&str>) -> String {
    let store = s.runs.store();
    let Some(id) = run else {
        return match store.runs(5) {
            Ok(runs) if runs.is_empty() => "No runs yet.".into(),
            Ok(runs) => {
                let mut o = String::from("*Latest runs*");
                for r in runs {
                    let _ = write!(
                        o,
                        "\n• `{}` `{}` {} — {}",
                        r.id,
                        r.sop,
                        status_word(r.status),
                        escape(&r.summary)
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
                let _ = write!(o, "\n*Summary*: {}", escape(&r.summary));
            }
            let pending = store
                .approvals(Some(ApprovalState::Pending))
                .unwrap_or_default();
            for a in pending.iter().filter(|a| a.run_id == r.id) {
                let _ = write!(o, "\n• waiting for approval `{}`: `{}`", a.id, a.tool);
            }
            o
        }
        Err(_) => format!("No run `{}`.", escape(id)),
    }
}
