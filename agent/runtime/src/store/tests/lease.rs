//! Run ownership: exactly one replica holds a run, on either backend, with two handles on
//! one store standing for two replicas.

use std::time::Duration;

use serde_json::json;
use sopilot_protocol::RunStatus;

use super::Fixture;

super::both_backends!(
    one_replica_holds_a_run_until_its_lease_runs_out,
    a_released_or_finished_run_is_no_one_s,
    replicas_claiming_at_once_never_share_a_run,
    events_appended_by_replicas_at_once_are_numbered_without_gaps,
);

const LONG: Duration = Duration::from_secs(600);

pub(super) fn one_replica_holds_a_run_until_its_lease_runs_out(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    a.create_run("run-1", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    assert_eq!(a.lease("run-1").unwrap(), None);
    assert!(a.claim("run-1", "replica-a", LONG).unwrap());
    assert!(!b.claim("run-1", "replica-b", LONG).unwrap(), "a holds it");
    assert!(
        a.claim("run-1", "replica-a", LONG).unwrap(),
        "claiming again renews"
    );
    assert!(!b.heartbeat("run-1", "replica-b", LONG).unwrap());
    assert!(a.heartbeat("run-1", "replica-a", LONG).unwrap());
    assert_eq!(b.lease("run-1").unwrap().unwrap().owner, "replica-a");
    assert_eq!(b.claim_expired("replica-b", LONG).unwrap(), None);

    // a stops renewing: its lease runs out, and b takes the run over.
    assert!(a.heartbeat("run-1", "replica-a", Duration::ZERO).unwrap());
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        b.claim_expired("replica-b", LONG).unwrap().as_deref(),
        Some("run-1")
    );
    assert!(
        !a.heartbeat("run-1", "replica-a", LONG).unwrap(),
        "a must stop acting"
    );
    let lease = a.lease("run-1").unwrap().unwrap();
    assert_eq!(lease.owner, "replica-b");
    assert!(lease.until > chrono::Utc::now());
    assert!(!a.claim("run-1", "replica-a", LONG).unwrap());
}

pub(super) fn a_released_or_finished_run_is_no_one_s(f: &Fixture) {
    let (a, b) = (f.open(), f.open());
    a.create_run("run-1", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    assert!(a.claim("run-1", "replica-a", LONG).unwrap());
    assert!(
        !b.release("run-1", "replica-b").unwrap(),
        "only the holder releases"
    );
    assert!(a.release("run-1", "replica-a").unwrap());
    assert_eq!(b.lease("run-1").unwrap(), None);
    assert!(b.claim("run-1", "replica-b", LONG).unwrap(), "free at once");
    b.finish_run("run-1", RunStatus::Succeeded, "done", "")
        .unwrap();
    assert!(
        !b.heartbeat("run-1", "replica-b", LONG).unwrap(),
        "finished"
    );
    assert!(
        !a.claim("run-1", "replica-a", LONG).unwrap(),
        "finished runs are not claimed"
    );
    assert!(!a.claim("no-such-run", "replica-a", LONG).unwrap());
}

pub(super) fn replicas_claiming_at_once_never_share_a_run(f: &Fixture) {
    let setup = f.open();
    let runs: Vec<String> = (0..12).map(|i| format!("run-{i:02}")).collect();
    for id in &runs {
        setup
            .create_run(id, "sop", &json!({}), &json!({}), "m")
            .unwrap();
        assert!(setup.claim(id, "dead-replica", Duration::ZERO).unwrap());
    }
    std::thread::sleep(Duration::from_millis(5));
    let replicas: Vec<_> = (0..3).map(|i| (format!("replica-{i}"), f.open())).collect();
    let won: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = replicas
            .iter()
            .map(|(name, store)| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(id) = store.claim_expired(name, LONG).unwrap() {
                        mine.push(id);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<String> = won.concat();
    all.sort();
    assert_eq!(all, runs, "every run claimed exactly once: {won:?}");
    for ((name, _), mine) in replicas.iter().zip(&won) {
        for id in mine {
            assert_eq!(&setup.lease(id).unwrap().unwrap().owner, name);
        }
    }
}

pub(super) fn events_appended_by_replicas_at_once_are_numbered_without_gaps(f: &Fixture) {
    let setup = f.open();
    setup
        .create_run("run-1", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    let replicas: Vec<_> = (0..3).map(|_| f.open()).collect();
    let mut seqs: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(r, store)| {
                scope.spawn(move || {
                    (0..15)
                        .map(|i| {
                            let note = sopilot_protocol::RunEventKind::Note {
                                message: format!("replica {r} event {i}"),
                            };
                            store.append_event("run-1", note).unwrap().seq
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (0..45).collect::<Vec<u64>>());
    let (_, events, _) = setup.run("run-1").unwrap();
    assert_eq!(events.len(), 45);
}
