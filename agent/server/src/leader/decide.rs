//! The pure half of leader election: given the Lease's record as read, when this replica
//! last saw it change, the time and this replica's identity, what to write (or to wait).
//!
//! Expiry follows client-go: a lease held by another replica expires `leaseDurationSeconds`
//! after this replica *observed* its record change, on this replica's own clock (never
//! against the `renewTime` another node wrote), so clock skew between nodes cannot shorten a
//! lease. A replica that starts next to a lease left by a dead replica waits one full lease
//! duration before taking it; a lease released on shutdown (empty holder) is taken at once.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

/// The election's record: the fields of a Lease's `spec` this reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `holderIdentity`; empty when released.
    pub holder: String,
    /// `leaseDurationSeconds`.
    pub lease_duration: Duration,
    /// `acquireTime`.
    pub acquire_time: Option<DateTime<Utc>>,
    /// `renewTime`.
    pub renew_time: Option<DateTime<Utc>>,
    /// `leaseTransitions`: how many times the lease changed holders; a term's fencing token.
    pub transitions: u64,
}

/// The three durations of an election (client-go's names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long others wait, after last seeing the record change, before taking the lease
    /// (whole seconds: `leaseDurationSeconds`). Default 15 s.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal; it stands down then,
    /// before anyone else may take the lease. Default 10 s.
    pub renew_deadline: Duration,
    /// How often the leader renews and the others retry. Default 2 s.
    pub retry_period: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl Timing {
    /// Refuses durations that would let two replicas lead at once (or never renew in time).
    pub fn check(&self) -> Result<(), String> {
        let Timing {
            lease_duration,
            renew_deadline,
            retry_period,
        } = *self;
        if retry_period.is_zero() || lease_duration.subsec_nanos() != 0 {
            return Err(format!(
                "serve.leader_election: retry_period must be positive and lease_duration whole seconds (got {retry_period:?} and {lease_duration:?})"
            ));
        }
        if renew_deadline >= lease_duration {
            return Err(format!(
                "serve.leader_election: renew_deadline ({}s) must be shorter than lease_duration ({}s): a leader that cannot renew must stop before another replica may take the lease",
                renew_deadline.as_secs_f64(),
                lease_duration.as_secs_f64()
            ));
        }
        // client-go's rule: renew_deadline > 1.2 × retry_period, so a leader gets at least
        // one retry within the deadline.
        if renew_deadline.as_secs_f64() <= 1.2 * retry_period.as_secs_f64() {
            return Err(format!(
                "serve.leader_election: renew_deadline ({}s) must be longer than 1.2 × retry_period ({}s), so a failed renewal is retried before the leader stands down",
                renew_deadline.as_secs_f64(),
                retry_period.as_secs_f64()
            ));
        }
        Ok(())
    }
}

/// The record as this replica last read it, and since when it has been unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub record: Record,
    /// When this replica first read the record as it is (client-go's `observedTime`).
    pub since: DateTime<Utc>,
}

impl Observed {
    /// The observation after reading `record` at `now`: `since` moves only when the record
    /// changed.
    pub fn update(previous: Option<&Observed>, record: Record, now: DateTime<Utc>) -> Observed {
        let since = match previous {
            Some(p) if p.record == record => p.since,
            _ => now,
        };
        Observed { record, since }
    }

