//! Events: what controllers record, and the two API views of one event store
//! (core/v1 and events.k8s.io/v1).

use serde_json::{Map, Value, json};

use super::obj;
use super::store::Store;
use crate::time;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Who reports an event: a component, and for the kubelet its node.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub component: &'a str,
    pub host: Option<&'a str>,
}

impl<'a> Source<'a> {
    pub const fn controller(component: &'a str) -> Self {
        Source {
            component,
            host: None,
        }
    }
}

/// Records an event about `regarding`, folding it into an identical earlier one (same
/// object, reason, message and source) the way the API's event aggregation does.
pub fn record(
    store: &mut Store,
    regarding: &Value,
    event_type: EventType,
    reason: &str,
    message: &str,
    source: Source<'_>,
) {
    if !store.recording {
        return;
    }
    let namespace = match obj::namespace(regarding) {
        "" => "default",
        ns => ns,
    }
    .to_owned();
    let uid = obj::uid(regarding);
    let now = store.now_string();
    let existing = store
        .list("events", Some(&namespace))
        .find(|e| {
            obj::str_at(e, "/involvedObject/uid") == Some(uid)
                && obj::str_at(e, "/reason") == Some(reason)
                && obj::str_at(e, "/message") == Some(message)
                && obj::str_at(e, "/source/component") == Some(source.component)
        })
        .cloned();
    if let Some(mut event) = existing {
        let count = obj::i64_at(&event, "/count").unwrap_or(1).saturating_add(1);
        event["count"] = json!(count);
        event["lastTimestamp"] = json!(now);
        store.replace("events", event);
        return;
    }
    let nanos = store.now().timestamp_nanos_opt().unwrap_or(0) as u64;
    let name = format!(
        "{}.{:016x}",
        obj::name(regarding),
        nanos.wrapping_add(store.next_counter())
    );
    let mut source_obj = json!({"component": source.component});
    if let Some(host) = source.host {
        source_obj["host"] = json!(host);
    }
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj::str_at(regarding, "/apiVersion").unwrap_or("v1"),
            "kind": obj::kind(regarding),
            "name": obj::name(regarding),
            "namespace": obj::namespace(regarding),
            "uid": uid,
            "resourceVersion": obj::str_at(regarding, "/metadata/resourceVersion").unwrap_or(""),
        },
        "reason": reason,
        "message": message,
        "source": source_obj,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": event_type.as_str(),
        "eventTime": null,
        "reportingComponent": source.component,
        "reportingInstance": source.host.unwrap_or(""),
    });
    store.insert_new("events", event);
}

/// The events.k8s.io/v1 view of a stored core/v1 event.
pub fn to_events_v1(core: &Value) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("events.k8s.io/v1"));
    out.insert("kind".into(), json!("Event"));
    out.insert(
        "metadata".into(),
        core.get("metadata").cloned().unwrap_or(json!({})),
    );
    let copy = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = core.get(from).filter(|v| !v.is_null()) {
            out.insert(to.to_owned(), v.clone());
        }
    };
    copy(&mut out, "eventTime", "eventTime");
    copy(&mut out, "action", "action");
    copy(&mut out, "reason", "reason");
    copy(&mut out, "involvedObject", "regarding");
    copy(&mut out, "related", "related");
    copy(&mut out, "message", "note");
    copy(&mut out, "type", "type");
    copy(&mut out, "source", "deprecatedSource");
    copy(&mut out, "firstTimestamp", "deprecatedFirstTimestamp");
    copy(&mut out, "lastTimestamp", "deprecatedLastTimestamp");
    copy(&mut out, "count", "deprecatedCount");
    let controller = obj::str_at(core, "/reportingComponent")
        .filter(|s| !s.is_empty())
        .or_else(|| obj::str_at(core, "/source/component"));
    if let Some(c) = controller {
        out.insert("reportingController".into(), json!(c));
    }
    let instance = obj::str_at(core, "/reportingInstance")
        .filter(|s| !s.is_empty())
        .or_else(|| obj::str_at(core, "/source/host"));
    if let Some(i) = instance {
        out.insert("reportingInstance".into(), json!(i));
    }
    if let Some(series) = core.get("series").filter(|v| !v.is_null()) {
        out.insert("series".into(), series.clone());
    }
    if !out.contains_key("eventTime") {
        // events.k8s.io requires eventTime; the API fills it from the first timestamp.
        let first = obj::str_at(core, "/firstTimestamp")
            .and_then(time::parse)
            .map(time::rfc3339_nanos);
        if let Some(first) = first {
            out.insert("eventTime".into(), json!(first));
        }
    }
    Value::Object(out)
}

/// The stored core/v1 shape of an events.k8s.io/v1 event.
pub fn from_events_v1(v1: &Value) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("v1"));
    out.insert("kind".into(), json!("Event"));
    out.insert(
        "metadata".into(),
        v1.get("metadata").cloned().unwrap_or(json!({})),
    );
    let copy = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = v1.get(from).filter(|v| !v.is_null()) {
            out.insert(to.to_owned(), v.clone());
        }
    };
    copy(&mut out, "eventTime", "eventTime");
    copy(&mut out, "action", "action");
    copy(&mut out, "reason", "reason");
    copy(&mut out, "regarding", "involvedObject");
    copy(&mut out, "related", "related");
    copy(&mut out, "note", "message");
    copy(&mut out, "type", "type");
    copy(&mut out, "deprecatedSource", "source");
    copy(&mut out, "deprecatedFirstTimestamp", "firstTimestamp");
    copy(&mut out, "deprecatedLastTimestamp", "lastTimestamp");
    copy(&mut out, "deprecatedCount", "count");
    copy(&mut out, "reportingController", "reportingComponent");
    copy(&mut out, "reportingInstance", "reportingInstance");
    copy(&mut out, "series", "series");
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::logs::LogBook;
    use crate::scenario::Metrics;

    #[test]
    fn records_and_aggregates() {
        let mut store = Store::new(7, LogBook::default(), Metrics::default());
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u1"}});
        let kubelet = Source {
            component: "kubelet",
            host: Some("n1"),
        };
        record(
            &mut store,
            &pod,
            EventType::Warning,
            "BackOff",
            "back-off",
            kubelet,
        );
        record(
            &mut store,
            &pod,
            EventType::Warning,
            "BackOff",
            "back-off",
            kubelet,
        );
        record(
            &mut store,
            &pod,
            EventType::Normal,
            "Pulled",
            "pulled",
            kubelet,
        );
        let events: Vec<&Value> = store.list("events", Some("ns")).collect();
        assert_eq!(events.len(), 2);
        let backoff = events.iter().find(|e| e["reason"] == "BackOff").unwrap();
        assert_eq!(backoff["count"], 2);
        assert_eq!(backoff["involvedObject"]["uid"], "u1");
        assert_eq!(backoff["source"]["host"], "n1");
    }

    #[test]
    fn converts_both_ways() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns"},
                          "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Killing", "message": "Stopping",
                          "type": "Normal", "source": {"component": "kubelet", "host": "n1"},
                          "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z", "count": 2});
        let v1 = to_events_v1(&core);
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["note"], "Stopping");
        assert_eq!(v1["reportingController"], "kubelet");
        assert_eq!(v1["eventTime"], "2026-01-01T00:00:00.000000000Z");
        let back = from_events_v1(&v1);
        assert_eq!(back["involvedObject"], core["involvedObject"]);
        assert_eq!(back["message"], "Stopping");
        assert_eq!(back["count"], 2);
    }
}
