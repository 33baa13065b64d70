//! CloudWatch Logs (JSON 1.1) driven by the real aws-sdk-cloudwatchlogs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::QueryStatus;

const APP: &str = "/aws/containerinsights/eks-prod/application";

fn minutes_ago_ms(m: i64) -> i64 {
    chrono::Utc::now().timestamp_millis() - m * 60_000
}

#[tokio::test]
async fn describe_log_groups_by_prefix() {
    let sim = common::start().await;
    let logs = sim.logs();
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/containerinsights/")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = out
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    assert_eq!(names, [APP, "/aws/containerinsights/eks-prod/host"]);
    assert_eq!(out.log_groups()[0].retention_in_days(), Some(30));
}

#[tokio::test]
async fn filter_patterns_time_ranges_and_pagination() {
    let sim = common::start().await;
    let logs = sim.logs();
    let count = |pattern: &'static str, minutes: i64| {
        let logs = logs.clone();
        async move {
            let mut n = 0;
            let mut token: Option<String> = None;
            loop {
                let out = logs
                    .filter_log_events()
                    .log_group_name(APP)
                    .filter_pattern(pattern)
                    .start_time(minutes_ago_ms(minutes))
                    .limit(1000)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .unwrap();
                n += out.events().len();
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break n;
                }
            }
        }
    };
    // Four healthy pods log the JDBC error every second for the last 25 minutes.
    let five = count("CannotGetJdbcConnectionException", 5).await;
    assert!((1150..=1250).contains(&five), "{five}");
    let quoted = count("\"Connection is not available\"", 5).await;
    assert!(quoted >= five, "{quoted} {five}");
    let either = count("?OutOfMemoryError ?CannotGetJdbcConnectionException", 180).await;
    let oom = count("OutOfMemoryError", 180).await;
    let jdbc = count("CannotGetJdbcConnectionException", 180).await;
    assert_eq!(oom, 7);
    assert_eq!(either, oom + jdbc);
    assert_eq!(
        count(
            "ERROR -CannotGetJdbcConnectionException -OutOfMemoryError",
            180
        )
        .await,
        3,
        "the order-service 503s"
    );

    // One page at a time, with the events in time order.
    let page = logs
        .filter_log_events()
        .log_group_name(APP)
        .filter_pattern("ERROR")
        .limit(10)
        .send()
        .await
        .unwrap();
    assert_eq!(page.events().len(), 10);
    assert!(page.next_token().is_some());
    assert!(
        page.events()
            .windows(2)
            .all(|w| w[0].timestamp() <= w[1].timestamp())
    );
    let first: serde_json::Value =
        serde_json::from_str(page.events()[0].message().unwrap()).unwrap();
    assert_eq!(
        first["kubernetes"]["namespace_name"], "payment",
        "Container Insights records"
    );
}

#[tokio::test]
async fn unknown_groups_and_bad_patterns_are_aws_errors() {
    let sim = common::start().await;
    let logs = sim.logs();
    let e = logs
        .filter_log_events()
        .log_group_name("/aws/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(e.message(), Some("The specified log group does not exist."));
    let e = logs
        .filter_log_events()
        .log_group_name(APP)
        .filter_pattern("{ $.level = \"ERROR\" }")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterException"));
    assert!(
        e.message()
            .unwrap()
            .contains("not supported by the simulator")
    );
}

#[tokio::test]
async fn insights_queries_poll_then_complete() {
    let sim = common::start().await;
    let logs = sim.logs();
    let now = chrono::Utc::now().timestamp();
    let id = logs
        .start_query()
        .log_group_names(APP)
        .start_time(now - 300)
        .end_time(now)
        .query_string("filter @message like /CannotGetJdbcConnectionException/ | stats count() as errors by kubernetes.pod_name | sort errors desc")
        .send()
        .await
        .unwrap()
        .query_id
        .unwrap();
    let first = logs.get_query_results().query_id(&id).send().await.unwrap();
    assert_eq!(first.status(), Some(&QueryStatus::Running));
    let done = logs.get_query_results().query_id(&id).send().await.unwrap();
    assert_eq!(done.status(), Some(&QueryStatus::Complete));
    let rows = done.results();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let cell = |row: &[aws_sdk_cloudwatchlogs::types::ResultField], f: &str| {
        row.iter()
            .find(|c| c.field() == Some(f))
            .and_then(|c| c.value())
            .unwrap()
            .to_owned()
    };
    assert!(cell(&rows[0], "kubernetes.pod_name").starts_with("payment-service-7d8f9c6b5-"));
    let errors: i64 = cell(&rows[0], "errors").parse().unwrap();
    assert!((290..=310).contains(&errors), "{errors}");

    let id = logs.start_query().log_group_name(APP).start_time(now - 3600).end_time(now)
        .query_string("fields @timestamp, @message | filter @message like 'OutOfMemoryError' | sort @timestamp desc | limit 2")
        .send().await.unwrap().query_id.unwrap();
    let _ = logs.get_query_results().query_id(&id).send().await.unwrap();
    let done = logs.get_query_results().query_id(&id).send().await.unwrap();
    assert_eq!(done.results().len(), 2);
    assert_eq!(done.results()[0][0].field(), Some("@timestamp"));

    let e = logs
        .start_query()
        .log_group_name(APP)
        .start_time(now - 60)
        .end_time(now)
        .query_string("parse @message 'x' as y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("MalformedQueryException"));
    let e = logs
        .get_query_results()
        .query_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}