    /// When the lease expires for this replica: `leaseDurationSeconds` after `since`.
    pub fn expires(&self) -> DateTime<Utc> {
        let lease =
            chrono::Duration::from_std(self.record.lease_duration).unwrap_or(chrono::Duration::MAX);
        self.since
            .checked_add_signed(lease)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// What to do with the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No lease yet: create it, held by me.
    Create(Record),
    /// Another replica's lease expired or was released: replace it (a new term).
    Take(Record),
    /// My lease: write a new `renewTime`.
    Renew(Record),
    /// Another replica holds the lease until `expires` (as this replica sees it).
    Wait {
        holder: String,
        expires: DateTime<Utc>,
    },
}

impl Step {
    /// The record to write, if any.
    pub fn record(&self) -> Option<&Record> {
        match self {
            Step::Create(r) | Step::Take(r) | Step::Renew(r) => Some(r),
            Step::Wait { .. } => None,
        }
    }
}

/// Decides, at `now`, what replica `me` does with the lease as observed (`None`: absent).
pub fn decide(me: &str, observed: Option<&Observed>, now: DateTime<Utc>, timing: &Timing) -> Step {
    // The Lease keeps microseconds (MicroTime): write what will be read back.
    let now = now.trunc_subsecs(6);
    let mine = |acquire_time, transitions| Record {
        holder: me.to_owned(),
        lease_duration: timing.lease_duration,
        acquire_time,
        renew_time: Some(now),
        transitions,
    };
    let Some(observed) = observed else {
        return Step::Create(mine(Some(now), 0));
    };
    let record = &observed.record;
    if record.holder == me {
        return Step::Renew(mine(record.acquire_time.or(Some(now)), record.transitions));
    }
    let expires = observed.expires();
    if record.holder.is_empty() || now >= expires {
        return Step::Take(mine(Some(now), record.transitions.saturating_add(1)));
    }
    Step::Wait {
        holder: record.holder.clone(),
        expires,
    }
}

/// When a leader whose last successful renewal *began* at `renewed_at` must have stopped
/// its work: `renew_deadline` later. The renewal was written after it began, and others
/// count `lease_duration` (longer) from when they read it, so this is strictly before any
/// other replica may take the lease.
pub fn stand_down_at(renewed_at: tokio::time::Instant, timing: &Timing) -> tokio::time::Instant {
    renewed_at + timing.renew_deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn held_by(holder: &str, transitions: u64) -> Record {
        Record {
            holder: holder.into(),
            lease_duration: Duration::from_secs(15),
            acquire_time: Some(at("2026-12-07T10:00:00Z")),
            renew_time: Some(at("2026-12-07T10:00:00Z")),
            transitions,
        }
    }

    #[test]
    fn an_absent_lease_is_created_at_transition_zero() {
        let now = at("2026-12-07T10:00:05Z");
        let Step::Create(r) = decide("b", None, now, &Timing::default()) else {
            panic!("not a create")
        };
        assert_eq!(
            (
                r.holder.as_str(),
                r.transitions,
                r.acquire_time,
                r.renew_time
            ),
            ("b", 0, Some(now), Some(now))
        );
        assert_eq!(r.lease_duration, Duration::from_secs(15));
    }

    #[test]
    fn another_holder_is_waited_for_until_expiry_as_observed_here() {
        let t = Timing::default();
        // Seen first at 10:00:03 (its renewTime says 10:00:00: not trusted, another clock).
        let seen = Observed::update(None, held_by("a", 4), at("2026-12-07T10:00:03Z"));
        assert_eq!(
            decide("b", Some(&seen), at("2026-12-07T10:00:17Z"), &t),
            Step::Wait {
                holder: "a".into(),
                expires: at("2026-12-07T10:00:18Z")
            }
        );
        // Read again unchanged: still counted from 10:00:03; taken at 10:00:18, a new term.
        let again = Observed::update(Some(&seen), held_by("a", 4), at("2026-12-07T10:00:10Z"));
        assert_eq!(again.since, at("2026-12-07T10:00:03Z"));
        let now = at("2026-12-07T10:00:18Z");
        let Step::Take(r) = decide("b", Some(&again), now, &t) else {
            panic!("not a take")
        };
        assert_eq!((r.holder.as_str(), r.transitions), ("b", 5));
        assert_eq!((r.acquire_time, r.renew_time), (Some(now), Some(now)));
    }

    #[test]
    fn a_renewal_seen_restarts_the_wait() {
        let t = Timing::default();
        let first = Observed::update(None, held_by("a", 1), at("2026-12-07T10:00:00Z"));
        let mut renewed = held_by("a", 1);
        renewed.renew_time = Some(at("2026-12-07T10:00:12Z"));
        let second = Observed::update(Some(&first), renewed, at("2026-12-07T10:00:14Z"));
        assert_eq!(second.since, at("2026-12-07T10:00:14Z"));
        assert!(matches!(
            decide("b", Some(&second), at("2026-12-07T10:00:20Z"), &t),
            Step::Wait { .. }
        ));
    }

    #[test]
    fn a_released_lease_is_taken_at_once_and_my_own_is_renewed() {
        let t = Timing::default();
        let now = at("2026-12-07T10:00:01Z");
        let released = Observed::update(None, held_by("", 2), now);
        assert!(
            matches!(decide("b", Some(&released), now, &t), Step::Take(r) if r.transitions == 3)
        );
        let mine = Observed::update(None, held_by("b", 3), now);
        let Step::Renew(r) = decide("b", Some(&mine), now, &t) else {
            panic!("not a renewal")
        };
        // The term goes on: same transitions and acquireTime, a new renewTime.
        assert_eq!(r.transitions, 3);
        assert_eq!(r.acquire_time, Some(at("2026-12-07T10:00:00Z")));
        assert_eq!(r.renew_time, Some(now));
    }

    #[test]
    fn the_leader_stands_down_strictly_before_others_may_take_over() {
        let t = Timing::default();
        let began = tokio::time::Instant::now();
        let stop = stand_down_at(began, &t);
        // Others count from a read after the write, itself after `began`.
        assert!(stop < began + t.lease_duration);
        assert_eq!(stop - began, Duration::from_secs(10));
    }

    #[test]
    fn timings_that_allow_two_leaders_are_refused() {
        assert!(Timing::default().check().is_ok());
        let s = |l, d, r| Timing {
            lease_duration: Duration::from_secs(l),
            renew_deadline: Duration::from_secs(d),
            retry_period: Duration::from_secs(r),
        };
        let e = s(10, 10, 2).check().unwrap_err();
        assert!(
            e.contains("renew_deadline (10s) must be shorter than lease_duration (10s)"),
            "{e}"
        );
        assert!(
            s(15, 2, 2)
                .check()
                .unwrap_err()
                .contains("1.2 × retry_period")
        );
        assert!(s(15, 10, 0).check().is_err());
        assert!(s(3, 2, 1).check().is_ok());
    }
}
