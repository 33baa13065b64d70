//! The write verbs on the store: create, update, patch and delete, with the API's validation
//! and optimistic concurrency. Each returns the object as the API would answer it; the caller
//! runs controllers (or drops the copy, for dry runs). Also what the reads share with them:
//! a resource type's storage key ([`store_key`]), one object by name ([`get`]) and the stored
//! object in the API's shape ([`to_api`]).

use serde_json::{Value, json};

use super::events::{self, EventType, Source};
use super::obj;
use super::patch::{self, PatchKind};
use super::pods;
use super::resources::{ResourceType, Storage};
use super::status::{ApiStatus, Reason};
use super::store::Store;

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The object itself; its `status` is kept as stored when the kind has a status
    /// subresource.
    Main,
    /// `/status`: only `status` changes.
    Status,
}

/// The storage key of a writable resource type.
pub fn store_key(rt: &ResourceType) -> Result<&'static str, ApiStatus> {
    rt.store_key().ok_or_else(|| {
        ApiStatus::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            rt.plural
        ))
    })
}

/// The object in the API's shape for `rt` (events.k8s.io events are converted).
pub fn to_api(rt: &ResourceType, stored: Value) -> Value {
    match rt.storage {
        Storage::Converted(_, view) => super::convert::to_view(view, &stored),
        Storage::Own(_) | Storage::Metrics => stored,
    }
}

fn from_api(rt: &ResourceType, api: Value) -> Value {
    match rt.storage {
        Storage::Converted(_, view) => super::convert::from_view(view, &api),
        Storage::Own(_) | Storage::Metrics => api,
    }
}

/// Reads one object in the API's shape, or a 404.
pub fn get(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    store
        .get(key, namespace, name)
        .cloned()
        .map(|o| to_api(rt, o))
        .ok_or_else(|| ApiStatus::not_found(rt.group, rt.plural, name))
}

fn has_status(rt: &ResourceType) -> bool {
    rt.subresources.iter().any(|s| s.name == "status")
}

