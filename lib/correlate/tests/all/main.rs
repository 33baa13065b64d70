//! The correlation crate's integration tests in one binary: `synthetic` generates seeded series
//! with a known lead, `properties` checks the analysis on them (proptest), `rank` pins worked
//! examples, the rendering and the errors, `scipy` compares with scipy and numpy (`cargo nextest run -p sopilot-correlate MODULE::`).

mod properties;
mod rank;
mod scipy;
mod synthetic;
