//! The console's doors: `/events` streams (one poller whatever their number, capped per
//! session and in all, never for a stranger), sign-in without a token in a URL and with
//! one-time codes, when the session cookie is `Secure`, and the body limit of its forms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::live::{self, MAX_PER_SESSION, MAX_TOTAL, Stats};
use super::session;
use super::tests::{call, sign_in};
use crate::testing::{APPROVER, VIEWER, pending, send, state, state_with, tokens};
use crate::{AppState, ServeOptions};

/// Opens `/events` (`path`) with `cookie` and keeps the stream: the response, body unread.
async fn open(s: &AppState, path: &str, cookie: Option<&str>) -> Response {
    let mut req = Request::builder().uri(path).header("host", "console.test");
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{}={c}", session::COOKIE));
    }
    crate::app(s.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// The poller's readings once `more` ticks have passed since `from`.
async fn after_ticks(s: &AppState, from: Stats, more: u64) -> Stats {
    for _ in 0..500 {
        let now = live::stats(s).unwrap();
        if now.ticks >= from.ticks + more {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the poller did not tick {more} times");
}

#[tokio::test]
async fn events_streams_share_one_poller_and_are_capped() {
    let s = state(tokens(), None).await;
    // A stranger, or a forged cookie, never gets a stream nor starts the poller.
    for cookie in [None, Some("v1.Zm9v.approver.99999999999.00.00")] {
        let r = open(&s, "/events", cookie).await;
        assert_eq!(r.status(), 303, "{cookie:?}");
        assert!(live::stats(&s).is_none(), "no poller for {cookie:?}");
    }

    // Two sessions of the same token, six streams each, on two things watched.
    let (a, _) = sign_in(&s, APPROVER).await;
    let (b, _) = sign_in(&s, APPROVER).await;
    let mut streams = Vec::new();
    for (i, cookie) in [&a, &b]
        .into_iter()
        .flat_map(|c| std::iter::repeat_n(c, MAX_PER_SESSION))
        .enumerate()
    {
        let path = if i % 2 == 0 {
            "/events"
        } else {
            "/events?run=run-x"
        };
        let r = open(&s, path, Some(cookie)).await;
        assert_eq!(r.status(), 200, "stream {i}");
        streams.push(r);
    }
    let seventh = open(&s, "/events", Some(&a)).await;
    assert_eq!(seventh.status(), 429);
    let body = seventh.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("close a console tab"),
        "the refusal says what to do: {body:?}"
    );

    // Twelve streams, one reading of the approvals and one of each thing watched a tick.
    let start = after_ticks(&s, live::stats(&s).unwrap(), 1).await;
    let end = after_ticks(&s, start, 4).await;
    assert_eq!(
        end.reads - start.reads,
        (end.ticks - start.ticks) * 3,
        "{start:?} → {end:?}"
    );

    // A change reaches a stream.
    pending(s.approvals.store(), "apr-live");
    let mut body = streams.remove(0).into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let f = body.frame().await.unwrap().unwrap();
            if let Some(d) = f.data_ref() {
                let text = String::from_utf8_lossy(d).into_owned();
                if text.contains("event: change") {
                    return text;
                }
            }
        }
    })
    .await
    .expect("a change is sent");
    assert!(frame.contains("data: changed"), "{frame}");
    drop(body);

    // A stream that ends gives its place back.
    let again = open(&s, "/events", Some(&a)).await;
    assert_eq!(again.status(), 200);
    streams.push(again);

    // In all, the server holds MAX_TOTAL streams; more sessions do not get more.
    let mut sessions: Vec<String> = Vec::new();
    let mut in_last = MAX_PER_SESSION;
    while streams.len() < MAX_TOTAL {
        if in_last == MAX_PER_SESSION {
            sessions.push(sign_in(&s, VIEWER).await.0);
            in_last = 0;
        }
        let r = open(&s, "/events", sessions.last().map(String::as_str)).await;
        assert_eq!(r.status(), 200, "stream {}", streams.len());
        streams.push(r);
        in_last += 1;
    }
    let (fresh, _) = sign_in(&s, VIEWER).await;
    let over = open(&s, "/events", Some(&fresh)).await;
    assert_eq!(over.status(), 503);

    // With no stream left, the poller stops.
    drop(streams);
    for _ in 0..500 {
        if live::stats(&s).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the poller still runs with no stream");
}

