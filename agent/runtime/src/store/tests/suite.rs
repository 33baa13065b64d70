//! What every backend must do alike: each test here runs on SQLite and on PostgreSQL.

use chrono::{Duration, Utc};
use serde_json::json;
use sopilot_protocol::{ApprovalState, CallOrigin, Decision, RunEventKind, RunStatus};

use super::Fixture;
use crate::approval::ApprovalRecord;
use crate::store::backend::NewRun;
use crate::store::{CallAudit, StoreError, UnroutedTrigger, unrouted::KEEP};

super::both_backends!(
    runs_their_events_and_audit_read_back_as_written,
    runs_are_listed_newest_first,
    an_expired_approval_cannot_be_approved,
    approvals_are_listed_by_state_and_expired_with_their_run,
    approval_messages_survive_a_reopen_and_go_stale_when_decided,
    seen_messages_survive_a_reopen_until_pruned,
    unrouted_triggers_are_kept_newest_first_and_redacted,
    only_the_newest_unrouted_triggers_are_kept,
    executed_changes_are_found_by_target_workload_and_tool,
    a_dead_process_s_runs_are_interrupted_at_open,
    a_store_newer_than_this_binary_is_refused,
);

pub(super) fn record(id: &str, run: &str, expires_in: Duration) -> ApprovalRecord {
    let now = Utc::now();
    ApprovalRecord {
        id: id.into(),
        run_id: run.into(),
        call_id: "c1".into(),
        tool: "kubectl.patch_hpa".into(),
        // Keys out of order on purpose: they must read back in the order written.
        args: json!({"name": "web", "max_replicas": 20, "a": {"z": 1, "b": [1, 2]}}),
        digest: "d".into(),
        impact: Some(json!({"target": "hpa/payment/web", "max_replicas": {"from": 10, "to": 20}})),
        impact_digest: Some("i".into()),
        decision_path: vec!["escalate".into(), "hpa-beyond-50-percent".into()],
        rules: vec!["hpa-beyond-50-percent".into()],
        reason: "more than 50 %".into(),
        requested_at: now,
        expires_at: now + expires_in,
        state: ApprovalState::Pending,
        decided_by: None,
        channel: None,
    }
}

fn audit(call_id: &str, tool: &str, target: &str, workload: &str) -> CallAudit {
    CallAudit {
        call_id: call_id.into(),
        tool: tool.into(),
        origin: CallOrigin::ToolBlock,
        args: json!({"name": target, "replicas": 3}),
        impact: Some(json!({"target": target})),
        decision: Some(Decision::Allow),
        rules: vec!["scale-small".into()],
        reason: "within limits".into(),
        target: Some(target.into()),
        workload: Some(workload.into()),
        ..CallAudit::default()
    }
}

pub(super) fn runs_their_events_and_audit_read_back_as_written(f: &Fixture) {
    let s = f.open();
    let trigger = json!({"kind": "manual", "text": "p99 up", "labels": {"z": "1", "a": "2"}});
    s.create_run(
        "run-1",
        "high-latency",
        &trigger,
        &json!({"service": "web"}),
        "m",
    )
    .unwrap();
    let e0 = s
        .append_event(
            "run-1",
            RunEventKind::Note {
                message: "one".into(),
            },
        )
        .unwrap();
    let e1 = s
        .append_event(
            "run-1",
            RunEventKind::Note {
                message: "two".into(),
            },
        )
        .unwrap();
    assert_eq!((e0.seq, e1.seq), (0, 1), "the store numbers events");
    let other = s
        .append_event(
            "run-2",
            RunEventKind::Note {
                message: "x".into(),
            },
        )
        .unwrap();
    assert_eq!(other.seq, 0, "numbered per run");

    let mut a = audit(
        "c1",
        "kubectl.scale",
        "deployment/payment/web",
        "payment/web",
    );
    s.record_call("run-1", 0, &a).unwrap();
    a.executed = true;
    a.ok = Some(true);
    a.result_bytes = 123;
    a.duration_ms = 45;
    a.executed_at = Some(crate::store::now());
    s.record_call_before_acting("run-1", 0, &a).unwrap();
    s.record_call(
        "run-1",
        1,
        &audit("c2", "kubectl.get", "pod/x", "payment/web"),
    )
    .unwrap();
    s.finish_run("run-1", RunStatus::NeedsHuman, "scaled", "waiting")
        .unwrap();

    let s = f.open();
    let (row, events, calls) = s.run("run-1").unwrap();
    assert_eq!(row.status, RunStatus::NeedsHuman);
    assert_eq!(
        (row.summary.as_str(), row.reason.as_str()),
        ("scaled", "waiting")
    );
    assert_eq!(row.trigger, trigger);
    assert_eq!(
        row.trigger.to_string(),
        trigger.to_string(),
        "key order kept"
    );
    assert_eq!(row.params, json!({"service": "web"}));
    assert!(row.finished_at.is_some());
    assert_eq!(events, vec![e0, e1]);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0], a);
    assert_eq!(calls[1].call_id, "c2");
    assert!(matches!(s.run("nope"), Err(StoreError::NoRun(id)) if id == "nope"));
}

