//! Trace context for the MCP servers SOPilot calls. When the binary exports traces it tells
//! the gateway how to read the current span's W3C `traceparent` ([`set_traceparent_source`]);
//! each `tools/call` then carries it in the request's `_meta` (MCP SEP-414, for servers on
//! any transport) and, over streamable HTTP, as the `traceparent` header (for HTTP servers
//! and the proxies in front of them). Without a source nothing is added and HTTP servers
//! get rmcp's own client.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures::stream::BoxStream;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, RequestParamsMeta};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

/// The W3C header (and `_meta` key) of trace context.
const TRACEPARENT: &str = "traceparent";

/// Redirects followed for one request, as rmcp's own client does.
const MAX_REDIRECTS: usize = 10;

static SOURCE: OnceLock<fn() -> Option<String>> = OnceLock::new();

/// Makes the gateway propagate trace context: `source` returns the current span's
/// `traceparent` (`00-TRACE_ID-SPAN_ID-FLAGS`), or `None` outside a traced span. Set once,
/// by the binary, when it exports traces; later calls are ignored.
pub fn set_traceparent_source(source: fn() -> Option<String>) {
    let _ = SOURCE.set(source);
}

/// The current span's `traceparent`, when traces are exported.
pub(super) fn current() -> Option<String> {
    SOURCE.get().and_then(|f| f())
}

/// Whether trace context is propagated at all.
pub(super) fn enabled() -> bool {
    SOURCE.get().is_some()
}

/// The `traceparent` a message carries in its `_meta` (a `tools/call` request's).
pub(super) fn traceparent_of(message: &ClientJsonRpcMessage) -> Option<HeaderValue> {
    let JsonRpcMessage::Request(r) = message else {
        return None;
    };
    let ClientRequest::CallToolRequest(call) = &r.request else {
        return None;
    };
    call.params
        .traceparent()
        .and_then(|t| HeaderValue::from_str(t).ok())
}

fn with_traceparent(
    mut headers: HashMap<HeaderName, HeaderValue>,
    message: &ClientJsonRpcMessage,
) -> HashMap<HeaderName, HeaderValue> {
    if let Some(v) = traceparent_of(message) {
        headers.insert(HeaderName::from_static(TRACEPARENT), v);
    }
    headers
}

/// rmcp's reqwest client, plus the `traceparent` header of the `tools/call` it posts.
#[derive(Debug, Clone)]
pub(super) struct TracedHttp(reqwest::Client);

impl TracedHttp {
    /// A client like rmcp's default: no idle connections kept, only same-origin 307 and 308
    /// redirects followed (they keep the method and the body; nothing is replayed to another
    /// host).
    pub fn new() -> Result<TracedHttp, reqwest::Error> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            let keeps_body = matches!(attempt.status().as_u16(), 307 | 308);
            if same_origin && keeps_body && attempt.previous().len() <= MAX_REDIRECTS {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(policy)
            .build()
            .map(TracedHttp)
    }
}

type PostResult = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>;
type StreamResult =
    Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<reqwest::Error>>;

impl StreamableHttpClient for TracedHttp {
    type Error = reqwest::Error;

    fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = PostResult> + Send + '_ {
        let headers = with_traceparent(custom_headers, &message);
        self.0
            .post_message(uri, message, session_id, auth_header, headers)
    }

    fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> impl Future<Output = PostResult> + Send + '_ {
        let headers = with_traceparent(custom_headers, &message);
        self.0.post_message_with_max_sse_event_size(
            uri,
            message,
            session_id,
            auth_header,
            headers,
            max_sse_event_size,
        )
    }

    fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> impl Future<Output = PostResult> + Send + '_ {
        let headers = with_traceparent(custom_headers, &message);
        self.0.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            headers,
            limits,
        )
    }

    fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = Result<(), StreamableHttpError<reqwest::Error>>> + Send + '_ {
        self.0
            .delete_session(uri, session_id, auth_header, custom_headers)
    }

    fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = StreamResult> + Send + '_ {
        self.0
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
    }

    fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> impl Future<Output = StreamResult> + Send + '_ {
        self.0.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            max_sse_event_size,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rmcp::model::{CallToolRequest, CallToolRequestParams, JsonRpcRequest, RequestId};

    use super::*;

    fn call(traceparent: Option<&str>) -> ClientJsonRpcMessage {
        let mut params = CallToolRequestParams::new("get_pods");
        if let Some(t) = traceparent {
            params.set_traceparent(t);
        }
        JsonRpcMessage::Request(JsonRpcRequest::new(
            RequestId::Number(1),
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
        ))
    }

    #[test]
    fn a_tool_call_with_trace_context_carries_it_as_a_header() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let message = call(Some(tp));
        let wire = serde_json::to_value(&message).unwrap();
        assert_eq!(wire["params"]["_meta"]["traceparent"], tp, "{wire}");
        let headers = with_traceparent(HashMap::new(), &message);
        let name = HeaderName::from_static(TRACEPARENT);
        assert_eq!(headers.get(&name).unwrap(), tp);
        // No trace context (traces not exported): no header, no `_meta`.
        let plain = call(None);
        assert!(with_traceparent(HashMap::new(), &plain).is_empty());
        let wire = serde_json::to_value(&plain).unwrap();
        assert!(wire["params"].get("_meta").is_none(), "{wire}");
    }
}
