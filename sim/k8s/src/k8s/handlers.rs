//! The HTTP side of the Kubernetes API: one router, requests parsed into a target and a
//! verb, answers in JSON (or a Table, or log text), every refusal a `Status`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::discovery;
use super::fields::{self, Mode};
use super::logs::{self, LogOptions};
use super::patch::PatchKind;
use super::path::{self, ApiPath, Target};
use super::protobuf;
use super::read;
use super::resources::Storage;
use super::state::KubeState;
use super::status::{ApiStatus, Reason};
use super::subresources;
use super::watch;
use super::write::{self, DeleteOptions, Part};

/// The Kubernetes API router over `state`. Tests may drive it directly (tower `oneshot`).
pub fn kube_router(state: KubeState) -> Router {
    Router::new()
        .route(
            "/version",
            get(|| async { axum::Json(discovery::version()) }),
        )
        .route("/api", get(core_versions))
        .route("/apis", get(|| async { axum::Json(discovery::groups()) }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::rbac::guard,
        ))
        .with_state(state)
}

async fn core_versions(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    axum::Json(discovery::core_versions(host)).into_response()
}

/// A JSON answer with a status code.
pub fn json_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok(value: &Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// The request pieces the verbs need.
pub(crate) struct Call {
    pub method: Method,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Who is writing, for `managedFields`: the `fieldManager` parameter, else the user
    /// agent's product name; `sub` is the subresource written (`status`, `scale`).
    fn writer(&self, sub: Option<&str>) -> super::managed::Writer {
        let agent = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        super::managed::Writer {
            manager: super::managed::Writer::of_request(self.param("fieldManager"), agent),
            subresource: match sub {
                Some("status") => Some("status"),
                Some("scale") => Some("scale"),
                _ => None,
            },
        }
    }

    /// Whether the client asked for server-side printing.
    pub fn wants_table(&self) -> bool {
        self.accept().contains("as=Table")
    }

    pub fn wants_metadata(&self) -> bool {
        self.accept().contains("as=PartialObjectMetadata")
    }

    fn accept(&self) -> &str {
        self.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `dryRun=All` in the query (or, for deletes, in the body).
    fn dry_run(&self, body: Option<&Value>) -> Result<bool, ApiStatus> {
        let mut values: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| k == "dryRun")
            .map(|(_, v)| v.clone())
            .collect();
        if let Some(list) = body.and_then(|b| b.get("dryRun")).and_then(Value::as_array) {
            values.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        match values.iter().find(|v| v.as_str() != "All") {
            Some(bad) => Err(ApiStatus::bad_request(format!(
                "dryRun: Unsupported value: \"{bad}\": supported values: \"All\""
            ))),
            None => Ok(!values.is_empty()),
        }
    }

    /// The `fieldValidation` directive (`Warn` when absent).
    fn field_validation(&self) -> Result<Mode, ApiStatus> {
        Mode::from_query(self.param("fieldValidation"))
    }

    /// The dry-run flag for a collection delete (query or body).
    pub(crate) fn collection_dry_run(&self) -> Result<bool, ApiStatus> {
        let body = serde_json::from_slice::<Value>(&self.body).ok();
        self.dry_run(body.as_ref())
    }

    fn json_body(&self) -> Result<Value, ApiStatus> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let hint = if self.body.first() == Some(&b'\n') || self.body.is_empty() {
                "empty body"
            } else {
                "the simulator accepts JSON bodies only"
            };
            ApiStatus::bad_request(format!("invalid request body ({hint}): {e}"))
        })
    }
}

