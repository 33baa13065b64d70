//! The `sopilot` binary: parse arguments, run the command, print, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    sopilot::main_entry(sopilot::Cli::parse())
}
