//! `sopilot mcp-server NAME [ARGS]`: SOPilot's own MCP servers, from this binary, so the
//! gateway can always start them (the standalone `mcp-*` binaries are the same code).

use std::future::Future;
use std::process::ExitCode;

use clap::Parser;

use crate::session::BUILTIN;

/// Parses `args` as the standalone binary `bin` would, then runs the server.
fn parsed<C: Parser, F: Future<Output = ExitCode>>(
    rt: &tokio::runtime::Runtime,
    bin: &str,
    args: &[String],
    run: impl FnOnce(C) -> F,
) -> ExitCode {
    match C::try_parse_from(std::iter::once(bin.to_owned()).chain(args.iter().cloned())) {
        Ok(cli) => rt.block_on(run(cli)),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(2)
        }
    }
}

/// Serves one builtin MCP server; returns its exit code.
pub fn serve(name: &str, args: &[String]) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match name {
        "kubectl" => parsed(&rt, "mcp-kubectl", args, mcp_kubectl::cli::run),
        "slack" => parsed(&rt, "mcp-slack", args, mcp_slack::cli::run),
        "cloudwatch" => parsed(&rt, "mcp-cloudwatch", args, mcp_cloudwatch::cli::run),
        "cost" => parsed(&rt, "mcp-cost", args, mcp_cost::cli::run),
        "prometheus" => parsed(&rt, "mcp-prometheus", args, mcp_prometheus::cli::run),
        "jira" => parsed(&rt, "mcp-jira", args, mcp_jira::cli::run),
        "arc" => parsed(&rt, "mcp-arc", args, mcp_arc::cli::run),
        other => {
            eprintln!(
                "error: no builtin MCP server {other:?}; builtin: {}",
                BUILTIN.join(", ")
            );
            ExitCode::from(1)
        }
    }
}
