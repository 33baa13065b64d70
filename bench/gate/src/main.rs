//! `gate-bench`: what the gate adds to one tool call (issue 5's benchmark; not a test).
//!
//! Connects the real [`Gateway`] to `sopilot mcp-server kubectl --allow-write` (a child
//! process over stdio) against a running simulator, then times, round after round and
//! interleaved so that the machine's load falls on all alike:
//!
//! - each call made directly through the gateway (MCP round trip + backend), and
//! - the same call through [`Gate::handle`] (name check, audit, dry run for an impact when
//!   the tool mutates, policy, execution), with the run's store on disk (SQLite, WAL, synced
//!   before a mutating call executes, as `sopilot run` and `sopilot serve` use it) and in
//!   memory.
//!
//! The gate's overhead is the difference. Also timed on their own: one MCP round trip that
//! never reaches the backend (a call with invalid arguments, refused by the server) and one
//! policy evaluation. Prints one JSON object per measurement on stdout.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use sopilot_policy::{Request, RunInfo, ServerTrust};
use sopilot_protocol::{CallOrigin, Decision, ToolRef};
use sopilot_runtime::{CallScope, DenyAll, EventLog, Parts, ServerSource, ServerSpec, Store};

/// Times the gate against direct MCP calls.
#[derive(Debug, Parser)]
struct Args {
    /// The sopilot binary (its `mcp-server kubectl` is the server under the gate).
    #[arg(long)]
    sopilot: PathBuf,
    /// The simulator's kubeconfig.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Policy file or folder.
    #[arg(long, default_value = "policies/")]
    policy: PathBuf,
    /// Timed rounds per case (each round times every variant once).
    #[arg(long, default_value_t = 400)]
    rounds: usize,
    /// Untimed rounds first.
    #[arg(long, default_value_t = 30)]
    warmup: usize,
}

/// One call of the benchmark: what is called and how it must come out of the gate.
struct Case {
    name: &'static str,
    what: &'static str,
    tool: ToolRef,
    /// Arguments for round `i` (the write alternates so every call changes something).
    args: fn(usize) -> Value,
    /// The gate must decide this and execute (or not).
    decision: Decision,
    executed: bool,
    /// The gate makes a dry run besides the call itself (a mutating call that is executed):
    /// also time that dry run directly.
    extra_dry_run: bool,
}

fn cases() -> anyhow::Result<Vec<Case>> {
    Ok(vec![
        Case {
            name: "read",
            what: "read-only call: list_pods {namespace: payment}",
            tool: ToolRef::new("kubectl", "list_pods")?,
            args: |_| json!({"namespace": "payment"}),
            decision: Decision::Allow,
            executed: true,
            extra_dry_run: false,
        },
        Case {
            name: "read_describe",
            what: "read-only call: describe_pod (crash-looping pod)",
            tool: ToolRef::new("kubectl", "describe_pod")?,
            args: |_| json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p"}),
            decision: Decision::Allow,
            executed: true,
            extra_dry_run: false,
        },
        Case {
            name: "dry_run",
            what: "mutating call with dry_run: true: delete_pod (the gate's dry run is the answer)",
            tool: ToolRef::new("kubectl", "delete_pod")?,
            args: |_| json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "dry_run": true}),
            decision: Decision::Allow,
            executed: false,
            extra_dry_run: false,
        },
        Case {
            name: "write",
            what: "mutating call, allowed and executed: patch_hpa min 2<->3 (gate = dry run + policy + call)",
            tool: ToolRef::new("kubectl", "patch_hpa")?,
            args: |i| json!({"namespace": "payment", "name": "payment-service-hpa", "min_replicas": 2 + (i % 2)}),
            decision: Decision::Allow,
            executed: true,
            extra_dry_run: true,
        },
    ])
}

