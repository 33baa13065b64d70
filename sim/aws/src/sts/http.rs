//! STS over HTTP: the form body of a Query request decoded into the members the operations
//! read, and their answers (or errors) rendered as STS's XML.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::xml::{error_xml, response_xml};
use crate::error::ApiError;
use crate::http::{percent_decode, request_id, signed, status_of};
use crate::state::Signer;
use crate::{AwsState, Service};

/// Answers one Query request (`Action=...&Version=2011-06-15&...`).
pub(crate) fn query(
    state: &AwsState,
    headers: &HeaderMap,
    signer: &Signer,
    body: &[u8],
) -> Response {
    let form = decode_form(body);
    let action = form
        .get("Action")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let result = if action.is_empty() {
        Err(ApiError::client("MissingAction", "Missing Action"))
    } else if !signed(headers) {
        state.record_refused(Service::Sts, &action, 403, "MissingAuthenticationToken");
        Err(ApiError {
            status: 403,
            code: "MissingAuthenticationToken".into(),
            message: "Request is missing Authentication Token".into(),
        })
    } else {
        state.handle(Service::Sts, &action, Value::Object(form), signer)
    };
    let id = request_id();
    let id_text = id.to_str().unwrap_or_default().to_owned();
    let (status, text) = match &result {
        Ok(v) => (StatusCode::OK, response_xml(&action, v, &id_text)),
        Err(e) => (status_of(e), error_xml(e, &id_text)),
    };
    let mut response = (status, text).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    h.insert("x-amzn-requestid", id);
    response
}

/// `a=1&b=x%2Fy+z` as `{"a": "1", "b": "x/y z"}`.
fn decode_form(body: &[u8]) -> Map<String, Value> {
    let text = String::from_utf8_lossy(body);
    let mut members = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        members.insert(decode(k), Value::String(decode(v)));
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_escapes_and_plus() {
        let m = decode_form(b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&S=a+b");
        assert_eq!(m["Action"], "AssumeRole");
        assert_eq!(m["RoleArn"], "arn:aws:iam::1:role/x");
        assert_eq!(m["S"], "a b");
    }
}
