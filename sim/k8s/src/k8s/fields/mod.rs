//! Field validation on writes, as the API server does it for `fieldValidation`: a field the
//! kind does not declare is an error with `Strict` (what kubectl sends on `create`/`apply`),
//! a `Warning` header with `Warn` (the default) and nothing with `Ignore`; a value of the wrong
//! type is an error whatever the mode (Go's decoder fails on it). Built-in kinds are checked
//! against k8s-openapi's types ([`decode`]), the simulated custom resources against their
//! declared fields ([`crd`]).

mod crd;
mod decode;

use serde_json::Value;

use super::resources::ResourceType;
use super::status::ApiStatus;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `spec.template.spec.containers[0].name`, as the API writes field paths.
pub fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The `fieldValidation` directive of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Warn,
    Ignore,
}

impl Mode {
    /// The query parameter's value; absent means `Warn`, the API server's default.
    pub fn from_query(value: Option<&str>) -> Result<Mode, ApiStatus> {
        match value {
            None | Some("") | Some("Warn") => Ok(Mode::Warn),
            Some("Strict") => Ok(Mode::Strict),
            Some("Ignore") => Ok(Mode::Ignore),
            Some(other) => Err(ApiStatus::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// The paths of `object`'s fields that its kind does not declare, or a 400 for a value of
/// the wrong type. Kinds the simulator knows no schema for have none.
pub fn unknown_fields(rt: &ResourceType, object: &Value) -> Result<Vec<String>, ApiStatus> {
    if let Some(paths) = crd::unknown_fields(rt, object) {
        return Ok(paths);
    }
    // A body of another kind is refused by the write itself, with the API's message.
    let Some(object) = typed(rt, object) else {
        return Ok(Vec::new());
    };
    let Some(result) = decode::round_trip_for(rt, &object) else {
        return Ok(Vec::new());
    };
    match result {
        Ok(kept) => {
            let mut out = Vec::new();
            lost_at(&object, &kept, &mut Vec::new(), &mut out);
            Ok(out)
        }
        Err(mismatch) => Err(ApiStatus::bad_request(format!(
            "{}: {}",
            cannot_handle(rt),
            go_message(&render(&mismatch.path), &mismatch.message)
        ))),
    }
}

/// The object with `apiVersion` and `kind` filled from its resource when absent (the API
/// takes them from the URL); `None` when it names another kind or is not an object.
fn typed(rt: &ResourceType, object: &Value) -> Option<Value> {
    let mut object = object.clone();
    let map = object.as_object_mut()?;
    let api_version = rt.api_version();
    let api_version = map
        .entry("apiVersion")
        .or_insert_with(|| Value::String(api_version));
    if api_version.as_str() != Some(rt.api_version().as_str()) {
        return None;
    }
    let kind = map
        .entry("kind")
        .or_insert_with(|| Value::String(rt.kind.to_owned()));
    if kind.as_str() != Some(rt.kind) {
        return None;
    }
    Some(object)
}

/// Collects the paths present (and not null) in `input` but missing from `kept`.
fn lost_at(input: &Value, kept: &Value, at: &mut Vec<Step>, out: &mut Vec<String>) {
    match (input, kept) {
        (Value::Object(i), Value::Object(k)) => {
            for (key, value) in i {
                if value.is_null() {
                    continue;
                }
                at.push(Step::Key(key.clone()));
                match k.get(key) {
                    Some(next) => lost_at(value, next, at, out),
                    None => out.push(render(at)),
                }
                at.pop();
            }
        }
        (Value::Array(i), Value::Array(k)) => {
            for (index, (a, b)) in i.iter().zip(k).enumerate() {
                at.push(Step::Index(index));
                lost_at(a, b, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// `Deployment in version "v1" cannot be handled as a Deployment`, the API's prefix for a
/// body it cannot decode.
fn cannot_handle(rt: &ResourceType) -> String {
    format!(
        "{} in version \"{}\" cannot be handled as a {}",
        rt.kind, rt.version, rt.kind
    )
}

/// serde's `invalid type: string "2", expected i32` at `spec.replicas` in Go's words:
/// `json: cannot unmarshal string into Go struct field .spec.replicas of type int32`.
fn go_message(path: &str, serde: &str) -> String {
    let Some(rest) = serde.strip_prefix("invalid type: ") else {
        return format!("{path}: {serde}");
    };
    let (got, want) = rest.split_once(", expected ").unwrap_or((rest, "?"));
    let got = match got.split([' ', '`']).next().unwrap_or(got) {
        "integer" | "floating" => "number",
        "boolean" => "bool",
        "map" => "object",
        "sequence" => "array",
        "unit" => "null",
        other => other,
    };
    let want = match want {
        "i32" => "int32",
        "i64" => "int64",
        "f64" => "float64",
        "a string" => "string",
        "a boolean" => "bool",
        "a sequence" => "[]interface {}",
        "a map" => "map[string]string",
        other => other,
    };
    format!("json: cannot unmarshal {got} into Go struct field .{path} of type {want}")
}

/// What a write with `mode` does about `object`'s unknown fields, besides those listed in
/// `already` (a patch is not refused for what the stored object had): a 400 (`Strict`), the
/// warnings to send (`Warn`), or nothing (`Ignore`). Wrong types are refused in every mode.
pub fn enforce(
    mode: Mode,
    rt: &ResourceType,
    object: &Value,
    already: &[String],
) -> Result<Vec<String>, ApiStatus> {
    let unknown: Vec<String> = unknown_fields(rt, object)?
        .into_iter()
        .filter(|p| !already.contains(p))
        .collect();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect();
    match mode {
        Mode::Strict => Err(ApiStatus::bad_request(format!(
            "{}: strict decoding error: {}",
            cannot_handle(rt),
            listed.join(", ")
        ))),
        Mode::Warn => Ok(listed),
        Mode::Ignore => Ok(Vec::new()),
    }
}

/// The `Warning` header value for one warning (RFC 7234's code 299, as the API sends them).
pub fn warning_header(text: &str) -> String {
    format!("299 - {}", Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::resources::find;
    use crate::k8s::status::Reason;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
              "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
              "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                  "ports": [{"containerPort": 8080, "name": "http"}],
                  "resources": {"limits": {"cpu": 1, "memory": "128Mi"}},
                  "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                  "securityContext": {"runAsNonRoot": true, "readOnlyRootFilesystem": true,
                    "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
                  "volumes": [{"name": "tmp", "emptyDir": {}}]}}}})
    }

    fn deployments() -> &'static ResourceType {
        find("apps", "v1", "deployments").unwrap()
    }

    #[test]
    fn a_valid_deployment_passes_in_every_mode() {
        for mode in [Mode::Strict, Mode::Warn, Mode::Ignore] {
            assert_eq!(
                enforce(mode, deployments(), &deployment(), &[]).unwrap(),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn unknown_fields_at_the_top_in_a_container_and_in_a_list() {
        let mut d = deployment();
        d["spec"]["replicass"] = json!(3);
        d["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("x");
        d["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimitt"] = json!("1Gi");
        // null values are as good as absent, as in Go.
        d["spec"]["paused"] = Value::Null;
        let err = enforce(Mode::Strict, deployments(), &d, &[]).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest);
        assert_eq!(
            err.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: \
             unknown field \"spec.template.spec.containers[0].imagee\", \
             unknown field \"spec.template.spec.volumes[0].emptyDir.sizeLimitt\", unknown field \"spec.replicass\""
        );
        // In the body's order, as Go's decoder meets them.
        let warnings = enforce(Mode::Warn, deployments(), &d, &[]).unwrap();
        assert_eq!(warnings.len(), 3);
        assert_eq!(warnings[2], "unknown field \"spec.replicass\"");
        assert_eq!(
            warning_header(&warnings[2]),
            "299 - \"unknown field \\\"spec.replicass\\\"\""
        );
        assert!(
            enforce(Mode::Ignore, deployments(), &d, &[])
                .unwrap()
                .is_empty()
        );
        // What the stored object already had is not held against a patch.
        let had = vec![
            "spec.template.spec.volumes[0].emptyDir.sizeLimitt".to_owned(),
            "spec.template.spec.containers[0].imagee".to_owned(),
        ];
        let err = enforce(Mode::Strict, deployments(), &d, &had).unwrap_err();
        assert!(
            err.message
                .ends_with("strict decoding error: unknown field \"spec.replicass\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_wrong_type_is_refused_with_its_path_in_every_mode() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!("two");
        for mode in [Mode::Strict, Mode::Ignore] {
            let err = enforce(mode, deployments(), &d, &[]).unwrap_err();
            assert_eq!(err.reason, Reason::BadRequest);
            assert_eq!(
                err.message,
                "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field .spec.replicas of type int32"
            );
        }
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"] = json!({"name": "web"});
        let err = enforce(Mode::Strict, deployments(), &d, &[]).unwrap_err();
        assert!(
            err.message.contains(
                "cannot unmarshal object into Go struct field .spec.template.spec.containers"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_kind_and_unschemed_kinds() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "dataa": {}});
        let cms = find("", "v1", "configmaps").unwrap();
        assert_eq!(unknown_fields(cms, &cm).unwrap(), vec!["dataa".to_owned()]);
        let metrics = find("metrics.k8s.io", "v1beta1", "pods").unwrap();
        assert!(
            unknown_fields(metrics, &json!({"x": 1}))
                .unwrap()
                .is_empty()
        );
    }

    /// Every scenario of the repository (the `kubernetes` section of each YAML file with one)
    /// holds only fields the real API declares, with values of the right types.
    #[test]
    fn every_scenario_of_the_repository_declares_its_fields() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in [
            "scenarios",
            "tests/scenarios",
            "eval/cases",
            "sim/k8s/tests",
        ] {
            collect_yaml(&root.join(dir), &mut files);
        }
        assert!(files.len() > 10, "found the scenarios: {files:?}");
        let mut problems = Vec::new();
        let now = chrono::Utc::now();
        let mut objects = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let Ok(root) = sopilot_yaml::parse(&text) else {
                continue;
            };
            let Some(node) = root.get("kubernetes") else {
                continue;
            };
            let scenario = crate::KubernetesScenario::from_node(node).unwrap();
            for item in scenario.objects {
                let mut object = item.object.clone();
                crate::time::resolve_relative(&mut object, now);
                let api_version = object["apiVersion"].as_str().unwrap_or("").to_owned();
                let kind = object["kind"].as_str().unwrap_or("").to_owned();
                let Some(rt) = crate::k8s::resources::by_kind(&api_version, &kind) else {
                    continue;
                };
                objects += 1;
                match unknown_fields(rt, &object) {
                    Ok(paths) if paths.is_empty() => {}
                    Ok(paths) => {
                        problems.push(format!("{}:{}: {paths:?}", file.display(), item.line))
                    }
                    Err(e) => {
                        problems.push(format!("{}:{}: {}", file.display(), item.line, e.message))
                    }
                }
            }
        }
        assert!(objects > 50, "checked {objects} objects");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    fn collect_yaml(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_yaml(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }

    #[test]
    fn directives() {
        assert_eq!(Mode::from_query(None).unwrap(), Mode::Warn);
        assert_eq!(Mode::from_query(Some("Strict")).unwrap(), Mode::Strict);
        assert_eq!(Mode::from_query(Some("Ignore")).unwrap(), Mode::Ignore);
        assert_eq!(
            Mode::from_query(Some("strict")).unwrap_err().reason,
            Reason::BadRequest
        );
    }
}
