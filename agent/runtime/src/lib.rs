//! The run loop, the gated tool gateway, approvals and the store. Arrives with the runtime issue.
//!
//! Empty for now: the folder exists so the workspace has its final shape.
