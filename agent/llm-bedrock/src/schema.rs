//! Tool input schemas as Bedrock Converse accepts them.
//!
//! On top of [`sopilot_llm::normalize_schema`] (no `$schema`, no `"type": [T, "null"]`, no
//! integer `format`s), Bedrock and the models behind it refuse:
//! - a root whose `type` is not `object` (`inputSchema.json.type must be one of the
//!   following: object`), and `anyOf`/`oneOf`/`allOf` at the root (Anthropic models:
//!   "input_schema does not support oneOf, allOf, or anyOf at the top level");
//! - `$ref`s that some models cannot resolve: local `#/$defs/..` references are inlined
//!   (schemars emits them for nested types and enums), and `$defs` dropped;
//! - `additionalProperties` (Mistral and Llama models reject even `false`), `$id`, `$comment`.
//!
//! What is dropped only loosens the schema; the MCP server still validates the arguments and
//! the gate still decides every call.

use serde_json::{Map, Value};
use sopilot_llm::{for_each_subschema, normalize_schema};

/// How deep `$ref`s are inlined; a recursive type stops here as "any value".
const MAX_REF_DEPTH: usize = 8;

/// Keys removed from every (sub)schema.
const DROPPED: [&str; 5] = [
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "additionalProperties",
];

/// Returns a copy of a tool's input schema that Bedrock accepts.
pub fn bedrock_schema(schema: &Value) -> Value {
    let mut v = normalize_schema(schema);
    let defs = definitions(&v);
    inline_refs(&mut v, &defs, 0);
    strip(&mut v);
    let mut root = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for key in ["anyOf", "oneOf", "allOf"] {
        root.remove(key);
    }
    // MCP requires an object root; a foreign server that sends anything else would make
    // Bedrock refuse the whole turn, every other tool included.
    root.insert("type".into(), Value::String("object".into()));
    if !root.get("properties").is_some_and(Value::is_object) {
        root.insert("properties".into(), Value::Object(Map::new()));
    }
    Value::Object(root)
}

/// The root's `$defs` and `definitions`, by the reference that names them.
fn definitions(v: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = v.get(key) {
            for (name, def) in defs {
                out.insert(format!("#/{key}/{}", escape(name)), def.clone());
            }
        }
    }
    out
}

/// JSON Pointer escaping of one reference token.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Replaces every `{"$ref": R, ...siblings}` with the schema R names, the siblings (such as
/// a `description`) kept over it. A reference that cannot be resolved, or one nested deeper
/// than [`MAX_REF_DEPTH`], becomes `{}` (any value) with its siblings.
fn inline_refs(v: &mut Value, defs: &Map<String, Value>, depth: usize) {
    let Value::Object(m) = v else { return };
    if let Some(Value::String(reference)) = m.remove("$ref") {
        let target = match defs.get(&reference) {
            Some(Value::Object(t)) if depth < MAX_REF_DEPTH => t.clone(),
            _ => Map::new(),
        };
        let siblings = std::mem::replace(m, target);
        m.extend(siblings);
        inline_refs(v, defs, depth + 1);
        return;
    }
    for_each_subschema(m, |s| inline_refs(s, defs, depth));
}

fn strip(v: &mut Value) {
    let Value::Object(m) = v else { return };
    for key in DROPPED {
        m.remove(key);
    }
    for_each_subschema(m, strip);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inlines_refs_and_drops_what_bedrock_refuses() {
        // The shape rmcp/schemars emits for slack.post_incident_report (abridged).
        let s = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "IncidentReport",
            "$defs": {"Severity": {"description": "How bad.", "oneOf": [{"type": "string", "const": "high"}, {"type": "string", "const": "low"}]},
                      "Fact": {"type": "object", "properties": {"label": {"type": "string"}}, "additionalProperties": false, "required": ["label"]}},
            "type": "object", "additionalProperties": false,
            "properties": {"title": {"type": "string"},
                           "severity": {"$ref": "#/$defs/Severity", "description": "Severity of the incident."},
                           "facts": {"type": "array", "items": {"$ref": "#/$defs/Fact"}},
                           "thread": {"type": ["string", "null"], "default": null}},
            "required": ["title", "severity"]});
        assert_eq!(
            bedrock_schema(&s),
            json!({"title": "IncidentReport", "type": "object",
                "properties": {"title": {"type": "string"},
                               "severity": {"description": "Severity of the incident.", "oneOf": [{"type": "string", "const": "high"}, {"type": "string", "const": "low"}]},
                               "facts": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}},
                               "thread": {"type": "string"}},
                "required": ["title", "severity"]})
        );
    }

    #[test]
    fn the_root_is_always_an_object_without_combinators() {
        assert_eq!(
            bedrock_schema(&json!({"anyOf": [{"type": "object"}, {"type": "object"}]})),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            bedrock_schema(&json!({"type": "string"})),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            bedrock_schema(&json!({"type": "object", "properties": null})),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn recursive_and_unknown_refs_end_as_any_value() {
        let s = json!({"type": "object", "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
            "properties": {"tree": {"$ref": "#/$defs/Node"}, "ext": {"$ref": "https://example.com/x.json", "description": "d"}}});
        let out = bedrock_schema(&s);
        assert!(!out.to_string().contains("$ref"), "{out}");
        assert!(!out.to_string().contains("$defs"), "{out}");
        assert_eq!(out["properties"]["ext"], json!({"description": "d"}));
        let mut node = &out["properties"]["tree"];
        let mut depth = 0;
        while let Some(child) = node.pointer("/properties/child") {
            node = child;
            depth += 1;
        }
        assert_eq!(depth, MAX_REF_DEPTH);
        assert_eq!(node, &json!({}));
    }
}
