//! What only PostgreSQL has: a server to lose the connection to, another process's commits,
//! and the same answers as SQLite for the same calls.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, RunEventKind, RunStatus};

use super::Fixture;
use super::fixture::admin;
use crate::store::{CallAudit, Location, Store, StoreError};

#[test]
fn connection_errors_name_the_server_but_never_the_password() {
    let err = Store::open(Path::new("postgres://sopilot:sekrit@127.0.0.1:1/sopilot")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Postgres { .. }), "{text}");
    assert!(
        text.contains("postgres://sopilot:***@127.0.0.1:1/sopilot"),
        "{text}"
    );
    assert!(!text.contains("sekrit"), "{text}");
}

/// A server that answers PostgreSQL's TLS request with "no" (as one without TLS does), then
/// hangs up; its address.
fn server_without_tls() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
        }
    });
    addr
}

#[test]
fn sslmode_require_against_a_server_without_tls_fails_naming_sslmode() {
    let addr = server_without_tls();
    for mode in ["require", "verify-full"] {
        let url = format!("postgres://sopilot:sekrit@{addr}/sopilot?sslmode={mode}");
        let text = Store::open(Path::new(&url)).unwrap_err().to_string();
        assert!(
            text.contains(&format!("sslmode={mode} requires TLS"))
                && text.contains("server does not support TLS"),
            "{text}"
        );
        assert!(!text.contains("sekrit"), "{text}");
    }
    let url = format!("postgres://{addr}/sopilot?sslmode=on");
    let text = Store::open(Path::new(&url)).unwrap_err().to_string();
    assert!(text.contains("sslmode=on is not known"), "{text}");
}

/// Whether the test server's connections named `name` are encrypted.
fn encrypted(name: &str) -> Vec<bool> {
    let (base, name) = (super::fixture::base_url().unwrap(), name.to_owned());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1",
            &[&name],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    })
    .join()
    .unwrap()
}

/// A setting of the test server (`SHOW name`).
fn server_setting(name: &'static str) -> String {
    let base = super::fixture::base_url().unwrap();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.query_one(&format!("SHOW {name}"), &[]).unwrap().get(0)
    })
    .join()
    .unwrap()
}

/// Whether the test server speaks TLS.
fn server_offers_tls() -> bool {
    server_setting("ssl") == "on"
}

