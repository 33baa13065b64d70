//! Protobuf request bodies. kubectl's typed clients (`kubectl create namespace|deployment|
//! configmap|secret...`, `autoscale`, `drain --disable-eviction`) send
//! `application/vnd.kubernetes.protobuf`; this turns such a body into the JSON object
//! the verbs work on. The message layouts come from `schema.txt` (generated from
//! Kubernetes' `generated.proto` files by `sim/k8s/tools/protobuf_schema.py`).

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::time;

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";
/// Deeper nesting than any Kubernetes object has; protects the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone)]
enum Kind {
    Str,
    Bytes,
    Bool,
    Int,
    Double,
    Float,
    Message(String),
    Map(Box<Kind>),
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: Kind,
    repeated: bool,
}

type Schema = HashMap<String, HashMap<u64, Field>>;

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| parse_schema(include_str!("schema.txt")))
}

fn parse_schema(text: &str) -> Schema {
    let mut out = Schema::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.split(' ');
        let Some(message) = parts.next() else {
            continue;
        };
        let mut fields = HashMap::new();
        for part in parts {
            let mut pieces = part.splitn(3, ':');
            let (Some(number), Some(name), Some(code)) =
                (pieces.next(), pieces.next(), pieces.next())
            else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            let (repeated, code) = match code.strip_prefix('r') {
                Some(rest) => (true, rest),
                None => (false, code),
            };
            let Some(kind) = kind_of(code) else { continue };
            fields.insert(
                number,
                Field {
                    name: name.to_owned(),
                    kind,
                    repeated,
                },
            );
        }
        out.insert(message.to_owned(), fields);
    }
    out
}

fn kind_of(code: &str) -> Option<Kind> {
    if let Some(value) = code.strip_prefix("M=") {
        let value = scalar_kind(value).unwrap_or_else(|| Kind::Message(value.to_owned()));
        return Some(Kind::Map(Box::new(value)));
    }
    if let Some(message) = code.strip_prefix("m=") {
        return Some(Kind::Message(message.to_owned()));
    }
    scalar_kind(code)
}

fn scalar_kind(code: &str) -> Option<Kind> {
    Some(match code {
        "s" => Kind::Str,
        "b" => Kind::Bytes,
        "u" => Kind::Bool,
        "i" => Kind::Int,
        "d" => Kind::Double,
        "f" => Kind::Float,
        _ => return None,
    })
}

/// The message that holds objects of `apiVersion`/`kind`.
fn message_for(api_version: &str, kind: &str) -> String {
    if kind == "DeleteOptions" {
        return "meta.v1.DeleteOptions".to_owned();
    }
    let package = match api_version {
        "v1" => "core.v1".to_owned(),
        // rbac.authorization.k8s.io/v1 is package rbac.v1, authorization.k8s.io/v1 authorization.v1.
        other => other
            .replace(".authorization.k8s.io", "")
            .replace(".k8s.io", "")
            .replace('/', "."),
    };
    format!("{package}.{kind}")
}

/// Decodes a protobuf request body into the equivalent JSON object. The error says
/// why, for a 415 or 400 answer.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("a protobuf body must start with the Kubernetes magic prefix")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    let mut reader = Reader { data: envelope };
    while let Some((number, wire)) = reader.key()? {
        match (number, wire) {
            (1, 2) => {
                let mut meta = Reader {
                    data: reader.bytes()?,
                };
                while let Some((n, w)) = meta.key()? {
                    match (n, w) {
                        (1, 2) => api_version = meta.string()?,
                        (2, 2) => kind = meta.string()?,
                        _ => meta.skip(w)?,
                    }
                }
            }
            (2, 2) => raw = reader.bytes()?,
            _ => reader.skip(wire)?,
        }
    }
    let message = message_for(&api_version, &kind);
    if !schema().contains_key(&message) {
        return Err(format!(
            "the simulator cannot decode protobuf {kind} ({api_version}); send JSON"
        ));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    if let Value::Object(fields) = decode_message(&message, raw, 0)? {
        object.extend(fields);
    }
    let mut object = Value::Object(object);
    prune_zeros(&mut object);
    Ok(object)
}

/// Fields whose zero value is meaningful: Go keeps them as pointers, so a zero on the
/// wire was set on purpose (`replicas: 0`, `maxUnavailable: 0`).
const ZERO_MATTERS: &[&str] = &[
    "replicas",
    "minReplicas",
    "minAvailable",
    "maxUnavailable",
    "maxSurge",
    "partition",
    "parallelism",
    "completions",
    "backoffLimit",
    "activeDeadlineSeconds",
    "terminationGracePeriodSeconds",
    "gracePeriodSeconds",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "revisionHistoryLimit",
    "suspend",
];

