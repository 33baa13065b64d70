//! ```` ```tool ```` blocks: one call each, in YAML.
//!
//! ````markdown
//! ```tool
//! kubectl.describe_pod: {namespace: "{{ namespace }}", name: "{{ pod }}"}
//! ```
//! ````

use serde_json::Value;
use sopilot_protocol::ToolRef;
use sopilot_yaml::NodeValue;

use crate::model::{Diagnostic, Severity};

fn err(line: usize, message: String) -> Diagnostic {
    Diagnostic {
        line,
        severity: Severity::Error,
        message,
    }
}

/// Parses a tool block's body, whose first line is `first_line` of the file.
pub fn parse(body: &str, first_line: usize) -> Result<(ToolRef, Value), Diagnostic> {
    let fence = first_line.saturating_sub(1);
    // The parser may notice a problem only at the end of input; keep the line in the block.
    let last_line = first_line + body.lines().count().max(1) - 1;
    let node = sopilot_yaml::parse(body).map_err(|e| {
        let line = (first_line + e.line - 1).min(last_line);
        err(line, format!("tool block is not valid YAML: {}", e.message))
    })?;
    let entries = match &node.value {
        NodeValue::Map(entries) => entries,
        NodeValue::Null => return Err(err(fence, "tool block is empty; write one call like `kubectl.describe_pod: {namespace: x, name: y}`".into())),
        _ => return Err(err(fence, "tool block must be one `SERVER.TOOL: {args}` mapping".into())),
    };
    let [(key, args)] = entries.as_slice() else {
        return Err(err(
            fence,
            format!(
                "tool block holds {} calls; a tool block holds exactly one (use one block per call)",
                entries.len()
            ),
        ));
    };
    let line = first_line + key.line - 1;
    let tool: ToolRef = key
        .name
        .parse()
        .map_err(|e| err(line, format!("tool block names a malformed tool: {e}")))?;
    let args = match &args.value {
        NodeValue::Null => Value::Object(Default::default()),
        NodeValue::Map(_) => args.to_json(),
        _ => {
            return Err(err(
                line,
                format!("the arguments of {tool} must be a mapping like {{namespace: x}}"),
            ));
        }
    };
    Ok((tool, args))
}

/// Every string in the arguments, with its JSON path, for template checks.
pub fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_call_per_block() {
        let (tool, args) = parse(
            "kubectl.describe_pod: {namespace: \"{{ namespace }}\", name: p}",
            10,
        )
        .unwrap();
        assert_eq!(tool.to_string(), "kubectl.describe_pod");
        assert_eq!(args, json!({"namespace": "{{ namespace }}", "name": "p"}));
        let (_, args) = parse("kubectl.top_nodes:", 10).unwrap();
        assert_eq!(args, json!({}));
    }

    #[test]
    fn malformed_blocks_are_located() {
        let e = parse("a.b: {x: 1}\nc.d: {}\n", 10).unwrap_err();
        assert!(e.message.contains("holds 2 calls"), "{e}");
        let e = parse("describe_pod: {}\n", 10).unwrap_err();
        assert_eq!(e.line, 10);
        assert!(e.message.contains("malformed tool"), "{e}");
        let e = parse("k.t: {x: [1, 2}\n", 10).unwrap_err();
        assert!(e.message.contains("not valid YAML"), "{e}");
        let e = parse("k.t: 3\n", 10).unwrap_err();
        assert!(e.message.contains("must be a mapping"), "{e}");
        let e = parse("", 10).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(e.message.contains("empty"), "{e}");
    }
}
