//! Builds the located tree from yaml-rust2's event stream.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::{Key, MAX_NODES, Node, NodeValue, YamlError};

/// Parses one YAML document. An empty document is a null node at line 1.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        return Err(YamlError {
            line: m.line().max(1),
            column: m.col() + 1,
            message: e.info().to_owned(),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node {
        line: 1,
        column: 1,
        value: NodeValue::Null,
    }))
}

enum Frame {
    Seq(Node, usize),
    /// A mapping under construction, and the key waiting for its value.
    Map(Node, usize, Option<Key>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    error: Option<YamlError>,
}

fn located(mark: Marker, value: NodeValue) -> Node {
    Node {
        line: mark.line().max(1),
        column: mark.col() + 1,
        value,
    }
}

fn node_count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(_, v)| 1 + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(s: &str) -> NodeValue {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    let digits =
        |body: &str, radix: u32| !body.is_empty() && body.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = s.strip_prefix("0x") {
        if let (true, Ok(i)) = (digits(hex, 16), i64::from_str_radix(hex, 16)) {
            return NodeValue::Int(i);
        }
        return NodeValue::Str(s.to_owned());
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let (true, Ok(i)) = (digits(oct, 8), i64::from_str_radix(oct, 8)) {
            return NodeValue::Int(i);
        }
        return NodeValue::Str(s.to_owned());
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        return match s.parse::<i64>() {
            Ok(i) => NodeValue::Int(i),
            Err(_) => s
                .parse::<f64>()
                .map_or_else(|_| NodeValue::Str(s.to_owned()), NodeValue::Float),
        };
    }
    if let (true, Ok(f)) = (is_core_float(unsigned), s.parse::<f64>()) {
        return NodeValue::Float(f);
    }
    NodeValue::Str(s.to_owned())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// `!!x`, which the parser may already have expanded to `tag:yaml.org,2002:x`.
fn is_core_tag(tag: &Tag) -> bool {
    tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:"
}

fn tag_name(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: impl Into<String>) {
        self.fail_at(mark.line().max(1), mark.col() + 1, message);
    }

    fn fail_at(&mut self, line: usize, column: usize, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line,
                column,
                message: message.into(),
            });
        }
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        mark: Marker,
    ) -> Option<NodeValue> {
        let value = match tag {
            None if style == TScalarStyle::Plain => resolve_plain(&text),
            None => NodeValue::Str(text),
            Some(t) if is_core_tag(t) => match t.suffix.as_str() {
                "str" => NodeValue::Str(text),
                "null" | "bool" | "int" | "float" => {
                    let v = resolve_plain(&text);
                    let fits = matches!(
                        (t.suffix.as_str(), &v),
                        ("null", NodeValue::Null)
                            | ("bool", NodeValue::Bool(_))
                            | ("int", NodeValue::Int(_))
                            | ("float", NodeValue::Float(_) | NodeValue::Int(_))
                    );
                    if !fits {
                        self.fail(mark, format!("{text:?} is not a valid !!{}", t.suffix));
                        return None;
                    }
                    match v {
                        NodeValue::Int(i) if t.suffix == "float" => NodeValue::Float(i as f64),
                        other => other,
                    }
                }
                _ => {
                    self.fail(mark, format!("unsupported tag {}", tag_name(t)));
                    return None;
                }
            },
            Some(t) => {
                self.fail(
                    mark,
                    format!(
                        "unsupported tag {}; SOPilot files use plain YAML",
                        tag_name(t)
                    ),
                );
                return None;
            }
        };
        Some(value)
    }

    fn check_collection_tag(&mut self, tag: Option<&Tag>, mark: Marker) -> bool {
        match tag {
            None => true,
            Some(t) if is_core_tag(t) && (t.suffix == "map" || t.suffix == "seq") => true,
            Some(t) => {
                self.fail(mark, format!("unsupported tag {}", tag_name(t)));
                false
            }
        }
    }

    /// Places a finished node into its parent (or as the root).
    fn place(&mut self, node: Node, anchor: usize) {
        self.nodes += node_count(&node);
        if self.nodes > MAX_NODES {
            self.fail_at(
                node.line,
                node.column,
                format!("the document expands to more than {MAX_NODES} nodes (aliases included)"),
            );
            return;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(seq, _)) => {
                if let NodeValue::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => {
                    let NodeValue::Str(name) = scalar_key(&node.value) else {
                        self.fail_at(
                            node.line,
                            node.column,
                            "mapping keys must be plain values, not lists or mappings",
                        );
                        return;
                    };
                    *pending = Some(Key {
                        name,
                        line: node.line,
                        column: node.column,
                    });
                }
                Some(key) => {
                    if let NodeValue::Map(entries) = &mut map.value {
                        if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                            let msg = format!(
                                "duplicate key {:?} (first at line {}); remove one of them",
                                key.name, first.line
                            );
                            self.fail_at(key.line, key.column, msg);
                            return;
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

/// The text of a scalar key; `None` for collections.
fn scalar_key(v: &NodeValue) -> NodeValue {
    match v {
        NodeValue::Null => NodeValue::Str(String::new()),
        NodeValue::Bool(b) => NodeValue::Str(b.to_string()),
        NodeValue::Int(i) => NodeValue::Str(i.to_string()),
        NodeValue::Float(f) => NodeValue::Str(f.to_string()),
        NodeValue::Str(s) => NodeValue::Str(s.clone()),
        NodeValue::Seq(_) | NodeValue::Map(_) => NodeValue::Null,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        mark,
                        "expected one document, found a second `---`; split the file",
                    );
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.line = mark.line().max(1);
                    node.column = mark.col() + 1;
                    self.place(node, 0);
                }
                None => self.fail(mark, "alias refers to an unknown anchor"),
            },
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(value) = self.scalar(text, style, tag.as_ref(), mark) {
                    self.place(located(mark, value), anchor);
                }
            }
            Event::SequenceStart(anchor, tag) => {
                if self.check_collection_tag(tag.as_ref(), mark) {
                    self.stack.push(Frame::Seq(
                        located(mark, NodeValue::Seq(Vec::new())),
                        anchor,
                    ));
                }
            }
            Event::MappingStart(anchor, tag) => {
                if self.check_collection_tag(tag.as_ref(), mark) {
                    self.stack.push(Frame::Map(
                        located(mark, NodeValue::Map(Vec::new())),
                        anchor,
                        None,
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(node, anchor)) | Some(Frame::Map(node, anchor, _)) => {
                    self.place(node, anchor)
                }
                None => self.fail(mark, "unbalanced collection end"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_floats() {
        for ok in ["1.5", ".5", "1.", "1e3", "1.5E-2"] {
            assert!(is_core_float(ok), "{ok}");
        }
        for bad in ["1", ".", "e3", "1e", "1.2.3", "abc"] {
            assert!(!is_core_float(bad), "{bad}");
        }
        assert_eq!(
            resolve_plain("99999999999999999999"),
            NodeValue::Float(1e20)
        );
        assert_eq!(resolve_plain("0xZZ"), NodeValue::Str("0xZZ".into()));
        assert_eq!(resolve_plain("30s"), NodeValue::Str("30s".into()));
    }
}