/// Against the test server: `disable` speaks plain text; `prefer` (the default) and `require`
/// speak TLS when the server offers it (and `require` is refused when it does not);
/// `verify-full` never accepts its certificate (self-signed, or none), naming the sslmode.
#[test]
fn tls_is_spoken_as_sslmode_says() {
    let Some(f) = Fixture::postgres("tls_is_spoken_as_sslmode_says") else {
        return;
    };
    let Fixture::Postgres(schema) = &f else {
        unreachable!()
    };
    // Each mode's connection named apart (the last application_name counts).
    let name = |mode: &str| format!("{}-{mode}", schema.name);
    let with = |mode: &str| {
        Location::Postgres(format!(
            "{}&sslmode={mode}&application_name={}",
            schema.url(),
            name(mode)
        ))
    };
    let offered = server_offers_tls();
    let s = Store::open_at(&with("prefer")).unwrap();
    assert_eq!(encrypted(&name("prefer")), [offered], "sslmode=prefer");
    drop(s);
    let s = Store::open_at(&with("disable")).unwrap();
    assert_eq!(encrypted(&name("disable")), [false], "sslmode=disable");
    drop(s);
    match Store::open_at(&with("require")) {
        Ok(s) => {
            assert!(offered, "require connected to a server that offers no TLS");
            assert_eq!(encrypted(&name("require")), [true], "sslmode=require");
            drop(s);
        }
        Err(e) => {
            assert!(!offered, "{e}");
            assert!(
                e.to_string().contains("sslmode=require requires TLS"),
                "{e}"
            );
        }
    }
    let err = Store::open_at(&with("verify-full"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sslmode=verify-full requires TLS"), "{err}");
    // With the server's own certificate as the CA (when it is readable here, as on a server
    // with a self-signed one), verify-ca accepts it, whatever name it is for.
    let cert = server_setting("ssl_cert_file");
    if offered && std::fs::read(&cert).is_ok() {
        let url = format!(
            "{}&sslmode=verify-ca&sslrootcert={cert}&application_name={}",
            schema.url(),
            name("verify-ca")
        );
        let s = Store::open_at(&Location::Postgres(url)).unwrap();
        assert_eq!(encrypted(&name("verify-ca")), [true], "sslmode=verify-ca");
        drop(s);
    }
}

#[test]
fn a_broken_connection_is_replaced_on_the_next_call() {
    let Some(f) = Fixture::postgres("a_broken_connection_is_replaced_on_the_next_call") else {
        return;
    };
    let Fixture::Postgres(schema) = &f else {
        unreachable!()
    };
    let s = f.open();
    s.create_run("run-1", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    admin(
        &super::fixture::base_url().unwrap(),
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'",
            schema.name
        ),
    );
    std::thread::sleep(Duration::from_millis(100));
    if let Err(e) = s.runs(1) {
        let text = e.to_string();
        assert!(
            text.contains("127.0.0.1") || text.contains("localhost"),
            "{text}"
        );
    }
    assert_eq!(s.runs(1).unwrap()[0].id, "run-1", "reconnected");
}

/// Set in the child process of the kill -9 test: the store it writes to.
const CHILD_URL: &str = "SOPILOT_TEST_KILL9_STORE";
const WRITTEN: &str = "sopilot-kill9: written";

fn before_acting() -> CallAudit {
    CallAudit {
        call_id: "c1".into(),
        tool: "kubectl.rollout_restart".into(),
        args: json!({"namespace": "payment", "name": "web"}),
        decision: Some(sopilot_protocol::Decision::Allow),
        target: Some("deployment/payment/web".into()),
        workload: Some("payment/web".into()),
        executed_at: Some(crate::store::now()),
        ..CallAudit::default()
    }
}

/// The child of the test below (does nothing in a normal test run): writes the audit row of
/// a mutating call about to act, says so, and waits to be killed.
#[test]
#[allow(clippy::print_stdout)]
fn kill9_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let s = Store::open_at(&Location::Postgres(url)).unwrap();
    s.create_run("run-k", "sop", &json!({}), &json!({}), "m")
        .unwrap();
    s.record_call_before_acting("run-k", 0, &before_acting())
        .unwrap();
    println!("{WRITTEN}");
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn the_audit_row_written_before_acting_survives_kill_9() {
    let Some(f) = Fixture::postgres("the_audit_row_written_before_acting_survives_kill_9") else {
        return;
    };
    let Location::Postgres(url) = f.location() else {
        unreachable!()
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::postgres::kill9_child",
            "--nocapture",
        ])
        .env(CHILD_URL, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(WRITTEN) {
                let _ = tx.send(());
            }
        }
    });
    let said = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap(); // SIGKILL: nothing of the child runs after this
    child.wait().unwrap();
    said.expect("the child said it wrote the row");

    let s = f.open();
    let (row, _, calls) = s.run("run-k").unwrap();
    assert_eq!(calls, [before_acting_but_at(&calls)]);
    assert_eq!(row.status, RunStatus::Interrupted, "its process is gone");
}

/// [`before_acting`] with the time the child wrote (the only field that differs).
fn before_acting_but_at(calls: &[CallAudit]) -> CallAudit {
    CallAudit {
        executed_at: calls.first().and_then(|c| c.executed_at),
        ..before_acting()
    }
}

/// The same calls on both backends give the same answers, times aside.
#[test]
fn both_backends_give_the_same_answers() {
    let Some(pg) = Fixture::postgres("both_backends_give_the_same_answers") else {
        return;
    };
    let answers = |f: &Fixture| -> Value {
        let s = f.open();
        for id in ["run-1", "run-2"] {
            s.create_run(
                id,
                "sop",
                &json!({"b": 1, "a": [2]}),
                &json!({"x": "y"}),
                "m",
            )
            .unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        s.append_event(
            "run-1",
            RunEventKind::Note {
                message: "n".into(),
            },
        )
        .unwrap();
        s.record_call("run-1", 0, &before_acting()).unwrap();
        s.finish_run("run-2", RunStatus::Failed, "s", "r").unwrap();
        let asked = super::suite::record("apr-1", "run-1", chrono::Duration::minutes(5));
        s.insert_approval(&asked).unwrap();
        s.insert_approval(&super::suite::record(
            "apr-2",
            "run-2",
            chrono::Duration::minutes(5),
        ))
        .unwrap();
        s.decide_approval("apr-1", ApprovalState::Approved, "a", "api")
            .unwrap();
        let (run, events, calls) = s.run("run-1").unwrap();
        let mut v = json!({
            "runs": s.runs(10).unwrap(),
            "run": run,
            "events": events,
            "calls": calls,
            "approvals": s.approvals(None).unwrap(),
            "pending": s.approvals(Some(ApprovalState::Pending)).unwrap(),
            "stale": s.stale_approval_messages(5).unwrap(),
        });
        drop_times(&mut v);
        v
    };
    let sqlite = answers(&Fixture::sqlite());
    assert_eq!(answers(&pg), sqlite);
    assert_eq!(sqlite["runs"][0]["id"], "run-2");
}

fn drop_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "started_at",
                "finished_at",
                "at",
                "requested_at",
                "expires_at",
                "executed_at",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(drop_times);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_times),
        _ => {}
    }
}
