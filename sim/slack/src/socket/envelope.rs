//! The JSON Slack sends over a Socket Mode WebSocket, in its exact shapes: `hello`,
//! `disconnect` and the envelopes around Events API, slash command and interactivity
//! payloads.

use serde::Serialize;
use serde_json::{Value, json};

/// The kind of an envelope: its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An Events API `event_callback`.
    EventsApi,
    /// A slash command's fields, as JSON.
    SlashCommands,
    /// An interactivity payload (`block_actions`, ...).
    Interactive,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventsApi => "events_api",
            Kind::SlashCommands => "slash_commands",
            Kind::Interactive => "interactive",
        }
    }
}

/// An id shaped like Slack's (a UUID), unique per `(tag, n)`.
pub(crate) fn uuid(tag: u64, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        tag & 0xffff_ffff,
        (n >> 48) & 0xffff,
        (n >> 36) & 0xfff,
        (n >> 24) & 0xfff,
        n & 0xff_ffff_ffff
    )
}

/// The envelope of delivery `retry_attempt` of `payload`. Only Events API envelopes carry
/// the retry fields; only slash commands accept a response payload.
pub(crate) fn frame(kind: Kind, envelope_id: &str, payload: &Value, retry_attempt: u32) -> String {
    let mut v = json!({
        "envelope_id": envelope_id,
        "payload": payload,
        "type": kind.name(),
        "accepts_response_payload": kind == Kind::SlashCommands,
    });
    if kind == Kind::EventsApi {
        v["retry_attempt"] = json!(retry_attempt);
        v["retry_reason"] = json!(if retry_attempt == 0 { "" } else { "timeout" });
    }
    v.to_string()
}

/// The first frame of every socket.
pub(crate) fn hello(num_connections: usize, app_id: &str) -> String {
    json!({
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": "applink-sopilot-sim", "build_number": 1,
                       "approximate_connection_time": 18060},
        "connection_info": {"app_id": app_id},
    })
    .to_string()
}

/// Slack's notice that it will close the socket (`refresh_requested`, `warning`,
/// `link_disabled`).
pub(crate) fn disconnect(reason: &str) -> String {
    json!({"type": "disconnect", "reason": reason,
           "debug_info": {"host": "applink-sopilot-sim"}})
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn envelopes_have_slacks_fields() {
        let e: Value =
            serde_json::from_str(&frame(Kind::EventsApi, "e-1", &json!({"a": 1}), 2)).unwrap();
        assert_eq!(
            e,
            json!({"envelope_id": "e-1", "payload": {"a": 1}, "type": "events_api",
                   "accepts_response_payload": false, "retry_attempt": 2,
                   "retry_reason": "timeout"})
        );
        let c: Value =
            serde_json::from_str(&frame(Kind::SlashCommands, "e-2", &json!({}), 0)).unwrap();
        assert_eq!(c["accepts_response_payload"], true);
        assert!(c.get("retry_attempt").is_none());
        assert_ne!(uuid(1, 1), uuid(1, 2));
        assert_eq!(uuid(1, 1).len(), 36);
    }
}
