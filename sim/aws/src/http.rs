//! The HTTP face: one router for every service. CloudWatch is routed by path
//! (`/service/GraniteServiceVersion20100801/operation/<Op>`, CBOR), Logs and Cost Explorer by
//! `POST /` and `X-Amz-Target` (JSON 1.1), STS by `POST /` with a form body (AWS Query, XML),
//! X-Ray by path (`POST /ServiceGraph`, `POST /TraceSummaries`, REST-JSON), ARC zonal shift by
//! path and method (`/zonalshifts`, `/managedresources`, REST-JSON), EKS by `GET
//! /clusters/{name}` (REST-JSON). A SigV4 `authorization` header is required but not verified;
//! its access key ID is recorded with the request.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::Signer;
use crate::{AwsState, Service, cbor};

const CBOR_PATH: &str = "/service/GraniteServiceVersion20100801/operation/{operation}";
const JSON_11: &str = "application/x-amz-json-1.1";

/// The simulated AWS endpoint: point `AWS_ENDPOINT_URL` (or the SDK's `endpoint_url`) at it.
pub fn router(state: AwsState) -> Router {
    Router::new()
        .route(CBOR_PATH, post(cloudwatch))
        .route("/", post(json_rpc))
        .route("/ServiceGraph", post(xray_service_graph))
        .route("/TraceSummaries", post(xray_trace_summaries))
        .route("/zonalshifts", get(arc_list_shifts).post(arc_start_shift))
        .route("/zonalshifts/{id}", axum::routing::delete(arc_cancel_shift))
        .route("/managedresources", get(arc_list_resources))
        .route("/managedresources/{id}", get(arc_get_resource))
        .route("/clusters/{name}", get(eks_describe_cluster))
        .fallback(unknown_path)
        .with_state(state)
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

pub(crate) fn request_id() -> HeaderValue {
    let n = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("5a1e0000-0000-4000-8000-{n:012x}")).unwrap_or(
        HeaderValue::from_static("5a1e0000-0000-4000-8000-000000000000"),
    )
}

/// The access key ID and region of a SigV4 `authorization` header's credential scope
/// (`Credential=AKID/20260101/us-east-1/sts/aws4_request`).
fn signer(headers: &HeaderMap) -> Signer {
    let scope = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap_or_default();
    let mut parts = scope.split('/');
    let non_empty = |p: Option<&str>| p.filter(|p| !p.is_empty()).map(str::to_owned);
    let access_key = non_empty(parts.next());
    let region = non_empty(parts.nth(1));
    Signer { access_key, region }
}

pub(crate) fn signed(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-"))
}

async fn cloudwatch(
    State(state): State<AwsState>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = if signed(&headers) {
        match cbor::decode(&body) {
            Ok(request) => {
                state.handle(Service::CloudWatch, &operation, request, &signer(&headers))
            }
            Err(message) => {
                state.record_refused(
                    Service::CloudWatch,
                    &operation,
                    400,
                    "SerializationException",
                );
                Err(ApiError::client("SerializationException", message))
            }
        }
    } else {
        state.record_refused(
            Service::CloudWatch,
            &operation,
            403,
            "MissingAuthenticationToken",
        );
        Err(missing_token())
    };
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (status_of(&e), error_body(&e)),
    };
    let mut response = (status, cbor::encode(&body)).into_response();
    let h = response.headers_mut();
    h.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/cbor"),
    );
    h.insert("x-amzn-requestid", request_id());
    if let Some(code) = body.get("__type").and_then(Value::as_str) {
        // CloudWatch is query-compatible: real responses name the legacy code here too.
        let fault = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        if let Ok(v) = HeaderValue::from_str(&format!("{code};{fault}")) {
            h.insert("x-amzn-query-error", v);
        }
    }
    response
}

async fn json_rpc(State(state): State<AwsState>, headers: HeaderMap, body: Bytes) -> Response {
    if is_form(&headers) {
        return crate::sts::http::query(&state, &headers, &signer(&headers), &body);
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (service, operation) = if let Some(op) = target.strip_prefix("Logs_20140328.") {
        (Service::Logs, op)
    } else if let Some(op) = target.strip_prefix("AWSInsightsIndexService.") {
        (Service::CostExplorer, op)
    } else {
        return json_response(&Err(ApiError::client(
            "UnknownOperationException",
            format!(
                "unknown X-Amz-Target {target:?}; the simulator serves Logs_20140328.* and AWSInsightsIndexService.*"
            ),
        )));
    };
    if !signed(&headers) {
        state.record_refused(
            service,
            operation,
            403,
            "MissingAuthenticationTokenException",
        );
        return json_response(&Err(missing_token_json()));
    }
    let request = if body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice::<Value>(&body).map_err(|e| {
            ApiError::client(
                "SerializationException",
                format!("body is not valid JSON: {e}"),
            )
        })
    };
    let result = match request {
        Ok(request) if request.is_object() => {
            state.handle(service, operation, request, &signer(&headers))
        }
        Ok(_) => Err(ApiError::client(
            "SerializationException",
            "body must be a JSON object",
        )),
        Err(e) => {
            state.record_refused(service, operation, 400, &e.code);
            Err(e)
        }
    };
    json_response(&result)
}

fn json_response(result: &Result<Value, ApiError>) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v.clone()),
        Err(e) => (status_of(e), error_body(e)),
    };
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_11));
    h.insert("x-amzn-requestid", request_id());
    response
}

