//! What ships inside the binary, so `sopilot demo` works from any directory with no files.

/// The default policy.
pub const DEFAULT_POLICY: &str = include_str!("../../../policies/default.yaml");

/// The shipped SOPs: (name, text).
pub const SOPS: [(&str, &str); 6] = [
    (
        "pod-crashloop",
        include_str!("../../../sops/pod-crashloop.sop.md"),
    ),
    (
        "oom-killed",
        include_str!("../../../sops/oom-killed.sop.md"),
    ),
    (
        "complex-incident",
        include_str!("../../../sops/complex-incident.sop.md"),
    ),
    (
        "predictive-scaling",
        include_str!("../../../sops/predictive-scaling.sop.md"),
    ),
    (
        "gray-failure-az",
        include_str!("../../../sops/gray-failure-az.sop.md"),
    ),
    (
        "network-bottleneck",
        include_str!("../../../sops/network-bottleneck.sop.md"),
    ),
];

/// The demo scenario.
pub const DEMO_SCENARIO: &str = include_str!("../../../scenarios/demo.yaml");

/// The shipped SOP with this name.
pub fn sop(name: &str) -> Option<&'static str> {
    SOPS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
