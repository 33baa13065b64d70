//! Worked examples: a DB-connection series that leads the errors by 5 minutes, the ranking
//! order, the one-line rendering, irregular input and the errors.

use chrono::{DateTime, TimeDelta, Utc};
use sopilot_correlate::{CorrelateError, Options, Series, Status, Strength, rank};

fn at(minute: i64) -> DateTime<Utc> {
    // 2026-11-28T20:00:00Z
    DateTime::from_timestamp(1_795_896_000, 0).unwrap_or_default() + TimeDelta::minutes(minute)
}

/// One point a minute from 19:00 (minute -60) to 20:59.
fn minutes(f: impl Fn(i64) -> f64) -> Series {
    Series::new((-60..60).map(|m| (at(m), f(m))).collect())
}

/// Connections climb from 20:10 and saturate at 100 by 20:20; 5xx errors follow 5 minutes
/// later; latency rises with the errors; CPU is unrelated (a slow sine).
fn incident() -> (Series, Vec<(String, Series)>) {
    let wobble = |m: i64| (m * 7919).rem_euclid(13) as f64 / 13.0;
    let conns = |m: i64| {
        20.0 + wobble(m)
            + if m < 10 {
                0.0
            } else {
                (8.0 * (m - 9) as f64).min(80.0)
            }
    };
    let errors = minutes(|m| 2.0 * (conns(m - 5) - 20.0) + wobble(m + 3));
    let candidates = vec![
        (
            "CPUUtilization".to_owned(),
            minutes(|m| 40.0 + 10.0 * (m as f64 / 2.0).sin()),
        ),
        (
            "TargetResponseTime".to_owned(),
            minutes(|m| 0.2 + 0.01 * (conns(m - 5) - 20.0)),
        ),
        ("DatabaseConnections".to_owned(), minutes(conns)),
        ("Constant".to_owned(), minutes(|_| 3.0)),
    ];
    (errors, candidates)
}

#[test]
fn the_leading_dependency_ranks_first_with_its_lead() -> Result<(), CorrelateError> {
    let (errors, candidates) = incident();
    let ranking = rank(&errors, &candidates, &Options::default())?;
    let names: Vec<&str> = ranking.findings.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "DatabaseConnections",
            "TargetResponseTime",
            "CPUUtilization",
            "Constant"
        ]
    );
    let db = &ranking.findings[0];
    let lag = db.best_lag.ok_or(CorrelateError::EmptySymptom)?;
    assert_eq!((lag.steps, lag.seconds), (-5, -300));
    assert!(lag.r > 0.99, "{lag:?}");
    assert_eq!(db.strength, Strength::Strong);
    assert_eq!(db.facts.first_anomaly.map(|a| a.at), Some(at(10)));
    assert_eq!(ranking.symptom.first_anomaly.map(|a| a.at), Some(at(15)));
    assert_eq!(db.anomaly_lead_seconds, Some(300));
    assert!(
        db.facts
            .change_points
            .iter()
            .any(|c| c.at >= at(10) && c.at <= at(20))
    );
    // Latency moves with the errors: no lead, so it ranks after the cause.
    assert_eq!(ranking.findings[1].best_lag.map(|l| l.steps), Some(0));
    assert_eq!(ranking.findings[3].status, Status::Flat);
    Ok(())
}

