//! `/approvals`: the inbox. Pending approvals show the exact call, its impact and the rule
//! that escalated it, with Approve and Deny for approvers; decisions go through the same
//! [`crate::ApprovalHub`] as Slack and the API, so the first decision wins and the call is
//! checked again before it executes. Expired and decided ones are greyed with who and when.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sopilot_protocol::ApprovalState;
use sopilot_runtime::ApprovalRecord;

use super::html::{badge, csrf_field, esc, json_pre, url_part};
use super::page::{ConsoleError, Nav, layout, ok};
use super::run::impact_html;
use super::session::Session;
use super::{check_post, form, signed_in};
use crate::AppState;
use crate::auth::Role;

fn state_text(s: ApprovalState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn buttons(r: &ApprovalRecord, session: &Session) -> String {
    if session.who.role < Role::Approver {
        return format!(
            "<p class=\"hint\">Only an approver may decide; you are signed in as {} ({}).</p>",
            esc(&session.who.name),
            session.who.role
        );
    }
    format!(
        "<form class=\"decide\" method=\"post\" action=\"/approvals/{}\">{}<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve</button> <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"deny\">Deny</button></form>",
        url_part(&r.id),
        csrf_field(&session.csrf)
    )
}

fn card(r: &ApprovalRecord, session: &Session, decided_at: Option<String>) -> String {
    let now = Utc::now();
    let live = r.state == ApprovalState::Pending && r.expires_at > now;
    let state = if r.state == ApprovalState::Pending && !live {
        "expired".to_owned()
    } else {
        state_text(r.state)
    };
    let mut o = format!(
        "<article class=\"approval{}\" id=\"{}\" aria-label=\"Approval {}\"><h2><code>{}</code> {}</h2>",
        if live { "" } else { " done" },
        esc(&r.id),
        esc(&r.id),
        esc(&r.tool),
        badge(&state)
    );
    let _ = write!(
        o,
        "<p>Run <a href=\"/runs/{}\">{}</a> · requested {} · expires {}</p>",
        url_part(&r.run_id),
        esc(&r.run_id),
        r.requested_at.format("%Y-%m-%d %H:%M:%S"),
        r.expires_at.format("%H:%M:%S")
    );
    let rules = r
        .rules
        .iter()
        .map(|x| format!("<a href=\"/policy#rule-{}\">{}</a>", url_part(x), esc(x)))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        o,
        "<p class=\"why\">Escalated by {rules}: {}</p>",
        esc(&r.reason)
    );
    let mut detail = format!("<h3>Call</h3>{}", json_pre(&r.args));
    if let Some(impact) = &r.impact {
        let _ = write!(detail, "<h3>Impact</h3>{}", impact_html(impact));
    }
    if live {
        o.push_str(&detail);
    } else {
        // What was decided stays one click away.
        let _ = write!(
            o,
            "<details><summary>Call and impact</summary>{detail}</details>"
        );
    }
    if live {
        o.push_str(&buttons(r, session));
    } else if let Some(by) = &r.decided_by {
        let _ = write!(
            o,
            "<p class=\"decided\">{} by {} through {}{}</p>",
            badge(&state),
            esc(by),
            esc(r.channel.as_deref().unwrap_or("")),
            decided_at
                .map(|t| format!(" at {}", esc(&t)))
                .unwrap_or_default()
        );
    }
    o.push_str("</article>");
    o
}

/// `GET /approvals`
pub async fn list(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let live = super::events::live_url(&s, None);
    let store = s.approvals.store();
    let mut all = store.approvals(None)?;
    // Pending first, then the newest decided.
    all.sort_by(|a, b| {
        (a.state != ApprovalState::Pending)
            .cmp(&(b.state != ApprovalState::Pending))
            .then(b.requested_at.cmp(&a.requested_at))
    });
    let mut body = String::new();
    for r in all.iter().take(100) {
        let decided = store
            .approval_decided_at(&r.id)
            .ok()
            .flatten()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        body.push_str(&card(r, &session, decided));
    }
    if all.is_empty() {
        body =
            "<p class=\"empty\">No approvals yet. Calls the policy escalates wait here.</p>".into();
    }
    let main = format!("<h1>Approvals</h1>{body}");
    Ok(ok(layout(
        "Approvals",
        Some(&session),
        Nav::Approvals,
        Some(&live),
        &main,
    )))
}

/// `POST /approvals/{id}` (`decision=approve|deny`, with the CSRF token).
pub async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let fields = form(&body);
    check_post(&s, &headers, &session, &fields)?;
    if session.who.role < Role::Approver {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ConsoleError::Forbidden(format!(
            "{} has role {}; deciding approvals needs role approver",
            session.who.name, session.who.role
        )));
    }
    let state = match fields.get("decision").map(String::as_str) {
        Some("approve") => ApprovalState::Approved,
        Some("deny") => ApprovalState::Denied,
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "decision {other:?}: use approve or deny"
            )));
        }
    };
    if s.approvals.store().approval(&id)?.is_none() {
        return Err(ConsoleError::NotFound(format!("no approval {id}")));
    }
    let by = session.who.recorded("console");
    tracing::info!(approval = %id, %by, "decision through the console");
    let d = s.approvals.decide(&id, state, &by, "console").await?;
    if !d.first {
        return Err(ConsoleError::Conflict(format!(
            "approval {id} was already {} by {}",
            state_text(d.record.state),
            d.record.decided_by.unwrap_or_default()
        )));
    }
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/approvals#{}", url_part(&id)))],
    )
        .into_response())
}
