//! Scheduled triggers: cron expressions from `serve.schedules` start runs on time, with the
//! same routing, audit and approvals as any other trigger.
//!
//! A schedule never overlaps itself: while its previous run is still going, a firing joins
//! that run's timeline instead of starting a second one. Time comes from a [`Clock`], so
//! tests drive schedules with tokio's paused clock instead of waiting for minutes to pass.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sopilot_protocol::{ScheduleFire, Trigger};
use sopilot_runtime::CancellationToken;

use crate::runs::{Origin, StartError, StartRequest, Started};

/// One `serve.schedules` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week), or six with seconds first.
    pub cron: String,
    /// The SOP to run; `None` routes by SOPs' `schedule: {name}` triggers.
    pub sop: Option<String>,
    pub params: BTreeMap<String, String>,
    /// The target its runs work on (several targets configured).
    pub target: Option<String>,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub spec: ScheduleSpec,
    cron: croner::Cron,
}

impl Schedule {
    /// Parses the cron expression; the error names the schedule and the expression.
    pub fn parse(spec: ScheduleSpec) -> Result<Schedule, String> {
        let cron = croner::Cron::from_str(&spec.cron).map_err(|e| {
            format!(
                "schedule {:?}: cron {:?} is not valid ({e}); write five fields, e.g. \"*/15 * * * *\" for every 15 minutes",
                spec.name, spec.cron
            )
        })?;
        Ok(Schedule { spec, cron })
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }

    /// The request a firing at `at` submits.
    pub fn request(&self, at: DateTime<Utc>) -> StartRequest {
        StartRequest {
            trigger: Trigger::Schedule {
                schedule: ScheduleFire {
                    name: self.spec.name.clone(),
                    cron: self.spec.cron.clone(),
                    fired_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                },
            },
            sop: self.spec.sop.clone(),
            params: self.spec.params.clone(),
            origin: Origin::Schedule(self.spec.name.clone()),
            target: self.spec.target.clone(),
            carries_on: None,
        }
    }
}

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a given time and advances with tokio's (possibly paused) clock.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.origin.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// Fires one schedule until `stop` is cancelled; `submit` starts (or joins) the run.
pub async fn run<F>(schedule: Schedule, clock: Arc<dyn Clock>, submit: F, stop: CancellationToken)
where
    F: Fn(StartRequest) -> Result<Started, StartError> + Send + Sync,
{
    let name = schedule.spec.name.clone();
    let mut after = clock.now();
    loop {
        let Some(next) = schedule.next_after(after) else {
            tracing::warn!("schedule {name}: no future firing; stopping it");
            return;
        };
        let wait = (next - clock.now()).to_std().unwrap_or_default();
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        // A sleep may end a hair early on the wall clock; never fire before the time.
        let now = clock.now();
        if now < next {
            after = now - chrono::Duration::milliseconds(1);
            continue;
        }
        match submit(schedule.request(next)) {
            Ok(Started::New { run_id, sop }) => {
                tracing::info!("schedule {name} fired at {next}: {sop} ({run_id})");
            }
            Ok(Started::Joined { run_id }) => {
                tracing::info!(
                    "schedule {name} fired at {next} while {run_id} is still running; no second run"
                );
            }
            Err(e) => tracing::warn!("schedule {name} fired at {next} and started nothing: {e}"),
        }
        after = next;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn spec(cron: &str) -> ScheduleSpec {
        ScheduleSpec {
            name: "capacity".into(),
            cron: cron.into(),
            sop: Some("predictive-scaling".into()),
            params: BTreeMap::from([("namespace".into(), "payment".into())]),
            target: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn bad_expressions_name_the_schedule() {
        let e = Schedule::parse(spec("every 15 minutes")).unwrap_err();
        assert!(
            e.contains("schedule \"capacity\"") && e.contains("*/15 * * * *"),
            "{e}"
        );
        assert!(Schedule::parse(spec("61 * * * *")).is_err());
    }

    /// (fired_at, sop, clock time when submitted)
    type Fired = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

    #[tokio::test(start_paused = true)]
    async fn fires_on_time_every_15_minutes() {
        let clock = Arc::new(TokioClock::starting_at(at("2026-11-27T10:07:30Z")));
        let fired: Fired = Arc::default();
        let seen = fired.clone();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            Schedule::parse(spec("*/15 * * * *")).unwrap(),
            clock.clone(),
            move |req: StartRequest| {
                let Trigger::Schedule { schedule } = &req.trigger else {
                    panic!("not a schedule trigger")
                };
                seen.lock().unwrap().push((
                    schedule.fired_at.clone(),
                    req.sop.clone(),
                    clock.now().to_rfc3339(),
                ));
                Ok(Started::New {
                    run_id: "r".into(),
                    sop: "s".into(),
                })
            },
            stop.clone(),
        ));
        // Nothing before 10:15; then 10:15, 10:30 and 10:45 by 10:50.
        tokio::time::sleep(std::time::Duration::from_secs(7 * 60)).await;
        assert!(fired.lock().unwrap().is_empty());
        tokio::time::sleep(std::time::Duration::from_secs(35 * 60)).await;
        stop.cancel();
        task.await.unwrap();
        let fired = fired.lock().unwrap().clone();
        let times: Vec<&str> = fired.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            times,
            [
                "2026-11-27T10:15:00Z",
                "2026-11-27T10:30:00Z",
                "2026-11-27T10:45:00Z"
            ]
        );
        // Each fired at its time (the clock read at submission), with the configured SOP.
        for (when, sop, clock_at) in &fired {
            assert_eq!(at(clock_at), at(when));
            assert_eq!(sop.as_deref(), Some("predictive-scaling"));
        }
    }
}
