//! The little OpenAPI v3 kubectl needs: before `create -f` or `apply -f` it checks that
//! the server validates fields itself (the `fieldValidation` parameter on each kind's
//! PATCH operation). With that answer it sends `fieldValidation=Strict` and needs no
//! schemas; the simulator then does validate them ([`super::fields`]: unknown fields and
//! wrong types, against upstream's types). No schemas are served: `kubectl explain` does
//! not work.

use serde_json::{Map, Value, json};

use super::resources::{self, RESOURCES, Storage};

fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one document per group version.
pub fn index() -> Value {
    let mut paths = Map::new();
    for (group, version) in resources::groups() {
        let p = prefix(group, version);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=sopilot-sim")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION`.
pub fn document(path: &str) -> Option<Value> {
    let (group, version) = match path
        .trim_matches('/')
        .split('/')
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["api", version] => (String::new(), (*version).to_owned()),
        ["apis", group, version] => ((*group).to_owned(), (*version).to_owned()),
        _ => return None,
    };
    let mut paths = Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        if r.storage == Storage::Metrics {
            continue;
        }
        let base = if r.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}/{{name}}",
                prefix(r.group, r.version),
                r.plural
            )
        } else {
            format!("/{}/{}/{{name}}", prefix(r.group, r.version), r.plural)
        };
        paths.insert(
            base,
            json!({"patch": {
                "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (SOPilot simulator)", "version": "v1.32.4"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
