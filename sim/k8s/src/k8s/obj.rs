//! Small accessors over objects held as JSON values.

use serde_json::{Map, Value};

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

pub fn i64_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace").unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid").unwrap_or("")
}

pub fn kind(obj: &Value) -> &str {
    str_at(obj, "/kind").unwrap_or("")
}

/// The labels (empty when there are none).
pub fn labels(obj: &Value) -> Map<String, Value> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// The mutable object at `path`, creating empty objects along the way (and replacing
/// anything in the way that is not an object). `None` only if `obj` cannot hold one.
pub fn object_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut here = obj;
    for key in path {
        here = ensure_object(here)?
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    ensure_object(here)
}

fn ensure_object(value: &mut Value) -> Option<&mut Map<String, Value>> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut()
}

/// Sets `value` at `path` (the last element is the key), creating objects on the way.
pub fn set(obj: &mut Value, path: &[&str], value: Value) {
    if let Some((last, parents)) = path.split_last()
        && let Some(map) = object_mut(obj, parents)
    {
        map.insert((*last).to_owned(), value);
    }
}

/// Removes the key at `path`, if present.
pub fn remove(obj: &mut Value, path: &[&str]) {
    if let Some((last, parents)) = path.split_last() {
        let mut here = Some(&mut *obj);
        for key in parents {
            here = here.and_then(|v| v.get_mut(*key));
        }
        if let Some(Value::Object(map)) = here {
            map.remove(*last);
        }
    }
}

/// The owner reference with `controller: true`, if any: (kind, name, uid).
pub fn controller_of(obj: &Value) -> Option<(&str, &str, &str)> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| {
            (
                r.get("kind").and_then(Value::as_str).unwrap_or(""),
                r.get("name").and_then(Value::as_str).unwrap_or(""),
                r.get("uid").and_then(Value::as_str).unwrap_or(""),
            )
        })
}

/// An owner reference making `owner` the controller of its dependents.
pub fn controller_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": str_at(owner, "/apiVersion").unwrap_or(""),
        "kind": kind(owner),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether `obj` is controlled by the object with this uid.
pub fn controlled_by(obj: &Value, owner_uid: &str) -> bool {
    controller_of(obj).is_some_and(|(_, _, uid)| uid == owner_uid)
}

/// Drops nulls, empty objects and empty arrays, recursively, so that two templates that
/// differ only in how their client serialised "nothing" compare equal.
pub fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

/// A string map (labels, selectors) as `k=v,k2=v2`, sorted by key.
pub fn map_string(map: Option<&Value>) -> String {
    let Some(Value::Object(map)) = map else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}
