//! The correlation crate's integration tests in one binary: `synthetic` generates seeded series
//! with a known lead, `properties` checks the analysis on them (proptest), `rank` pins worked
//! examples, the rendering and the errors (`cargo nextest run -p sopilot-correlate MODULE::`).

mod properties;
mod rank;
mod synthetic;
