//! `/sops`: the SOP catalogue with lint results, triggers, phases and tools; `/sops/{name}`
//! renders one with the parameters given.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sopilot_sop::{Severity, Sop};

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use sopilot_protocol::Trigger;

use super::html::{csrf_field, esc, json_inline, table, url_part};
use super::page::{ConsoleError, Nav, layout, ok};
use super::session::Session;
use super::{check_post, form, signed_in};
use crate::AppState;
use crate::auth::Role;
use crate::runs::{Origin, StartError, StartRequest, Started};

/// The lint findings of a loaded SOP: it is parsed again from its front matter (as JSON,
/// which is YAML) and body. Line numbers are not kept: they would not be the file's.
pub fn lint(sop: &Sop) -> Vec<String> {
    let front = serde_json::to_string(&sop.front).unwrap_or_default();
    let text = format!("---\n{front}\n---\n{}", sop.body);
    let (_, diags) = sopilot_sop::parse(&sop.name, &text);
    diags
        .iter()
        .map(|d| {
            let sev = if d.severity == Severity::Error {
                "error"
            } else {
                "warning"
            };
            format!("{sev}: {}", d.message)
        })
        .collect()
}

fn triggers(sop: &Sop) -> String {
    sop.front
        .triggers
        .iter()
        .map(|t| {
            let mut v = serde_json::to_value(t).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.remove("params");
            }
            json_inline(&v)
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn tools(sop: &Sop) -> String {
    let mut used: Vec<String> = sop.front.tools.clone();
    for step in &sop.steps {
        for b in &step.tool_blocks {
            let t = b.tool.to_string();
            if !used.contains(&t) {
                used.push(t);
            }
        }
    }
    esc(&used.join(", "))
}

fn phases(sop: &Sop) -> String {
    sop.front
        .phases
        .iter()
        .map(|p| match p.deadline {
            Some(d) => format!("{} ({} s)", esc(&p.name), d.seconds()),
            None => esc(&p.name),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

fn lint_html(findings: &[String]) -> String {
    if findings.is_empty() {
        "<span class=\"badge good\">clean</span>".into()
    } else {
        format!(
            "<ul class=\"lint\">{}</ul>",
            findings
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect::<String>()
        )
    }
}

/// `GET /sops`
pub async fn list(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let rows: Vec<Vec<String>> = s
        .runs
        .sops()
        .iter()
        .map(|sop| {
            vec![
                format!(
                    "<a href=\"/sops/{}\">{}</a>",
                    url_part(&sop.name),
                    esc(&sop.name)
                ),
                esc(sop.front.description.as_deref().unwrap_or(&sop.title)),
                lint_html(&lint(sop)),
                triggers(sop),
                phases(sop),
                tools(sop),
            ]
        })
        .collect();
    let body = if rows.is_empty() {
        "<p class=\"empty\">This server has no SOPs.</p>".to_owned()
    } else {
        table(
            "sops",
            &["SOP", "Description", "Lint", "Triggers", "Phases", "Tools"],
            &rows,
        )
    };
    Ok(ok(layout(
        "SOPs",
        Some(&session),
        Nav::Sops,
        None,
        &format!("<h1>SOPs</h1>{body}"),
    )))
}

/// `GET /sops/{name}?PARAM=VALUE...`
pub async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(given): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let sop = s
        .runs
        .sops()
        .iter()
        .find(|x| x.name == name)
        .ok_or_else(|| ConsoleError::NotFound(format!("no SOP {name}")))?;
    let params: BTreeMap<String, String> = given
        .into_iter()
        .filter(|(k, v)| sop.parameter(k).is_some() && !v.is_empty())
        .collect();
    let mut fields = String::new();
    for p in &sop.parameters {
        let _ = write!(
            fields,
            "<label for=\"p-{n}\">{n}{}</label><input id=\"p-{n}\" name=\"{n}\" value=\"{}\" placeholder=\"{}\"><small>{}</small>",
            if p.required { " (required)" } else { "" },
            esc(params.get(&p.name).map(String::as_str).unwrap_or("")),
            esc(p.default.as_deref().unwrap_or("")),
            esc(&p.description),
            n = esc(&p.name)
        );
    }
    let start = start_form(sop, &params, &session);
    let rendered = match sopilot_sop::render(sop, &params, None) {
        Ok(r) => {
            let warnings: String = r
                .warnings
                .iter()
                .map(|w| format!("<li>{}</li>", esc(w)))
                .collect();
            format!(
                "{start}<h2>Rendered</h2>{}<pre class=\"sop\">{}</pre>",
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!("<ul class=\"lint\">{warnings}</ul>")
                },
                esc(&r.markdown)
            )
        }
        Err(e) => format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            esc(&e.to_string())
        ),
    };
    let main = format!(
        "<p><a href=\"/sops\">← SOPs</a></p><h1>{}</h1><p>{}</p><dl class=\"facts\"><div><dt>Lint</dt><dd>{}</dd></div><div><dt>Triggers</dt><dd>{}</dd></div><div><dt>Phases</dt><dd>{}</dd></div><div><dt>Tools</dt><dd>{}</dd></div></dl><form class=\"render\" method=\"get\" action=\"/sops/{}\"><h2>Parameters</h2>{fields}<button type=\"submit\">Render</button></form>{rendered}",
        esc(&sop.name),
        esc(sop.front.description.as_deref().unwrap_or(&sop.title)),
        lint_html(&lint(sop)),
        triggers(sop),
        phases(sop),
        tools(sop),
        url_part(&sop.name)
    );
    Ok(ok(layout(
        &sop.name,
        Some(&session),
        Nav::Sops,
        None,
        &main,
    )))
}

/// The button that starts a run of `sop` with `params` (operators and approvers only).
fn start_form(sop: &Sop, params: &BTreeMap<String, String>, session: &Session) -> String {
    if session.who.role < Role::Operator {
        return String::new();
    }
    let hidden: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        "<form class=\"start\" method=\"post\" action=\"/sops/{}/run\">{}{hidden}<button type=\"submit\">Start a run with these parameters</button></form>",
        url_part(&sop.name),
        csrf_field(&session.csrf)
    )
}

/// `POST /sops/{name}/run`: starts a run by hand (role operator), recorded as started by
/// `console:NAME`; answers with the run's page once it started (a queued run: the list).
pub async fn start(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let fields = form(&body);
    check_post(&s, &headers, &session, &fields)?;
    if session.who.role < Role::Operator {
        s.metrics
            .requests_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ConsoleError::Forbidden(format!(
            "{} has role {}; starting runs needs role operator",
            session.who.name, session.who.role
        )));
    }
    let sop = s
        .runs
        .sops()
        .iter()
        .find(|x| x.name == name)
        .ok_or_else(|| ConsoleError::NotFound(format!("no SOP {name}")))?;
    let params: BTreeMap<String, String> = fields
        .into_iter()
        .filter(|(k, v)| sop.parameter(k).is_some() && !v.is_empty())
        .collect();
    let by = format!(
        "{}: {} {}",
        session.who.recorded("console"),
        sop.name,
        serde_json::to_string(&params).unwrap_or_default()
    );
    let req = StartRequest {
        trigger: Trigger::Manual { by: Some(by) },
        sop: Some(sop.name.clone()),
        params,
        origin: Origin::Api,
        target: None,
        carries_on: None,
    };
    let run_id = match s.runs.submit(req) {
        Ok(Started::New { run_id, .. } | Started::Joined { run_id }) => run_id,
        Err(StartError::QueueFull(n)) => {
            return Err(ConsoleError::Conflict(format!(
                "the run queue is full ({n} waiting); try again later"
            )));
        }
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    // The run is recorded as it is accepted (started here, or queued for any replica); a
    // store slow to show it sends the user to the list instead.
    let mut to = format!("/runs?q={}", url_part(&run_id));
    for _ in 0..50 {
        if s.runs.store().run(&run_id).is_ok() {
            to = format!("/runs/{}", url_part(&run_id));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lint_of_a_loaded_sop_finds_what_loading_found() {
        for (name, text) in [
            (
                "complex-incident",
                include_str!("../../../../sops/complex-incident.sop.md"),
            ),
            (
                "pod-crashloop",
                include_str!("../../../../sops/pod-crashloop.sop.md"),
            ),
        ] {
            let (sop, warnings) = sopilot_sop::load(name, text).unwrap();
            let found: Vec<String> = warnings
                .iter()
                .map(|d| format!("warning: {}", d.message))
                .collect();
            assert_eq!(lint(&sop), found, "{name}");
        }
        // A warning is found again.
        let text = sopilot_sop::parse(
            "pod-crashloop",
            include_str!("../../../../sops/pod-crashloop.sop.md"),
        )
        .0
        .body
        .replacen(
            "- You MUST note the pod's owner",
            "- Note the pod's owner",
            1,
        );
        let (sop, _) = sopilot_sop::load(
            "pod-crashloop",
            include_str!("../../../../sops/pod-crashloop.sop.md"),
        )
        .unwrap();
        let changed = Sop { body: text, ..sop };
        let found = lint(&changed);
        assert!(
            found.iter().any(|f| f.contains("no RFC 2119 keyword")),
            "{found:?}"
        );
    }
}
