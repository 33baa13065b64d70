//! The redactor's integration tests (evidence, fuzzing, linear time, shapes), in one test binary:
//! every other file of `tests/all/` is a module of it, so the crate and its dependencies are linked
//! once for all of them (`cargo nextest run -p sopilot-redact MODULE::` runs one file's tests).

mod common;

mod evidence;
mod fuzz;
mod linear;
mod shapes;
