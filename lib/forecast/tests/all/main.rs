//! The forecaster's integration tests (accuracy, bands, errors, series), in one test binary: every
//! other file of `tests/all/` is a module of it, so the crate and its dependencies are linked once
//! for all of them (`cargo nextest run -p sopilot-forecast MODULE::` runs one file's tests).

mod accuracy;
mod band;
mod errors;
mod series;
