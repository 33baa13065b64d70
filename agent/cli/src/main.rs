//! The `sopilot` binary: parse arguments, run the command, print, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sopilot::Cli::parse();
    sopilot::run(cli).emit()
}
