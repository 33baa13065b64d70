//! The SOP parser's integration tests (the shipped SOPs, fuzzing), in one test binary: every other
//! file of `tests/all/` is a module of it, so the crate and its dependencies are linked once for
//! all of them (`cargo nextest run -p sopilot-sop MODULE::` runs one file's tests).

mod fuzz;
mod sops;
