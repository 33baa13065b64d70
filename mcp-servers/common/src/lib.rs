//! Plumbing every SOPilot MCP server shares: serving over stdio or streamable HTTP, shaping
//! outputs for a reader and a model (tables, byte caps with an explicit truncation marker),
//! redacting credentials, and turning failures into tool errors the model can act on.

#[cfg(feature = "aws")]
pub mod aws;
mod logging;
mod redact;
mod result;
mod serve;
mod shape;

pub use logging::init_logging;
pub use redact::{redact, redact_json};
pub use result::{ok, ok_json, tool_error};
pub use serve::{ServeError, Transport, serve};
pub use shape::{Capped, Table, age, cap, cap_tail};
