//! The read verbs: get and list (with selectors, paging, Tables and metadata-only
//! answers), the metrics reads, and collection deletes (which are a list, then deletes).

use axum::response::Response;
use serde_json::{Value, json};

use super::handlers::{Call, json_response};
use super::metrics;
use super::obj;
use super::path::Target;
use super::resources::{ResourceType, Storage};
use super::selectors::{FieldSelector, LabelSelector};
use super::state::KubeState;
use super::status::ApiStatus;
use super::store::Store;
use super::table::{self, IncludeObject};
use super::write;
use axum::http::StatusCode;

/// The selectors of a list or watch request, checked against the resource.
#[derive(Debug, Clone)]
pub struct Selection {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selection {
    pub fn from_call(call: &Call, rt: &ResourceType) -> Result<Self, ApiStatus> {
        let labels = LabelSelector::parse(call.param("labelSelector").unwrap_or(""))
            .map_err(ApiStatus::bad_request)?;
        let fields = FieldSelector::parse(call.param("fieldSelector").unwrap_or(""), rt)
            .map_err(ApiStatus::bad_request)?;
        Ok(Selection { labels, fields })
    }

    /// Whether a stored object is selected (fields are matched on the stored shape).
    pub fn matches(&self, object: &Value, rt: &ResourceType) -> bool {
        self.labels.matches_object(object) && self.fields.matches(object, rt)
    }
}

/// The stored objects a list selects, in namespace/name order.
fn selected(store: &Store, target: &Target, selection: &Selection) -> Vec<Value> {
    let rt = target.rt;
    let now = store.now();
    let candidates: Vec<Value> = match (rt.storage, rt.kind) {
        (Storage::Metrics, "PodMetrics") => {
            metrics::pod_metrics(store, target.namespace.as_deref(), now)
        }
        (Storage::Metrics, _) => metrics::node_metrics(store, now),
        (Storage::Own(key), _) => store.list_owned(key, target.namespace.as_deref()),
        (Storage::Converted(key, _), _) => store.list_owned(key, target.namespace.as_deref()),
    };
    candidates
        .into_iter()
        .filter(|o| selection.matches(o, rt))
        .collect()
}

/// `GET` on a collection.
pub fn list(state: &KubeState, target: &Target, call: &Call) -> Result<Response, ApiStatus> {
    let rt = target.rt;
    let selection = Selection::from_call(call, rt)?;
    let (objects, rv, now) = state.read(|s| {
        (
            selected(s, target, &selection),
            s.resource_version(),
            s.now(),
        )
    });
    let limit = call
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let start = match call.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiStatus::bad_request(format!("invalid continue token {token:?}")))?,
        None => 0,
    };
    let end = limit.map_or(objects.len(), |l| {
        start.saturating_add(l).min(objects.len())
    });
    let page: Vec<Value> = objects
        .get(start.min(end)..end)
        .unwrap_or_default()
        .to_vec();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if end < objects.len() {
        metadata["continue"] = json!(end.to_string());
        metadata["remainingItemCount"] = json!(objects.len() - end);
    }
    if call.wants_table() {
        let include = IncludeObject::parse(call.param("includeObject"));
        let mut t = table::table(rt, &page, &rv.to_string(), include, now);
        t["metadata"] = metadata;
        return Ok(json_response(StatusCode::OK, &t));
    }
    if call.wants_metadata() {
        let items: Vec<Value> = page
            .iter()
            .map(|o| partial(&write::to_api(rt, o.clone())))
            .collect();
        return Ok(json_response(
            StatusCode::OK,
            &json!({
            "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata, "items": items}),
        ));
    }
    let items: Vec<Value> = page.into_iter().map(|o| write::to_api(rt, o)).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": metadata,
            "items": items,
        }),
    ))
}

fn partial(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": object.get("metadata").cloned().unwrap_or(json!({}))})
}

/// `GET` on one object (or its status).
pub fn get(
    state: &KubeState,
    target: &Target,
    name: &str,
    call: &Call,
) -> Result<Response, ApiStatus> {
    let rt = target.rt;
    let (stored, rv, now) = state.read(|s| {
        let found = match rt.storage {
            Storage::Metrics => selected(
                s,
                target,
                &Selection {
                    labels: LabelSelector::default(),
                    fields: FieldSelector::default(),
                },
            )
            .into_iter()
            .find(|o| obj::name(o) == name)
            .ok_or_else(|| ApiStatus::not_found(rt.group, rt.plural, name)),
            Storage::Own(key) | Storage::Converted(key, _) => s
                .get(key, target.namespace(), name)
                .cloned()
                .ok_or_else(|| ApiStatus::not_found(rt.group, rt.plural, name)),
        };
        (found, s.resource_version(), s.now())
    });
    let stored = stored?;
    if call.wants_table() {
        let include = IncludeObject::parse(call.param("includeObject"));
        return Ok(json_response(
            StatusCode::OK,
            &table::table(rt, &[stored], &rv.to_string(), include, now),
        ));
    }
    let object = write::to_api(rt, stored);
    if call.wants_metadata() {
        return Ok(json_response(StatusCode::OK, &partial(&object)));
    }
    Ok(json_response(StatusCode::OK, &object))
}

/// `DELETE` on a collection: every selected object, one by one.
pub fn delete_collection(
    state: &KubeState,
    target: &Target,
    call: &Call,
) -> Result<Response, ApiStatus> {
    let rt = target.rt;
    let selection = Selection::from_call(call, rt)?;
    let dry = call.collection_dry_run()?;
    let deleted = state.write(dry, |store| {
        let victims = selected(store, target, &selection);
        let mut out = Vec::new();
        for v in victims {
            let answer = write::delete(
                store,
                rt,
                obj::namespace(&v),
                obj::name(&v),
                &write::DeleteOptions::default(),
            )?;
            if answer.get("kind").and_then(Value::as_str) != Some("Status") {
                out.push(write::to_api(rt, answer));
            }
        }
        Ok(out)
    })?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": {},
            "items": deleted,
        }),
    ))
}
