//! A scenario with a `prometheus` section starts a real Prometheus (Debian's `prometheus`
//! package) on its history: the scenario's own series answer PromQL at the scenario's times,
//! its rules fire, and the MCP servers get the URL and the pinned clock. Without the binaries
//! the test is skipped with a message, except in CI (`CI=true`), where it fails.

use sopilot_sim_env::prometheus::find_binary;
use sopilot_sim_env::{Scenario, SimError, SimOptions};

const SCENARIO: &str = r#"
prometheus:
  series:
    - name: checkout_queue_depth
      labels: {queue: charges}
      series: {baseline: 5, events: [{at: -20m, add: 400}]}
  rules:
    - name: checkout
      rules:
        - {alert: ChargesQueueBacklog, expr: 'checkout_queue_depth{queue="charges"} > 100', for: 0s, labels: {severity: critical}}
"#;

#[allow(clippy::print_stderr)]
fn installed() -> bool {
    let ok = find_binary("prometheus").is_some() && find_binary("promtool").is_some();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "prometheus is not installed: apt-get install -y --no-install-recommends prometheus (.ci/run does)"
        );
        eprintln!(
            "SKIPPED: prometheus is not installed (apt-get install prometheus); CI fails here"
        );
    }
    ok
}

#[tokio::test]
async fn a_prometheus_section_starts_a_real_prometheus_on_the_history() {
    if !installed() {
        return;
    }
    let sim = sopilot_sim_env::start(
        Scenario::from_yaml(SCENARIO).unwrap(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let p = sim.prometheus().expect("a Prometheus for the section");
    let env = sim.server_env();
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(var("PROMETHEUS_URL").as_deref(), Some(p.url()));
    assert_eq!(var("SOPILOT_NOW"), Some(p.now().to_rfc3339()));
    assert_eq!(sim.urls()["prometheus"], p.url());

    // The series as the scenario wrote it: 5 half an hour ago, 405 at its now.
    let at = |minutes: i64| {
        let t = p.now().timestamp() - minutes * 60;
        format!("/api/v1/query?query=checkout_queue_depth&time={t}")
    };
    let before = p.get(&at(30)).await.unwrap();
    let after = p.get(&at(0)).await.unwrap();
    assert!(before.contains(r#""queue":"charges""#), "{before}");
    assert!(before.contains(r#","5"]"#), "{before}");
    assert!(after.contains(r#","405"]"#), "{after}");
    // The rule was evaluated before start returned, on the last minutes of the history.
    let alerts = p.get("/api/v1/alerts").await.unwrap();
    assert!(alerts.contains("ChargesQueueBacklog"), "{alerts}");
    assert!(alerts.contains(r#""state":"firing""#), "{alerts}");
    sim.shutdown().await;
}

#[tokio::test]
async fn without_the_section_or_when_not_wanted_there_is_none() {
    let sim = sopilot_sim_env::start(Scenario::default(), SimOptions::default())
        .await
        .unwrap();
    assert!(sim.prometheus().is_none());
    assert!(
        !sim.server_env()
            .iter()
            .any(|(k, _)| k == "PROMETHEUS_URL" || k == "SOPILOT_NOW")
    );
    sim.shutdown().await;
    let options = SimOptions {
        prometheus: false,
        ..SimOptions::default()
    };
    let sim = sopilot_sim_env::start(Scenario::from_yaml(SCENARIO).unwrap(), options)
        .await
        .unwrap();
    assert!(sim.prometheus().is_none());
    sim.shutdown().await;
}

#[test]
fn a_missing_binary_names_the_package_to_install() {
    assert!(find_binary("sopilot-no-such-binary").is_none());
    let message = SimError::PrometheusMissing("promtool").to_string();
    assert!(
        message.contains("`promtool` is not on the PATH"),
        "{message}"
    );
    assert!(message.contains("apt-get install"), "{message}");
}
