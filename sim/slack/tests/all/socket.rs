//! Socket Mode on the simulated Slack, through a real WebSocket client: which tokens open a
//! socket, one-time tickets, `hello`, envelopes and their acknowledgements, retries of
//! unacknowledged events, `refresh_requested` disconnects and abrupt drops; and slack_sdk's
//! own Socket Mode client, which takes the simulator for Slack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sopilot_sim_slack::{EnvelopeKind, SlackState};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve() -> (SlackState, String) {
    let state = SlackState::from_section(None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = sopilot_sim_slack::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (state, format!("http://{addr}/api/"))
}

async fn open(api: &str, token: &str) -> Value {
    reqwest_like_post(&format!("{api}apps.connections.open"), token).await
}

/// A POST with a bearer token, over a bare TCP connection (no HTTP client dependency).
async fn reqwest_like_post(url: &str, token: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

async fn connect(api: &str, state: &SlackState) -> (Socket, Value) {
    let url = open(api, &state.app_token()).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let hello = next_json(&mut ws).await.unwrap();
    (ws, hello)
}

/// The next text frame as JSON; `None` when the socket ends (cleanly or not).
async fn next_json(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
        {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

async fn ack(ws: &mut Socket, envelope: &Value, payload: Option<Value>) {
    let mut a = json!({"envelope_id": envelope["envelope_id"]});
    if let Some(p) = payload {
        a["payload"] = p;
    }
    ws.send(Message::Text(a.to_string().into())).await.unwrap();
}

#[tokio::test]
async fn only_an_app_token_opens_a_socket_and_a_ticket_serves_once() {
    let (state, api) = serve().await;
    let bot = open(&api, &state.token()).await;
    assert_eq!(bot, json!({"ok": false, "error": "not_allowed_token_type"}));
    let bad = open(&api, "xapp-1-nope").await;
    assert_eq!(bad, json!({"ok": false, "error": "invalid_auth"}));
    let good = open(&api, &state.app_token()).await;
    let url = good["url"].as_str().unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:")
            && url.contains("/link/?ticket=")
            && url.ends_with("&app_id=A0SOPILOT"),
        "{good}"
    );
    // The app token is not a bot token.
    let post = reqwest_like_post(&format!("{api}chat.postMessage"), &state.app_token()).await;
    assert_eq!(post["error"], "not_allowed_token_type");

    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next_json(&mut ws).await.unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["connection_info"]["app_id"], "A0SOPILOT");
    assert!(hello["debug_info"]["approximate_connection_time"].is_number());
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "a ticket opens one socket"
    );
    assert_eq!(state.socket_connections(), 1);
}

#[tokio::test]
async fn an_unacknowledged_event_comes_again_until_acknowledged() {
    let (state, api) = serve().await;
    state.set_socket_ack_timeout(Duration::from_millis(300));
    // Sent before any socket is open: waits for one.
    let id = state.socket_event(json!({"type": "app_mention", "text": "hi"}));
    let (mut ws, hello) = connect(&api, &state).await;
    assert_eq!(hello["type"], "hello");
    let first = next_json(&mut ws).await.unwrap();
    assert_eq!(
        (
            &first["type"],
            &first["envelope_id"],
            &first["retry_attempt"]
        ),
        (&json!("events_api"), &json!(id), &json!(0))
    );
    assert_eq!(first["accepts_response_payload"], false);
    assert_eq!(first["payload"]["type"], "event_callback");
    assert_eq!(first["payload"]["event"]["text"], "hi");
    let event_id = first["payload"]["event_id"].clone();
    assert!(event_id.as_str().unwrap().starts_with("Ev"));

    // Not acknowledged: the same envelope and event again, as a retry.
    let again = next_json(&mut ws).await.unwrap();
    assert_eq!(
        (
            &again["envelope_id"],
            &again["retry_attempt"],
            &again["retry_reason"]
        ),
        (&json!(id), &json!(1), &json!("timeout"))
    );
    assert_eq!(again["payload"]["event_id"], event_id);
    // An acknowledgement lost on the way counts for nothing.
    state.socket_lose_acks(1);
    ack(&mut ws, &again, None).await;
    let third = next_json(&mut ws).await.unwrap();
    assert_eq!(third["retry_attempt"], 2);
    ack(&mut ws, &third, None).await;
    assert!(
        state
            .socket_ack(&id, Duration::from_secs(2))
            .await
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let retries: Vec<u32> = state
        .socket_deliveries()
        .iter()
        .map(|d| d.retry_attempt)
        .collect();
    assert_eq!(retries, [0, 1, 2], "nothing after the acknowledgement");
}

#[tokio::test]
async fn a_command_is_acknowledged_with_its_answer_and_never_retried() {
    let (state, api) = serve().await;
    state.set_socket_ack_timeout(Duration::from_millis(200));
    let (mut ws, _) = connect(&api, &state).await;
    let id = state.socket_command("C0INCIDENTS", "U0ALICE", "/sopilot", "help");
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "slash_commands");
    assert_eq!(env["accepts_response_payload"], true);
    assert_eq!(
        (
            &env["payload"]["command"],
            &env["payload"]["text"],
            &env["payload"]["user_id"]
        ),
        (&json!("/sopilot"), &json!("help"), &json!("U0ALICE"))
    );
    ack(&mut ws, &env, Some(json!({"text": "usage"}))).await;
    let got = state.socket_ack(&id, Duration::from_secs(2)).await.unwrap();
    assert_eq!(got.payload, Some(json!({"text": "usage"})));

    // An interaction nobody acknowledges is not delivered twice.
    state.socket_interaction(json!({"type": "block_actions"}));
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "interactive");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let kinds: Vec<EnvelopeKind> = state.socket_deliveries().iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [EnvelopeKind::SlashCommands, EnvelopeKind::Interactive]
    );
}

