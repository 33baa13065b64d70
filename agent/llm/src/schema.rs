//! Tool schemas as providers accept them.
//!
//! rmcp emits JSON Schema 2020-12 from schemars: a `$schema` key, `"type": ["string",
//! "null"]` for optional fields, `"default": null`, integer `format`s. OpenAI's and Bedrock's
//! validators reject some of these, so schemas are normalised before they are offered.

use serde_json::{Map, Value};

/// Returns a provider-safe copy of a tool input schema.
pub fn normalize_schema(schema: &Value) -> Value {
    let mut v = schema.clone();
    clean(&mut v, true);
    if !v.is_object() || v.get("type").is_none() {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.insert("type".into(), Value::String("object".into()));
        m.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        v = Value::Object(m);
    }
    v
}

/// Cleans one schema, then the schemas nested in it, and only those: the keys of
/// `properties` are argument names (an argument may be called `title` or `format`), and
/// `enum`, `const`, `default` and `examples` hold values, not schemas.
fn clean(v: &mut Value, top: bool) {
    let Value::Object(m) = v else { return };
    m.remove("$schema");
    if !top {
        m.remove("title");
    }
    if m.get("default") == Some(&Value::Null) {
        m.remove("default");
    }
    if let Some(Value::String(f)) = m.get("format")
        && matches!(
            f.as_str(),
            "int32"
                | "int64"
                | "uint"
                | "uint8"
                | "uint16"
                | "uint32"
                | "uint64"
                | "double"
                | "float"
        )
    {
        m.remove("format");
    }
    // ["string", "null"] → "string": optional-ness lives in `required`.
    if let Some(Value::Array(types)) = m.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            m.insert("type".into(), non_null[0].clone());
        }
    }
    // {"anyOf": [X, {"type": "null"}]} → X
    if let Some(Value::Array(any)) = m.get("anyOf") {
        let non_null: Vec<Value> = any
            .iter()
            .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 && any.len() == 2 {
            m.remove("anyOf");
            if let Value::Object(inner) = &non_null[0] {
                for (k, val) in inner {
                    m.entry(k.clone()).or_insert_with(|| val.clone());
                }
            }
        }
    }
    for_each_subschema(m, |s| clean(s, false));
}

/// Calls `f` on the schemas directly nested in one schema, and only on those: the keys of
/// `properties` are argument names; `enum`, `const`, `default` and `examples` hold values.
pub fn for_each_subschema(m: &mut Map<String, Value>, mut f: impl FnMut(&mut Value)) {
    for (key, child) in m.iter_mut() {
        match key.as_str() {
            // name → schema
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                if let Value::Object(named) = child {
                    named.values_mut().for_each(&mut f);
                }
            }
            // one schema (or, for `items` in older drafts, a list of them)
            "items"
            | "additionalItems"
            | "additionalProperties"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "propertyNames"
            | "contains"
            | "not"
            | "if"
            | "then"
            | "else" => match child {
                Value::Array(list) => list.iter_mut().for_each(&mut f),
                other => f(other),
            },
            // lists of schemas
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(list) = child {
                    list.iter_mut().for_each(&mut f);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_rmcp_schemas() {
        let s = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": {"namespace": {"type": ["string", "null"], "default": null},
                           "replicas": {"type": "integer", "format": "int32"},
                           "dry_run": {"type": "boolean", "default": false}},
            "required": ["replicas"]});
        assert_eq!(
            normalize_schema(&s),
            json!({"type": "object",
            "properties": {"namespace": {"type": "string"}, "replicas": {"type": "integer"},
                           "dry_run": {"type": "boolean", "default": false}},
            "required": ["replicas"]})
        );
        assert_eq!(
            normalize_schema(&json!({})),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn keeps_arguments_named_like_keywords_and_values_as_written() {
        // slack.post_incident_report has a `title` argument; it must survive (it is required).
        let s = json!({"type": "object", "title": "IncidentReport",
            "properties": {"title": {"type": "string", "title": "Title"},
                           "format": {"type": "string"},
                           "opts": {"type": "object", "default": {"title": "x", "$schema": "y"},
                                    "enum": [{"title": "a"}]},
                           "items": {"type": "array", "items": {"type": "integer", "format": "int64", "title": "N"}}},
            "$defs": {"Fact": {"title": "Fact", "type": "object", "properties": {"title": {"type": "string"}}}},
            "required": ["title"]});
        assert_eq!(
            normalize_schema(&s),
            json!({"type": "object", "title": "IncidentReport",
            "properties": {"title": {"type": "string"},
                           "format": {"type": "string"},
                           "opts": {"type": "object", "default": {"title": "x", "$schema": "y"},
                                    "enum": [{"title": "a"}]},
                           "items": {"type": "array", "items": {"type": "integer"}}},
            "$defs": {"Fact": {"type": "object", "properties": {"title": {"type": "string"}}}},
            "required": ["title"]})
        );
    }
}
