//! `GET /link/?ticket=…`: the Socket Mode WebSocket. A ticket is good for one socket; the
//! socket says `hello`, forwards what the hub sends and the app's acknowledgements, and
//! closes as told (after a `disconnect`'s grace, or abruptly).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::envelope::{disconnect, hello};
use super::{Command, Hub};
use crate::SlackState;

pub(crate) async fn upgrade(
    State(state): State<SlackState>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let hub = state.hub();
    let ticket = query.get("ticket").map(String::as_str).unwrap_or_default();
    if !hub.redeem(ticket) {
        let error = "invalid or already used ticket: call apps.connections.open for a new URL";
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": error})),
        )
            .into_response();
    }
    let app_id = state.app_id();
    ws.on_upgrade(move |socket| serve(socket, hub, app_id))
}

async fn serve(mut socket: WebSocket, hub: Arc<Hub>, app_id: String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, count) = hub.register(tx);
    if socket
        .send(Message::Text(hello(count, &app_id).into()))
        .await
        .is_ok()
    {
        hub.flush();
        run(&mut socket, &hub, &mut rx).await;
    }
    hub.unregister(id);
}

/// Forwards until the socket closes, the app goes away, or the hub says to stop.
async fn run(socket: &mut WebSocket, hub: &Arc<Hub>, rx: &mut mpsc::UnboundedReceiver<Command>) {
    let mut closing: Option<Pin<Box<Sleep>>> = None;
    loop {
        let close_at = async {
            match closing.as_mut() {
                Some(s) => s.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Command::Send(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(Command::Disconnect(reason, grace)) => {
                    if socket.send(Message::Text(disconnect(reason).into())).await.is_err() {
                        return;
                    }
                    closing = Some(Box::pin(tokio::time::sleep(grace)));
                }
                // Dropping the socket closes the TCP connection with no closing handshake.
                Some(Command::Drop) | None => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => hub.receive(text.as_str()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                // Pings are answered by the WebSocket layer.
                Some(Ok(_)) => {}
            },
            () = close_at => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
