//! YAML with line numbers, for SOPilot's file formats (policies, SOP front matter and tool
//! blocks, scenarios, configuration).
//!
//! Every error a person sees about one of those files must name the line, so this crate
//! parses YAML into a located [`Node`] tree, converts it to JSON values by the YAML 1.2 core
//! schema (`3` is a number, `"3"` a string, `yes` a string), and decodes typed structures
//! through JSON so that a decoding error is mapped back to the line of the offending key.
//!
//! Duplicate keys are errors (a second `when:` silently replacing the first would change a
//! policy's meaning). Anchors and aliases are expanded, within a node budget.

mod load;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use load::parse;

/// The most nodes a document may expand to (aliases included).
pub const MAX_NODES: usize = 200_000;

/// A YAML problem located in its source (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A located YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line of the node's first character.
    pub line: usize,
    /// 1-based column of the node's first character.
    pub column: usize,
    pub value: NodeValue,
}

/// A YAML value, with scalars already resolved by the core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are the scalar keys' text.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Node {
    /// The node as a JSON value. Floats that JSON cannot hold (`.inf`, `.nan`) become strings.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.key(key).map(|(_, v)| v)
    }

    /// The key entry and value under `key` when this node is a mapping.
    pub fn key(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The node at `path`, if it exists.
    pub fn at(&self, path: &[Seg]) -> Option<&Node> {
        path.iter()
            .try_fold(self, |node, seg| match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(_)) => node.get(k),
                (Seg::Index(i), NodeValue::Seq(items)) => items.get(*i),
                _ => None,
            })
    }

    /// The deepest existing node along `path` (the root when nothing matches).
    pub fn nearest(&self, path: &[Seg]) -> &Node {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(_)) => node.get(k),
                (Seg::Index(i), NodeValue::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// Whether this node is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, NodeValue::Map(_))
    }

    fn error(&self, message: impl Into<String>) -> YamlError {
        YamlError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

/// Decodes `node` into `T`; an error names the line of the value (or, for an unknown key,
/// of the key) it is about, and the dotted path to it.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, YamlError> {
    serde_path_to_error::deserialize(node.to_json()).map_err(|err| {
        let path: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let mut path = path;
        let inner = err.into_inner().to_string();
        // serde names an unknown key in backticks; the path may end with that key too.
        let unknown = inner
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        if let (Some(name), Some(Seg::Key(last))) = (&unknown, path.last())
            && name == last
        {
            path.pop();
        }
        let at = node.nearest(&path);
        let unknown_key = unknown.as_deref().and_then(|name| at.key(name));
        let dotted = dotted(&path);
        let message = if dotted.is_empty() {
            inner
        } else {
            format!("{dotted}: {inner}")
        };
        match unknown_key {
            Some((key, _)) => YamlError {
                line: key.line,
                column: key.column,
                message,
            },
            None => at.error(message),
        }
    })
}

/// Parses `text` and decodes it into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    from_node(&parse(text)?)
}

/// `rules[2].when` style rendering of a path.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn core_schema_scalars() {
        let doc = parse(
            "a: 3\nb: \"3\"\nc: 3.5\nd: true\ne: yes\nf: ~\ng:\nh: -7\ni: 0x1F\nj: 1e3\nk: '010'\nl: .inf\nm: |\n  text\n",
        )
        .unwrap();
        assert_eq!(
            doc.to_json(),
            json!({"a": 3, "b": "3", "c": 3.5, "d": true, "e": "yes", "f": null, "g": null,
                   "h": -7, "i": 31, "j": 1000.0, "k": "010", "l": "inf", "m": "text\n"})
        );
    }

    #[test]
    fn lines_and_paths() {
        let doc = parse("rules:\n  - name: a\n    when: x\n  - name: b\n").unwrap();
        let when = doc
            .at(&[
                Seg::Key("rules".into()),
                Seg::Index(0),
                Seg::Key("when".into()),
            ])
            .unwrap();
        assert_eq!((when.line, when.column), (3, 11));
        assert_eq!(
            doc.at(&[Seg::Key("rules".into()), Seg::Index(1)])
                .unwrap()
                .line,
            4
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rule {
        name: String,
        #[serde(default)]
        replicas: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct File {
        rules: Vec<Rule>,
    }

    #[test]
    fn typed_errors_point_at_the_line() {
        let err = from_str::<File>("rules:\n  - name: a\n  - name: b\n    desicion: allow\n")
            .unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(err.message.contains("rules[1]"), "{err}");
        assert!(err.message.contains("desicion"), "{err}");
        let err = from_str::<File>("rules:\n  - name: a\n    replicas: many\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err = from_str::<File>("rules:\n  - replicas: 1\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("name"), "{err}");
    }

    #[test]
    fn syntax_errors_and_duplicates_are_located() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1, "{err}");
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("duplicate key \"a\""), "{err}");
    }

    #[test]
    fn anchors_expand_and_bombs_are_refused() {
        let doc = parse("base: &b [x, y]\nuse: *b\n").unwrap();
        assert_eq!(
            doc.to_json(),
            json!({"base": ["x", "y"], "use": ["x", "y"]})
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("nodes"), "{err}");
        assert!(parse("a: *nope\n").is_err());
    }

    #[test]
    fn empty_and_multi_documents() {
        assert_eq!(parse("").unwrap().value, NodeValue::Null);
        assert_eq!(parse("# only a comment\n").unwrap().value, NodeValue::Null);
        assert!(
            parse("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message
                .contains("one document")
        );
    }

    #[test]
    fn tags() {
        assert_eq!(parse("a: !!str 5\n").unwrap().to_json(), json!({"a": "5"}));
        assert!(parse("a: !custom 5\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_yamlish(s in "[-:\\[\\]{}&*!|>'\" \\n#a-c0-9,?.]{0,120}") {
            let _ = parse(&s);
        }
    }
}
