//! The console's routes in process: sign-in, roles, CSRF and cross-origin refusals,
//! escaping of hostile run text, the security headers, session expiry and sign-out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use serde_json::json;
use sopilot_protocol::{ApprovalState, RunEventKind, RunStatus};

use super::session;
use crate::AppState;
use crate::testing::{APPROVER, VIEWER, pending, respond, state, tokens};

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

pub(super) async fn call(
    s: &AppState,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    origin: Option<&str>,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "console.test");
    if let Some(c) = cookie {
        req = req.header("cookie", format!("other=1; {}={c}", session::COOKIE));
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let req = match form {
        Some(f) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(f.to_owned())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let (status, headers, body) = respond(s, req).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Signs in with `token`; the cookie's value and the session's CSRF token.
pub(super) async fn sign_in(s: &AppState, token: &str) -> (String, String) {
    let a = call(
        s,
        "POST",
        "/signin",
        None,
        Some(&format!("token={token}")),
        Some("http://console.test"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let set = a.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let value = set
        .strip_prefix(&format!("{}=", session::COOKIE))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let page = call(s, "GET", "/runs", Some(&value), None, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    (value, csrf)
}

#[tokio::test]
async fn signing_in_turns_a_token_into_a_session_and_pages_carry_a_strict_csp() {
    let s = state(tokens(), None).await;
    let a = call(&s, "GET", "/", None, None, None).await;
    assert_eq!(
        (a.status, a.headers["location"].to_str().unwrap()),
        (303, "/signin")
    );
    let a = call(&s, "GET", "/runs", None, None, None).await;
    assert_eq!(
        (a.status, a.headers["location"].to_str().unwrap()),
        (303, "/signin")
    );
    let a = call(&s, "GET", "/signin?token=%3Cscript%3E", None, None, None).await;
    assert_eq!(a.status, 200);
    assert!(
        !a.body.contains("script&gt;") && !a.body.contains("value=\""),
        "a token in the URL is neither used nor shown: {}",
        a.body
    );
    let csp = a.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(a.headers["x-frame-options"], "DENY");
    assert!(!a.body.contains("<script>"), "no inline script");

    let a = call(
        &s,
        "POST",
        "/signin",
        None,
        Some("token=wrong-token-0123456789"),
        None,
    )
    .await;
    assert_eq!(a.status, 401);
    assert!(a.headers.get("set-cookie").is_none());
    let a = call(
        &s,
        "POST",
        "/signin",
        None,
        Some(&format!("token={APPROVER}")),
        Some("http://evil.test"),
    )
    .await;
    assert_eq!(a.status, 403, "a cross-site sign-in is refused");

    let (cookie, _) = sign_in(&s, APPROVER).await;
    for page in ["/runs", "/approvals", "/policy", "/sops"] {
        let a = call(&s, "GET", page, Some(&cookie), None, None).await;
        assert_eq!(a.status, 200, "{page}: {}", a.body);
        assert!(a.headers.contains_key("content-security-policy"), "{page}");
        assert!(a.body.contains("oncall"), "{page} names who is signed in");
    }
    let a = call(&s, "GET", "/assets/console.js", None, None, None).await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        call(&s, "GET", "/assets/nope.js", None, None, None)
            .await
            .status,
        404
    );
    // The API is unchanged: the cookie is not a bearer token.
    assert_eq!(
        call(&s, "GET", "/api/runs", Some(&cookie), None, None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn only_approvers_decide_and_only_with_the_csrf_token_from_this_site() {
    let s = state(tokens(), None).await;
    let id = pending(s.approvals.store(), "apr-console").id;
    let path = format!("/approvals/{id}");

    let (viewer, viewer_csrf) = sign_in(&s, VIEWER).await;
    let a = call(&s, "GET", "/approvals", Some(&viewer), None, None).await;
    assert!(
        a.body.contains("kubectl.patch_hpa") && a.body.contains("hpa-beyond-50-percent"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("<ins>20</ins>"),
        "the impact's change is shown: {}",
        a.body
    );
    assert!(
        !a.body.contains("value=\"approve\""),
        "a viewer sees no buttons"
    );
    let a = call(
        &s,
        "POST",
        &path,
        Some(&viewer),
        Some(&format!("csrf={viewer_csrf}&decision=approve")),
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("needs role approver"), "{}", a.body);

    let (approver, csrf) = sign_in(&s, APPROVER).await;
    let a = call(&s, "GET", "/approvals", Some(&approver), None, None).await;
    assert!(a.body.contains("value=\"approve\""));
    // No CSRF token, another session's, or a post from another site: refused.
    let a = call(
        &s,
        "POST",
        &path,
        Some(&approver),
        Some("decision=approve"),
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("CSRF"), "{}", a.body);
    let a = call(
        &s,
        "POST",
        &path,
        Some(&approver),
        Some(&format!("csrf={viewer_csrf}&decision=approve")),
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    let a = call(
        &s,
        "POST",
        &path,
        Some(&approver),
        Some(&format!("csrf={csrf}&decision=approve")),
        Some("https://evil.test"),
    )
    .await;
    assert_eq!(a.status, 403);
    let still = s.approvals.store().approval(&id).unwrap().unwrap();
    assert_eq!(still.state, ApprovalState::Pending);

    let a = call(
        &s,
        "POST",
        &path,
        Some(&approver),
        Some(&format!("csrf={csrf}&decision=approve")),
        Some("http://console.test"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let done = s.approvals.store().approval(&id).unwrap().unwrap();
    assert_eq!(done.state, ApprovalState::Approved);
    assert_eq!(done.decided_by.as_deref(), Some("console:oncall"));
    assert_eq!(done.channel.as_deref(), Some("console"));
    // The first decision wins.
    let a = call(
        &s,
        "POST",
        &path,
        Some(&approver),
        Some(&format!("csrf={csrf}&decision=deny")),
        None,
    )
    .await;
    assert_eq!(a.status, 409);
    assert!(a.body.contains("console:oncall"), "{}", a.body);
    let a = call(&s, "GET", "/approvals", Some(&approver), None, None).await;
    assert!(
        a.body.contains("approval done") && a.body.contains("through console"),
        "{}",
        a.body
    );
    assert!(
        s.metrics
            .requests_refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 4
    );
}

#[tokio::test]
async fn hostile_run_text_is_shown_as_text() {
    let s = state(tokens(), None).await;
    let store = s.runs.store();
    let evil = "<script>alert(1)</script>";
    store
        .create_run(
            "run-evil",
            "pod-crashloop",
            &json!({"kind": "manual", "by": evil}),
            &json!({"namespace": evil}),
            "m",
        )
        .unwrap();
    store
        .append_event(
            "run-evil",
            RunEventKind::ToolCallProposed {
                call_id: "c1".into(),
                tool: "kubectl.get_logs".parse().unwrap(),
                args: json!({"pod": evil}),
                origin: sopilot_protocol::CallOrigin::Model,
            },
        )
        .unwrap();
    store
        .append_event(
            "run-evil",
            RunEventKind::ToolCallFinished {
                call_id: "c1".into(),
                executed: true,
                ok: true,
                result_bytes: 3,
                duration_ms: 1,
                error: Some(evil.into()),
            },
        )
        .unwrap();
    store
        .append_event(
            "run-evil",
            RunEventKind::Note {
                message: format!("log line {evil}"),
            },
        )
        .unwrap();
    // The call was asked about in Slack: the page says where.
    store
        .append_event(
            "run-evil",
            RunEventKind::ApprovalRequested {
                call_id: "c1".into(),
                approval_id: "apr-evil".into(),
            },
        )
        .unwrap();
    store
        .set_approval_message(
            "apr-evil",
            "C0INCIDENTS",
            "1765000000.000100",
            ApprovalState::Pending,
        )
        .unwrap();
    store
        .finish_run(
            "run-evil",
            RunStatus::Succeeded,
            &format!("{evil} see [E1]"),
            "",
        )
        .unwrap();
    let (cookie, _) = sign_in(&s, VIEWER).await;
    for page in ["/runs", "/runs/run-evil", "/runs?q=%3Cscript%3E"] {
        let a = call(&s, "GET", page, Some(&cookie), None, None).await;
        assert_eq!(a.status, 200, "{page}");
        assert!(!a.body.contains("<script>alert"), "{page}: {}", a.body);
        assert!(
            a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
    }
    let a = call(&s, "GET", "/runs/run-evil", Some(&cookie), None, None).await;
    assert!(
        a.body.contains("href=\"#E1\">[E1]</a>") && a.body.contains("id=\"E1\""),
        "evidence links to its call: {}",
        a.body
    );
    assert!(
        a.body.contains(
            "asked in channel <code>C0INCIDENTS</code>, message <code>1765000000.000100</code>"
        ),
        "{}",
        a.body
    );
    assert_eq!(
        call(&s, "GET", "/runs/nope", Some(&cookie), None, None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn an_expired_or_signed_out_session_goes_back_to_sign_in() {
    let s = state(tokens(), None).await;
    let oncall = tokens().into_iter().find(|t| t.name == "oncall").unwrap();
    let long_ago = chrono::Utc::now().timestamp() - session::TTL_SECONDS - 5;
    let (stale, _) = session::issue(&oncall, long_ago).unwrap();
    let a = call(&s, "GET", "/runs", Some(&stale), None, None).await;
    assert_eq!(
        (a.status, a.headers["location"].to_str().unwrap()),
        (303, "/signin")
    );

    let (cookie, csrf) = sign_in(&s, APPROVER).await;
    let a = call(
        &s,
        "POST",
        "/signout",
        Some(&cookie),
        Some("csrf=wrong"),
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    let a = call(
        &s,
        "POST",
        "/signout",
        Some(&cookie),
        Some(&format!("csrf={csrf}")),
        None,
    )
    .await;
    assert_eq!(a.status, 303);
    assert!(
        a.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        call(&s, "GET", "/runs", Some(&cookie), None, None)
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn the_policy_form_answers_as_policy_check_does_and_a_closed_console_says_why() {
    let s = state(tokens(), None).await;
    let (cookie, _) = sign_in(&s, VIEWER).await;
    let a = call(
        &s,
        "GET",
        "/policy?tool=kubectl.patch_hpa&args=%7B%22namespace%22%3A%22payment%22%7D",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    // The test policy has no rules: no rule matches, so the call escalates.
    assert!(
        a.body
            .contains("Decision: <span class=\"badge wait\">escalate</span>"),
        "{}",
        a.body
    );
    let a = call(
        &s,
        "GET",
        "/policy?tool=kubectl.patch_hpa&args=%5B1%5D",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert!(a.body.contains("must be a JSON object"), "{}", a.body);
    // The rules are listed in order with their examples, each a link that fills the form.
    let policy = sopilot_policy::Policy::from_sources(&[(
        "console.yaml".into(),
        "rules:\n  - name: big-hpa\n    tools: kubectl.patch_hpa\n    when: args.max_replicas > 10\n    decision: escalate\n    because: <b>capacity</b>\n    examples:\n      match: [{args: {max_replicas: 20}}]\n      not_match: [{args: {max_replicas: 5}}]\n".into(),
    )])
    .unwrap();
    let html = super::policy::rules_html(&policy);
    assert!(
        html.contains("id=\"rule-big-hpa\"") && html.contains("&lt;b&gt;capacity"),
        "{html}"
    );
    assert!(html.contains("1 matching, 1 not"), "{html}");
    assert!(
        html.contains(
            "/policy?tool=kubectl.patch_hpa&amp;args=%7B%22max_replicas%22%3A20%7D#verdict"
        ),
        "{html}"
    );

    // Starting a run by hand needs an operator and the CSRF token.
    let (viewer, viewer_csrf) = (cookie.clone(), {
        let page = call(&s, "GET", "/runs", Some(&cookie), None, None).await;
        page.body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned()
    });
    let a = call(
        &s,
        "POST",
        "/sops/pod-crashloop/run",
        Some(&viewer),
        Some(&format!("csrf={viewer_csrf}")),
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("needs role operator"), "{}", a.body);
    let (operator, operator_csrf) = sign_in(&s, crate::testing::OPERATOR).await;
    let a = call(
        &s,
        "POST",
        "/sops/pod-crashloop/run",
        Some(&operator),
        Some("pod=x"),
        None,
    )
    .await;
    assert_eq!(a.status, 403, "no CSRF token");
    let a = call(
        &s,
        "POST",
        "/sops/pod-crashloop/run",
        Some(&operator),
        Some(&format!("csrf={operator_csrf}&pod=x")),
        None,
    )
    .await;
    assert_eq!(a.status, 404, "this server has no SOPs: {}", a.body);

    let closed = state(Vec::new(), None).await;
    let a = call(&closed, "GET", "/signin", None, None, None).await;
    assert!(a.body.contains("console is closed"), "{}", a.body);
    let a = call(&closed, "POST", "/signin", None, Some("token=x"), None).await;
    assert_eq!(a.status, 403);
}
