//! Structure-aware JSON redaction, in place:
//! - an object key that is credential-like masks its string value (ConfigMap `data`,
//!   annotations, labels, headers, any map); numbers and booleans stay;
//! - an entry whose `name` (or `key`, `ParameterKey`) is credential-like masks its `value`
//!   (Kubernetes env entries, AWS tags and parameters); `valueFrom` is a reference to a
//!   Secret, not a secret, and stays;
//! - a Kubernetes `Secret` (or each item of a `SecretList`) masks every value under `data`
//!   and `stringData`, keeping the keys;
//! - a string that parses as a JSON object or array (`last-applied-configuration`) is
//!   redacted recursively and re-serialized compactly if anything in it changed;
//! - every other string goes through the text rules.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::keyvalue::is_left_alone;
use crate::names::is_credential_name;
use crate::{MASK, text};

/// Nesting (objects, arrays, JSON inside strings) beyond which a subtree is masked whole
/// rather than walked: the walk is recursive, and serde_json parses at most 128 levels.
const MAX_DEPTH: usize = 128;

/// Keys that name an entry, and keys that hold its value.
const NAME_KEYS: &[&str] = &["name", "key", "parameterkey", "parametername"];
const VALUE_KEYS: &[&str] = &["value", "parametervalue"];

/// Redacts `v` in place; whether anything changed.
pub(crate) fn walk(v: &mut Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return mask(v);
    }
    match v {
        Value::String(s) => redact_string(s, depth),
        Value::Array(items) => {
            flag_values(items)
                | items
                    .iter_mut()
                    .fold(false, |c, item| walk(item, depth + 1) | c)
        }
        Value::Object(map) => walk_object(map, depth),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `text` redacted as JSON if it is a JSON object or array (pretty-printed again if it was
/// on several lines, only when something changed); `None` if it is not JSON.
pub(crate) fn redact_json_text(text: &str) -> Option<Cow<'_, str>> {
    let mut v = parse_container(text)?;
    if !walk(&mut v, 0) {
        return Some(Cow::Borrowed(text));
    }
    let out = if text.contains('\n') {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    };
    Some(Cow::Owned(out.unwrap_or_else(|_| MASK.to_owned())))
}

/// Command-line arguments as separate elements (`["--db-password", "hunter2"]`): the element
/// after a flag that names a credential is its value, however it looks.
fn flag_values(items: &mut [Value]) -> bool {
    let mut changed = false;
    for i in 1..items.len() {
        let names_credential = items[i - 1]
            .as_str()
            .is_some_and(crate::flags::names_credential);
        if names_credential && items[i].as_str().is_some_and(|v| !v.starts_with('-')) {
            changed |= mask(&mut items[i]);
        }
    }
    changed
}

fn walk_object(map: &mut Map<String, Value>, depth: usize) -> bool {
    let mut changed = secret_data(map) | named_value(map);
    for (key, value) in map.iter_mut() {
        changed |= match value {
            Value::String(s) if is_credential_name(key) => mask_str(s),
            _ => walk(value, depth + 1),
        };
    }
    changed
}

/// `kind: Secret` and `kind: SecretList`: every value under `data` and `stringData`.
fn secret_data(map: &mut Map<String, Value>) -> bool {
    match map.get("kind").and_then(Value::as_str) {
        Some("Secret") => mask_data(map),
        Some("SecretList") => match map.get_mut("items") {
            Some(Value::Array(items)) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .fold(false, |c, item| mask_data(item) | c),
            _ => false,
        },
        _ => false,
    }
}

fn mask_data(secret: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    for field in ["data", "stringData"] {
        changed |= match secret.get_mut(field) {
            Some(Value::Object(data)) => data.values_mut().fold(false, |c, v| mask(v) | c),
            Some(Value::Null) | None => false,
            Some(other) => mask(other),
        };
    }
    changed
}

/// `{"name": "DB_PASSWORD", "value": "..."}`: the value of a credential-like entry.
fn named_value(map: &mut Map<String, Value>) -> bool {
    let named = map
        .iter()
        .any(|(k, v)| one_of(k, NAME_KEYS) && v.as_str().is_some_and(is_credential_name));
    if !named {
        return false;
    }
    map.iter_mut()
        .filter(|(k, _)| one_of(k, VALUE_KEYS))
        .fold(false, |c, (_, v)| match v {
            Value::String(s) => mask_str(s) | c,
            _ => c,
        })
}

fn one_of(key: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| key.eq_ignore_ascii_case(k))
}

