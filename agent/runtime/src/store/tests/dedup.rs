//! Trigger claims shared by every handle on one store (several `serve` replicas): the first
//! claim of a key wins, the others learn its run; a finished run keeps its key for the dedup
//! window, a schedule's gives it up at once. And the change lock every handle takes.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, Utc};

use super::Fixture;
use crate::store::{Reuse, Store};

super::both_backends!(
    the_first_claim_of_a_key_wins_on_every_handle,
    a_finished_run_keeps_its_key_for_the_window_only,
    handles_claiming_one_key_at_once_agree_on_one_run,
    an_interrupted_run_holds_no_key,
    a_run_that_never_started_holds_its_key_for_ten_minutes,
    a_run_whose_lease_ran_out_holds_no_key,
    a_leased_run_holds_its_key_past_the_stale_bound,
    a_queued_run_holds_its_key_past_the_stale_bound,
    the_change_lock_holds_across_handles,
);

const WINDOW: Reuse = Reuse::After(Duration::minutes(10));
const LONG_LEASE: std::time::Duration = std::time::Duration::from_secs(600);

pub(super) fn the_first_claim_of_a_key_wins_on_every_handle(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    assert_eq!(a.claim_trigger("am:g1", "run-a", WINDOW).unwrap(), "run-a");
    assert_eq!(b.claim_trigger("am:g1", "run-b", WINDOW).unwrap(), "run-a");
    assert_eq!(b.claim_trigger("am:g2", "run-b", WINDOW).unwrap(), "run-b");
    // Finished, the key is kept for the window...
    a.trigger_done("am:g1", "run-a").unwrap();
    assert_eq!(b.claim_trigger("am:g1", "run-c", WINDOW).unwrap(), "run-a");
    // ...but a schedule's is given up at once; a run that does not hold it cannot finish it.
    assert_eq!(
        b.claim_trigger("am:g1", "run-c", Reuse::AtOnce).unwrap(),
        "run-c"
    );
    a.trigger_done("am:g1", "run-a").unwrap();
    assert_eq!(
        a.claim_trigger("am:g1", "run-d", Reuse::AtOnce).unwrap(),
        "run-c",
        "run-c is still going"
    );
}

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00.000001+00:00")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minute)
}

/// A claim of `key` for `run` at minute `m`: a 10-minute window, claims going stale after
/// 120 minutes, and after `unstarted` minutes when their run has no record.
fn claim_at(s: &Store, key: &str, run: &str, m: i64, unstarted: i64) -> String {
    s.backend
        .claim_trigger(key, run, at(m), at(m - 10), at(m - 120), at(m - unstarted))
        .unwrap()
}

/// A claim of `k` at minute `m`, runs without a record going stale like the others.
fn claim(s: &Store, run: &str, m: i64) -> String {
    claim_at(s, "k", run, m, 120)
}

/// Writes run `id`'s record, as its start does.
fn started(s: &Store, id: &str) {
    let trigger = serde_json::json!({"kind": "manual"});
    s.create_run(
        id,
        "pod-crashloop",
        &trigger,
        &serde_json::json!({}),
        "none",
    )
    .unwrap();
}

pub(super) fn a_finished_run_keeps_its_key_for_the_window_only(f: &Fixture) {
    let s = f.open();
    assert_eq!(claim(&s, "run-a", 0), "run-a");
    // Still going an hour later: held, whatever the window.
    assert_eq!(claim(&s, "run-b", 60), "run-a");
    s.backend.trigger_done("k", "run-a", at(61)).unwrap();
    // Finished at :61, window 10 min: held at :70, given up after :71.
    assert_eq!(claim(&s, "run-b", 70), "run-a");
    assert_eq!(claim(&s, "run-b", 71), "run-a");
    assert_eq!(claim(&s, "run-b", 72), "run-b");
    // The new claim is going again: held until it is stale (claimed at :72, stale after
    // :192), then given up: its replica died without finishing it.
    assert_eq!(claim(&s, "run-c", 192), "run-b");
    assert_eq!(claim(&s, "run-c", 193), "run-c");
}

pub(super) fn a_run_that_never_started_holds_its_key_for_ten_minutes(f: &Fixture) {
    let s = f.open();
    // Claimed at :00 by a run still queued when its replica died (no run row): held at :09,
    // given up after :10.
    let at_minute = |run: &str, m: i64| claim_at(&s, "q", run, m, 10);
    assert_eq!(at_minute("run-q", 0), "run-q");
    assert_eq!(at_minute("run-b", 9), "run-q");
    assert_eq!(at_minute("run-b", 11), "run-b");
    // A run that started is held for as long as it goes.
    started(&s, "run-b");
    assert_eq!(at_minute("run-c", 30), "run-b");
}

