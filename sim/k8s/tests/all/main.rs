//! The simulated Kubernetes API's integration tests (kube-rs and the real kubectl against it), in
//! one test binary: every other file of `tests/all/` is a module of it, so the crate and its
//! dependencies are linked once for all of them (`cargo nextest run -p sopilot-sim-k8s MODULE::`
//! runs one file's tests).

mod common;

mod field_validation;
mod karpenter;
mod kube_client;
mod kubectl_rbac;
mod kubectl_read;
mod kubectl_write;
mod rbac;
mod router;