pub(super) fn runs_are_listed_newest_first(f: &Fixture) {
    let s = f.open();
    for id in ["run-a", "run-b", "run-c"] {
        s.create_run(id, "sop", &json!({}), &json!({}), "m")
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let ids: Vec<String> = s.runs(2).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["run-c", "run-b"]);
    let all = s.runs(10).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|r| r.status == RunStatus::Running));
    let started = chrono::DateTime::parse_from_rfc3339(&all[0].started_at).unwrap();
    assert!(
        (Utc::now() - started.with_timezone(&Utc))
            .num_seconds()
            .abs()
            < 60
    );
}

pub(super) fn an_expired_approval_cannot_be_approved(f: &Fixture) {
    let store = f.open();
    store
        .insert_approval(&record("a-old", "run-1", Duration::seconds(-1)))
        .unwrap();
    let (r, changed) = store
        .decide_approval("a-old", ApprovalState::Approved, "alice", "api")
        .unwrap();
    assert!(!changed);
    assert_eq!(r.state, ApprovalState::Expired);
    assert_eq!(r.decided_by.as_deref(), Some("sopilot"));

    let asked = record("a-new", "run-1", Duration::minutes(5));
    store.insert_approval(&asked).unwrap();
    let (r, changed) = store
        .decide_approval("a-new", ApprovalState::Approved, "alice", "api")
        .unwrap();
    assert!(changed);
    assert_eq!(r.state, ApprovalState::Approved);
    assert_eq!(
        (r.decided_by.as_deref(), r.channel.as_deref()),
        (Some("alice"), Some("api"))
    );
    assert_eq!(
        r.args.to_string(),
        asked.args.to_string(),
        "arguments byte for byte"
    );
    assert_eq!(
        (r.impact, r.impact_digest),
        (asked.impact, asked.impact_digest)
    );
    assert_eq!(r.decision_path, asked.decision_path);
    assert_eq!(
        r.expires_at.timestamp_micros(),
        asked.expires_at.timestamp_micros()
    );
    let (_, again) = f
        .open()
        .decide_approval("a-new", ApprovalState::Denied, "bob", "slack")
        .unwrap();
    assert!(!again, "the first decision wins, whichever handle decides");
    assert!(matches!(
        store.decide_approval("nope", ApprovalState::Approved, "a", "api"),
        Err(StoreError::NoApproval(_))
    ));
}

