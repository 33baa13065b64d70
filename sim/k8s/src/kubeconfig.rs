//! The kubeconfig file that points `kubectl` and kube-rs at the simulator.

use std::path::Path;

use crate::K8sSimError;

/// The context, cluster and user name written into the kubeconfig.
pub const CONTEXT: &str = "sopilot-sim";

/// The kubeconfig text for a server URL: the admin token (`sopilot-sim-token`, see
/// `k8s::rbac`), namespace `default`, and for HTTPS the test CA to trust.
pub fn render(server: &str, ca_pem: Option<&str>) -> String {
    use base64::Engine as _;
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {server}{ca}
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
pub fn write(path: &Path, server: &str, ca_pem: Option<&str>) -> Result<(), K8sSimError> {
    std::fs::write(path, render(server, ca_pem)).map_err(|source| K8sSimError::Kubeconfig {
        path: path.to_owned(),
        source,
    })
}
