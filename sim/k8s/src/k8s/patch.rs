//! The three patch formats the API accepts: JSON merge patch (RFC 7386), strategic merge
//! patch (Kubernetes' own, for built-in kinds) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

/// A patch body's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Strategic,
    Json,
    /// Server-side apply; refused with 415 (the simulator does not track field managers).
    Apply,
}

impl PatchKind {
    /// The format named by a `Content-Type` header value, ignoring parameters.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

/// Applies `body` to `original`; the error is a message for a 422/400 answer.
pub fn apply(kind: PatchKind, original: &Value, body: &[u8]) -> Result<Value, String> {
    match kind {
        PatchKind::Merge => {
            let patch: Value = parse(body)?;
            if !patch.is_object() {
                return Err("a merge patch must be a JSON object".to_owned());
            }
            let mut doc = original.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        PatchKind::Strategic => {
            let patch: Value = parse(body)?;
            if !patch.is_object() {
                return Err("a strategic merge patch must be a JSON object".to_owned());
            }
            strategic_merge(original, &patch)
        }
        PatchKind::Json => {
            let patch: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| format!("invalid JSON patch: {e}"))?;
            let mut doc = original.clone();
            json_patch::patch(&mut doc, &patch.0)
                .map_err(|e| format!("the JSON patch failed: {e}"))?;
            Ok(doc)
        }
        PatchKind::Apply => Err("apply patches are not supported".to_owned()),
    }
}

fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON in the patch body: {e}"))
}

/// The merge key of a list field of a built-in kind, by the field's name: lists with a
/// key are merged item by item; lists without one are replaced.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "readinessGates" => Some("conditionType"),
        // Container ports are keyed by containerPort, Service ports by port.
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                Some("containerPort")
            } else {
                Some("port")
            }
        }
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" | "addresses" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        _ => None,
    }
}

/// Primitive lists whose patch strategy is "merge" (a set union).
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a strategic merge patch.
pub fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, String> {
    match merge_map(original.as_object(), patch)? {
        Some(map) => Ok(Value::Object(map)),
        None => Ok(Value::Object(Map::new())),
    }
}

