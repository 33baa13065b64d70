//! The PostgreSQL backend (`store: postgres://…`): one connection on a thread of its own
//! (`client.rs`), the schema and its migrations (`schema.rs`).
//!
//! Every commit is durable: the session runs with `synchronous_commit = on` whatever the
//! server's default, so the audit row of a mutating call and every approval decision are on
//! the server's disk before anything acts on them. A server running with `fsync = off` is
//! reported at open (it keeps no promise across a crash).

mod client;
mod schema;

use chrono::{DateTime, Utc};
use postgres::Row;
use postgres::error::SqlState;

use super::backend::{
    Backend, Decided, NewRun, RawApproval, RawCall, RawEvent, RawRun, enum_text, parse_state,
};
use super::location::redact_url;
use super::{ApprovalMessage, CallAudit, PastChange, StoreError, UnroutedTrigger};
use crate::approval::ApprovalRecord;
use client::PgClient;

/// A PostgreSQL store.
#[derive(Debug)]
pub(crate) struct Postgres {
    db: PgClient,
}

const RUN_COLUMNS: &str =
    "id, sop, status, model, started_at, finished_at, summary, reason, trigger, params";
const APPROVAL_COLUMNS: &str = "id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, decided_by, channel, impact_digest, decision_path";
const CALL_COLUMNS: &str = "call_id, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at";

impl Postgres {
    /// Connects to `url`, applies the migrations and checks the server keeps commits.
    pub fn open(url: &str) -> Result<Postgres, StoreError> {
        let shown = redact_url(url);
        let db = PgClient::connect(url, &shown)?;
        if let Some(found) = db.call(schema::migrate)? {
            return Err(StoreError::TooNew {
                location: shown,
                found,
                known: schema::VERSION,
            });
        }
        if !db.call(schema::fsync_on)? {
            tracing::warn!(
                store = %shown,
                "the PostgreSQL server runs with fsync = off: a crash of its host can lose committed audit rows and approval decisions; turn fsync on"
            );
        }
        Ok(Postgres { db })
    }

    /// Rows of `sql`, each mapped by `map`.
    fn rows<T: Send + 'static>(
        &self,
        sql: String,
        params: Params,
        map: fn(&Row) -> Result<T, postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        self.db.call(move |c| {
            let refs = params.refs();
            c.query(sql.as_str(), &refs)?.iter().map(map).collect()
        })
    }

    /// Rows changed by `sql`.
    fn execute(&self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        self.db.call(move |c| c.execute(sql, &params.refs()))
    }
}

/// Owned statement parameters (the connection thread needs `'static` values).
struct Params(Vec<Box<dyn postgres::types::ToSql + Sync + Send>>);

impl Params {
    fn refs(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn postgres::types::ToSql + Sync))
            .collect()
    }
}