/// Checks `apiVersion` and `kind` of a body against the resource, filling them if absent.
fn check_type(rt: &ResourceType, body: &mut Value) -> Result<(), ApiStatus> {
    if !body.is_object() {
        return Err(ApiStatus::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let want = rt.api_version();
    match obj::str_at(body, "/apiVersion") {
        Some(v) if v != want => {
            return Err(ApiStatus::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        Some(_) => {}
        None => body["apiVersion"] = json!(want),
    }
    match obj::str_at(body, "/kind") {
        Some(k) if k != rt.kind => {
            return Err(ApiStatus::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        Some(_) => {}
        None => body["kind"] = json!(rt.kind),
    }
    Ok(())
}

/// Creates an object from an API request.
pub fn create(
    store: &mut Store,
    rt: &ResourceType,
    namespace: &str,
    mut body: Value,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    check_type(rt, &mut body)?;
    let mut object = from_api(rt, body);
    if obj::name(&object).is_empty() {
        match obj::str_at(&object, "/metadata/generateName").map(str::to_owned) {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", store.suffix(5));
                obj::set(&mut object, &["metadata", "name"], json!(name));
            }
            _ => {
                return Err(ApiStatus::invalid(
                    rt.kind,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        }
    }
    let name = obj::name(&object).to_owned();
    if rt.namespaced {
        match obj::str_at(&object, "/metadata/namespace") {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiStatus::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj::set(&mut object, &["metadata", "namespace"], json!(namespace)),
        }
        if store.get("namespaces", "", namespace).is_none() {
            return Err(ApiStatus::not_found("", "namespaces", namespace));
        }
    } else {
        obj::remove(&mut object, &["metadata", "namespace"]);
    }
    if obj::str_at(&object, "/metadata/resourceVersion").is_some_and(|v| !v.is_empty()) {
        return Err(ApiStatus::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if store.get(key, namespace_of(rt, namespace), &name).is_some() {
        return Err(ApiStatus::already_exists(rt.group, rt.plural, &name));
    }
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        obj::remove(&mut object, &["metadata", field]);
    }
    if has_status(rt) && rt.kind != "Node" {
        obj::remove(&mut object, &["status"]);
    }
    super::validate::validate(rt, &object, None)?;
    default(store, rt, &mut object);
    obj::remove(&mut object, &["metadata", "managedFields"]);
    note_writer(store, None, &mut object);
    if rt.kind == "Pod" {
        let uid = store.uid();
        obj::set(&mut object, &["metadata", "uid"], json!(uid));
        let now = store.now_string();
        obj::set(&mut object, &["metadata", "creationTimestamp"], json!(now));
        pods::admit(store, &mut object);
    }
    let stored = store.insert_new(key, object);
    Ok(to_api(rt, stored))
}

fn namespace_of<'a>(rt: &ResourceType, namespace: &'a str) -> &'a str {
    if rt.namespaced { namespace } else { "" }
}

/// Defaults the API server fills on create.
fn default(store: &mut Store, rt: &ResourceType, object: &mut Value) {
    super::defaults::apply(rt.kind, object);
    match rt.kind {
        "Service"
            if object.pointer("/spec/clusterIP").is_none()
                && obj::str_at(object, "/spec/type") != Some("ExternalName") =>
        {
            let n = store.next_counter();
            let ip = format!("172.20.{}.{}", (n / 250) % 250, 10 + n % 240);
            obj::set(object, &["spec", "clusterIP"], json!(ip));
            obj::set(object, &["spec", "clusterIPs"], json!([ip]));
        }
        "Namespace" => {
            obj::set(object, &["status", "phase"], json!("Active"));
            let name = obj::name(object).to_owned();
            obj::set(
                object,
                &["metadata", "labels", "kubernetes.io/metadata.name"],
                json!(name),
            );
        }
        "PersistentVolumeClaim" if object.pointer("/status/phase").is_none() => {
            obj::set(object, &["status", "phase"], json!("Pending"));
        }
        _ => {}
    }
}

/// Replaces an object (PUT), or its status.
pub fn update(
    store: &mut Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    mut body: Value,
    part: Part,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    check_type(rt, &mut body)?;
    let body = from_api(rt, body);
    let namespace = namespace_of(rt, namespace);
    let Some(old) = store.get(key, namespace, name).cloned() else {
        return Err(ApiStatus::not_found(rt.group, rt.plural, name));
    };
    if obj::name(&body) != name {
        return Err(ApiStatus::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            obj::name(&body)
        )));
    }
    match obj::str_at(&body, "/metadata/resourceVersion") {
        None | Some("") => {
            return Err(ApiStatus::invalid(
                rt.kind,
                name,
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            ));
        }
        Some(rv) if Some(rv) != obj::str_at(&old, "/metadata/resourceVersion") => {
            return Err(ApiStatus::conflict(rt.group, rt.plural, name));
        }
        Some(_) => {}
    }
    write_over(store, rt, key, &old, body, part)
}

/// Stores `new` in place of `old` for a write to `part`, keeping what the API keeps.
fn write_over(
    store: &mut Store,
    rt: &ResourceType,
    key: &'static str,
    old: &Value,
    mut new: Value,
    part: Part,
) -> Result<Value, ApiStatus> {
    let name = obj::name(old).to_owned();
    if obj::name(&new) != name || obj::namespace(&new) != obj::namespace(old) {
        return Err(ApiStatus::bad_request(format!(
            "the name or namespace of {} \"{name}\" cannot change",
            rt.kind
        )));
    }
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
    ] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(v) => obj::set(&mut new, &["metadata", field], v.clone()),
            None => obj::remove(&mut new, &["metadata", field]),
        }
    }
    let new = match part {
        Part::Main if has_status(rt) => {
            let mut kept = new;
            match old.get("status") {
                Some(status) => obj::set(&mut kept, &["status"], status.clone()),
                None => obj::remove(&mut kept, &["status"]),
            }
            kept
        }
        Part::Main => new,
        Part::Status => {
            let mut kept = old.clone();
            match new.get("status") {
                Some(status) => obj::set(&mut kept, &["status"], status.clone()),
                None => obj::remove(&mut kept, &["status"]),
            }
            kept
        }
    };
    super::validate::validate(rt, &new, Some(old))?;
    if rt.kind == "Node" {
        note_schedulability(store, old, &new);
    }
    let mut new = new;
    note_writer(store, Some(old), &mut new);
    let stored = store.replace(key, new);
    Ok(to_api(rt, stored))
}

/// Records in `managedFields` what the request's writer changed (nothing for the
/// simulator's own writes, which have no writer).
pub fn note_writer(store: &mut Store, old: Option<&Value>, new: &mut Value) {
    if let Some(writer) = store.writer.take() {
        let now = store.now_string();
        super::managed::record(old, new, &writer, &now);
    }
}

/// Records the kubelet's NodeNotSchedulable/NodeSchedulable event on a cordon change.
fn note_schedulability(store: &mut Store, old: &Value, new: &Value) {
    let flag = |n: &Value| n.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true);
    if flag(old) == flag(new) {
        return;
    }
    let status = if flag(new) {
        "NodeNotSchedulable"
    } else {
        "NodeSchedulable"
    };
    let node = obj::name(new).to_owned();
    let message = format!("Node {node} status is now: {status}");
    let source = Source {
        component: "kubelet",
        host: Some(&node),
    };
    events::record(store, new, EventType::Normal, status, &message, source);
}

/// Applies a patch to an object or its status.
pub fn patch(
    store: &mut Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    part: Part,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    if kind == PatchKind::Apply {
        return Err(ApiStatus::new(
            Reason::UnsupportedMediaType,
            "the simulator does not support server-side apply; use a merge, strategic merge or JSON patch",
        ));
    }
    let namespace = namespace_of(rt, namespace);
    let Some(old) = store.get(key, namespace, name).cloned() else {
        return Err(ApiStatus::not_found(rt.group, rt.plural, name));
    };
    let current = to_api(rt, old.clone());
    let patched = patch::apply(kind, &current, body)
        .map_err(|message| patch_error(rt, name, kind, message))?;
    let old_rv = obj::str_at(&old, "/metadata/resourceVersion");
    match obj::str_at(&patched, "/metadata/resourceVersion") {
        Some(rv) if !rv.is_empty() && Some(rv) != old_rv => {
            return Err(ApiStatus::conflict(rt.group, rt.plural, name));
        }
        _ => {}
    }
    let mut patched = from_api(rt, patched);
    if obj::kind(&patched) != rt.kind {
        return Err(ApiStatus::bad_request(
            "a patch may not change the kind of an object",
        ));
    }
    obj::set(
        &mut patched,
        &["metadata", "resourceVersion"],
        json!(old_rv.unwrap_or("")),
    );
    write_over(store, rt, key, &old, patched, part)
}

/// A malformed patch body is a 400; a patch that does not apply (a failed JSON-patch
/// `test`, a bad path) is a 422, as the API answers.
fn patch_error(rt: &ResourceType, name: &str, kind: PatchKind, message: String) -> ApiStatus {
    let malformed =
        message.starts_with("invalid JSON") || message.contains("must be a JSON object");
    if malformed || kind == PatchKind::Strategic {
        ApiStatus::bad_request(message)
    } else {
        ApiStatus::invalid(rt.kind, name, message)
    }
}

/// What a DELETE asks beyond the target.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (which may be empty).
    pub fn from_body(body: &Value) -> Self {
        DeleteOptions {
            propagation: obj::str_at(body, "/propagationPolicy").map(str::to_owned),
            grace_period_seconds: obj::i64_at(body, "/gracePeriodSeconds"),
            precondition_uid: obj::str_at(body, "/preconditions/uid").map(str::to_owned),
            precondition_rv: obj::str_at(body, "/preconditions/resourceVersion").map(str::to_owned),
        }
    }
}