#[tokio::test]
async fn refresh_warns_then_closes_and_a_drop_is_abrupt() {
    let (state, api) = serve().await;
    let (mut ws, _) = connect(&api, &state).await;
    state.socket_refresh(Duration::from_millis(300));
    let notice = next_json(&mut ws).await.unwrap();
    assert_eq!(
        (&notice["type"], &notice["reason"]),
        (&json!("disconnect"), &json!("refresh_requested"))
    );
    // A second socket opened meanwhile gets the envelopes; the old one closes cleanly.
    let (mut fresh, hello) = connect(&api, &state).await;
    assert_eq!(hello["num_connections"], 2);
    let id = state.socket_event(json!({"type": "app_mention"}));
    let env = next_json(&mut fresh).await.unwrap();
    assert_eq!(env["envelope_id"], id.as_str());
    match tokio::time::timeout(Duration::from_secs(3), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected a close frame, got {other:?}"),
    }
    for _ in 0..50 {
        if state.socket_connections() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state.socket_connections(), 1);

    state.socket_drop();
    match tokio::time::timeout(Duration::from_secs(3), fresh.next())
        .await
        .unwrap()
    {
        Some(Err(_)) | None => {}
        other => panic!("expected the socket to break with no close frame, got {other:?}"),
    }
    assert_eq!(state.socket_connects(), 2);
}

/// slack_sdk's own Socket Mode client (an independent implementation, installed by
/// `scripts/test`): prints each request it gets as a JSON line, acknowledging slash
/// commands with an answer.
const SLACK_SDK_CLIENT: &str = r#"
import json, sys, time
from slack_sdk.web import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse

def on_request(client, req):
    payload = {"text": "answered by slack_sdk"} if req.type == "slash_commands" else None
    client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))
    print(json.dumps({"type": req.type, "envelope_id": req.envelope_id,
                      "retry_attempt": req.retry_attempt, "payload": req.payload}), flush=True)

client = SocketModeClient(app_token=sys.argv[2], web_client=WebClient(base_url=sys.argv[1]))
client.socket_mode_request_listeners.append(on_request)
client.connect()
print(json.dumps({"type": "connected"}), flush=True)
time.sleep(30)
"#;

#[tokio::test]
async fn slack_sdks_socket_mode_client_speaks_to_the_simulator() {
    use tokio::io::AsyncBufReadExt;
    let (state, api) = serve().await;
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", SLACK_SDK_CLIENT, &api, &state.app_token()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .expect("slack_sdk answers within 15 s")
            .unwrap()
            .expect(
                "slack_sdk's client ended early (is `pip install slack_sdk` done? scripts/test does it)",
            );
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next().await["type"], "connected");

    let cmd = state.socket_command("C0INCIDENTS", "U0ALICE", "/sopilot", "help");
    let got = next().await;
    assert_eq!(
        (&got["type"], &got["envelope_id"], &got["payload"]["text"]),
        (&json!("slash_commands"), &json!(cmd), &json!("help"))
    );
    let ack = state
        .socket_ack(&cmd, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ack.payload, Some(json!({"text": "answered by slack_sdk"})));

    let event = state.socket_event(json!({"type": "app_mention", "text": "hi"}));
    let got = next().await;
    assert_eq!(
        (&got["type"], &got["retry_attempt"]),
        (&json!("events_api"), &json!(0))
    );
    assert_eq!(got["payload"]["event"]["text"], "hi");
    assert!(
        state
            .socket_ack(&event, Duration::from_secs(5))
            .await
            .is_some()
    );

    // slack_sdk reads the simulator's `disconnect` as Slack's, and opens a new socket.
    state.socket_refresh(Duration::from_secs(5));
    for _ in 0..100 {
        if state.socket_connects() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        state.socket_connects(),
        2,
        "slack_sdk reconnected on refresh_requested"
    );
    let interaction = state.socket_interaction(json!({"type": "block_actions", "actions": []}));
    let got = next().await;
    assert_eq!(
        (&got["type"], &got["envelope_id"]),
        (&json!("interactive"), &json!(interaction))
    );
}
