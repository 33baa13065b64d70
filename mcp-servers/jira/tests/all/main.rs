//! `mcp-jira`'s integration tests (the binary over MCP, against the simulated Jira), in one
//! test binary (`cargo nextest run -p mcp-jira MODULE::` runs one file's tests).

mod common;

mod confinement;
mod data_center;
mod surface;
mod tools;