/// Deletes an object. Pods and namespaces answer with the object marked for deletion
/// (as the API does for graceful deletions); other kinds with a success Status.
pub fn delete(
    store: &mut Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    options: &DeleteOptions,
) -> Result<Value, ApiStatus> {
    let key = store_key(rt)?;
    let namespace = namespace_of(rt, namespace);
    let Some(old) = store.get(key, namespace, name).cloned() else {
        return Err(ApiStatus::not_found(rt.group, rt.plural, name));
    };
    let uid = obj::uid(&old).to_owned();
    if options.precondition_uid.as_ref().is_some_and(|u| *u != uid) {
        return Err(ApiStatus::new(
            Reason::Conflict,
            format!(
                "Precondition failed: UID in precondition: {}, UID in object meta: {uid}",
                options.precondition_uid.as_deref().unwrap_or("")
            ),
        ));
    }
    if options
        .precondition_rv
        .as_deref()
        .is_some_and(|rv| Some(rv) != obj::str_at(&old, "/metadata/resourceVersion"))
    {
        return Err(ApiStatus::conflict(rt.group, rt.plural, name));
    }
    if options.propagation.as_deref() == Some("Orphan") {
        orphan_dependents(store, &uid);
    }
    let now = store.now_string();
    match rt.kind {
        "Pod" => {
            let grace = options
                .grace_period_seconds
                .or_else(|| obj::i64_at(&old, "/spec/terminationGracePeriodSeconds"))
                .unwrap_or(30);
            pods::kill(store, namespace, name);
            let mut answer = old;
            obj::set(&mut answer, &["metadata", "deletionTimestamp"], json!(now));
            obj::set(
                &mut answer,
                &["metadata", "deletionGracePeriodSeconds"],
                json!(grace),
            );
            Ok(answer)
        }
        "Namespace" => {
            for r in super::resources::RESOURCES.iter().filter(|r| r.namespaced) {
                if let Some(k) = r.store_key() {
                    let names: Vec<String> = store
                        .list(k, Some(name))
                        .map(|o| obj::name(o).to_owned())
                        .collect();
                    for n in names {
                        store.remove(k, name, &n);
                    }
                }
            }
            store.remove(key, "", name);
            let mut answer = old;
            obj::set(&mut answer, &["metadata", "deletionTimestamp"], json!(now));
            obj::set(&mut answer, &["status", "phase"], json!("Terminating"));
            Ok(answer)
        }
        _ => {
            store.remove(key, namespace, name);
            Ok(json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid},
            }))
        }
    }
}

