//! The client against a local HTTP server that answers as scripted and records what it was
//! sent: answers that are `ok`, Slack's `ok: false` codes, 429s waited out (or not), a
//! deadline, server errors, Slack's text limit, response URLs, and the token kept out of
//! sight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sopilot_slack_api::{
    Args, Error, Options, Posted, RetryPolicy, SlackClient, SlackCode, Token, api_base,
};

const TOKEN: &str = "xoxb-1111-test-secret";

/// One scripted answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
    delay: Duration,
}

fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        retry_after: None,
        body,
        delay: Duration::ZERO,
    }
}

fn status(status: u16, retry_after: Option<u64>) -> Answer {
    Answer {
        status,
        retry_after,
        body: json!({"ok": false, "error": "ratelimited"}),
        delay: Duration::ZERO,
    }
}

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    content_type: Option<String>,
    auth: Option<String>,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn answer(
    State(s): State<Script>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
    };
    s.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        content_type: header(header::CONTENT_TYPE),
        auth: header(header::AUTHORIZATION),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let next = s.answers.lock().unwrap().pop_front();
    let a = next.unwrap_or_else(|| ok(json!({"ok": true})));
    tokio::time::sleep(a.delay).await;
    let mut response =
        (StatusCode::from_u16(a.status).unwrap(), axum::Json(a.body)).into_response();
    if let Some(wait) = a.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

