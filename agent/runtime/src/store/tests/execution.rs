//! One approval, one execution: the expiry is checked by the deciding `UPDATE` itself, and
//! an approved call is claimed by exactly one executor, whichever handle asks first.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sopilot_protocol::ApprovalState;

use super::Fixture;
use super::suite::record;
use crate::store::backend::Decided;
use crate::store::this_replica;

super::both_backends!(
    the_deciding_update_itself_refuses_an_expired_approval,
    an_approved_call_is_claimed_for_execution_once,
    a_version_2_store_is_upgraded_in_place,
);

/// A pinned time with microseconds (stored by SQLite as RFC 3339 text with an offset).
fn pinned() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00.250000+00:00")
        .unwrap()
        .with_timezone(&Utc)
}

fn decision(at: DateTime<Utc>) -> Decided<'static> {
    Decided {
        state: "approved",
        by: "alice",
        channel: "api",
        at,
    }
}

pub(super) fn the_deciding_update_itself_refuses_an_expired_approval(f: &Fixture) {
    let s = f.open();
    let mut r = record("a-1", "run-1", Duration::zero());
    r.requested_at = pinned() - Duration::minutes(15);
    r.expires_at = pinned();
    s.insert_approval(&r).unwrap();
    // A replica whose check ran before the expiry and whose UPDATE runs after it.
    let late = decision(pinned() + Duration::milliseconds(5));
    assert!(!s.backend.decide_pending("a-1", &late).unwrap());
    // Expiring is conditional on the expiry too: not before it.
    s.backend
        .expire_approval("a-1", pinned() - Duration::seconds(1))
        .unwrap();
    assert_eq!(
        s.approval("a-1").unwrap().unwrap().state,
        ApprovalState::Pending
    );
    let early = decision(pinned() - Duration::milliseconds(5));
    assert!(s.backend.decide_pending("a-1", &early).unwrap());
    assert_eq!(
        s.approval("a-1").unwrap().unwrap().state,
        ApprovalState::Approved
    );
}

pub(super) fn an_approved_call_is_claimed_for_execution_once(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    a.insert_approval(&record("a-1", "run-1", Duration::minutes(5)))
        .unwrap();
    assert!(
        !a.claim_execution("a-1").unwrap(),
        "pending: not executable"
    );
    a.decide_approval("a-1", ApprovalState::Approved, "alice", "api")
        .unwrap();
    assert_eq!(b.executed_by("a-1").unwrap(), None);
    assert!(b.claim_execution("a-1").unwrap(), "the first claim wins");
    assert!(!a.claim_execution("a-1").unwrap(), "the other handle loses");
    assert!(
        !b.claim_execution("a-1").unwrap(),
        "and so does a second try"
    );
    assert_eq!(a.executed_by("a-1").unwrap(), Some(this_replica()));
    assert!(!a.claim_execution("nope").unwrap());
}

/// A store written by the previous release (schema version 2): opened by this one, it gains
/// the new columns, keeps its rows, and its approved calls can be claimed.
pub(super) fn a_version_2_store_is_upgraded_in_place(f: &Fixture) {
    let s = f.open();
    s.insert_approval(&record("a-old", "run-1", Duration::minutes(5)))
        .unwrap();
    s.decide_approval("a-old", ApprovalState::Approved, "alice", "api")
        .unwrap();
    drop(s);
    f.execute(
        "ALTER TABLE approvals DROP COLUMN executed_by;
         ALTER TABLE runs DROP COLUMN process_nonce;
         DROP TABLE trigger_claims;
         DROP TABLE run_queue;
         DELETE FROM schema_version WHERE version >= 3;",
    );
    let s = f.open();
    let old = s.approval("a-old").unwrap().unwrap();
    assert_eq!(old.state, ApprovalState::Approved);
    assert_eq!(old.decided_by.as_deref(), Some("alice"));
    assert_eq!(s.executed_by("a-old").unwrap(), None);
    assert!(s.claim_execution("a-old").unwrap());
    assert_eq!(s.executed_by("a-old").unwrap(), Some(this_replica()));
    s.create_run("run-new", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    drop(s);
    // Reopened at version 3 again: nothing is applied twice.
    f.open();
}
