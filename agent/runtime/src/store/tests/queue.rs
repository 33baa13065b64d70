//! The run queue, on either backend: two or three handles on one store stand for replicas.

use std::time::Duration;

use serde_json::json;
use sopilot_protocol::RunStatus;

use super::Fixture;
use crate::store::{Enqueued, Offer, Store, StoreError};

super::both_backends!(
    queued_runs_are_taken_oldest_first_and_once,
    a_full_queue_records_nothing,
    replicas_taking_at_once_never_share_a_queued_run,
    an_interrupted_queued_run_is_dropped_not_taken,
    a_queued_run_outlives_the_process_that_queued_it,
    a_run_started_at_once_is_leased_not_queued,
    a_taken_run_is_judged_by_the_process_that_took_it,
);

const LONG: Duration = Duration::from_secs(600);

fn enqueue(s: &Store, id: &str, limit: usize) -> Enqueued {
    s.enqueue_run(
        id,
        "sop",
        &json!({"kind": "manual"}),
        &json!({"pod": id}),
        "m",
        &json!({"id": id}),
        Offer::Queue { limit },
    )
    .unwrap()
}

pub(super) fn queued_runs_are_taken_oldest_first_and_once(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    for id in ["run-1", "run-2", "run-3"] {
        assert_eq!(enqueue(&a, id, 10), Enqueued::Queued);
    }
    assert_eq!(b.queued_runs().unwrap(), 3);
    let (row, _, _) = b.run("run-2").unwrap();
    assert_eq!(row.status, RunStatus::Running, "a queued run is recorded");
    assert_eq!(row.params, json!({"pod": "run-2"}));
    assert_eq!(b.lease("run-2").unwrap(), None, "and nobody's");

    let first = b.dequeue_run("replica-b", LONG).unwrap().unwrap();
    assert_eq!(first.run_id, "run-1");
    assert_eq!(first.request, json!({"id": "run-1"}).to_string());
    assert_eq!(a.lease("run-1").unwrap().unwrap().owner, "replica-b");
    assert!(
        !a.claim("run-1", "replica-a", LONG).unwrap(),
        "the taker holds it"
    );
    let second = a.dequeue_run("replica-a", LONG).unwrap().unwrap();
    assert_eq!(second.run_id, "run-2");
    assert_eq!(
        b.dequeue_run("replica-b", LONG).unwrap().unwrap().run_id,
        "run-3"
    );
    assert_eq!(a.dequeue_run("replica-a", LONG).unwrap(), None);
    assert_eq!(a.queued_runs().unwrap(), 0);
}

pub(super) fn a_full_queue_records_nothing(f: &Fixture) {
    let s = f.open();
    assert_eq!(enqueue(&s, "run-1", 2), Enqueued::Queued);
    assert_eq!(enqueue(&s, "run-2", 2), Enqueued::Queued);
    assert_eq!(enqueue(&s, "run-3", 2), Enqueued::Full(2));
    assert!(matches!(s.run("run-3"), Err(StoreError::NoRun(_))));
    s.dequeue_run("me", LONG).unwrap().unwrap();
    assert_eq!(
        enqueue(&s, "run-3", 2),
        Enqueued::Queued,
        "room again once one is taken"
    );
}

pub(super) fn replicas_taking_at_once_never_share_a_queued_run(f: &Fixture) {
    let setup = f.open();
    let runs: Vec<String> = (0..12).map(|i| format!("run-{i:02}")).collect();
    for id in &runs {
        assert_eq!(enqueue(&setup, id, 100), Enqueued::Queued);
    }
    let replicas: Vec<_> = (0..3).map(|i| (format!("replica-{i}"), f.open())).collect();
    let took: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = replicas
            .iter()
            .map(|(name, store)| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(q) = store.dequeue_run(name, LONG).unwrap() {
                        mine.push(q.run_id);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = took.concat();
    all.sort();
    assert_eq!(all, runs, "every queued run taken exactly once: {took:?}");
    for ((name, _), mine) in replicas.iter().zip(&took) {
        for id in mine {
            assert_eq!(&setup.lease(id).unwrap().unwrap().owner, name);
        }
    }
}

pub(super) fn an_interrupted_queued_run_is_dropped_not_taken(f: &Fixture) {
    let s = f.open();
    enqueue(&s, "run-1", 10);
    enqueue(&s, "run-2", 10);
    s.interrupt("run-1", "stopped by a human").unwrap();
    assert_eq!(s.dequeue_run("me", LONG).unwrap().unwrap().run_id, "run-2");
    assert_eq!(s.queued_runs().unwrap(), 0, "run-1 left the queue");
    assert_eq!(s.lease("run-1").unwrap(), None);
}

/// A process that queued a run and died leaves it queued, not interrupted: whoever opens the
/// store next takes it. A run it was running is interrupted as before.
pub(super) fn a_queued_run_outlives_the_process_that_queued_it(f: &Fixture) {
    let s = f.open();
    enqueue(&s, "queued", 10);
    s.create_run("running", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    drop(s);
    // Both were started by a process of this host that is gone now.
    f.execute("UPDATE runs SET pid = 999999999, process_nonce = 'gone'");
    let s = f.open();
    let status = |id: &str| s.run(id).unwrap().0.status;
    assert_eq!(status("running"), RunStatus::Interrupted);
    assert_eq!(status("queued"), RunStatus::Running);
    assert_eq!(s.dequeue_run("me", LONG).unwrap().unwrap().run_id, "queued");
}

pub(super) fn a_run_started_at_once_is_leased_not_queued(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    let offer = Offer::Start {
        owner: "replica-a",
        lease: LONG,
    };
    let started = a
        .enqueue_run(
            "run-1",
            "sop",
            &json!({}),
            &json!({}),
            "m",
            &json!({}),
            offer,
        )
        .unwrap();
    assert_eq!(started, Enqueued::Started);
    assert_eq!(b.lease("run-1").unwrap().unwrap().owner, "replica-a");
    assert_eq!(b.queued_runs().unwrap(), 0);
    assert_eq!(b.dequeue_run("replica-b", LONG).unwrap(), None);
    assert!(!b.claim("run-1", "replica-b", LONG).unwrap());
}

/// The replica that queued a run died; this process took it, and its lease lapsed (a slow
/// store). Crash recovery at open (the dead replica restarted on this host) judges the run by
/// its taker, alive, not by the process that queued it.
pub(super) fn a_taken_run_is_judged_by_the_process_that_took_it(f: &Fixture) {
    let s = f.open();
    enqueue(&s, "run-1", 10);
    f.execute("UPDATE runs SET pid = 999999999, process_nonce = 'gone'");
    let me = crate::store::this_replica();
    let taken = s.dequeue_run(&me, Duration::ZERO).unwrap().unwrap();
    assert_eq!(taken.run_id, "run-1");
    std::thread::sleep(Duration::from_millis(5));
    drop(f.open()); // crash recovery, as a restarted process runs it
    assert_eq!(s.run("run-1").unwrap().0.status, RunStatus::Running);
    assert!(
        s.claim("run-1", &me, LONG).unwrap(),
        "and still this process's"
    );
}
