//! What Slack sends over a Socket Mode WebSocket, parsed, and the acknowledgement the bot
//! sends back. Pure: no I/O.
//!
//! - `{"type": "hello", "num_connections": N, ...}` opens every socket;
//! - `{"type": "disconnect", "reason": "refresh_requested" | "warning" | "link_disabled"}`
//!   says Slack will close it;
//! - an envelope `{"envelope_id", "type": "events_api" | "slash_commands" | "interactive",
//!   "payload", "accepts_response_payload", "retry_attempt"?}` must be acknowledged with
//!   `{"envelope_id": …}`, plus `"payload"` when Slack accepts one (a slash command's answer).

use serde_json::{Value, json};

/// One text frame from Slack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    Hello {
        num_connections: Option<u64>,
    },
    Disconnect {
        reason: String,
    },
    Envelope(Envelope),
    /// A frame of a type the bot does not know, without an envelope id: nothing to do.
    Other(String),
}

/// The kind of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    EventsApi,
    SlashCommands,
    Interactive,
    /// Acknowledged and otherwise ignored.
    Other(String),
}

/// A payload to acknowledge by `id`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    pub id: String,
    pub kind: Kind,
    pub payload: Value,
    pub accepts_response_payload: bool,
    /// 0 for the first delivery of an event.
    pub retry_attempt: u64,
}

/// A frame that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("a Socket Mode frame is not JSON: {0}")]
    NotJson(String),
    #[error("a Socket Mode frame has no `type`")]
    NoType,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reads one text frame.
pub(crate) fn parse(raw: &str) -> Result<Frame, FrameError> {
    let v: Value = serde_json::from_str(raw).map_err(|e| FrameError::NotJson(e.to_string()))?;
    let kind = text(&v, "type").ok_or(FrameError::NoType)?;
    if let Some(id) = text(&v, "envelope_id").filter(|id| !id.is_empty()) {
        return Ok(Frame::Envelope(Envelope {
            id: id.to_owned(),
            kind: match kind {
                "events_api" => Kind::EventsApi,
                "slash_commands" => Kind::SlashCommands,
                "interactive" => Kind::Interactive,
                other => Kind::Other(other.to_owned()),
            },
            payload: v.get("payload").cloned().unwrap_or(Value::Null),
            accepts_response_payload: v
                .get("accepts_response_payload")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            retry_attempt: v.get("retry_attempt").and_then(Value::as_u64).unwrap_or(0),
        }));
    }
    Ok(match kind {
        "hello" => Frame::Hello {
            num_connections: v.get("num_connections").and_then(Value::as_u64),
        },
        "disconnect" => Frame::Disconnect {
            reason: text(&v, "reason").unwrap_or("unknown").to_owned(),
        },
        other => Frame::Other(other.to_owned()),
    })
}

/// The acknowledgement of `envelope`, carrying `payload` only where Slack accepts one.
pub(crate) fn ack(envelope: &Envelope, payload: Option<Value>) -> String {
    let mut a = json!({"envelope_id": envelope.id});
    if let Some(p) = payload.filter(|_| envelope.accepts_response_payload) {
        a["payload"] = p;
    }
    a.to_string()
}

/// A slash command's fields (all strings in Slack's JSON) as the HTTP form would give them.
pub(crate) fn fields(payload: &Value) -> std::collections::HashMap<String, String> {
    payload
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn reads_hello_disconnect_and_envelopes() {
        let hello = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"applink-1"},"connection_info":{"app_id":"A1"}}"#;
        assert_eq!(
            parse(hello).unwrap(),
            Frame::Hello {
                num_connections: Some(2)
            }
        );
        let bye = r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"h"}}"#;
        assert_eq!(
            parse(bye).unwrap(),
            Frame::Disconnect {
                reason: "refresh_requested".into()
            }
        );
        let event = r#"{"envelope_id":"e1","payload":{"type":"event_callback","event_id":"Ev1"},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#;
        let Frame::Envelope(e) = parse(event).unwrap() else {
            panic!("an envelope")
        };
        assert_eq!(
            (e.id.as_str(), &e.kind, e.retry_attempt),
            ("e1", &Kind::EventsApi, 1)
        );
        assert_eq!(e.payload["event_id"], "Ev1");
        let cmd = r#"{"envelope_id":"e2","payload":{"command":"/sopilot"},"type":"slash_commands","accepts_response_payload":true}"#;
        let Frame::Envelope(c) = parse(cmd).unwrap() else {
            panic!("an envelope")
        };
        assert_eq!(
            (c.kind.clone(), c.accepts_response_payload),
            (Kind::SlashCommands, true)
        );
        // An envelope of an unknown type is still an envelope: it must be acknowledged.
        let odd = r#"{"envelope_id":"e3","type":"shiny_new_thing","payload":{}}"#;
        assert!(matches!(
            parse(odd).unwrap(),
            Frame::Envelope(Envelope {
                kind: Kind::Other(_),
                ..
            })
        ));
        assert_eq!(
            parse(r#"{"type":"pong"}"#).unwrap(),
            Frame::Other("pong".into())
        );
        assert_eq!(parse("{}").unwrap_err(), FrameError::NoType);
        assert!(matches!(parse("nope"), Err(FrameError::NotJson(_))));
    }

    #[test]
    fn acknowledgements_carry_a_payload_only_where_slack_takes_one() {
        let Frame::Envelope(cmd) = parse(
            r#"{"envelope_id":"e2","payload":{},"type":"slash_commands","accepts_response_payload":true}"#,
        )
        .unwrap() else {
            panic!()
        };
        let a: Value = serde_json::from_str(&ack(&cmd, Some(json!({"text": "hi"})))).unwrap();
        assert_eq!(a, json!({"envelope_id": "e2", "payload": {"text": "hi"}}));
        let Frame::Envelope(ev) =
            parse(r#"{"envelope_id":"e1","payload":{},"type":"events_api"}"#).unwrap()
        else {
            panic!()
        };
        let a: Value = serde_json::from_str(&ack(&ev, Some(json!({"text": "hi"})))).unwrap();
        assert_eq!(a, json!({"envelope_id": "e1"}));
    }

    #[test]
    fn command_fields_read_as_the_form_does() {
        let f = fields(
            &json!({"command": "/sopilot", "user_id": "U1", "is_enterprise_install": false}),
        );
        assert_eq!(f["command"], "/sopilot");
        assert_eq!(f["user_id"], "U1");
        assert_eq!(f["is_enterprise_install"], "false");
        assert!(fields(&json!("x")).is_empty());
    }
}
