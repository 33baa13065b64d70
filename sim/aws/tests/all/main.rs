//! The simulated AWS's integration tests (CloudWatch, Logs, Cost Explorer, X-Ray, ARC, the router), in one test
//! binary: every other file of `tests/all/` is a module of it, so the crate and its dependencies
//! are linked once for all of them (`cargo nextest run -p sopilot-sim-aws MODULE::` runs one file's
//! tests).

mod common;

mod anomaly_band;
mod arc;
mod cloudwatch;
mod cost;
mod logs;
mod router;
mod xray;