pub(super) fn approvals_are_listed_by_state_and_expired_with_their_run(f: &Fixture) {
    let s = f.open();
    for (id, run) in [("apr-1", "run-1"), ("apr-2", "run-1"), ("apr-3", "run-2")] {
        s.insert_approval(&record(id, run, Duration::minutes(5)))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    s.decide_approval("apr-2", ApprovalState::Denied, "bob", "slack")
        .unwrap();
    let ids = |state| -> Vec<String> {
        s.approvals(state)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(None), ["apr-1", "apr-2", "apr-3"], "oldest first");
    assert_eq!(ids(Some(ApprovalState::Pending)), ["apr-1", "apr-3"]);
    assert_eq!(ids(Some(ApprovalState::Denied)), ["apr-2"]);
    assert_eq!(
        s.expire_pending_of_run("run-1", "cancelled by alice")
            .unwrap(),
        1
    );
    let r = s.approval("apr-1").unwrap().unwrap();
    assert_eq!(r.state, ApprovalState::Expired);
    assert_eq!(r.decided_by.as_deref(), Some("cancelled by alice"));
    assert_eq!(r.channel.as_deref(), Some("cancel"));
    assert!(s.approval_decided_at("apr-1").unwrap().is_some());
    assert!(s.approval_decided_at("apr-3").unwrap().is_none());
    assert!(s.approval("nope").unwrap().is_none());
}

pub(super) fn approval_messages_survive_a_reopen_and_go_stale_when_decided(f: &Fixture) {
    {
        let s = f.open();
        s.insert_approval(&record("apr-1", "run-1", Duration::minutes(10)))
            .unwrap();
        assert_eq!(s.approval_message("apr-1").unwrap(), None);
        s.set_approval_message("apr-1", "C0", "1.000000", ApprovalState::Pending)
            .unwrap();
        s.set_approval_message("apr-1", "C1", "1.000100", ApprovalState::Pending)
            .unwrap();
    }
    let s = f.open();
    let m = s.approval_message("apr-1").unwrap().unwrap();
    assert_eq!(
        (m.channel.as_str(), m.ts.as_str()),
        ("C1", "1.000100"),
        "replaced"
    );
    assert_eq!(m.shown, ApprovalState::Pending);
    assert!(s.stale_approval_messages(10).unwrap().is_empty());
    s.decide_approval("apr-1", ApprovalState::Approved, "U1", "slack")
        .unwrap();
    assert_eq!(s.stale_approval_messages(10).unwrap(), ["apr-1"]);
    assert!(s.approval_decided_at("apr-1").unwrap().is_some());
    s.set_approval_message_shown("apr-1", ApprovalState::Approved)
        .unwrap();
    assert!(s.stale_approval_messages(10).unwrap().is_empty());
}

pub(super) fn seen_messages_survive_a_reopen_until_pruned(f: &Fixture) {
    let then = Utc::now() - Duration::hours(3);
    {
        let s = f.open();
        assert!(s.remember_message("sns", "m1", Utc::now()).unwrap());
        assert!(s.remember_message("sns", "old", then).unwrap());
        assert!(!s.remember_message("sns", "m1", Utc::now()).unwrap());
        assert!(s.remember_message("other", "m1", Utc::now()).unwrap());
    }
    let s = f.open();
    assert!(
        !s.remember_message("sns", "m1", Utc::now()).unwrap(),
        "a replay after a restart is recognised"
    );
    let cutoff = Utc::now() - Duration::hours(2);
    assert_eq!(s.prune_messages("sns", cutoff).unwrap(), 1);
    assert!(s.remember_message("sns", "old", Utc::now()).unwrap());
    s.forget_message("sns", "m1").unwrap();
    assert!(s.remember_message("sns", "m1", Utc::now()).unwrap());
}

fn trigger(n: i64, description: &str) -> UnroutedTrigger {
    UnroutedTrigger {
        at: crate::store::now(),
        kind: "alertmanager".into(),
        dedup_key: format!("alertmanager:{{}}:{{alertname=\"X{n}\"}}"),
        origin: "webhook alertmanager".into(),
        reason: "no SOP matches".into(),
        trigger: json!({"kind": "alertmanager", "n": n, "description": description}),
    }
}

pub(super) fn unrouted_triggers_are_kept_newest_first_and_redacted(f: &Fixture) {
    let store = f.open();
    let first = trigger(1, "password=hunter2hunter2");
    store.record_unrouted(&first).unwrap();
    store.record_unrouted(&trigger(2, "plain")).unwrap();
    let got = store.unrouted(10).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].trigger["n"], 2);
    assert_eq!(got[1].kind, "alertmanager");
    assert_eq!(got[1].at, first.at);
    let stored = got[1].trigger["description"].as_str().unwrap();
    assert!(!stored.contains("hunter2"), "{stored}");
    assert_eq!(store.unrouted(1).unwrap().len(), 1);
}

pub(super) fn only_the_newest_unrouted_triggers_are_kept(f: &Fixture) {
    let store = f.open();
    for n in 0..(KEEP + 5) {
        store.record_unrouted(&trigger(n, "x")).unwrap();
    }
    let got = store.unrouted(usize::MAX >> 1).unwrap();
    assert_eq!(got.len() as i64, KEEP);
    assert_eq!(got[0].trigger["n"], KEEP + 4);
    assert_eq!(got.last().unwrap().trigger["n"], 5);
}