pub(super) fn a_run_whose_lease_ran_out_holds_no_key(f: &Fixture) {
    let s = f.open();
    started(&s, "run-l");
    assert_eq!(claim_at(&s, "l", "run-l", 0, 10), "run-l");
    // Its replica holds the lease until :01, and renews it no more (it died).
    assert!(s.backend.claim("run-l", "host:1", at(0), at(1)).unwrap());
    let claim = |m: i64| claim_at(&s, "l", "run-m", m, 10);
    assert_eq!(claim(0), "run-l", "the lease holds");
    assert_eq!(
        claim(2),
        "run-m",
        "the lease ran out: nobody carries the run on"
    );
}

pub(super) fn a_leased_run_holds_its_key_past_the_stale_bound(f: &Fixture) {
    let s = f.open();
    started(&s, "run-long");
    let claim = |run: &str, m: i64| claim_at(&s, "long", run, m, 10);
    assert_eq!(claim("run-long", 0), "run-long");
    // Three hours on, its replica still renews the lease: the run goes on, the key is held.
    assert!(
        s.backend
            .claim("run-long", "host:1", at(179), at(181))
            .unwrap()
    );
    assert_eq!(claim("run-other", 180), "run-long");
    // The lease runs out: the stale bound applies again.
    assert_eq!(claim("run-other", 182), "run-other");
}

/// A run waiting in the queue for hours (a storm, every slot busy) still holds its key: a
/// repeat joins it instead of starting a second run of the same alarm.
pub(super) fn a_queued_run_holds_its_key_past_the_stale_bound(f: &Fixture) {
    let s = f.open();
    let queued = s
        .enqueue_run(
            "run-queued",
            "pod-crashloop",
            &serde_json::json!({"kind": "manual"}),
            &serde_json::json!({}),
            "none",
            &serde_json::json!({}),
            crate::store::Offer::Queue { limit: 10 },
        )
        .unwrap();
    assert_eq!(queued, crate::store::Enqueued::Queued);
    let claim = |run: &str, m: i64| claim_at(&s, "storm", run, m, 10);
    assert_eq!(claim("run-queued", 0), "run-queued");
    assert_eq!(claim("run-repeat", 180), "run-queued", "still queued");
    // Taken and its lease run out (its taker died): the stale bound applies again.
    assert!(s.dequeue_run("dead", LONG_LEASE).unwrap().is_some());
    assert!(s.backend.heartbeat("run-queued", "dead", at(181)).unwrap());
    assert_eq!(claim("run-repeat", 182), "run-repeat");
}

pub(super) fn an_interrupted_run_holds_no_key(f: &Fixture) {
    let s = f.open();
    started(&s, "run-a");
    assert_eq!(s.claim_trigger("k", "run-a", WINDOW).unwrap(), "run-a");
    assert_eq!(s.claim_trigger("k", "run-b", WINDOW).unwrap(), "run-a");
    s.backend
        .interrupt("run-a", at(0), "the process running it stopped")
        .unwrap();
    assert_eq!(s.claim_trigger("k", "run-b", WINDOW).unwrap(), "run-b");
}

pub(super) fn handles_claiming_one_key_at_once_agree_on_one_run(f: &Fixture) {
    const N: usize = 6;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (store, barrier) = (f.open(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .claim_trigger("alarm:payment", &format!("run-{i}"), WINDOW)
                    .unwrap()
            })
        })
        .collect();
    let holders: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        holders.iter().all(|h| *h == holders[0]),
        "every handle joins one run: {holders:?}"
    );
    assert!(holders[0].starts_with("run-"), "{holders:?}");
}

/// Two handles on one PostgreSQL store (two replicas): while one holds the change lock the
/// other waits; it takes it once the first is dropped, and a holder's connection that ends
/// gives it back. (SQLite's store is one process's: its mutex is the lock.)
pub(super) fn the_change_lock_holds_across_handles(f: &Fixture) {
    if !f.is_postgres() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let (a, b) = (Arc::new(f.open()), Arc::new(f.open()));
        let held = a.lock_changes().await.unwrap();
        let wait = tokio::time::timeout(std::time::Duration::from_millis(300), b.lock_changes());
        assert!(wait.await.is_err(), "b took the lock a holds");
        drop(held);
        let held_by_b = tokio::time::timeout(std::time::Duration::from_secs(5), b.lock_changes())
            .await
            .expect("b takes the lock once a dropped it")
            .unwrap();
        drop(held_by_b);
        // A holder whose connection ends (its replica killed) holds nothing: b takes it with
        // no guard to give it back, then b's store (and its connection) goes.
        assert!(b.backend.try_lock_changes().unwrap());
        let wait = tokio::time::timeout(std::time::Duration::from_millis(300), a.lock_changes());
        assert!(wait.await.is_err(), "a took the lock b holds");
        drop(b);
        let again = tokio::time::timeout(std::time::Duration::from_secs(5), a.lock_changes());
        assert!(
            again.await.is_ok_and(|r| r.is_ok()),
            "b's connection ended: a takes it"
        );
    });
}