/// Go's protobuf encoding writes every non-pointer field, zero or not; its JSON omits
/// them. Dropping the zeros gives what the same client would have sent as JSON.
fn prune_zeros(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, v| {
                let zero = match v {
                    Value::Null => true,
                    Value::String(s) => s.is_empty(),
                    Value::Bool(b) => !*b,
                    Value::Number(n) => n.as_f64() == Some(0.0),
                    Value::Array(_) | Value::Object(_) => false,
                };
                !zero || ZERO_MATTERS.contains(&key.as_str()) && !v.is_null()
            });
            map.values_mut().for_each(prune_zeros);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_zeros),
        Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Null => {}
    }
}

fn decode_message(message: &str, data: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("protobuf body nested too deeply".to_owned());
    }
    let Some(fields) = schema().get(message) else {
        return Err(format!("unknown protobuf message {message}"));
    };
    let mut out = Map::new();
    let mut reader = Reader { data };
    while let Some((number, wire)) = reader.key()? {
        let Some(field) = fields.get(&number) else {
            reader.skip(wire)?;
            continue;
        };
        // Repeated scalars may come packed into one length-delimited run.
        let packed = field.repeated
            && wire == 2
            && matches!(
                field.kind,
                Kind::Int | Kind::Bool | Kind::Double | Kind::Float
            );
        let values = if packed {
            let mut run = Reader {
                data: reader.bytes()?,
            };
            let mut values = Vec::new();
            while !run.data.is_empty() {
                values.push(scalar(&field.kind, &mut run, wire_of(&field.kind))?);
            }
            values
        } else {
            vec![value(&field.kind, &mut reader, wire, depth)?]
        };
        match (&field.kind, field.repeated) {
            (Kind::Map(_), _) => {
                let entry = out.entry(field.name.clone()).or_insert_with(|| json!({}));
                for v in values {
                    if let (Value::Object(map), Value::Array(pair)) = (&mut *entry, v)
                        && let [Value::String(key), v] = pair.as_slice()
                    {
                        map.insert(key.clone(), v.clone());
                    }
                }
            }
            (_, true) => {
                let entry = out.entry(field.name.clone()).or_insert_with(|| json!([]));
                if let Value::Array(items) = entry {
                    items.extend(values);
                }
            }
            (_, false) => {
                if let Some(v) = values.into_iter().next() {
                    out.insert(field.name.clone(), v);
                }
            }
        }
    }
    Ok(special(message, Value::Object(out)))
}

fn wire_of(kind: &Kind) -> u64 {
    match kind {
        Kind::Int | Kind::Bool => 0,
        Kind::Double => 1,
        Kind::Float => 5,
        Kind::Str | Kind::Bytes | Kind::Message(_) | Kind::Map(_) => 2,
    }
}

fn value(kind: &Kind, reader: &mut Reader<'_>, wire: u64, depth: usize) -> Result<Value, String> {
    match kind {
        Kind::Message(name) => {
            expect_wire(wire, 2)?;
            decode_message(name, reader.bytes()?, depth + 1)
        }
        Kind::Map(value_kind) => {
            expect_wire(wire, 2)?;
            let mut entry = Reader {
                data: reader.bytes()?,
            };
            let mut key = String::new();
            let mut val = match value_kind.as_ref() {
                Kind::Str | Kind::Bytes => json!(""),
                _ => json!({}),
            };
            while let Some((n, w)) = entry.key()? {
                match n {
                    1 => key = entry.string()?,
                    2 => val = value(value_kind, &mut entry, w, depth + 1)?,
                    _ => entry.skip(w)?,
                }
            }
            Ok(json!([key, val]))
        }
        scalar_kind => {
            expect_wire(wire, wire_of(scalar_kind))?;
            scalar(scalar_kind, reader, wire)
        }
    }
}

