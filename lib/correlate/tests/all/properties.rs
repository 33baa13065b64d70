//! Properties on synthetic series with a known lead: the lag found is the one planted, whatever
//! the noise, gaps and jitter; a shuffled candidate correlates weakly; flat series give a clear
//! status and never a NaN.

use proptest::prelude::*;
use sopilot_correlate::{Options, Series, Status, rank};

use crate::synthetic::{Rng, irregular, planted};

const STEP: i64 = 60;

fn options() -> Options {
    Options {
        max_lag_steps: 12,
        ..Options::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The candidate moves `lead` steps first: the best lag is `-lead` steps; swapped (the
    /// symptom now leads) the lag is `+lead`.
    #[test]
    fn the_planted_lag_is_found(
        seed in any::<u64>(),
        n in 120usize..360,
        lead in 0usize..=10,
        phi in 0.5f64..0.9,
        noise in 0.0f64..0.5,
        gain in prop_oneof![0.5f64..3.0, -3.0f64..-0.5],
        drop in 0.0f64..0.15,
    ) {
        let p = planted(seed, n, lead, phi, noise, gain);
        let mut rng = Rng::new(seed ^ 0xA5A5);
        let symptom = irregular(&p.symptom, STEP, drop, false, &mut rng);
        let candidate = irregular(&p.candidate, STEP, drop, true, &mut rng);
        let ranking = rank(&symptom, &[("db".into(), candidate.clone())], &options())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = &ranking.findings[0];
        prop_assert_eq!(f.status, Status::Ok);
        let lag = f.best_lag.ok_or_else(|| TestCaseError::fail("no lag"))?;
        prop_assert_eq!(lag.steps, -(lead as i64), "{:?}", f);
        prop_assert_eq!(lag.seconds, -(lead as i64) * STEP);
        prop_assert_eq!(lag.r.signum(), gain.signum());
        prop_assert!(lag.r.abs() > 0.7, "{:?}", f);
        prop_assert_eq!(f.leads(), lead > 0);

        // A jittered symptom: its spacing is not exact, so the step is given.
        let given = Options { step_seconds: Some(STEP as u64), ..options() };
        let mirrored = rank(&candidate, &[("errors".into(), symptom)], &given)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = mirrored.findings[0].best_lag.ok_or_else(|| TestCaseError::fail("no lag"))?;
        prop_assert_eq!(back.steps, lead as i64);
    }

    /// The same candidate values in a random order: |r| stays low at every lag.
    #[test]
    fn a_shuffled_candidate_correlates_weakly(seed in any::<u64>(), n in 200usize..400) {
        let p = planted(seed, n, 5, 0.8, 0.2, 1.0);
        let mut rng = Rng::new(seed ^ 0x5A5A);
        let mut shuffled = p.candidate.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let symptom = irregular(&p.symptom, STEP, 0.0, false, &mut rng);
        let real = irregular(&p.candidate, STEP, 0.0, false, &mut rng);
        let noise = irregular(&shuffled, STEP, 0.0, false, &mut rng);
        let ranking = rank(&symptom, &[("shuffled".into(), noise), ("real".into(), real)], &options())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&ranking.findings[0].name, "real");
        let weak = &ranking.findings[1];
        let r = weak.best_lag.map_or(0.0, |l| l.r.abs());
        prop_assert!(r < 0.4, "shuffled |r| = {r}: {:?}", weak);
        prop_assert!(weak.r_at_zero.is_some_and(|r| r.abs() < 0.3));
    }

    /// A constant candidate, or a constant symptom, is a clear status, with no r and no NaN
    /// anywhere in the result (nor in its JSON).
    #[test]
    fn flat_series_give_a_status_not_nan(seed in any::<u64>(), level in -1e6f64..1e6, n in 20usize..200) {
        let p = planted(seed, n, 3, 0.7, 0.3, 1.0);
        let mut rng = Rng::new(seed);
        let symptom = irregular(&p.symptom, STEP, 0.1, false, &mut rng);
        let flat = irregular(&vec![level; n], STEP, 0.1, true, &mut rng);
        let moving = irregular(&p.candidate, STEP, 0.1, true, &mut rng);

        let ranking = rank(&symptom, &[("flat".into(), flat.clone())], &options())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = &ranking.findings[0];
        prop_assert_eq!(f.status, Status::Flat);
        prop_assert!(f.r_at_zero.is_none() && f.best_lag.is_none());
        prop_assert!(f.facts.change_points.is_empty() && f.facts.first_anomaly.is_none());
        prop_assert!(f.line("errors").contains("flat"), "{}", f.line("errors"));
        no_nan(&ranking)?;

        let ranking = rank(&flat, &[("moving".into(), moving)], &options())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(ranking.symptom_flat);
        prop_assert_eq!(ranking.findings[0].status, Status::SymptomFlat);
        prop_assert!(ranking.findings[0].best_lag.is_none());
        prop_assert!(ranking.lines("errors")[0].contains("flat"));
        no_nan(&ranking)?;
    }
}

fn no_nan(ranking: &sopilot_correlate::Ranking) -> Result<(), TestCaseError> {
    let facts = std::iter::once(&ranking.symptom).chain(ranking.findings.iter().map(|f| &f.facts));
    let mut numbers: Vec<f64> = Vec::new();
    for f in facts {
        numbers.extend(
            f.change_points
                .iter()
                .flat_map(|c| [c.change.before, c.change.after]),
        );
        if let Some(a) = f.first_anomaly {
            numbers.extend([a.anomaly.value, a.anomaly.baseline_median]);
            numbers.extend(a.anomaly.z);
        }
    }
    for f in &ranking.findings {
        numbers.extend(f.r_at_zero);
        numbers.extend(f.best_lag.map(|l| l.r));
    }
    prop_assert!(numbers.iter().all(|v| v.is_finite()), "{numbers:?}");
    let text = ranking.lines("errors").join("\n");
    prop_assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    Ok(())
}

#[test]
fn an_empty_candidate_is_no_data() -> Result<(), TestCaseError> {
    let p = planted(7, 100, 2, 0.8, 0.1, 1.0);
    let mut rng = Rng::new(7);
    let symptom = irregular(&p.symptom, STEP, 0.0, false, &mut rng);
    let empty = Series::new(vec![(crate::synthetic::t0(), f64::NAN)]);
    let ranking = rank(&symptom, &[("gone".into(), empty)], &options())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(ranking.findings[0].status, Status::NoData);
    prop_assert!(ranking.findings[0].line("errors").contains("no datapoints"));
    Ok(())
}
