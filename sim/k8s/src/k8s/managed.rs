//! `metadata.managedFields` on writes, as the API server keeps them for `Update` operations:
//! one entry per manager (and subresource) with the fields it set, in the `FieldsV1` format
//! (`f:` keys for fields, `k:{"name":...}` for list items keyed by name, atomic lists as
//! leaves), and the `time` of its last change. A write changing nothing leaves them alone;
//! fields a manager takes over leave the other managers' entries. The manager is the
//! request's `fieldManager`, else its user agent up to the first `/` (`kubectl`, `kube-rs`).
//! Server-side apply is not simulated, so every entry is an `Update`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A field path: `f:`/`k:` keys from the object's root.
type Path = Vec<String>;

/// What the write that is about to happen is: who writes, through which subresource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub manager: String,
    /// `status` or `scale`, or none for the object itself.
    pub subresource: Option<&'static str>,
}

impl Writer {
    /// The manager of a request: `fieldManager`, else the user agent up to the first `/`.
    pub fn of_request(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
        let name = field_manager
            .filter(|m| !m.is_empty())
            .or_else(|| {
                user_agent
                    .and_then(|u| u.split('/').next())
                    .filter(|u| !u.is_empty())
            })
            .unwrap_or("unknown");
        name.chars().take(128).collect()
    }
}

/// Records on `new` (about to be stored over `old`, or created when `old` is `None`) the
/// fields `writer` changed, at `now`.
pub fn record(old: Option<&Value>, new: &mut Value, writer: &Writer, now: &str) {
    let mut entries: Vec<Value> = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let status_write = writer.subresource == Some("status");
    let strip = |v: Option<&Value>| v.map(|v| comparable(v, status_write));
    let (before, after) = (strip(old), strip(Some(new)));
    let mut changed = BTreeSet::new();
    if let Some(after) = &after {
        diff(before.as_ref(), after, &mut Vec::new(), &mut changed);
    }
    if !changed.is_empty() {
        merge(&mut entries, writer, new, &changed, now);
    }
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

/// The part of an object a manager can own: no server-set metadata, and only `status` for
/// a status write (and no `status` otherwise).
fn comparable(v: &Value, status_write: bool) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if status_write {
            map.retain(|k, _| k == "status");
        } else {
            map.remove("status");
        }
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "name",
                "namespace",
                "selfLink",
            ] {
                meta.remove(k);
            }
        }
    }
    v
}

/// Collects the leaf paths where `new` differs from `old` (fields present in `new` only).
fn diff(old: Option<&Value>, new: &Value, at: &mut Path, out: &mut BTreeSet<Path>) {
    if old == Some(new) {
        return;
    }
    match new {
        Value::Object(map) => {
            let before = old.and_then(Value::as_object);
            for (k, child) in map {
                at.push(format!("f:{k}"));
                diff(before.and_then(|b| b.get(k)), child, at, out);
                at.pop();
            }
            if map.is_empty() && !at.is_empty() && at.as_slice() != ["f:metadata"] {
                out.insert(at.clone());
            }
        }
        Value::Array(items) if keyed(items) => {
            let before: Vec<Value> = old.and_then(Value::as_array).cloned().unwrap_or_default();
            for item in items {
                let key = item.get("name").cloned().unwrap_or(Value::Null);
                let prev = before.iter().find(|b| b.get("name") == Some(&key));
                at.push(format!("k:{}", json!({"name": key})));
                diff(prev, item, at, out);
                at.pop();
            }
        }
        _ if !at.is_empty() => {
            out.insert(at.clone());
        }
        _ => {}
    }
}

/// A list whose items are objects with a `name`: merged by name, as containers, env and
/// ports are.
fn keyed(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("name").is_some_and(Value::is_string))
}

/// Adds `changed` to `writer`'s entry (made if missing) and removes it from the others.
fn merge(
    entries: &mut Vec<Value>,
    writer: &Writer,
    new: &Value,
    changed: &BTreeSet<Path>,
    now: &str,
) {
    let api_version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("v1");
    let mine = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(writer.manager.as_str())
            && e.get("operation").and_then(Value::as_str) == Some("Update")
            && e.get("subresource").and_then(Value::as_str) == writer.subresource
    };
    for e in entries.iter_mut().filter(|e| !mine(e)) {
        let mut paths = paths_of(e.get("fieldsV1"));
        paths.retain(|p| !changed.iter().any(|c| p.starts_with(c) || c.starts_with(p)));
        e["fieldsV1"] = tree(&paths);
    }
    entries.retain(|e| {
        mine(e)
            || e.get("fieldsV1")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    });
    let mut paths = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| paths_of(e.get("fieldsV1")))
        .unwrap_or_default();
    paths.extend(changed.iter().cloned());
    let mut entry = json!({
        "manager": writer.manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": tree(&paths),
    });
    if let Some(sub) = writer.subresource {
        entry["subresource"] = json!(sub);
    }
    match entries.iter_mut().find(|e| mine(e)) {
        Some(e) => *e = entry,
        None => entries.push(entry),
    }
}