/// A scripted server on loopback; its Web API base is `http://ADDR/api/`.
struct Server {
    script: Script,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(answers: Vec<Answer>) -> Server {
        let script = Script::default();
        script.answers.lock().unwrap().extend(answers);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server { script, base, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.seen.lock().unwrap().clone()
    }

    fn client(&self, options: Options) -> SlackClient {
        SlackClient::with_options(
            api_base(&self.base).unwrap(),
            Token::new(TOKEN.into()).unwrap(),
            options,
        )
        .unwrap()
    }
}

fn quick(max_retries: u32, max_wait_secs: u64, timeout: Duration) -> Options {
    Options {
        request_timeout: timeout,
        retry: RetryPolicy {
            max_retries,
            max_wait: Duration::from_secs(max_wait_secs),
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn writes_post_json_and_reads_get_a_query_with_the_token() {
    let server = Server::start(vec![
        ok(json!({"ok": true, "channel": "C0INC", "ts": "1.000100"})),
        ok(json!({"ok": true, "users": ["U1", "U2"]})),
        ok(json!({"ok": true, "user_id": "U0BOT", "user": "sopilot", "team_id": "T1"})),
    ])
    .await;
    let client = SlackClient::new(&server.base, TOKEN).unwrap();
    let blocks = json!([{"type": "divider"}]);
    let at = client
        .post_message("#incidents", "hi", Some(&blocks), Some("1.000001"))
        .await
        .unwrap();
    assert_eq!(
        at,
        Posted {
            channel: "C0INC".into(),
            ts: "1.000100".into()
        }
    );
    let members = client.usergroup_members("S0ONCALL").await.unwrap();
    assert_eq!(members, ["U1", "U2"]);
    let me = client.auth_test().await.unwrap();
    assert_eq!((me.user_id.as_str(), me.bot_id), ("U0BOT", None));

    let seen = server.seen();
    let post = &seen[0];
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/chat.postMessage")
    );
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(post.auth.as_deref(), Some(&*format!("Bearer {TOKEN}")));
    assert_eq!(
        post.json(),
        json!({"channel": "#incidents", "text": "hi", "unfurl_links": false,
               "blocks": [{"type": "divider"}], "thread_ts": "1.000001"})
    );
    let read = &seen[1];
    assert_eq!(
        (read.method.as_str(), read.path.as_str()),
        ("GET", "/api/usergroups.users.list")
    );
    assert_eq!(read.query.as_deref(), Some("usergroup=S0ONCALL"));
    assert_eq!(read.body, "");
    assert_eq!(seen[2].path, "/api/auth.test");
}

#[tokio::test]
async fn ok_false_is_a_typed_error_that_says_what_to_do() {
    let server = Server::start(vec![
        ok(json!({"ok": false, "error": "not_in_channel"})),
        ok(json!({"ok": false, "error": "missing_scope", "needed": "chat:write"})),
        ok(json!({"ok": false, "error": "invalid_blocks",
                  "response_metadata": {"messages": ["[ERROR] no type"]}})),
    ])
    .await;
    let client = server.client(Options::default());
    let e = client
        .post_message("C0OPS", "x", None, None)
        .await
        .unwrap_err()
        .about("#ops (C0OPS)", None);
    assert_eq!(e.code(), Some(&SlackCode::NotInChannel));
    assert_eq!(
        e.to_string(),
        "the bot is not a member of #ops (C0OPS): invite the bot to #ops (C0OPS) (type /invite @<bot name> in the channel), then retry"
    );
    let e = client
        .post_ephemeral("C0OPS", "U1", "x", None)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the bot token lacks the OAuth scope chat:write that chat.postEphemeral needs; an operator must add it to the Slack app and reinstall it"
    );
    let at = Posted {
        channel: "C0OPS".into(),
        ts: "1.5".into(),
    };
    let e = client.update(&at, "x", None).await.unwrap_err();
    assert!(
        matches!(&e, Error::Api(f) if f.code == SlackCode::InvalidBlocks),
        "{e:?}"
    );
    assert!(e.to_string().contains(": [ERROR] no type."), "{e}");
    assert_eq!(server.seen().len(), 3, "refusals are not retried");
}

#[tokio::test]
async fn a_429_is_waited_out_as_asked_then_the_call_succeeds() {
    let server = Server::start(vec![
        status(429, Some(1)),
        ok(json!({"ok": true, "ts": "2.000001"})),
    ])
    .await;
    let client = server.client(Options::default());
    let started = Instant::now();
    let at = client.post_message("C1", "x", None, None).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(at.ts, "2.000001");
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After honoured: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn persistent_or_long_429s_fail_within_the_bound() {
    let server = Server::start(vec![status(429, Some(0)); 10]).await;
    let client = server.client(quick(2, 15, Duration::from_secs(5)));
    let e = client
        .post_message("C1", "x", None, None)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Slack is rate-limiting chat.postMessage: still refused after 3 attempts (it asks to wait 0 s)"
    );
    assert_eq!(server.seen().len(), 3, "three attempts in all");

    // A wait longer than the policy sits through fails at once.
    let server = Server::start(vec![status(429, Some(120))]).await;
    let client = server.client(quick(3, 20, Duration::from_secs(5)));
    let started = Instant::now();
    let e = client.usergroup_members("S1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            e,
            Error::RateLimited {
                attempts: 1,
                retry_after: Some(120),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn every_call_has_a_deadline() {
    let slow = Answer {
        delay: Duration::from_secs(3),
        ..ok(json!({"ok": true}))
    };
    let server = Server::start(vec![slow]).await;
    let client = server.client(quick(2, 15, Duration::from_millis(300)));
    let started = Instant::now();
    let e = client
        .post_message("C1", "x", None, None)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            Error::Timeout {
                method: "chat.postMessage",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        server.seen().len(),
        1,
        "a post that timed out is not repeated"
    );
}

#[tokio::test]
async fn server_errors_are_retried_on_reads_only() {
    let server = Server::start(vec![
        status(503, None),
        ok(json!({"ok": true, "user": {"name": "alice"}})),
        status(503, None),
    ])
    .await;
    let client = server.client(Options::default());
    assert_eq!(
        client.user_name("U1").await.unwrap().as_deref(),
        Some("alice")
    );
    let e = client
        .call(
            "reactions.add",
            Args::Json(json!({"channel": "C1", "name": "eyes"})),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e:?}");
    assert_eq!(server.seen().len(), 3);
    // Not Slack's answer at all (a proxy, a wrong base URL): said so, with a hint.
    server
        .script
        .answers
        .lock()
        .unwrap()
        .push_back(status(404, None));
    let e = client
        .call("auth.test", Args::Query(vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the Slack API answered HTTP 404 to auth.test (unknown method, or SLACK_API_URL does not end in /api/)"
    );
}

#[tokio::test]
async fn message_text_is_cut_to_slacks_limit_with_a_mark() {
    let server = Server::start(vec![]).await;
    let client = server.client(Options::default());
    let long = "a".repeat(40_010);
    client.post_message("C1", &long, None, None).await.unwrap();
    client
        .post_ephemeral("C1", "U1", "short", None)
        .await
        .unwrap();
    let seen = server.seen();
    let sent = seen[0].json()["text"].as_str().unwrap().to_owned();
    assert_eq!(sent.chars().count(), 40_000);
    assert!(sent.ends_with("a…\n[cut: Slack shows at most 40,000 characters]"));
    assert_eq!(seen[1].json()["text"], "short");
}

#[tokio::test]
async fn response_urls_get_no_token_and_failures_name_no_url() {
    let server = Server::start(vec![ok(json!({})), status(404, None)]).await;
    let client = server.client(Options::default());
    let url = format!("{}/hooks/T1/secret-path", server.base);
    let body = json!({"response_type": "ephemeral", "text": "done"});
    client.respond(&url, &body).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].auth, None, "the bot token stays with the Web API");
    assert_eq!(seen[0].json(), body);
    let e = client.respond(&url, &body).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the Slack API answered HTTP 404 to response_url"
    );

    // Nothing listens: a transport error, without the URL.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://{addr}/hooks/secret-path");
    let e = client.respond(&url, &body).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                method: "response_url",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("secret-path"), "{e}");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client = SlackClient::with_options(
        api_base(&format!("http://{addr}/api/")).unwrap(),
        Token::new(TOKEN.into()).unwrap(),
        quick(1, 15, Duration::from_secs(5)),
    )
    .unwrap();
    let started = Instant::now();
    let e = client
        .post_message("C1", "x", None, None)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "one retry after 0.5 s"
    );
    assert!(
        e.to_string()
            .starts_with("cannot reach the Slack API for chat.postMessage: "),
        "{e}"
    );
    assert!(!format!("{client:?}").contains("secret"), "{client:?}");
}

#[test]
fn bad_configuration_is_refused_up_front() {
    let e = SlackClient::new("ftp://slack.com/api/", TOKEN).unwrap_err();
    assert!(matches!(e, Error::ApiUrl { .. }), "{e:?}");
    let e = SlackClient::new("https://slack.com/api/", "xoxb two words").unwrap_err();
    assert!(
        e.to_string().contains("SLACK_BOT_TOKEN holds spaces"),
        "{e}"
    );
}

#[tokio::test]
async fn apps_connections_open_posts_with_the_token_and_returns_the_url() {
    let server = Server::start(vec![
        ok(json!({"ok": true, "url": "wss://wss-primary.slack.com/link/?ticket=t1&app_id=A1"})),
        ok(json!({"ok": false, "error": "not_allowed_token_type"})),
        ok(json!({"ok": true})),
    ])
    .await;
    let client = SlackClient::new(&server.base, "xapp-1-A1-1-secret").unwrap();
    let url = client.apps_connections_open().await.unwrap();
    assert_eq!(url, "wss://wss-primary.slack.com/link/?ticket=t1&app_id=A1");
    let e = client.apps_connections_open().await.unwrap_err();
    assert_eq!(e.code(), Some(&SlackCode::NotAllowedTokenType));
    assert!(
        client.apps_connections_open().await.is_err(),
        "ok without a url is an error"
    );
    let seen = server.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/apps.connections.open")
    );
    assert_eq!(seen[0].auth.as_deref(), Some("Bearer xapp-1-A1-1-secret"));
}