async fn xray_service_graph(state: State<AwsState>, headers: HeaderMap, body: Bytes) -> Response {
    xray(state, "GetServiceGraph", &headers, &body)
}

async fn xray_trace_summaries(state: State<AwsState>, headers: HeaderMap, body: Bytes) -> Response {
    xray(state, "GetTraceSummaries", &headers, &body)
}

/// X-Ray's REST-JSON: the operation is the path, errors name their code in
/// `x-amzn-errortype`.
fn xray(state: State<AwsState>, operation: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    rest_json(
        state,
        Service::XRay,
        operation,
        headers,
        body,
        StatusCode::OK,
    )
}

async fn arc_list_shifts(state: State<AwsState>, headers: HeaderMap, uri: Uri) -> Response {
    let body = query_body(&uri, &[]);
    rest_json(
        state,
        Service::Arc,
        "ListZonalShifts",
        &headers,
        &body,
        StatusCode::OK,
    )
}

async fn arc_start_shift(state: State<AwsState>, headers: HeaderMap, body: Bytes) -> Response {
    let created = StatusCode::CREATED;
    rest_json(
        state,
        Service::Arc,
        "StartZonalShift",
        &headers,
        &body,
        created,
    )
}

async fn arc_cancel_shift(
    state: State<AwsState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let body = query_body(&uri, &[("zonalShiftId", id)]);
    rest_json(
        state,
        Service::Arc,
        "CancelZonalShift",
        &headers,
        &body,
        StatusCode::OK,
    )
}

async fn arc_list_resources(state: State<AwsState>, headers: HeaderMap, uri: Uri) -> Response {
    let body = query_body(&uri, &[]);
    let op = "ListManagedResources";
    rest_json(state, Service::Arc, op, &headers, &body, StatusCode::OK)
}

async fn arc_get_resource(
    state: State<AwsState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let body = query_body(&uri, &[("resourceIdentifier", id)]);
    let op = "GetManagedResource";
    rest_json(state, Service::Arc, op, &headers, &body, StatusCode::OK)
}

async fn eks_describe_cluster(
    state: State<AwsState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let body = query_body(&uri, &[("name", name)]);
    let op = "DescribeCluster";
    rest_json(state, Service::Eks, op, &headers, &body, StatusCode::OK)
}

/// Whether the body is a form (`application/x-www-form-urlencoded`): the AWS Query protocol.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A REST request's path labels and query parameters as the JSON body the operations read.
fn query_body(uri: &Uri, labels: &[(&str, String)]) -> Bytes {
    let mut members = serde_json::Map::new();
    for pair in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        members.insert(percent_decode(k), Value::String(percent_decode(v)));
    }
    for (k, v) in labels {
        members.insert((*k).to_owned(), Value::String(v.clone()));
    }
    Bytes::from(Value::Object(members).to_string())
}

/// `%XX` escapes (and `+`, kept as is: the SDK writes spaces as `%20`) decoded; bad escapes
/// are kept as written.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A REST-JSON answer (X-Ray, ARC): `ok` on success, errors with their code in
/// `x-amzn-errortype` and `{"message"}` in the body.
fn rest_json(
    State(state): State<AwsState>,
    service: Service,
    operation: &str,
    headers: &HeaderMap,
    body: &Bytes,
    ok: StatusCode,
) -> Response {
    let result = if !signed(headers) {
        state.record_refused(
            service,
            operation,
            403,
            "MissingAuthenticationTokenException",
        );
        Err(missing_token_json())
    } else {
        match serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { body }) {
            Ok(request) if request.is_object() => {
                state.handle(service, operation, request, &signer(headers))
            }
            _ => {
                state.record_refused(service, operation, 400, "SerializationException");
                Err(ApiError::client(
                    "SerializationException",
                    "body must be a JSON object",
                ))
            }
        }
    };
    let (status, body) = match &result {
        Ok(v) => (ok, v.clone()),
        Err(e) => (status_of(e), json!({"message": e.message})),
    };
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-requestid", request_id());
    if let Err(e) = &result
        && let Ok(v) = HeaderValue::from_str(&e.code)
    {
        h.insert("x-amzn-errortype", v);
    }
    response
}

async fn unknown_path() -> Response {
    let e = ApiError {
        status: 404,
        code: "UnknownOperationException".into(),
        message: "the simulator serves POST /service/GraniteServiceVersion20100801/operation/<Op> (CloudWatch), POST / with X-Amz-Target (Logs, Cost Explorer), POST / with a form body (STS), POST /ServiceGraph and POST /TraceSummaries (X-Ray), /zonalshifts and /managedresources (ARC zonal shift), GET /clusters/{name} (EKS)".into(),
    };
    json_response(&Err(e))
}

fn missing_token() -> ApiError {
    ApiError {
        status: 403,
        code: "MissingAuthenticationToken".into(),
        message: "Request is missing Authentication Token".into(),
    }
}

fn missing_token_json() -> ApiError {
    ApiError {
        status: 403,
        code: "MissingAuthenticationTokenException".into(),
        message: "Missing Authentication Token".into(),
    }
}

pub(crate) fn status_of(e: &ApiError) -> StatusCode {
    StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn error_body(e: &ApiError) -> Value {
    json!({"__type": e.code, "message": e.message})
}