/// Nearest-rank percentile of microsecond samples.
fn pct(xs: &[f64], p: f64) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    s[k]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn emit(case: &str, variant: &str, xs: &[f64]) {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    println!(
        "{}",
        json!({"kind": "gate", "case": case, "variant": variant, "n": xs.len(),
               "p50_us": pct(xs, 50.0), "p99_us": pct(xs, 99.0), "mean_us": mean})
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let policy = sopilot_policy::load_paths(std::slice::from_ref(&args.policy))
        .context("loading the policy")?;
    let spec = ServerSpec {
        name: "kubectl".into(),
        source: ServerSource::Command {
            program: args.sopilot.clone(),
            args: vec![
                "mcp-server".into(),
                "kubectl".into(),
                "--allow-write".into(),
            ],
            env: vec![
                ("KUBECONFIG".into(), args.kubeconfig.display().to_string()),
                ("RUST_LOG".into(), "warn".into()),
            ],
        },
        builtin: true,
    };
    let dir = tempfile::tempdir()?;
    let disk = Arc::new(Store::open(&dir.path().join("bench.db"))?);
    let memory = Arc::new(Store::in_memory()?);
    // The gate exactly as `sopilot run` assembles it.
    let (runner, failures) = sopilot_runtime::assemble(Parts {
        servers: vec![spec],
        targets: Vec::new(),
        policy,
        model: None,
        approver: Arc::new(DenyAll),
        approval_timeout: Duration::from_secs(60),
        store: disk.clone(),
        prices: Default::default(),
        observer: None,
    })
    .await;
    if let Some(f) = failures.first() {
        bail!("{f}");
    }
    let gate = runner.gate.clone();
    let gateway = gate.gateway.clone();
    let policy = gate.policy.clone();
    let run = "bench-gate";
    for s in [&disk, &memory] {
        s.create_run(run, "bench", &json!({}), &json!({}), "none")?;
    }
    let logs = [
        ("gate_disk", EventLog::new(run, disk.clone(), None)),
        ("gate_memory", EventLog::new(run, memory.clone(), None)),
    ];
    let scope = CallScope {
        sop: None,
        trigger: None,
        dry_run: false,
        offered: gateway
            .tools()
            .map(|t| t.tool.clone())
            .collect::<BTreeSet<_>>(),
        target: None,
        done_before: Vec::new(),
    };
    let timeout = Duration::from_secs(30);
    let mut call_no = 0usize;

    for case in cases()? {
        let mut direct = Vec::new();
        let mut direct_dry = Vec::new();
        let mut gated: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..args.warmup + args.rounds {
            let timed = round >= args.warmup;
            // Direct.
            call_no += 1;
            let a = (case.args)(call_no);
            let t = Instant::now();
            let out = gateway.call(&case.tool, a, timeout).await?;
            let d = t.elapsed();
            if out.is_error {
                bail!("{} failed directly: {}", case.tool, out.text);
            }
            if timed {
                direct.push(us(d));
            }
            // The gate's own dry run of a mutating call, made directly.
            if case.extra_dry_run {
                call_no += 1;
                let mut a = (case.args)(call_no);
                a["dry_run"] = json!(true);
                let t = Instant::now();
                let out = gateway.call(&case.tool, a, timeout).await?;
                let d = t.elapsed();
                if out.is_error {
                    bail!("{} failed as a dry run: {}", case.tool, out.text);
                }
                if timed {
                    direct_dry.push(us(d));
                }
            }
            // Through the gate, on each store.
            for (k, (_, log)) in logs.iter().enumerate() {
                call_no += 1;
                let a = (case.args)(call_no);
                let t = Instant::now();
                let o = gate
                    .handle(
                        log,
                        &scope,
                        &format!("c{call_no}"),
                        &case.tool.to_string(),
                        a,
                        CallOrigin::ToolBlock,
                    )
                    .await?;
                let d = t.elapsed();
                if o.decision != Some(case.decision) || o.executed != case.executed || !o.ok {
                    bail!(
                        "{}: the gate decided {:?} (executed {}, ok {}), expected {:?}: {} {}",
                        case.name,
                        o.decision,
                        o.executed,
                        o.ok,
                        case.decision,
                        o.reason,
                        o.text
                    );
                }
                if timed {
                    gated[k].push(us(d));
                }
            }
        }
        emit(case.name, "direct", &direct);
        if case.extra_dry_run {
            emit(case.name, "direct_dry_run", &direct_dry);
        }
        for (k, (variant, _)) in logs.iter().enumerate() {
            emit(case.name, variant, &gated[k]);
        }
        println!(
            "{}",
            json!({"kind": "case", "case": case.name, "what": case.what, "tool": case.tool.to_string(),
                   "args": (case.args)(0)})
        );
    }

    // One MCP round trip over stdio that the server refuses before any backend call.
    let describe = ToolRef::new("kubectl", "describe_pod")?;
    let mut rtt = Vec::new();
    for round in 0..args.warmup + args.rounds {
        let t = Instant::now();
        let r = gateway.call(&describe, json!({}), timeout).await;
        let d = t.elapsed();
        if matches!(&r, Ok(o) if !o.is_error) {
            bail!("describe_pod without arguments was expected to be refused");
        }
        if round >= args.warmup {
            rtt.push(us(d));
        }
    }
    emit("mcp_roundtrip_no_backend", "direct", &rtt);

    // One policy evaluation, for a read and for a write with its impact.
    let run_info = RunInfo {
        unattended: true,
        dry_run: false,
        origin: CallOrigin::ToolBlock,
        sop: None,
    };
    let list = ToolRef::new("kubectl", "list_pods")?;
    let list_info = gateway.tool(&list).context("list_pods is not listed")?;
    let hpa = ToolRef::new("kubectl", "patch_hpa")?;
    let hpa_info = gateway.tool(&hpa).context("patch_hpa is not listed")?;
    let hpa_args =
        json!({"namespace": "payment", "name": "payment-service-hpa", "min_replicas": 3});
    let mut dry = hpa_args.clone();
    dry["dry_run"] = json!(true);
    let impact = gateway
        .call(&hpa, dry, timeout)
        .await?
        .structured
        .and_then(|s| s.get("impact").cloned())
        .and_then(|i| serde_json::from_value(i).ok());
    let list_args = json!({"namespace": "payment"});
    for (name, tool, info, a, imp) in [
        ("policy_read", &list, list_info, &list_args, None),
        ("policy_write", &hpa, hpa_info, &hpa_args, impact.as_ref()),
    ] {
        let mut xs = Vec::new();
        for round in 0..10 * (args.warmup + args.rounds) {
            let t = Instant::now();
            let v = policy.evaluate(&Request {
                tool,
                args: a,
                impact: imp,
                resource: None,
                history: None,
                trigger: None,
                run: &run_info,
                annotations: Some(&info.annotations),
                trust: ServerTrust::Builtin,
                target: None,
            });
            let d = t.elapsed();
            std::hint::black_box(v);
            if round >= 10 * args.warmup {
                xs.push(us(d));
            }
        }
        emit(name, "evaluate", &xs);
    }

    // Arc::try_unwrap would need every clone gone; the process ends here anyway.
    drop(gate);
    if let Ok(g) = Arc::try_unwrap(gateway) {
        g.shutdown().await;
    }
    Ok(())
}
