//! `sopilot-eval`'s tests, in one test binary: parsing and lint (every malformed case kind
//! names its line), grading (each check passing and failing on hand-built runs), results and
//! the CI gate, the HTML report, the judge's answers and the runner with a fake executor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod case;
mod grade;
mod html;
mod judge;
mod lint;
mod results;
mod runner;