#[test]
fn each_finding_reads_as_one_line() -> Result<(), CorrelateError> {
    let (errors, candidates) = incident();
    let lines = rank(&errors, &candidates, &Options::default())?.lines("HTTPCode_Target_5XX");
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("symptom HTTPCode_Target_5XX: 120 of 120 points at 1 min steps"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("first anomalous at 20:15"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("DatabaseConnections led HTTPCode_Target_5XX by 5 min, r=1.00 (r=0."),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("first anomalous at 20:10 (28.5), 5 min before the symptom's"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("TargetResponseTime moved with HTTPCode_Target_5XX (no lead), r=1.00"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("CPUUtilization: weak correlation with HTTPCode_Target_5XX (best r="),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "Constant is flat over the window: no correlation");
    Ok(())
}

#[test]
fn a_consequence_lags_and_an_inverse_relation_is_negative() -> Result<(), CorrelateError> {
    let (errors, _) = incident();
    let e = |m: i64| errors.points[(m + 60) as usize].1;
    let later = minutes(|m| if m < -57 { 0.0 } else { e(m - 3) });
    let inverse = minutes(|m| 500.0 - e(m));
    let ranking = rank(
        &errors,
        &[("Later".into(), later), ("Inverse".into(), inverse)],
        &Options::default(),
    )?;
    let find = |n: &str| {
        ranking
            .findings
            .iter()
            .find(|f| f.name == n)
            .and_then(|f| f.best_lag)
    };
    assert_eq!(find("Later").map(|l| l.steps), Some(3));
    assert!(find("Inverse").is_some_and(|l| l.steps == 0 && l.r < -0.99));
    let lines = ranking.lines("errors");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Later lagged errors by 3 min (moved after it)")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("moving opposite")),
        "{lines:?}"
    );
    Ok(())
}

#[test]
fn irregular_and_missing_points_land_on_the_symptoms_grid() -> Result<(), CorrelateError> {
    let (errors, candidates) = incident();
    let db = &candidates[2].1;
    // Every third point missing, the rest 10-25 s late, two points sharing a slot.
    let mut points: Vec<_> = db
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 1)
        .map(|(i, &(t, v))| (t + TimeDelta::seconds(10 + (i as i64 % 16)), v))
        .collect();
    points.reverse();
    let ranking = rank(
        &errors,
        &[("db".into(), Series::new(points))],
        &Options::default(),
    )?;
    assert_eq!(ranking.grid.step_seconds, 60);
    assert_eq!(ranking.grid.len, 120);
    let f = &ranking.findings[0];
    assert_eq!(f.facts.points, 80);
    assert_eq!(f.best_lag.map(|l| l.steps), Some(-5));
    Ok(())
}

#[test]
fn prometheus_timestamps_are_accepted() -> Result<(), CorrelateError> {
    let unix: Vec<(f64, f64)> = (0..50)
        .map(|i| (1_700_000_000.5 + 15.0 * i as f64, (i % 7) as f64))
        .collect();
    let series = Series::from_unix_seconds(&unix);
    assert_eq!(series.points.len(), 50);
    let ranking = rank(
        &series,
        &[("same".into(), series.clone())],
        &Options::default(),
    )?;
    assert_eq!(ranking.grid.step_seconds, 15);
    assert!(
        ranking.findings[0]
            .best_lag
            .is_some_and(|l| l.steps == 0 && (l.r - 1.0).abs() < 1e-12)
    );
    Ok(())
}

#[test]
fn bad_input_is_refused_with_the_fix() {
    let (errors, _) = incident();
    let empty = Series::new(vec![(at(0), f64::NAN)]);
    assert_eq!(
        rank(&empty, &[], &Options::default()),
        Err(CorrelateError::EmptySymptom)
    );
    let one = Series::new(vec![(at(0), 1.0)]);
    let err = rank(&one, &[], &Options::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("give step_seconds"), "{err}");
    let zero = Options {
        step_seconds: Some(0),
        ..Options::default()
    };
    assert!(matches!(
        rank(&errors, &[], &zero),
        Err(CorrelateError::InvalidStep(_))
    ));
    let far = Series::new(vec![(at(0) + TimeDelta::days(400), 1.0)]);
    let err = rank(&errors, &[("far".into(), far)], &Options::default());
    assert!(
        matches!(err, Err(CorrelateError::TooManyPoints { .. })),
        "{err:?}"
    );
    let bad = Options {
        baseline_fraction: 1.5,
        ..Options::default()
    };
    let err = rank(&errors, &[], &bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("baseline_fraction 1.5"), "{err}");
}