pub(super) fn executed_changes_are_found_by_target_workload_and_tool(f: &Fixture) {
    let s = f.open();
    let now = crate::store::now();
    let executed = |call: &str, tool: &str, target: &str, workload: &str, ago: i64| {
        let mut a = audit(call, tool, target, workload);
        a.executed = true;
        a.executed_at = Some(now - Duration::minutes(ago));
        a
    };
    let calls = [
        executed("c1", "kubectl.drain_node", "node/n1", "node/n1", 50),
        executed("c2", "kubectl.drain_node", "node/n2", "node/n2", 10),
        executed("c3", "kubectl.drain_node", "node/n1", "node/n1", 5),
        executed("c4", "kubectl.scale", "deployment/p/web", "p/web", 20),
        executed("c5", "kubectl.delete_pod", "pod/p/web-1", "p/web", 3),
        executed("c6", "kubectl.scale", "deployment/p/web", "p/web", 120),
        audit("c7", "kubectl.scale", "deployment/p/web", "p/web"),
    ];
    for (seq, c) in calls.iter().enumerate() {
        s.record_call("run-1", seq as u64, c).unwrap();
    }
    let hour_ago = now - Duration::hours(1);
    let drained = s
        .targets_changed_by(&["kubectl.drain_node", "kubectl.cordon_node"], hour_ago)
        .unwrap();
    assert_eq!(drained, ["node/n1", "node/n2"]);
    assert!(
        s.targets_changed_by(&["kubectl.scale"], now)
            .unwrap()
            .is_empty()
    );

    let web = s
        .changes_since("deployment/p/web", Some("p/web"), hour_ago)
        .unwrap();
    let tools: Vec<&str> = web.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        tools,
        ["kubectl.scale", "kubectl.delete_pod"],
        "oldest first, not c6 nor c7"
    );
    assert_eq!(web[0].executed_at, now - Duration::minutes(20));
    assert_eq!(web[0].impact, Some(json!({"target": "deployment/p/web"})));
    let only_target = s.changes_since("deployment/p/web", None, hour_ago).unwrap();
    assert_eq!(only_target.len(), 1);
}

pub(super) fn a_dead_process_s_runs_are_interrupted_at_open(f: &Fixture) {
    let s = f.open();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = crate::store::location::hostname();
    let run = |id, pid, host| NewRun {
        id,
        sop: "sop",
        trigger: "{}".into(),
        params: "{}".into(),
        model: "m",
        started_at: crate::store::now(),
        pid,
        nonce: "an-earlier-process",
        host,
    };
    s.backend.create_run(&run("run-dead", dead, &host)).unwrap();
    s.backend
        .create_run(&run("run-leased", dead, &host))
        .unwrap();
    s.claim(
        "run-leased",
        "other-host:1",
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    // Its own process's lease (serve renews one per run) does not keep a dead run alive.
    s.backend
        .create_run(&run("run-own-lease", dead, &host))
        .unwrap();
    s.claim(
        "run-own-lease",
        &format!("{host}:{dead}"),
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    s.create_run("run-mine", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    // A container restarted in place: the same pid as this process, an earlier process.
    s.backend
        .create_run(&run("run-same-pid", std::process::id(), &host))
        .unwrap();
    if f.is_postgres() {
        s.backend
            .create_run(&run("run-elsewhere", dead, "another-host"))
            .unwrap();
    }

    let s = f.open();
    let (row, _, _) = s.run("run-dead").unwrap();
    assert_eq!(row.status, RunStatus::Interrupted);
    assert!(
        row.reason.contains(&format!("pid {dead}")),
        "{}",
        row.reason
    );
    let status = |id| s.run(id).unwrap().0.status;
    assert_eq!(status("run-own-lease"), RunStatus::Interrupted);
    assert_eq!(
        status("run-mine"),
        RunStatus::Running,
        "this process is alive"
    );
    assert_eq!(
        status("run-same-pid"),
        RunStatus::Interrupted,
        "this pid, but another process's nonce"
    );
    assert_eq!(
        status("run-leased"),
        RunStatus::Running,
        "another replica holds it"
    );
    if f.is_postgres() {
        assert_eq!(
            status("run-elsewhere"),
            RunStatus::Running,
            "another host's process is not ours to judge"
        );
    }
}

pub(super) fn a_store_newer_than_this_binary_is_refused(f: &Fixture) {
    drop(f.open());
    f.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (99, '2030-01-01T00:00:00Z')",
    );
    let err = crate::store::Store::open_at(&f.location()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: 5,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("version 99") && text.contains("upgrade sopilot"),
        "{text}"
    );
}