fn orphan_dependents(store: &mut Store, owner_uid: &str) {
    for r in super::resources::RESOURCES {
        let Some(k) = r.store_key() else { continue };
        let dependents: Vec<Value> = store
            .list(k, None)
            .filter(|o| {
                o.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|r| obj::str_at(r, "/uid") == Some(owner_uid))
                    })
            })
            .cloned()
            .collect();
        for mut d in dependents {
            if let Some(refs) = d
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| obj::str_at(r, "/uid") != Some(owner_uid));
            }
            store.replace(k, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::logs::LogBook;
    use super::super::resources::find;
    use super::*;
    use crate::scenario::Metrics;

    fn store() -> Store {
        let mut s = Store::new(3, LogBook::default(), Metrics::default());
        s.insert_new(
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}),
        );
        s
    }

    #[test]
    fn create_validates_and_conflicts() {
        let mut s = store();
        let cms = find("", "v1", "configmaps").unwrap();
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        let created = create(&mut s, cms, "ns", cm.clone()).unwrap();
        assert_eq!(created["kind"], "ConfigMap");
        assert_eq!(
            create(&mut s, cms, "ns", cm.clone()).unwrap_err().reason,
            Reason::AlreadyExists
        );
        assert_eq!(
            create(&mut s, cms, "nope", cm).unwrap_err().reason,
            Reason::NotFound
        );
        let deploys = find("apps", "v1", "deployments").unwrap();
        let bad = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "b"}}}}});
        assert_eq!(
            create(&mut s, deploys, "ns", bad).unwrap_err().reason,
            Reason::Invalid
        );
        let wrong = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
        assert_eq!(
            create(&mut s, cms, "ns", wrong).unwrap_err().reason,
            Reason::BadRequest
        );

        let mut stale = created.clone();
        stale["data"]["a"] = json!("2");
        let fresh = update(&mut s, cms, "ns", "c", stale.clone(), Part::Main).unwrap();
        assert_eq!(fresh["data"]["a"], "2");
        assert_eq!(
            update(&mut s, cms, "ns", "c", stale, Part::Main)
                .unwrap_err()
                .reason,
            Reason::Conflict
        );
        let body = format!(
            r#"{{"metadata": {{"resourceVersion": "{}"}}, "data": {{"b": "x"}}}}"#,
            created["metadata"]["resourceVersion"].as_str().unwrap()
        );
        let err = patch(
            &mut s,
            cms,
            "ns",
            "c",
            PatchKind::Merge,
            body.as_bytes(),
            Part::Main,
        )
        .unwrap_err();
        assert_eq!(err.reason, Reason::Conflict);
        assert_eq!(
            patch(&mut s, cms, "ns", "c", PatchKind::Apply, b"{}", Part::Main)
                .unwrap_err()
                .reason,
            Reason::UnsupportedMediaType
        );
        assert_eq!(
            patch(
                &mut s,
                cms,
                "ns",
                "c",
                PatchKind::Json,
                br#"[{"op": "test", "path": "/data/a", "value": "9"}]"#,
                Part::Main
            )
            .unwrap_err()
            .reason,
            Reason::Invalid
        );
    }

    #[test]
    fn status_writes_touch_only_status() {
        let mut s = store();
        let nodes = find("", "v1", "nodes").unwrap();
        create(
            &mut s,
            nodes,
            "",
            json!({"metadata": {"name": "n1"}, "status": {"conditions": []}}),
        )
        .unwrap();
        let out = patch(
            &mut s,
            nodes,
            "",
            "n1",
            PatchKind::Merge,
            br#"{"spec": {"unschedulable": true}, "status": {"phase": "x"}}"#,
            Part::Main,
        )
        .unwrap();
        assert_eq!(out["spec"]["unschedulable"], true);
        assert!(out["status"].get("phase").is_none());
        let out = patch(
            &mut s,
            nodes,
            "",
            "n1",
            PatchKind::Merge,
            br#"{"spec": {"unschedulable": false}, "status": {"phase": "x"}}"#,
            Part::Status,
        )
        .unwrap();
        assert_eq!(out["spec"]["unschedulable"], true);
        assert_eq!(out["status"]["phase"], "x");
        let cordon_events = s
            .list("events", Some("default"))
            .filter(|e| e["reason"] == "NodeNotSchedulable")
            .count();
        assert_eq!(cordon_events, 1);
    }
}
