//! `sopilot mcp-server NAME [ARGS]`: SOPilot's own MCP servers, from this binary, so the
//! gateway can always start them (the standalone `mcp-*` binaries are the same code).

use std::process::ExitCode;

use clap::Parser;

use crate::session::BUILTIN;

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
        "kubectl" => {
            let cli = match mcp_kubectl::cli::Cli::try_parse_from(
                std::iter::once("mcp-kubectl".to_owned()).chain(args.iter().cloned()),
            ) {
                Ok(c) => c,
                Err(e) => {
                    let _ = e.print();
                    return ExitCode::from(2);
                }
            };
            rt.block_on(mcp_kubectl::cli::run(cli))
        }
        "slack" => {
            let argv = std::iter::once("mcp-slack".to_owned()).chain(args.iter().cloned());
            let cli = match mcp_slack::cli::Cli::try_parse_from(argv) {
                Ok(c) => c,
                Err(e) => {
                    let _ = e.print();
                    return ExitCode::from(2);
                }
            };
            rt.block_on(mcp_slack::cli::run(cli))
        }
        other => {
            eprintln!(
                "error: no builtin MCP server {other:?}; builtin: {}",
                BUILTIN.join(", ")
            );
            ExitCode::from(1)
        }
    }
}