async fn dispatch(State(state): State<KubeState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let limit = state.limits().max_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiStatus::new(
                Reason::RequestEntityTooLarge,
                format!("the request body is larger than {limit} bytes"),
            )
            .into_response();
        }
    };
    let query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut call = Call {
        method: parts.method,
        query,
        headers: parts.headers,
        body,
    };
    tracing::debug!(method = %call.method, path = parts.uri.path(), query = ?call.query, "kubernetes request");
    if let Err(refusal) = json_body_of(&mut call) {
        return refusal.into_response();
    }
    if let Some(rest) = parts.uri.path().strip_prefix("/openapi/v3") {
        let document = if rest.trim_matches('/').is_empty() {
            Some(super::openapi::index())
        } else {
            super::openapi::document(rest)
        };
        return match document {
            Some(doc) => ok(&doc),
            None => not_served(),
        };
    }
    let response = match path::parse(parts.uri.path()) {
        Some(ApiPath::GroupVersion { group, version }) => {
            match discovery::resource_list(&group, &version) {
                Some(list) => ok(&list),
                None => not_served(),
            }
        }
        Some(ApiPath::Group(group)) => match discovery::group_info(&group) {
            Some(info) => ok(&info),
            None => not_served(),
        },
        Some(ApiPath::Resource(target)) => match route(&state, &target, &call) {
            Ok(response) => response,
            Err(status) => status.into_response(),
        },
        None => not_served(),
    };
    tracing::debug!(status = response.status().as_u16(), "kubernetes response");
    response
}

/// Turns a protobuf body (what kubectl's typed clients send) into JSON; other non-JSON
/// bodies (CBOR, YAML) get 415. Patches carry their own media types and are left alone.
fn json_body_of(call: &mut Call) -> Result<(), ApiStatus> {
    if call.body.is_empty() || !matches!(call.method, Method::POST | Method::PUT | Method::DELETE) {
        return Ok(());
    }
    let media = call
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_owned();
    match media.as_str() {
        "" | "application/json" => Ok(()),
        protobuf::MEDIA_TYPE => {
            let object = protobuf::decode(&call.body)
                .map_err(|e| ApiStatus::new(Reason::UnsupportedMediaType, e))?;
            call.body = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
            Ok(())
        }
        other => Err(ApiStatus::new(
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format ({other}) - accepted media types include: application/json, application/vnd.kubernetes.protobuf"
            ),
        )),
    }
}

fn not_served() -> Response {
    ApiStatus::new(
        Reason::NotFound,
        "the server could not find the requested resource",
    )
    .into_response()
}

