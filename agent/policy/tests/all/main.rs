//! The policy engine's integration tests (the default policy, load errors, properties), in one test
//! binary: every other file of `tests/all/` is a module of it, so the crate and its dependencies
//! are linked once for all of them (`cargo nextest run -p sopilot-policy MODULE::` runs one file's
//! tests).

mod default_policy;
mod load_errors;
mod properties;
mod targets;