/// The leaf paths of a `FieldsV1` tree.
fn paths_of(tree: Option<&Value>) -> BTreeSet<Path> {
    fn walk(v: &Value, at: &mut Path, out: &mut BTreeSet<Path>) {
        let Some(map) = v.as_object() else { return };
        let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
        if children.is_empty() {
            if !at.is_empty() {
                out.insert(at.clone());
            }
            return;
        }
        for (k, child) in children {
            at.push(k.clone());
            walk(child, at, out);
            at.pop();
        }
    }
    let mut out = BTreeSet::new();
    if let Some(t) = tree {
        walk(t, &mut Vec::new(), &mut out);
    }
    out
}

/// A `FieldsV1` tree of leaf paths; list items (`k:`) also own themselves (`.`).
fn tree(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut node = &mut root;
        for (i, key) in p.iter().enumerate() {
            let child = node.entry(key.clone()).or_insert_with(|| json!({}));
            let Some(map) = child.as_object_mut() else {
                break;
            };
            if key.starts_with("k:") && i + 1 < p.len() {
                map.entry(".").or_insert_with(|| json!({}));
            }
            node = map;
        }
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn writer(m: &str) -> Writer {
        Writer {
            manager: m.into(),
            subresource: None,
        }
    }

    #[test]
    fn a_write_records_what_changed_by_whom_and_when() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1"},
                         "data": {"a": "1", "b": "2"}});
        let mut new = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1"},
                             "data": {"a": "1", "b": "3", "c": "4"}});
        record(
            Some(&old),
            &mut new,
            &writer("kubectl-edit"),
            "2026-01-01T00:00:00Z",
        );
        let mf = &new["metadata"]["managedFields"];
        assert_eq!(mf.as_array().unwrap().len(), 1, "{mf}");
        assert_eq!(mf[0]["manager"], "kubectl-edit");
        assert_eq!(mf[0]["time"], "2026-01-01T00:00:00Z");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:b": {}, "f:c": {}}}));
        // Nothing changed: nothing recorded, the earlier entry kept.
        let again = new.clone();
        let mut same = new.clone();
        record(
            Some(&again),
            &mut same,
            &writer("kube-rs"),
            "2026-01-01T00:01:00Z",
        );
        assert_eq!(same["metadata"]["managedFields"], *mf);
        // Another manager takes over b: it leaves kubectl-edit's entry.
        let mut third = new.clone();
        third["data"]["b"] = json!("9");
        record(
            Some(&new),
            &mut third,
            &writer("kube-rs"),
            "2026-01-01T00:02:00Z",
        );
        let mf = third["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:c": {}}}));
        assert_eq!(mf[1]["fieldsV1"], json!({"f:data": {"f:b": {}}}));
    }

    #[test]
    fn list_items_are_keyed_by_name_and_status_writes_are_their_own() {
        let old = json!({"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1", "env": [{"name": "POOL", "value": "50"}]}]}}}, "status": {"replicas": 1}});
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = json!("10");
        new["status"]["replicas"] = json!(2);
        record(Some(&old), &mut new, &writer("kubectl-set"), "t1");
        let fields = &new["metadata"]["managedFields"][0]["fieldsV1"];
        assert_eq!(
            fields,
            &json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:env": {"k:{\"name\":\"POOL\"}": {".": {}, "f:value": {}}}}}}}}})
        );
        let mut st = new.clone();
        st["status"]["replicas"] = json!(3);
        let w = Writer {
            manager: "kube-controller-manager".into(),
            subresource: Some("status"),
        };
        record(Some(&new), &mut st, &w, "t2");
        let mf = st["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[1]["subresource"], "status");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    }

    #[test]
    fn the_manager_comes_from_the_request() {
        assert_eq!(
            Writer::of_request(Some("kubectl-edit"), Some("kubectl/v1.32")),
            "kubectl-edit"
        );
        assert_eq!(
            Writer::of_request(None, Some("kubectl/v1.32.0 (linux/amd64)")),
            "kubectl"
        );
        assert_eq!(Writer::of_request(Some(""), None), "unknown");
    }
}