#[tokio::test]
async fn a_token_in_a_url_is_ignored_and_a_one_time_code_signs_in_once() {
    let s = state(tokens(), None).await;
    let a = call(
        &s,
        "GET",
        &format!("/signin?token={APPROVER}"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(!a.body.contains(APPROVER), "the token is not echoed");
    assert!(
        !a.body.contains("value=\""),
        "the form is empty: {}",
        a.body
    );

    // A code is made only for a bearer token, not for a cookie or nothing.
    let (cookie, _) = sign_in(&s, APPROVER).await;
    assert_eq!(
        send(&s, "POST", "/api/signin-code", None, None).await.0,
        401
    );
    let a = call(&s, "POST", "/api/signin-code", Some(&cookie), None, None).await;
    assert_eq!(a.status, 401);
    let (status, v) = send(&s, "POST", "/api/signin-code", Some(VIEWER), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["signs_in_as"].as_str(), v["role"].as_str()),
        (Some("grafana"), Some("viewer"))
    );
    let code = v["code"].as_str().unwrap();
    assert!(!code.contains(VIEWER));

    // It signs in as its token, once.
    let form = format!("token={code}");
    let a = call(
        &s,
        "POST",
        "/signin",
        None,
        Some(&form),
        Some("http://console.test"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let set = a.headers["set-cookie"].to_str().unwrap();
    let value = set
        .strip_prefix(&format!("{}=", session::COOKIE))
        .and_then(|v| v.split(';').next())
        .unwrap();
    let runs = call(&s, "GET", "/runs", Some(value), None, None).await;
    assert!(runs.body.contains("grafana"), "{}", runs.body);
    let a = call(
        &s,
        "POST",
        "/signin",
        None,
        Some(&form),
        Some("http://console.test"),
    )
    .await;
    assert_eq!(a.status, 401, "a used code is void");
    assert!(
        a.body.contains("unused, unexpired sign-in code"),
        "{}",
        a.body
    );
    assert!(a.headers.get("set-cookie").is_none());

    // A closed console makes no code.
    let closed = state(Vec::new(), None).await;
    assert_eq!(
        send(&closed, "POST", "/api/signin-code", Some(VIEWER), None)
            .await
            .0,
        403
    );
}

#[test]
fn the_session_cookie_is_secure_unless_configured_or_on_loopback() {
    use super::cookie_secure;
    // (setting, listens on loopback only, came through TLS) → Secure
    for (setting, loopback, https, secure) in [
        (None, false, false, true),
        (None, true, false, false),
        (None, true, true, true),
        (Some(""), false, false, true),
        (Some("true"), true, false, true),
        (Some("1"), true, false, true),
        (Some("false"), false, true, false),
        (Some("0"), false, false, false),
        (Some("no thanks"), true, false, true),
    ] {
        assert_eq!(
            cookie_secure(setting, loopback, https),
            secure,
            "{setting:?} {loopback} {https}"
        );
    }
}

/// Signs in with `origin` and `forwarded` (X-Forwarded-Proto); the status and Set-Cookie.
async fn sign_in_from(
    s: &AppState,
    origin: Option<&str>,
    forwarded: Option<&str>,
) -> (u16, String) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/signin")
        .header("host", "console.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-proto", f);
    }
    let req = req.body(Body::from(format!("token={APPROVER}"))).unwrap();
    let (status, headers, body) = crate::testing::respond(s, req).await;
    let cookie = headers
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    (status, cookie)
}

#[tokio::test]
async fn a_server_beyond_loopback_sets_a_secure_cookie_and_says_so_over_plain_http() {
    let loopback = state(tokens(), None).await;
    let (status, cookie) = sign_in_from(&loopback, Some("http://console.test"), None).await;
    assert_eq!(status, 303);
    assert!(!cookie.contains("Secure"), "{cookie}");
    let (_, cookie) = sign_in_from(&loopback, None, Some("https")).await;
    assert!(cookie.ends_with("; Secure"), "behind TLS: {cookie}");

    let options = ServeOptions {
        listen: "0.0.0.0:8080".parse().unwrap(),
        api_tokens: tokens(),
        ..ServeOptions::default()
    };
    let open = state_with(
        options,
        std::sync::Arc::new(sopilot_runtime::Store::in_memory().unwrap()),
    )
    .await;
    let (status, cookie) = sign_in_from(&open, Some("https://console.test"), None).await;
    assert_eq!(status, 303);
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let (status, cookie) = sign_in_from(&open, None, None).await;
    assert_eq!(status, 303);
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // A browser on plain HTTP would drop the cookie: it is told why instead of looping.
    let (status, page) = sign_in_from(&open, Some("http://console.test"), None).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("SOPILOT_CONSOLE_SECURE_COOKIE=false"),
        "{page}"
    );
    // http://localhost is a secure context: the browser keeps the cookie there.
    let req = Request::builder()
        .method("POST")
        .uri("/signin")
        .header("host", "localhost:8080")
        .header("origin", "http://localhost:8080")
        .header("content-type", "application/x-www-form-urlencoded");
    let req = req.body(Body::from(format!("token={APPROVER}"))).unwrap();
    let (status, headers, _) = crate::testing::respond(&open, req).await;
    assert_eq!(status, 303);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

#[tokio::test]
async fn a_console_form_larger_than_the_body_limit_is_refused() {
    let options = ServeOptions {
        api_tokens: tokens(),
        max_body_bytes: 1024,
        ..ServeOptions::default()
    };
    let s = state_with(
        options,
        std::sync::Arc::new(sopilot_runtime::Store::in_memory().unwrap()),
    )
    .await;
    let big = format!("token={}", "x".repeat(4096));
    let a = call(
        &s,
        "POST",
        "/signin",
        None,
        Some(&big),
        Some("http://console.test"),
    )
    .await;
    assert_eq!(a.status, 413, "{}", a.body);
}

#[tokio::test]
async fn streams_end_when_the_server_shuts_down() {
    let s = state(tokens(), None).await;
    let (cookie, _) = sign_in(&s, APPROVER).await;
    let r = open(&s, "/events?run=run-x", Some(&cookie)).await;
    assert_eq!(r.status(), 200);
    after_ticks(&s, Stats::default(), 1).await;
    s.runs.shutdown();
    let ended = tokio::time::timeout(Duration::from_secs(5), r.into_body().collect()).await;
    assert!(ended.is_ok(), "the stream ends with the server");
    assert!(live::stats(&s).is_none(), "the poller stopped");
}