/// Merges a patch object into an original object; `None` when the patch deletes the map.
fn merge_map(
    original: Option<&Map<String, Value>>,
    patch: &Value,
) -> Result<Option<Map<String, Value>>, String> {
    let Some(patch) = patch.as_object() else {
        return Err("expected an object in the patch".to_owned());
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => return Ok(Some(without_directives(patch))),
        Some("delete") => return Ok(None),
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch directive {other:?}")),
    }
    let mut out = original.cloned().unwrap_or_default();
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key.starts_with("$setElementOrder/") || key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let drop: Vec<&Value> = value
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            if let Some(Value::Array(items)) = out.get_mut(field) {
                items.retain(|i| !drop.contains(&i));
            }
            continue;
        }
        if key.starts_with('$') {
            return Err(format!("unknown patch directive {key:?}"));
        }
        match value {
            Value::Null => {
                out.remove(key);
            }
            Value::Object(_) => {
                let merged = merge_map(out.get(key).and_then(Value::as_object), value)?;
                match merged {
                    Some(map) => {
                        out.insert(key.clone(), Value::Object(map));
                    }
                    None => {
                        out.remove(key);
                    }
                }
            }
            Value::Array(items) => {
                let merged = merge_list(key, out.get(key).and_then(Value::as_array), items)?;
                out.insert(key.clone(), Value::Array(merged));
            }
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(Some(out))
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn merge_list(
    field: &str,
    original: Option<&Vec<Value>>,
    patch: &[Value],
) -> Result<Vec<Value>, String> {
    // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
    let replace = patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    if replace {
        return Ok(patch
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .cloned()
            .collect());
    }
    let original = original.cloned().unwrap_or_default();
    if merges_primitives(field) {
        let mut out = original;
        for item in patch {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Ok(out);
    }
    let Some(key) = merge_key(field, patch).or_else(|| merge_key(field, &original)) else {
        return Ok(patch.to_vec());
    };
    let mut out = original;
    for item in patch {
        let Some(item_map) = item.as_object() else {
            return Err(format!(
                "{field}: expected objects in a list merged by {key:?}"
            ));
        };
        let Some(id) = item_map.get(key) else {
            return Err(format!("{field}: an element has no merge key {key:?}"));
        };
        let position = out.iter().position(|o| o.get(key) == Some(id));
        let delete = item_map.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => match merge_map(out[i].as_object(), item)? {
                Some(map) => out[i] = Value::Object(map),
                None => {
                    out.remove(i);
                }
            },
            (None, false) => out.push(Value::Object(without_directives(item_map))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(original: Value, patch: Value) -> Value {
        strategic_merge(&original, &patch).unwrap()
    }

    #[test]
    fn containers_merge_by_name() {
        let original = json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "sidecar", "image": "s:1"}
        ]}});
        let out = smp(
            original,
            json!({"spec": {"containers": [{"name": "app", "image": "a:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"containers": [
                {"name": "app", "image": "a:2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
                {"name": "sidecar", "image": "s:1"}
            ]}})
        );
    }

    #[test]
    fn directives() {
        let original = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                              "metadata": {"labels": {"x": "1", "y": "2"}, "finalizers": ["f1"]}});
        let out = smp(
            original.clone(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));
        let out = smp(
            original.clone(),
            json!({"metadata": {"labels": {"$patch": "replace", "z": "3"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"z": "3"}));
        let out = smp(
            original.clone(),
            json!({"metadata": {"labels": {"x": null}, "finalizers": ["f2"]}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"y": "2"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["f1", "f2"]));
        let out = smp(
            original.clone(),
            json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "c"}]));
        let out = smp(
            original.clone(),
            json!({"$setElementOrder/finalizers": ["f1"], "metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!([]));
        assert!(
            strategic_merge(
                &original,
                &json!({"spec": {"containers": [{"image": "x"}]}})
            )
            .is_err()
        );
        assert!(strategic_merge(&original, &json!({"$bogus": 1})).is_err());
    }

    #[test]
    fn conditions_merge_by_type_and_unkeyed_lists_replace() {
        let original = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]},
                              "spec": {"tolerations": [{"key": "a"}], "ports": [{"port": 80, "name": "http"}]}});
        let out = smp(
            original,
            json!({"status": {"conditions": [{"type": "MemoryPressure", "status": "True"}]},
                                       "spec": {"tolerations": [{"key": "b"}], "ports": [{"port": 443, "name": "https"}]}}),
        );
        assert_eq!(
            out["status"]["conditions"][1],
            json!({"type": "MemoryPressure", "status": "True"})
        );
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "b"}]));
        assert_eq!(out["spec"]["ports"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn formats() {
        let original = json!({"spec": {"replicas": 3, "paused": true}});
        let merged = apply(
            PatchKind::Merge,
            &original,
            br#"{"spec": {"replicas": 5, "paused": null}}"#,
        )
        .unwrap();
        assert_eq!(merged, json!({"spec": {"replicas": 5}}));
        let patched = apply(
            PatchKind::Json,
            &original,
            br#"[{"op": "replace", "path": "/spec/replicas", "value": 1}]"#,
        )
        .unwrap();
        assert_eq!(patched["spec"]["replicas"], 1);
        assert!(
            apply(
                PatchKind::Json,
                &original,
                br#"[{"op": "test", "path": "/spec/replicas", "value": 9}]"#
            )
            .is_err()
        );
        assert!(apply(PatchKind::Merge, &original, b"[1]").is_err());
        assert!(apply(PatchKind::Strategic, &original, b"{").is_err());
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchKind::Merge)
        );
        assert_eq!(PatchKind::from_content_type("text/plain"), None);
    }
}
