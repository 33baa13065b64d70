pub mod demo;
pub mod mcp_server;
pub mod policy;
pub mod run;
pub mod runs;
pub mod serve;
pub mod sim;
pub mod sop;
