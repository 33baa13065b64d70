//! `/policy`: the rules in order, and "what would the policy say": a call described by hand
//! (tool, arguments, impact, run facts) evaluated by [`sopilot_policy::check_by_hand`], the
//! very function `sopilot policy check` uses. A pure read, so the form is a GET.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use sopilot_policy::{HandCheck, Policy, RunInfo, ServerTrust, Verdict, check_by_hand};
use sopilot_protocol::{CallOrigin, Impact, ToolRef, Trigger};

use super::html::{badge, esc, json_inline, table};
use super::page::{ConsoleError, Nav, layout, ok};
use super::signed_in;
use crate::AppState;

/// The form's fields, as given.
#[derive(Debug, Default, Deserialize)]
pub struct Ask {
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    args: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    sop: Option<String>,
    #[serde(default)]
    unattended: Option<String>,
    #[serde(default)]
    foreign: Option<String>,
}

fn json_field(name: &str, text: Option<&str>) -> Result<Option<Value>, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => serde_json::from_str(t)
            .map(Some)
            .map_err(|e| format!("{name} is not valid JSON: {e}")),
    }
}

/// The verdict on the described call, or what is wrong with the description.
pub fn evaluate(policy: &Policy, ask: &Ask) -> Result<Verdict, String> {
    let tool: ToolRef = ask
        .tool
        .as_deref()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|e| format!("tool: {e}"))?;
    let args = json_field("arguments", ask.args.as_deref())?
        .unwrap_or_else(|| Value::Object(Default::default()));
    if !args.is_object() {
        return Err("arguments must be a JSON object, e.g. {\"namespace\": \"payment\"}".into());
    }
    let impact: Option<Impact> = json_field("impact", ask.impact.as_deref())?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("impact does not fit the Impact format: {e}"))?;
    let trigger = json_field("trigger", ask.trigger.as_deref())?
        .map(|v| Trigger::from_payload(&v))
        .transpose()
        .map_err(|e| format!("trigger: {e}"))?;
    let run = RunInfo {
        unattended: ask.unattended.is_some(),
        dry_run: false,
        origin: CallOrigin::Api,
        sop: ask.sop.clone().filter(|s| !s.trim().is_empty()),
    };
    Ok(check_by_hand(
        policy,
        &HandCheck {
            tool: &tool,
            args: &args,
            impact: impact.as_ref(),
            resource: None,
            history: None,
            trigger: trigger.as_ref(),
            run: &run,
            trust: if ask.foreign.is_some() {
                ServerTrust::Foreign
            } else {
                ServerTrust::Builtin
            },
            target: None,
        },
    ))
}