/// A string: JSON inside it redacted as JSON, anything else by the text rules.
fn redact_string(s: &mut String, depth: usize) -> bool {
    if let Some(mut inner) = parse_container(s) {
        if !walk(&mut inner, depth + 1) {
            return false;
        }
        *s = serde_json::to_string(&inner).unwrap_or_else(|_| MASK.to_owned());
        return true;
    }
    match text::redact_text(s) {
        Cow::Owned(r) => {
            *s = r;
            true
        }
        Cow::Borrowed(_) => false,
    }
}

/// `s` parsed, if it is a JSON object or array.
fn parse_container(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// A credential-named string: masked unless empty, a reference or already masked.
fn mask_str(s: &mut String) -> bool {
    if s.is_empty() || is_left_alone(s) {
        return false;
    }
    MASK.clone_into(s);
    true
}

/// Any value replaced by the mask (Secret data, subtrees too deep to walk).
fn mask(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) if s.is_empty() || s == MASK => false,
        _ => {
            *v = Value::String(MASK.to_owned());
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redacted(mut v: Value) -> Value {
        walk(&mut v, 0);
        v
    }

    #[test]
    fn env_entries_by_name() {
        let v = redacted(json!({"env": [
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
        ]}));
        assert_eq!(
            v,
            json!({"env": [
                {"name": "AWS_SECRET_ACCESS_KEY", "value": MASK},
                {"name": "LOG_LEVEL", "value": "debug"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
            ]})
        );
    }

    #[test]
    fn credential_keys_in_any_map() {
        let v = redacted(json!({"kind": "ConfigMap", "data": {
            "DB_PASSWORD": "hunter2", "DB_HOST": "db", "api_key": "k", "max_tokens": 4096,
            "token_required": true, "empty_secret": "", "password": "${DB_PASSWORD}",
        }}));
        assert_eq!(
            v["data"],
            json!({"DB_PASSWORD": MASK, "DB_HOST": "db", "api_key": MASK, "max_tokens": 4096,
                   "token_required": true, "empty_secret": "", "password": "${DB_PASSWORD}"})
        );
    }

    #[test]
    fn secrets_and_secret_lists() {
        let secret = json!({"kind": "Secret", "data": {"url": "cG9zdGdyZXM=", "n": 5},
                            "stringData": {"host": "db"}, "type": "Opaque"});
        let v = redacted(secret.clone());
        assert_eq!(v["data"], json!({"url": MASK, "n": MASK}));
        assert_eq!(v["stringData"], json!({"host": MASK}));
        assert_eq!(v["type"], "Opaque");
        let list = redacted(json!({"kind": "SecretList", "items": [{"data": {"a": "YQ=="}}]}));
        assert_eq!(list["items"][0]["data"]["a"], MASK);
        let list = redacted(json!({"kind": "List", "items": [secret]}));
        assert_eq!(list["items"][0]["data"]["url"], MASK);
    }

    #[test]
    fn json_inside_strings() {
        let applied = json!({"kind": "Deployment", "spec": {"containers": [{"env": [
            {"name": "DB_PASSWORD", "value": "hunter2"}]}]}})
        .to_string();
        let v = redacted(json!({"metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": applied,
            "plain": "[1, 2]"}}}));
        let ann = &v["metadata"]["annotations"];
        let inner: Value = serde_json::from_str(
            ann["kubectl.kubernetes.io/last-applied-configuration"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(inner["spec"]["containers"][0]["env"][0]["value"], MASK);
        assert_eq!(ann["plain"], "[1, 2]");
    }

    #[test]
    fn reports_whether_anything_changed() {
        assert!(!walk(
            &mut json!({"a": ["b", 1, null, {"password": MASK}]}),
            0
        ));
        assert!(walk(&mut json!({"a": "token=abc123"}), 0));
    }

    #[test]
    fn too_deep_is_masked_whole() {
        let mut v = json!("x");
        for _ in 0..MAX_DEPTH + 5 {
            v = json!([v]);
        }
        assert!(walk(&mut v, 0));
        assert!(!v.to_string().contains('x'));
    }

    #[test]
    fn json_text_is_redacted_as_json() {
        let text = "{\n  \"password\": \"x\",\n  \"n\": 1\n}";
        assert_eq!(
            redact_json_text(text).unwrap(),
            "{\n  \"password\": \"[REDACTED]\",\n  \"n\": 1\n}"
        );
        assert!(matches!(redact_json_text("[1,2]"), Some(Cow::Borrowed(_))));
        assert!(redact_json_text("[INFO] x").is_none());
    }
}
