//! The kubeconfig file that points `kubectl` and kube-rs at the simulator.

use std::path::Path;

use crate::K8sSimError;

/// The context, cluster and user name written into the kubeconfig.
pub const CONTEXT: &str = "sopilot-sim";

/// The kubeconfig text for a server URL: plain HTTP, a token that is never checked,
/// namespace `default`.
pub fn render(server: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {server}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
users:
- name: {CONTEXT}
  user:
    token: sopilot-sim-token
preferences: {{}}
"
    )
}

/// Writes the kubeconfig to `path`.
pub fn write(path: &Path, server: &str) -> Result<(), K8sSimError> {
    std::fs::write(path, render(server)).map_err(|source| K8sSimError::Kubeconfig {
        path: path.to_owned(),
        source,
    })
}