fn scalar(kind: &Kind, reader: &mut Reader<'_>, wire: u64) -> Result<Value, String> {
    Ok(match kind {
        Kind::Str => json!(reader.string()?),
        Kind::Bytes => json!(base64::engine::general_purpose::STANDARD.encode(reader.bytes()?)),
        Kind::Bool => json!(reader.varint()? != 0),
        // Negative int32/int64 are ten-byte two's complement varints.
        Kind::Int => json!(reader.varint()? as i64),
        Kind::Double => json!(f64::from_le_bytes(reader.fixed::<8>()?)),
        Kind::Float => json!(f64::from(f32::from_le_bytes(reader.fixed::<4>()?))),
        Kind::Message(_) | Kind::Map(_) => {
            reader.skip(wire)?;
            Value::Null
        }
    })
}

fn expect_wire(wire: u64, want: u64) -> Result<(), String> {
    if wire == want {
        Ok(())
    } else {
        Err(format!(
            "protobuf wire type {wire} where {want} was expected"
        ))
    }
}

/// The JSON forms of the types that are not plain objects in JSON.
fn special(message: &str, value: Value) -> Value {
    let field = |name: &str| value.get(name).cloned();
    match message {
        "meta.v1.Time" | "meta.v1.MicroTime" => {
            let seconds = field("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
            let nanos = field("nanos").and_then(|v| v.as_i64()).unwrap_or(0);
            // The zero time is Go's "unset".
            if seconds == 0 && nanos == 0 {
                return Value::Null;
            }
            match chrono::DateTime::from_timestamp(seconds, u32::try_from(nanos).unwrap_or(0)) {
                Some(t) if message == "meta.v1.Time" => json!(time::rfc3339(t)),
                Some(t) => json!(time::rfc3339_nanos(t)),
                None => Value::Null,
            }
        }
        "resource.Quantity" => field("string").unwrap_or(json!("0")),
        "intstr.IntOrString" => match field("type").and_then(|v| v.as_i64()) {
            Some(1) => field("strVal").unwrap_or(json!("")),
            _ => field("intVal").unwrap_or(json!(0)),
        },
        "meta.v1.Duration" => {
            let nanos = field("duration").and_then(|v| v.as_i64()).unwrap_or(0);
            json!(format!("{}s", nanos / 1_000_000_000))
        }
        "runtime.RawExtension" => field("raw")
            .and_then(|b| b.as_str().map(str::to_owned))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null),
        _ => value,
    }
}

