//! The router driven directly: signature and routing refusals, malformed bodies, scenario
//! errors that name their field, and a property test that no request makes it fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use sopilot_sim_aws::{AwsSimError, AwsState, router};
use tower::ServiceExt;

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00";

fn json_request(target: &str, body: &str, signed: bool) -> Request<Body> {
    let mut r = Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target);
    if signed {
        r = r.header("authorization", SIGNED);
    }
    r.body(Body::from(body.to_owned())).unwrap()
}

fn cbor_request(op: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!(
        "/service/GraniteServiceVersion20100801/operation/{op}"
    ))
    .header("content-type", "application/cbor")
    .header("smithy-protocol", "rpc-v2-cbor")
    .header("authorization", SIGNED)
    .body(Body::from(body))
    .unwrap()
}

async fn send(state: &AwsState, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, body.to_vec())
}

#[tokio::test]
async fn refuses_unsigned_unknown_and_malformed_requests() {
    let state = common::state();
    let (status, body) = send(
        &state,
        json_request("Logs_20140328.DescribeLogGroups", "{}", false),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["__type"],
        "MissingAuthenticationTokenException"
    );
    let (status, body) = send(&state, json_request("Nope.Op", "{}", true)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["__type"],
        "UnknownOperationException"
    );
    let (status, _) = send(
        &state,
        json_request("Logs_20140328.FilterLogEvents", "{not json", true),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = send(&state, cbor_request("GetMetricData", vec![0xff, 0x13])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: ciborium::Value = ciborium::de::from_reader(body.as_slice()).unwrap();
    assert!(format!("{v:?}").contains("SerializationException"), "{v:?}");
    let (status, _) = send(
        &state,
        Request::get("/elsewhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let recorded = state.requests();
    assert_eq!(
        recorded.len(),
        3,
        "refusals with a known operation are recorded: {recorded:?}"
    );
    assert_eq!(recorded[0].status, 403);
}

#[test]
fn scenario_errors_name_the_section_and_field() {
    let cases = [
        (
            json!({"metrics": [{"namespace": "N", "name": "m", "series": {"noise": {"stddev": "x"}}}]}),
            None,
            None,
            "cloudwatch",
            "metrics[0].series.noise.stddev",
        ),
        (
            json!({"metrics": [{"namespace": "N", "name": "m", "series": {"events": [{"at": "yesterday", "add": 1}]}}]}),
            None,
            None,
            "cloudwatch",
            "metrics[0].series.events[0].at",
        ),
        (
            json!({"alarms": [{"name": "a", "namespace": "N", "metric": "m", "threshold": 1, "comparison": "Bigger"}]}),
            None,
            None,
            "cloudwatch",
            "alarms[0].comparison",
        ),
        (
            json!({}),
            Some(
                json!({"groups": [{"name": "g", "streams": [{"name": "s", "events": [{"at": "-1m", "message": "x", "count": 2}]}]}]}),
            ),
            None,
            "logs",
            "groups[0].streams[0].events[0]",
        ),
        (
            json!({}),
            None,
            Some(
                json!({"months": [-1], "items": [{"service": "S", "usage_type": "U", "amounts": [1, 2]}]}),
            ),
            "cost",
            "items[0].amounts",
        ),
        (
            json!({}),
            None,
            Some(json!({"months": [-1], "itemz": []})),
            "cost",
            "itemz",
        ),
    ];
    for (cw, logs, cost, section, field) in cases {
        let e = AwsState::from_sections(Some(&cw), logs.as_ref(), cost.as_ref()).unwrap_err();
        let AwsSimError::Scenario {
            section: s,
            field: f,
            message,
        } = &e;
        assert_eq!(*s, section, "{e}");
        assert!(f.contains(field) || message.contains(field), "{field}: {e}");
    }
}

const OPS: &[(&str, bool)] = &[
    ("GetMetricData", true),
    ("ListMetrics", true),
    ("DescribeAlarms", true),
    ("DescribeAlarmHistory", true),
    ("SetAlarmState", true),
    ("Logs_20140328.DescribeLogGroups", false),
    ("Logs_20140328.DescribeLogStreams", false),
    ("Logs_20140328.FilterLogEvents", false),
    ("Logs_20140328.StartQuery", false),
    ("Logs_20140328.GetQueryResults", false),
    ("AWSInsightsIndexService.GetCostAndUsage", false),
    ("AWSInsightsIndexService.GetCostForecast", false),
];

const KEYS: &[&str] = &[
    "MetricDataQueries",
    "StartTime",
    "EndTime",
    "Id",
    "MetricStat",
    "Metric",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Name",
    "Value",
    "Period",
    "Stat",
    "Expression",
    "MaxDatapoints",
    "NextToken",
    "ScanBy",
    "StateValue",
    "AlarmName",
    "AlarmNames",
    "AlarmNamePrefix",
    "StateReason",
    "StateReasonData",
    "MaxRecords",
    "HistoryItemType",
    "StartDate",
    "EndDate",
    "logGroupName",
    "logGroupNamePrefix",
    "filterPattern",
    "startTime",
    "endTime",
    "limit",
    "nextToken",
    "queryString",
    "queryId",
    "logGroupNames",
    "logStreamNames",
    "orderBy",
    "TimePeriod",
    "Start",
    "End",
    "Granularity",
    "Metrics",
    "GroupBy",
    "Type",
    "Key",
    "Filter",
    "And",
    "Or",
    "Not",
    "Tags",
    "Values",
    "MatchOptions",
    "PredictionIntervalLevel",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "",
            "ALARM",
            "DAILY",
            "MONTHLY",
            "Average",
            "p95",
            "ERROR",
            "?a ?b",
            "\"x",
            "2026-01-01",
            "2026-13-01",
            "fields @message | stats count() by @logStream",
            "filter @message like /(/",
            "SERVICE",
            "TAG",
            "DIMENSION",
            "/aws/containerinsights/eks-prod/application",
            "payment-service-eks-critical",
            "UnblendedCost",
            "UNBLENDED_COST",
            "ANOMALY_DETECTION_BAND(m1)",
            "gmd-99999999999",
            "m1"
        ])
        .prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn body() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn cbor_of(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
    #[test]
    fn no_request_makes_the_simulator_fail(op in prop::sample::select(OPS), body in body()) {
        static STATE: std::sync::LazyLock<AwsState> = std::sync::LazyLock::new(common::state);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let state = STATE.clone();
        let (name, cbor) = op;
        let req = if cbor { cbor_request(name, cbor_of(&body)) } else { json_request(name, &body.to_string(), true) };
        let (status, _) = rt.block_on(send(&state, req));
        prop_assert!(matches!(status.as_u16(), 200 | 400 | 404), "{name} {body}: {status}");
    }
}