/// `Params` from expressions, each turned into an owned value.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        Params(vec![$(Box::new($p) as Box<dyn postgres::types::ToSql + Sync + Send>),*])
    };
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn opt(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

fn limit(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

fn run_row(r: &Row) -> Result<RawRun, postgres::Error> {
    Ok(RawRun {
        id: r.try_get(0)?,
        sop: r.try_get(1)?,
        status: r.try_get(2)?,
        model: r.try_get(3)?,
        started_at: r.try_get::<_, DateTime<Utc>>(4)?.to_rfc3339(),
        finished_at: r
            .try_get::<_, Option<DateTime<Utc>>>(5)?
            .map(|t| t.to_rfc3339()),
        summary: r.try_get(6)?,
        reason: r.try_get(7)?,
        trigger: r.try_get(8)?,
        params: r.try_get(9)?,
    })
}

fn approval_row(r: &Row) -> Result<RawApproval, postgres::Error> {
    Ok(RawApproval {
        id: r.try_get(0)?,
        run_id: r.try_get(1)?,
        call_id: r.try_get(2)?,
        tool: r.try_get(3)?,
        args: r.try_get(4)?,
        digest: r.try_get(5)?,
        impact: r.try_get(6)?,
        rules: r.try_get(7)?,
        reason: r.try_get(8)?,
        requested_at: r.try_get(9)?,
        expires_at: r.try_get(10)?,
        state: r.try_get(11)?,
        decided_by: r.try_get(12)?,
        channel: r.try_get(13)?,
        impact_digest: r.try_get(14)?,
        decision_path: r.try_get(15)?,
    })
}

fn call_row(r: &Row) -> Result<RawCall, postgres::Error> {
    Ok(RawCall {
        call_id: r.try_get(0)?,
        tool: r.try_get(1)?,
        origin: r.try_get(2)?,
        args: r.try_get(3)?,
        impact: r.try_get(4)?,
        decision: r.try_get(5)?,
        rules: r.try_get(6)?,
        reason: r.try_get(7)?,
        approval: r.try_get(8)?,
        executed: r.try_get(9)?,
        ok: r.try_get(10)?,
        result_bytes: r.try_get(11)?,
        duration_ms: r.try_get(12)?,
        error: r.try_get(13)?,
        target: r.try_get(14)?,
        workload: r.try_get(15)?,
        executed_at: r.try_get(16)?,
    })
}

fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// How often an event insert is retried when another replica numbered an event of the same
/// run at the same moment.
const EVENT_RETRIES: usize = 5;

impl Backend for Postgres {
    fn create_run(&self, run: &NewRun<'_>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO runs (id, sop, status, trigger, params, model, started_at, pid, host)
             VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8)",
            params![
                s(run.id),
                s(run.sop),
                run.trigger.clone(),
                run.params.clone(),
                s(run.model),
                run.started_at,
                i64::from(run.pid),
                s(run.host)
            ],
        )?;
        Ok(())
    }

    fn finish_run(
        &self,
        id: &str,
        status: &str,
        at: DateTime<Utc>,
        summary: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE runs SET status = $2, finished_at = $3, summary = $4, reason = $5 WHERE id = $1",
            params![s(id), s(status), at, s(summary), s(reason)],
        )?;
        Ok(())
    }

    fn running_here(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.rows(
            "SELECT id, pid FROM runs WHERE status = 'running' AND host = $1
               AND (lease_until IS NULL OR lease_until < $2)"
                .into(),
            params![s(host), now],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )
    }

    fn interrupt(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = $2, reason = $3
             WHERE id = $1 AND status = 'running'",
            params![s(id), at, s(reason)],
        )?;
        Ok(())
    }

    fn append_event(&self, run_id: &str, at: DateTime<Utc>, body: &str) -> Result<i64, StoreError> {
        let p = params![s(run_id), at, s(body)];
        self.db.call(move |c| {
            let mut tries = 0;
            loop {
                let inserted = c.query_one(
                    "INSERT INTO events (run_id, seq, at, body)
                     SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3 FROM events WHERE run_id = $1
                     RETURNING seq",
                    &p.refs(),
                );
                match inserted {
                    Err(e)
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                            && tries < EVENT_RETRIES =>
                    {
                        tries += 1;
                    }
                    other => return other?.try_get(0),
                }
            }
        })
    }

    fn runs(&self, n: usize) -> Result<Vec<RawRun>, StoreError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT $1");
        self.rows(sql, params![limit(n)], run_row)
    }

    fn run(&self, id: &str) -> Result<Option<RawRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        Ok(first(self.rows(sql, params![s(id)], run_row)?))
    }

    fn events(&self, run_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        self.rows(
            "SELECT seq, at, body FROM events WHERE run_id = $1 ORDER BY seq".into(),
            params![s(run_id)],
            |r| {
                Ok(RawEvent {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    body: r.try_get(2)?,
                })
            },
        )
    }

    /// Every commit is durable here (see the module docs): `durable` changes nothing.
    fn write_call(
        &self,
        run_id: &str,
        seq: u64,
        a: &CallAudit,
        _durable: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tool_calls (run_id, call_id, seq, tool, origin, args, impact, decision, rules, reason, approval_id, executed, ok, result_bytes, duration_ms, error, target, workload, executed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (run_id, call_id) DO UPDATE SET args = excluded.args, impact = excluded.impact, decision = excluded.decision,
               rules = excluded.rules, reason = excluded.reason, approval_id = excluded.approval_id,
               executed = excluded.executed, ok = excluded.ok, result_bytes = excluded.result_bytes,
               duration_ms = excluded.duration_ms, error = excluded.error, target = excluded.target,
               workload = excluded.workload, executed_at = excluded.executed_at",
            params![
                s(run_id),
                a.call_id.clone(),
                seq.min(i64::MAX as u64) as i64,
                a.tool.clone(),
                enum_text(a.origin),
                a.args.to_string(),
                a.impact.as_ref().map(serde_json::Value::to_string),
                a.decision.map(|d| d.as_str().to_owned()),
                serde_json::to_string(&a.rules)?,
                a.reason.clone(),
                a.approval.as_ref().map(|r| r.0.clone()),
                a.executed,
                a.ok,
                a.result_bytes.min(i64::MAX as u64) as i64,
                a.duration_ms.min(i64::MAX as u64) as i64,
                a.error.clone(),
                a.target.clone(),
                a.workload.clone(),
                a.executed_at
            ],
        )?;
        Ok(())
    }

    fn calls(&self, run_id: &str) -> Result<Vec<RawCall>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM tool_calls WHERE run_id = $1 ORDER BY seq");
        self.rows(sql, params![s(run_id)], call_row)
    }

    fn targets_changed_by(
        &self,
        tool: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT DISTINCT target FROM tool_calls
             WHERE executed AND executed_at >= $1 AND target IS NOT NULL AND tool = $2
             ORDER BY target"
                .into(),
            params![since, s(tool)],
            |r| r.try_get(0),
        )
    }

    fn changes_since(
        &self,
        target: &str,
        workload: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<PastChange>, StoreError> {
        let rows = self.rows(
            "SELECT run_id, tool, target, workload, impact, executed_at FROM tool_calls
             WHERE executed AND executed_at >= $3
               AND (target = $1 OR ($2::text IS NOT NULL AND (workload = $2 OR target = $2)))
             ORDER BY executed_at, seq"
                .into(),
            params![s(target), opt(workload), since],
            |r| {
                Ok((
                    r.try_get::<_, String>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, Option<String>>(2)?,
                    r.try_get::<_, Option<String>>(3)?,
                    r.try_get::<_, Option<String>>(4)?,
                    r.try_get::<_, DateTime<Utc>>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(run_id, tool, target, workload, impact, executed_at)| {
                Ok(PastChange {
                    run_id,
                    tool,
                    target,
                    workload,
                    impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
                    executed_at,
                })
            })
            .collect()
    }

    fn insert_approval(&self, r: &ApprovalRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO approvals (id, run_id, call_id, tool, args, digest, impact, rules, reason, requested_at, expires_at, state, impact_digest, decision_path)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            params![
                r.id.clone(),
                r.run_id.clone(),
                r.call_id.clone(),
                r.tool.clone(),
                r.args.to_string(),
                r.digest.clone(),
                r.impact.as_ref().map(serde_json::Value::to_string),
                serde_json::to_string(&r.rules)?,
                r.reason.clone(),
                r.requested_at,
                r.expires_at,
                enum_text(r.state),
                r.impact_digest.clone(),
                serde_json::to_string(&r.decision_path)?
            ],
        )?;
        Ok(())
    }

    fn expire_approval(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "UPDATE approvals SET state = 'expired', decided_by = 'sopilot', channel = 'expiry', decided_at = $2
             WHERE id = $1 AND state = 'pending'",
            params![s(id), at],
        )?;
        Ok(())
    }

    fn decide_pending(&self, id: &str, d: &Decided<'_>) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE approvals SET state = $2, decided_by = $3, channel = $4, decided_at = $5
             WHERE id = $1 AND state = 'pending'",
            params![s(id), s(d.state), s(d.by), s(d.channel), d.at],
        )? == 1)
    }

    fn expire_pending_of_run(
        &self,
        run_id: &str,
        why: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.execute(
            "UPDATE approvals SET state = 'expired', decided_by = $2, channel = 'cancel', decided_at = $3
             WHERE run_id = $1 AND state = 'pending'",
            params![s(run_id), s(why), at],
        )? as usize)
    }

    fn approval(&self, id: &str) -> Result<Option<RawApproval>, StoreError> {
        let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1");
        Ok(first(self.rows(sql, params![s(id)], approval_row)?))
    }

    fn approvals(&self, state: Option<&str>) -> Result<Vec<RawApproval>, StoreError> {
        let sql = format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE $1::text IS NULL OR state = $1
             ORDER BY requested_at, id"
        );
        self.rows(sql, params![opt(state)], approval_row)
    }

    fn approval_decided_at(&self, id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let rows = self.rows(
            "SELECT decided_at FROM approvals WHERE id = $1".into(),
            params![s(id)],
            |r| r.try_get::<_, Option<DateTime<Utc>>>(0),
        )?;
        Ok(first(rows).flatten())
    }

    fn set_approval_message(
        &self,
        m: &ApprovalMessage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO approval_messages (approval_id, channel, ts, posted_at, shown_state)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (approval_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,
               posted_at = excluded.posted_at, shown_state = excluded.shown_state",
            params![
                m.approval_id.clone(),
                m.channel.clone(),
                m.ts.clone(),
                at,
                enum_text(m.shown)
            ],
        )?;
        Ok(())
    }

    fn approval_message(&self, approval_id: &str) -> Result<Option<ApprovalMessage>, StoreError> {
        let rows = self.rows(
            "SELECT approval_id, channel, ts, shown_state FROM approval_messages WHERE approval_id = $1"
                .into(),
            params![s(approval_id)],
            |r| {
                Ok(ApprovalMessage {
                    approval_id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    ts: r.try_get(2)?,
                    shown: parse_state(r.try_get(3)?),
                })
            },
        )?;
        Ok(first(rows))
    }

    fn set_approval_message_shown(&self, approval_id: &str, shown: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE approval_messages SET shown_state = $2 WHERE approval_id = $1",
            params![s(approval_id), s(shown)],
        )?;
        Ok(())
    }

    fn stale_approval_messages(&self, n: usize) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT m.approval_id FROM approval_messages m JOIN approvals a ON a.id = m.approval_id
             WHERE a.state != m.shown_state ORDER BY m.posted_at, m.approval_id LIMIT $1"
                .into(),
            params![limit(n)],
            |r| r.try_get(0),
        )
    }

    fn remember_message(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(
            "INSERT INTO seen_messages (source, id, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (source, id) DO NOTHING",
            params![s(source), s(id), at],
        )? == 1)
    }

    fn forget_message(&self, source: &str, id: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM seen_messages WHERE source = $1 AND id = $2",
            params![s(source), s(id)],
        )?;
        Ok(())
    }

    fn prune_messages(&self, source: &str, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.execute(
            "DELETE FROM seen_messages WHERE source = $1 AND seen_at < $2",
            params![s(source), before],
        )? as usize)
    }

    fn record_unrouted(&self, t: &UnroutedTrigger, keep: i64) -> Result<(), StoreError> {
        let p = params![
            t.at,
            t.kind.clone(),
            t.dedup_key.clone(),
            t.origin.clone(),
            t.reason.clone(),
            serde_json::to_string(&t.trigger)?
        ];
        self.db.call(move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO unrouted_triggers (at, kind, dedup_key, origin, reason, trigger_json)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &p.refs(),
            )?;
            tx.execute(
                "DELETE FROM unrouted_triggers WHERE id <= (SELECT MAX(id) FROM unrouted_triggers) - $1",
                &[&keep],
            )?;
            tx.commit()
        })
    }

    fn unrouted(&self, n: usize) -> Result<Vec<UnroutedTrigger>, StoreError> {
        let rows = self.rows(
            "SELECT at, kind, dedup_key, origin, reason, trigger_json FROM unrouted_triggers
             ORDER BY id DESC LIMIT $1"
                .into(),
            params![limit(n)],
            |r| {
                Ok((
                    r.try_get::<_, DateTime<Utc>>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    r.try_get::<_, String>(3)?,
                    r.try_get::<_, String>(4)?,
                    r.try_get::<_, String>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(at, kind, dedup_key, origin, reason, json)| {
                Ok(UnroutedTrigger {
                    at,
                    kind,
                    dedup_key,
                    origin,
                    reason,
                    trigger: serde_json::from_str(&json)?,
                })
            })
            .collect()
    }

    fn claim(
        &self,
        run_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Two replicas updating the same row: the second waits for the first's commit and
        // re-checks the condition on the row as the first left it.
        Ok(self.execute(
            "UPDATE runs SET owner = $2, lease_until = $4 WHERE id = $1 AND status = 'running'
               AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < $3)",
            params![s(run_id), s(owner), now, until],
        )? == 1)
    }

    fn claim_expired(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let rows = self.rows(
            "UPDATE runs SET owner = $1, lease_until = $3 WHERE id = (
               SELECT id FROM runs WHERE status = 'running' AND lease_until < $2
               ORDER BY lease_until, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id"
                .into(),
            params![s(owner), now, until],
            |r| r.try_get(0),
        )?;
        Ok(first(rows))
    }

    fn heartbeat(
        &self,
        run_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE runs SET lease_until = $3 WHERE id = $1 AND owner = $2 AND status = 'running'",
            params![s(run_id), s(owner), until],
        )? == 1)
    }

    fn release(&self, run_id: &str, owner: &str) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE runs SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2",
            params![s(run_id), s(owner)],
        )? == 1)
    }

    fn owner(&self, run_id: &str) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let rows = self.rows(
            "SELECT owner, lease_until FROM runs WHERE id = $1 AND owner IS NOT NULL AND lease_until IS NOT NULL"
                .into(),
            params![s(run_id)],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        Ok(first(rows))
    }
}
