//! `mcp-arc`'s integration tests (the binary over MCP, on the real AWS SDK, against the
//! simulated AWS), in one test binary: every other file of `tests/all/` is a module of it
//! (`cargo nextest run -p mcp-arc MODULE::` runs one file's tests).

mod common;

mod refusals;
mod shifts;
mod surface;