/// A cursor over protobuf bytes; every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let (&byte, rest) = self.data.split_first().ok_or("truncated protobuf varint")?;
            self.data = rest;
            if shift < 64 {
                value |= u64::from(byte & 0x7f) << shift;
            }
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("protobuf varint too long".to_owned())
    }

    /// The next field's number and wire type, or `None` at the end.
    fn key(&mut self) -> Result<Option<(u64, u64)>, String> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        Ok(Some((key >> 3, key & 7)))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "protobuf length too large")?;
        if len > self.data.len() {
            return Err("truncated protobuf field".to_owned());
        }
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        Ok(head)
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| "a protobuf string is not UTF-8".to_owned())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if self.data.len() < N {
            return Err("truncated protobuf fixed-width field".to_owned());
        }
        let (head, rest) = self.data.split_at(N);
        self.data = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    fn skip(&mut self, wire: u64) -> Result<(), String> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.fixed::<8>().map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.fixed::<4>().map(|_| ()),
            other => Err(format!("unsupported protobuf wire type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal encoder, to build test bodies.
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn int(number: u64, v: u64, out: &mut Vec<u8>) {
        varint(number << 3, out);
        varint(v, out);
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut meta = Vec::new();
        field(1, api_version.as_bytes(), &mut meta);
        field(2, kind.as_bytes(), &mut meta);
        let mut unknown = Vec::new();
        field(1, &meta, &mut unknown);
        field(2, raw, &mut unknown);
        [MAGIC, &unknown].concat()
    }

    #[test]
    fn decodes_a_deployment() {
        let mut labels_entry = Vec::new();
        field(1, b"app", &mut labels_entry);
        field(2, b"web", &mut labels_entry);
        let mut meta = Vec::new();
        field(1, b"web", &mut meta);
        field(11, &labels_entry, &mut meta);
        let mut container = Vec::new();
        field(1, b"nginx", &mut container);
        field(2, b"nginx:1.27", &mut container);
        let mut quantity = Vec::new();
        field(1, b"512Mi", &mut quantity);
        let mut limit = Vec::new();
        field(1, b"memory", &mut limit);
        field(2, &quantity, &mut limit);
        let mut resources = Vec::new();
        field(1, &limit, &mut resources);
        field(8, &resources, &mut container);
        let mut pod_spec = Vec::new();
        field(2, &container, &mut pod_spec);
        let mut template_meta = meta.clone();
        field(8, &[], &mut template_meta);
        field(2, b"", &mut template_meta);
        let mut template = Vec::new();
        field(1, &template_meta, &mut template);
        field(2, &pod_spec, &mut template);
        let mut selector = Vec::new();
        field(1, &labels_entry, &mut selector);
        let mut surge = Vec::new();
        int(1, 1, &mut surge);
        field(3, b"25%", &mut surge);
        let mut rolling = Vec::new();
        field(2, &surge, &mut rolling);
        let mut strategy = Vec::new();
        field(2, &rolling, &mut strategy);
        let mut spec = Vec::new();
        int(1, 3, &mut spec);
        int(5, 0, &mut spec);
        field(2, &selector, &mut spec);
        field(3, &template, &mut spec);
        field(4, &strategy, &mut spec);
        let mut deployment = Vec::new();
        field(1, &meta, &mut deployment);
        field(2, &spec, &mut deployment);
        let decoded = decode(&envelope("apps/v1", "Deployment", &deployment)).unwrap();
        assert_eq!(decoded["apiVersion"], "apps/v1");
        assert_eq!(
            decoded["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
        assert!(
            decoded["spec"]["template"]["metadata"]
                .get("creationTimestamp")
                .is_none()
        );
        assert_eq!(decoded["spec"]["replicas"], 3);
        assert!(
            decoded["spec"].get("minReadySeconds").is_none(),
            "Go zero values are dropped"
        );
        assert_eq!(decoded["spec"]["selector"]["matchLabels"]["app"], "web");
        assert_eq!(
            decoded["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            "25%"
        );
        let c = &decoded["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.27");
        assert_eq!(c["resources"]["limits"]["memory"], "512Mi");
    }

    #[test]
    fn decodes_secrets_and_delete_options() {
        let mut entry = Vec::new();
        field(1, b"password", &mut entry);
        field(2, b"hunter2", &mut entry);
        let mut secret = Vec::new();
        field(2, &entry, &mut secret);
        let decoded = decode(&envelope("v1", "Secret", &secret)).unwrap();
        assert_eq!(decoded["data"]["password"], "aHVudGVyMg==");
        let mut options = Vec::new();
        int(1, u64::MAX, &mut options);
        field(4, b"Foreground", &mut options);
        field(5, b"All", &mut options);
        let decoded = decode(&envelope("v1", "DeleteOptions", &options)).unwrap();
        assert_eq!(decoded["gracePeriodSeconds"], -1);
        assert_eq!(decoded["propagationPolicy"], "Foreground");
        assert_eq!(decoded["dryRun"], json!(["All"]));
    }

    #[test]
    fn refuses_malformed_bodies() {
        assert!(decode(b"{}").is_err());
        assert!(decode(&envelope("v1", "Gadget", b"")).is_err());
        assert!(decode(&[MAGIC, &[0x0a, 0xff]].concat()).is_err());
        let mut deep = Vec::new();
        for _ in 0..100 {
            let mut wrapper = Vec::new();
            field(1, &deep, &mut wrapper);
            deep = wrapper;
        }
        // OwnerReference-free nesting through LabelSelector is bounded by the schema; raw
        // junk inside a known message is refused or skipped, never a panic.
        let _ = decode(&envelope("v1", "Namespace", &deep));
    }

    #[test]
    fn the_schema_covers_kubectls_messages() {
        for name in [
            "core.v1.Namespace",
            "core.v1.ConfigMap",
            "apps.v1.Deployment",
            "batch.v1.Job",
            "policy.v1.PodDisruptionBudget",
            "autoscaling.v2.HorizontalPodAutoscaler",
            "meta.v1.DeleteOptions",
        ] {
            assert!(schema().contains_key(name), "{name}");
        }
        let lines = include_str!("schema.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        assert_eq!(schema().len(), lines);
        for fields in schema().values() {
            for f in fields.values() {
                let referenced = match &f.kind {
                    Kind::Message(m) => Some(m),
                    Kind::Map(value) => match value.as_ref() {
                        Kind::Message(m) => Some(m),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(m) = referenced {
                    assert!(
                        schema().contains_key(m),
                        "{m} is referenced but not described"
                    );
                }
            }
        }
        let text = include_str!("schema.txt");
        let declared: usize = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(' ').count() - 1)
            .sum();
        let parsed: usize = schema().values().map(HashMap::len).sum();
        assert_eq!(parsed, declared, "every field of schema.txt parses");
    }
}