fn verdict_html(v: &Verdict) -> String {
    let mut o = format!(
        "<section class=\"verdict\" aria-live=\"polite\"><h2>Decision: {}</h2><p>{}</p>",
        badge(v.decision.as_str()),
        esc(&v.reason)
    );
    if v.matched.is_empty() {
        o.push_str("<p>No rule matched.</p>");
    } else {
        let rows: Vec<Vec<String>> = v
            .matched
            .iter()
            .map(|m| {
                vec![
                    format!("<a href=\"#rule-{}\">{}</a>", esc(&m.rule), esc(&m.rule)),
                    badge(m.decision.as_str()),
                    esc(&m.because),
                    esc(m.evaluation_error.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        o.push_str(&table(
            "matched",
            &["Rule", "Decision", "Because", "Evaluation error"],
            &rows,
        ));
    }
    for sk in &v.skipped {
        let _ = write!(
            o,
            "<p class=\"hint\">Allow rule {} skipped: {}</p>",
            esc(&sk.rule),
            esc(&sk.evaluation_error)
        );
    }
    if v.unattended_downgrade {
        o.push_str(
            "<p class=\"hint\">Escalate became deny: no approver can be reached (unattended).</p>",
        );
    }
    o.push_str("</section>");
    o
}

fn form_html(ask: &Ask) -> String {
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let checked = |o: &Option<String>| if o.is_some() { " checked" } else { "" };
    format!(
        "<form class=\"check\" method=\"get\" action=\"/policy#verdict\"><h2 id=\"verdict\">What would the policy say?</h2>\
<label for=\"tool\">Tool</label><input id=\"tool\" name=\"tool\" required placeholder=\"kubectl.patch_hpa\" value=\"{}\">\
<label for=\"args\">Arguments (JSON)</label><textarea id=\"args\" name=\"args\" rows=\"3\" placeholder='{{\"namespace\": \"payment\", \"name\": \"payment-service-hpa\", \"max_replicas\": 20}}'>{}</textarea>\
<label for=\"impact\">Impact (JSON, as the dry run reports it)</label><textarea id=\"impact\" name=\"impact\" rows=\"3\" placeholder='{{\"action\": \"patch_hpa\", \"target\": {{...}}, \"hpa\": {{\"max_before\": 10, \"max_after\": 20}}}}'>{}</textarea>\
<label for=\"trigger\">Trigger (JSON, optional)</label><textarea id=\"trigger\" name=\"trigger\" rows=\"2\">{}</textarea>\
<label for=\"sop\">SOP (optional)</label><input id=\"sop\" name=\"sop\" value=\"{}\">\
<label class=\"inline\"><input type=\"checkbox\" name=\"unattended\" value=\"1\"{}> Unattended (no approver reachable)</label>\
<label class=\"inline\"><input type=\"checkbox\" name=\"foreign\" value=\"1\"{}> A server that is not SOPilot's own</label>\
<button type=\"submit\">Check</button></form>",
        v(&ask.tool),
        v(&ask.args),
        v(&ask.impact),
        v(&ask.trigger),
        v(&ask.sop),
        checked(&ask.unattended),
        checked(&ask.foreign)
    )
}

/// The link that fills the form with one of a rule's examples.
fn try_link(tools: &[String], call: &Value) -> String {
    let tool = call["tool"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| tools.first().cloned())
        .unwrap_or_default();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("tool", &tool);
    for key in ["args", "impact", "trigger"] {
        if let Some(v) = call.get(key) {
            q.append_pair(key, &v.to_string());
        }
    }
    if call["run"]["unattended"] == Value::Bool(true) {
        q.append_pair("unattended", "1");
    }
    if let Some(sop) = call["run"]["sop"].as_str() {
        q.append_pair("sop", sop);
    }
    if call["builtin_server"] == Value::Bool(false) {
        q.append_pair("foreign", "1");
    }
    format!("/policy?{}#verdict", q.finish())
}

fn examples_html(r: &sopilot_policy::RuleInfo) -> String {
    if r.examples.is_empty() {
        return "<span class=\"hint\">no examples</span>".into();
    }
    let items: String = r
        .examples
        .iter()
        .map(|e| {
            format!(
                "<li>{} <code>{}</code> <a href=\"{}\">try it</a></li>",
                if e.matches {
                    "matches"
                } else {
                    "does not match"
                },
                json_inline(&e.call),
                esc(&try_link(&r.tools, &e.call))
            )
        })
        .collect();
    let matching = r.examples.iter().filter(|e| e.matches).count();
    format!(
        "<details><summary>{matching} matching, {} not</summary><ul class=\"examples\">{items}</ul></details>",
        r.examples.len() - matching
    )
}

pub(super) fn rules_html(policy: &Policy) -> String {
    let rows: Vec<Vec<String>> = policy
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                format!("{}", i + 1),
                format!(
                    "<span id=\"rule-{}\"><strong>{}</strong></span><br><small>{}{}</small>",
                    esc(&r.name),
                    esc(&r.name),
                    esc(&r.file),
                    r.line.map(|l| format!(":{l}")).unwrap_or_default()
                ),
                esc(&r.tools.join(", ")),
                format!(
                    "{}<br>{}",
                    r.when
                        .as_deref()
                        .map(|w| format!("<code>{}</code>", esc(w)))
                        .unwrap_or_else(|| "<span class=\"hint\">always</span>".into()),
                    esc(&r.because)
                ),
                badge(r.decision.as_str()),
                examples_html(r),
            ]
        })
        .collect();
    format!(
        "<section aria-label=\"Rules\"><h2>Rules, in order</h2><p class=\"hint\">Every matching rule counts and the strictest wins (deny &gt; escalate &gt; allow); no match escalates; {} examples were checked when the policy loaded.</p>{}</section>",
        policy.examples_checked(),
        table(
            "rules",
            &[
                "#",
                "Rule",
                "Tools",
                "When, and why",
                "Decision",
                "Examples"
            ],
            &rows
        )
    )
}

/// `GET /policy`
pub async fn page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(ask): Query<Ask>,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let policy = &s.runs.runner().gate.policy;
    let verdict = if ask.tool.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        match evaluate(policy, &ask) {
            Ok(v) => verdict_html(&v),
            Err(e) => format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&e)),
        }
    } else {
        String::new()
    };
    let main = format!(
        "<h1>Policy</h1>{}{verdict}{}",
        form_html(&ask),
        rules_html(policy)
    );
    Ok(ok(layout(
        "Policy",
        Some(&session),
        Nav::Policy,
        None,
        &main,
    )))
}