fn route(state: &KubeState, target: &Target, call: &Call) -> Result<Response, ApiStatus> {
    let rt = target.rt;
    if let Some(sub) = &target.sub
        && rt.subresource(sub).is_none()
    {
        return Err(ApiStatus::new(
            Reason::NotFound,
            "the server could not find the requested resource",
        ));
    }
    if rt.storage == Storage::Metrics && call.method != Method::GET {
        return Err(ApiStatus::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            rt.plural
        )));
    }
    let name = target.name.as_deref();
    let sub = target.sub.as_deref();
    let ns = target.namespace();
    match (&call.method, name, sub) {
        (&Method::GET, None, _) => {
            if matches!(call.param("watch"), Some("true" | "1")) {
                if rt.storage == Storage::Metrics {
                    return Err(ApiStatus::method_not_allowed(
                        "watch is not supported on metrics",
                    ));
                }
                return watch::serve(state, target, call);
            }
            read::list(state, target, call)
        }
        (&Method::GET, Some(name), None | Some("status")) => read::get(state, target, name, call),
        (&Method::GET, Some(name), Some("scale")) => Ok(ok(
            &state.read(|s| subresources::get_scale(s, rt, ns, name))?
        )),
        (&Method::GET, Some(name), Some("log")) => {
            let options = LogOptions::from_query(&call.query)?;
            let text = state.read(|s| {
                let pod = write::get(s, rt, ns, name)?;
                logs::read(&s.logs, &pod, &options, s.now())
            })?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
        }
        (&Method::POST, None, None) => {
            let body = call.json_body()?;
            let dry = call.dry_run(None)?;
            let warnings = fields::enforce(call.field_validation()?, rt, &body, &[])?;
            let writer = call.writer(None);
            let created = state.write(dry, |s| {
                s.writer = Some(writer);
                write::create(s, rt, ns, body)
            })?;
            Ok(warn(
                json_response(StatusCode::CREATED, &created),
                &warnings,
            ))
        }
        (&Method::POST, Some(name), Some("eviction")) => {
            let body = call.json_body()?;
            let in_options = body.get("deleteOptions").cloned();
            let dry = call.dry_run(in_options.as_ref())?;
            let answer = state.write(dry, |s| subresources::evict(s, ns, name))?;
            Ok(json_response(StatusCode::CREATED, &answer))
        }
        (&Method::PUT, Some(name), None | Some("status")) => {
            let body = call.json_body()?;
            let dry = call.dry_run(None)?;
            let part = if sub == Some("status") {
                Part::Status
            } else {
                Part::Main
            };
            let warnings = fields::enforce(call.field_validation()?, rt, &body, &[])?;
            let writer = call.writer(sub);
            let answer = state.write(dry, |s| {
                s.writer = Some(writer);
                write::update(s, rt, ns, name, body, part)
            })?;
            Ok(warn(ok(&answer), &warnings))
        }
        (&Method::PUT, Some(name), Some("scale")) => {
            let body = call.json_body()?;
            let dry = call.dry_run(None)?;
            let writer = call.writer(sub);
            Ok(ok(&state.write(dry, |s| {
                s.writer = Some(writer);
                subresources::write_scale(s, rt, ns, name, &body)
            })?))
        }
        (&Method::PATCH, Some(name), None | Some("status") | Some("scale")) => {
            let content_type = call
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = PatchKind::from_content_type(content_type).ok_or_else(|| {
                ApiStatus::new(
                    Reason::UnsupportedMediaType,
                    format!("the body of the request was in an unknown format ({content_type:?}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
                )
            })?;
            let dry = call.dry_run(None)?;
            let mode = call.field_validation()?;
            let writer = call.writer(sub);
            let (answer, warnings) = state.write(dry, |s| {
                s.writer = Some(writer);
                match sub {
                    Some("scale") => {
                        let scale = subresources::get_scale(s, rt, ns, name)?;
                        let patched = super::patch::apply(kind, &scale, &call.body)
                            .map_err(ApiStatus::bad_request)?;
                        Ok((
                            subresources::write_scale(s, rt, ns, name, &patched)?,
                            Vec::new(),
                        ))
                    }
                    _ => {
                        let part = if sub == Some("status") {
                            Part::Status
                        } else {
                            Part::Main
                        };
                        let warnings = patched_fields(s, target, name, kind, &call.body, mode)?;
                        Ok((
                            write::patch(s, rt, ns, name, kind, &call.body, part)?,
                            warnings,
                        ))
                    }
                }
            })?;
            Ok(warn(ok(&answer), &warnings))
        }
        (&Method::DELETE, Some(name), None) => {
            let body = if call.body.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                call.json_body()?
            };
            let mut options = DeleteOptions::from_body(&body);
            if let Some(p) = call.param("propagationPolicy") {
                options.propagation = Some(p.to_owned());
            }
            if let Some(g) = call
                .param("gracePeriodSeconds")
                .and_then(|g| g.parse().ok())
            {
                options.grace_period_seconds = Some(g);
            }
            let dry = call.dry_run(Some(&body))?;
            Ok(ok(&state.write(dry, |s| {
                write::delete(s, rt, ns, name, &options)
            })?))
        }
        (&Method::DELETE, None, None) => read::delete_collection(state, target, call),
        _ => Err(ApiStatus::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            call.method, rt.plural
        ))),
    }
}

/// The field validation of a patch: the fields the patched object has that its kind does not
/// declare, besides those the stored object already had. A patch that does not apply is left
/// to [`write::patch`] to refuse.
fn patched_fields(
    store: &super::store::Store,
    target: &Target,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    mode: Mode,
) -> Result<Vec<String>, ApiStatus> {
    let rt = target.rt;
    let Ok(current) = write::get(store, rt, target.namespace(), name) else {
        return Ok(Vec::new());
    };
    let Ok(already) = fields::unknown_fields(rt, &current) else {
        return Ok(Vec::new());
    };
    match super::patch::apply(kind, &current, body) {
        Ok(patched) => fields::enforce(mode, rt, &patched, &already),
        Err(_) => Ok(Vec::new()),
    }
}

/// `response` with one `Warning` header per warning (kubectl prints them as `Warning: ...`).
fn warn(mut response: Response, warnings: &[String]) -> Response {
    for text in warnings {
        if let Ok(value) = HeaderValue::from_str(&fields::warning_header(text)) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}
