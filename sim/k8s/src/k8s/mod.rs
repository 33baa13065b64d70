//! The simulated Kubernetes API server.
//!
//! Requests are parsed ([`path`]), checked and applied to one in-memory [`store`] by the
//! verbs ([`read`], [`write`](mod@write), [`watch`]); after every write the [`controllers`]
//! settle the world synchronously, so a test sees the effects of a call when the call returns.

pub(crate) mod controllers;
pub(crate) mod convert;
pub(crate) mod defaults;
pub(crate) mod discovery;
pub(crate) mod events;
pub(crate) mod fields;
pub(crate) mod handlers;
pub(crate) mod load;
pub(crate) mod logs;
pub(crate) mod managed;
pub(crate) mod metrics;
pub(crate) mod obj;
pub(crate) mod openapi;
pub(crate) mod patch;
pub(crate) mod path;
pub(crate) mod pods;
pub(crate) mod printers;
pub(crate) mod protobuf;
pub(crate) mod rbac;
pub(crate) mod read;
pub(crate) mod resources;
pub(crate) mod scheduler;
pub(crate) mod selectors;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod store;
pub(crate) mod subresources;
pub(crate) mod table;
pub(crate) mod validate;
pub(crate) mod watch;
pub(crate) mod write;

pub use handlers::kube_router;
pub use state::{KubeState, Limits};
