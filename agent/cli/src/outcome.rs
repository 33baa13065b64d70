//! What a command prints and how it exits.

use std::io::Write;
use std::process::ExitCode;

/// A command's result: text for stdout and stderr, and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Outcome {
    /// Success with this stdout.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            stderr: String::new(),
            code: 0,
        }
    }

    /// Failure (exit 1) with this message on stderr.
    pub fn fail(message: impl std::fmt::Display) -> Self {
        Self {
            stdout: String::new(),
            stderr: format!("error: {message}\n"),
            code: 1,
        }
    }

    /// Writes the output and returns the exit code.
    pub fn emit(self) -> ExitCode {
        // A closed pipe (`| head`) is not worth a panic; the exit code still says what happened.
        let _ = std::io::stdout().write_all(self.stdout.as_bytes());
        let _ = std::io::stderr().write_all(self.stderr.as_bytes());
        ExitCode::from(self.code)
    }
}
