//! Watches: a stream of `{"type": ..., "object": ...}` lines, one per change, after an
//! optional replay (from a resourceVersion) or snapshot (initial ADDED events).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};
use tokio::time::Instant;

use super::handlers::Call;
use super::obj;
use super::path::Target;
use super::read::Selection;
use super::resources::ResourceType;
use super::state::KubeState;
use super::status::{ApiStatus, Reason};
use super::store::{Change, ChangeType};
use super::table::{self, IncludeObject};
use super::write;

/// What a watch sends and how it renders it.
struct Filter {
    rt: &'static ResourceType,
    store_key: &'static str,
    namespace: Option<String>,
    selection: Selection,
    table: Option<IncludeObject>,
}

impl Filter {
    fn selects(&self, object: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| ns == obj::namespace(object))
            && self.selection.matches(object, self.rt)
    }

    fn line(&self, kind: &str, stored: &Value) -> Bytes {
        let object = match self.table {
            Some(include) => {
                let rv = obj::str_at(stored, "/metadata/resourceVersion").unwrap_or("");
                table::table(
                    self.rt,
                    std::slice::from_ref(stored),
                    rv,
                    include,
                    chrono::Utc::now(),
                )
            }
            None => write::to_api(self.rt, stored.clone()),
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    fn render(&self, change: &Change) -> Option<Bytes> {
        (change.store_key == self.store_key && self.selects(&change.object))
            .then(|| self.line(change.change.as_str(), &change.object))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata});
        let mut line =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

struct Stream {
    pending: VecDeque<Bytes>,
    feed: broadcast::Receiver<Arc<Change>>,
    filter: Filter,
    stop: watch::Receiver<bool>,
    deadline: Instant,
    done: bool,
    _slot: OwnedSemaphorePermit,
}

/// Serves `?watch=true` on a collection.
pub fn serve(state: &KubeState, target: &Target, call: &Call) -> Result<Response, ApiStatus> {
    let rt = target.rt;
    let store_key = write::store_key(rt)?;
    let selection = Selection::from_call(call, rt)?;
    let slot = state.watch_slot().ok_or_else(|| ApiStatus {
        reason: Reason::TooManyRequests,
        message: "too many open watches; retry later".to_owned(),
        details: Some(json!({"retryAfterSeconds": 1})),
    })?;
    let rv: Option<u64> = match call
        .param("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
    {
        Some(v) => Some(
            v.parse()
                .map_err(|_| ApiStatus::bad_request(format!("invalid resourceVersion {v:?}")))?,
        ),
        None => None,
    };
    let send_initial = call.param("sendInitialEvents") == Some("true");
    let bookmarks = call.param("allowWatchBookmarks") == Some("true");
    let limits = state.limits();
    let timeout = call
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(limits.max_watch_seconds)
        .min(limits.max_watch_seconds);
    let filter = Filter {
        rt,
        store_key,
        namespace: target.namespace.clone(),
        selection,
        table: call
            .wants_table()
            .then(|| IncludeObject::parse(call.param("includeObject"))),
    };
    // Without a resourceVersion (or with sendInitialEvents) the watch starts with the
    // current objects as ADDED events, as the API does.
    let snapshot_wanted = rv.is_none() || send_initial;
    let started = state.watch_from(if send_initial { None } else { rv }, |store| {
        if snapshot_wanted {
            store.list_owned(store_key, target.namespace.as_deref())
        } else {
            Vec::new()
        }
    });
    let mut pending = VecDeque::new();
    let (start, snapshot) = match started {
        Ok(ok) => ok,
        Err(oldest) => {
            let status = ApiStatus::new(
                Reason::Expired,
                format!("too old resource version: {} ({oldest})", rv.unwrap_or(0)),
            );
            let mut line =
                serde_json::to_vec(&json!({"type": "ERROR", "object": status.to_value()}))
                    .unwrap_or_default();
            line.push(b'\n');
            return Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                line,
            )
                .into_response());
        }
    };
    for object in snapshot.iter().filter(|o| filter.selects(o)) {
        pending.push_back(filter.line(ChangeType::Added.as_str(), object));
    }
    if send_initial && bookmarks {
        pending.push_back(filter.bookmark(start.rv, true));
    }
    for change in &start.replay {
        if let Some(line) = filter.render(change) {
            pending.push_back(line);
        }
    }
    let stream = Stream {
        pending,
        feed: start.feed,
        filter,
        stop: state.stopped(),
        deadline: Instant::now() + Duration::from_secs(timeout),
        done: false,
        _slot: slot,
    };
    let body = futures_util::stream::unfold(stream, next);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

async fn next(mut s: Stream) -> Option<(Result<Bytes, Infallible>, Stream)> {
    loop {
        if let Some(line) = s.pending.pop_front() {
            return Some((Ok(line), s));
        }
        if s.done || *s.stop.borrow() {
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(s.deadline) => s.done = true,
            changed = s.stop.changed() => {
                if changed.is_err() || *s.stop.borrow() {
                    s.done = true;
                }
            }
            received = s.feed.recv() => match received {
                Ok(change) => {
                    if let Some(line) = s.filter.render(&change) {
                        s.pending.push_back(line);
                    }
                }
                // A watcher that fell behind is closed; it resumes from its last version.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => s.done = true,
            },
        }
    }
}
