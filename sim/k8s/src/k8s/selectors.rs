//! Label and field selectors, as the list and watch verbs accept them.

use serde_json::{Map, Value};

use super::obj;
use super::resources::{ResourceType, Storage, View};

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    Gt(i64),
    Lt(i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<(String, LabelOp)>,
}

impl LabelSelector {
    /// Parses the `labelSelector` query syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
    /// `a notin (x)`, `a`, `!a`, `a>3`, `a<3`, joined by commas.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(format!(
                    "invalid label selector {text:?}: empty requirement"
                ));
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels` and
    /// `matchExpressions`). `None` when the object is malformed.
    pub fn from_object(selector: &Value) -> Option<Self> {
        let mut requirements = Vec::new();
        if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                requirements.push((k.clone(), LabelOp::Eq(v.as_str()?.to_owned())));
            }
        }
        if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e.get("key")?.as_str()?.to_owned();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e.get("operator")?.as_str()? {
                    "In" => LabelOp::In(values),
                    "NotIn" => LabelOp::NotIn(values),
                    "Exists" => LabelOp::Exists,
                    "DoesNotExist" => LabelOp::DoesNotExist,
                    _ => return None,
                };
                requirements.push((key, op));
            }
        }
        Some(LabelSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.requirements.iter().all(|(key, op)| {
            let value = labels.get(key).and_then(Value::as_str);
            match op {
                LabelOp::Eq(v) => value == Some(v.as_str()),
                LabelOp::NotEq(v) => value != Some(v.as_str()),
                LabelOp::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                LabelOp::NotIn(vs) => !value.is_some_and(|x| vs.iter().any(|v| v == x)),
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
                LabelOp::Gt(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x > *n),
                LabelOp::Lt(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x < *n),
            }
        })
    }

    pub fn matches_object(&self, object: &Value) -> bool {
        self.matches(&obj::labels(object))
    }
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("invalid label selector {text:?}: unbalanced ')'"))?;
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("invalid label selector {text:?}: unclosed '('"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn parse_requirement(part: &str) -> Result<(String, LabelOp), String> {
    let bad = |why: &str| format!("unable to parse requirement {part:?}: {why}");
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(key).map_err(|e| bad(&e))?;
        return Ok((key.to_owned(), LabelOp::DoesNotExist));
    }
    if let Some(open) = part.find('(') {
        let close = part
            .rfind(')')
            .filter(|c| *c == part.len() - 1)
            .ok_or_else(|| bad("expected ')' at the end"))?;
        let head: Vec<&str> = part[..open].split_whitespace().collect();
        let [key, op] = head.as_slice() else {
            return Err(bad("expected 'KEY in (...)' or 'KEY notin (...)'"));
        };
        check_key(key).map_err(|e| bad(&e))?;
        let values: Vec<String> = part[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_owned())
            .collect();
        for v in &values {
            check_value(v).map_err(|e| bad(&e))?;
        }
        let op = match *op {
            "in" => LabelOp::In(values),
            "notin" => LabelOp::NotIn(values),
            other => return Err(bad(&format!("unknown operator {other:?}"))),
        };
        return Ok(((*key).to_owned(), op));
    }
    for (token, make) in [
        ("!=", LabelOp::NotEq as fn(String) -> LabelOp),
        ("==", LabelOp::Eq),
        ("=", LabelOp::Eq),
    ] {
        if let Some((key, value)) = part.split_once(token) {
            let (key, value) = (key.trim(), value.trim());
            check_key(key).map_err(|e| bad(&e))?;
            check_value(value).map_err(|e| bad(&e))?;
            return Ok((key.to_owned(), make(value.to_owned())));
        }
    }
    for (token, greater) in [(">", true), ("<", false)] {
        if let Some((key, value)) = part.split_once(token) {
            let key = key.trim();
            check_key(key).map_err(|e| bad(&e))?;
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| bad("expected an integer"))?;
            let op = if greater {
                LabelOp::Gt(n)
            } else {
                LabelOp::Lt(n)
            };
            return Ok((key.to_owned(), op));
        }
    }
    check_key(part).map_err(|e| bad(&e))?;
    Ok((part.to_owned(), LabelOp::Exists))
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn check_value(value: &str) -> Result<(), String> {
    let ok = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label value {value:?}"))
    }
}

/// A parsed field selector: `field=value`, `field==value`, `field!=value`, joined by commas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses the syntax and checks that `resource` supports every field named; the error
    /// is the message the API gives.
    pub fn parse(text: &str, resource: &ResourceType) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                ));
            };
            let field = field.trim();
            if !supported(field, resource) {
                return Err(format!("field label not supported: {field}"));
            }
            requirements.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether `object` (in its stored shape) matches.
    pub fn matches(&self, object: &Value, resource: &ResourceType) -> bool {
        self.requirements.iter().all(|(field, equal, value)| {
            let actual = field_value(object, field, resource);
            (actual == *value) == *equal
        })
    }
}

const EVENT_OBJECT_FIELDS: &[&str] = &[
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
];

fn supported(field: &str, resource: &ResourceType) -> bool {
    if field == "metadata.name" || field == "metadata.namespace" {
        return true;
    }
    match (resource.storage, resource.plural) {
        (Storage::Converted(_, View::EventsV1), _) => {
            field
                .strip_prefix("regarding.")
                .is_some_and(|f| EVENT_OBJECT_FIELDS.contains(&f))
                || matches!(
                    field,
                    "reason" | "type" | "reportingController" | "deprecatedSource"
                )
        }
        (Storage::Own(_), "events") => {
            field
                .strip_prefix("involvedObject.")
                .is_some_and(|f| EVENT_OBJECT_FIELDS.contains(&f))
                || matches!(field, "reason" | "type" | "reportingComponent" | "source")
        }
        (Storage::Own(_), "pods") => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        (Storage::Own(_), "nodes") => field == "spec.unschedulable",
        (Storage::Own(_), "namespaces") => field == "status.phase",
        (Storage::Own(_), "secrets") => field == "type",
        (Storage::Own(_), "replicasets") => field == "status.replicas",
        (Storage::Own(_), "jobs") => field == "status.successful",
        (Storage::Own(_), _)
        | (Storage::Converted(_, View::AutoscalingV1), _)
        | (Storage::Metrics, _) => false,
    }
}

/// The value of a selectable field; absent fields read as the empty string.
fn field_value(object: &Value, field: &str, resource: &ResourceType) -> String {
    // events.k8s.io selectors name the fields of the new shape; events are stored in the
    // core shape, so translate.
    let core_field = match resource.storage {
        Storage::Converted(_, View::EventsV1) => match field {
            "reportingController" => "reportingComponent".to_owned(),
            "deprecatedSource" => "source".to_owned(),
            f => match f.strip_prefix("regarding.") {
                Some(rest) => format!("involvedObject.{rest}"),
                None => f.to_owned(),
            },
        },
        Storage::Own(_) | Storage::Converted(_, View::AutoscalingV1) | Storage::Metrics => {
            field.to_owned()
        }
    };
    let pointer = match core_field.as_str() {
        "source" => "/source/component".to_owned(),
        f => format!("/{}", f.replace('.', "/")),
    };
    match object.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null | Value::Array(_) | Value::Object(_)) | None => {
            // The API reads absent booleans as false.
            if matches!(
                core_field.as_str(),
                "spec.unschedulable" | "spec.hostNetwork"
            ) {
                "false".to_owned()
            } else {
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::find;
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn label_operators() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        let yes = [
            "",
            "app=web",
            "app==web",
            "app!=db",
            "missing!=x",
            "app in (web, db)",
            "tier notin (back)",
            "missing notin (x)",
            "app",
            "!missing",
            "app=web,tier=front",
            " app = web , tier in (front) ",
            "n>3",
            "n<6",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&l), "{s}");
        }
        let no = [
            "app=db",
            "app!=web",
            "app in (db)",
            "app notin (web,db)",
            "missing",
            "!app",
            "app=web,tier=back",
            "n>5",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&l), "{s}");
        }
    }

    #[test]
    fn label_syntax_errors() {
        for s in [
            "app in (web",
            "app)",
            "app in web",
            "a b c (x)",
            "=x",
            "app=a b",
            "a,,b",
            "n>x",
        ] {
            assert!(LabelSelector::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn from_label_selector_objects() {
        let sel = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]
        }))
        .unwrap();
        assert!(sel.matches(&labels(json!({"app": "web", "tier": "front"}))));
        assert!(!sel.matches(&labels(json!({"app": "web"}))));
        assert!(
            LabelSelector::from_object(
                &json!({"matchExpressions": [{"key": "a", "operator": "Near"}]})
            )
            .is_none()
        );
    }

    #[test]
    fn fields() {
        let pods = find("", "v1", "pods").unwrap();
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let m = |s: &str| FieldSelector::parse(s, pods).unwrap().matches(&pod, pods);
        assert!(m("spec.nodeName=n1"));
        assert!(m("status.phase!=Failed,status.phase!=Succeeded"));
        assert!(m("metadata.name==p,metadata.namespace=ns"));
        assert!(!m("spec.nodeName=n2"));
        let err = FieldSelector::parse("spec.containers=x", pods).unwrap_err();
        assert_eq!(err, "field label not supported: spec.containers");
        assert!(FieldSelector::parse("nonsense", pods).is_err());

        let core = find("", "v1", "events").unwrap();
        let new = find("events.k8s.io", "v1", "events").unwrap();
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "reason": "BackOff",
                        "type": "Warning", "source": {"component": "kubelet"}});
        assert!(
            FieldSelector::parse("involvedObject.name=p,reason=BackOff", core)
                .unwrap()
                .matches(&ev, core)
        );
        assert!(
            FieldSelector::parse("regarding.kind=Pod,type=Warning", new)
                .unwrap()
                .matches(&ev, new)
        );
        assert!(
            FieldSelector::parse("source=kubelet", core)
                .unwrap()
                .matches(&ev, core)
        );
        assert!(FieldSelector::parse("regarding.name=p", core).is_err());
        let nodes = find("", "v1", "nodes").unwrap();
        assert!(
            FieldSelector::parse("spec.unschedulable=false", nodes)
                .unwrap()
                .matches(&json!({}), nodes)
        );
    }
}
