//! `sopilot sim serve`: the simulated environment, for kubectl, the MCP servers and tests.

use std::io::Write;

use sopilot_sim_env::SimOptions;

use crate::{Outcome, SimServeArgs};

/// Serves until SIGTERM or Ctrl-C; the first stdout line is the JSON of the design's
/// CONTRACTS.md.
pub fn serve(args: &SimServeArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async {
        let scenario = match sopilot_sim_env::Scenario::from_file(&args.scenario) {
            Ok(s) => s,
            Err(e) => return Outcome::fail(e),
        };
        let options = SimOptions {
            kubernetes_addr: args.listen,
            ..SimOptions::default()
        };
        let env = match sopilot_sim_env::start(scenario, options).await {
            Ok(e) => e,
            Err(e) => return Outcome::fail(e),
        };
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "{}", env.urls());
        let _ = stdout.flush();
        wait_for_signal().await;
        env.shutdown().await;
        Outcome::default()
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
