//! The instance types the simulated Karpenter launches: a small built-in EC2 catalogue with
//! vCPUs, memory and us-east-1 on-demand prices, the labels Karpenter gives their nodes, and
//! what a node of each type can hold (capacity minus the kubelet's and the OS's reserve).

use serde_json::{Map, Value, json};

/// One EC2 instance type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpu: i64,
    pub memory_gib: i64,
    /// On-demand USD per hour (us-east-1).
    pub on_demand_hourly: f64,
    pub arch: &'static str,
}

/// The simulator's spot price, as a share of on-demand (a typical discount; real spot prices
/// move by the hour).
pub const SPOT_SHARE: f64 = 0.4;

const fn it(
    name: &'static str,
    vcpu: i64,
    memory_gib: i64,
    price: f64,
    arch: &'static str,
) -> InstanceType {
    InstanceType {
        name,
        vcpu,
        memory_gib,
        on_demand_hourly: price,
        arch,
    }
}

/// Every instance type the simulator knows (the families of the document's NodePool, and m5).
pub static CATALOGUE: &[InstanceType] = &[
    it("c7g.medium", 1, 2, 0.0363, "arm64"),
    it("c7g.large", 2, 4, 0.0725, "arm64"),
    it("c7g.xlarge", 4, 8, 0.145, "arm64"),
    it("c7g.2xlarge", 8, 16, 0.29, "arm64"),
    it("c7i.large", 2, 4, 0.08925, "amd64"),
    it("c7i.xlarge", 4, 8, 0.1785, "amd64"),
    it("c7i.2xlarge", 8, 16, 0.357, "amd64"),
    it("m7g.medium", 1, 4, 0.0408, "arm64"),
    it("m7g.large", 2, 8, 0.0816, "arm64"),
    it("m7g.xlarge", 4, 16, 0.1632, "arm64"),
    it("m7g.2xlarge", 8, 32, 0.3264, "arm64"),
    it("m7i.large", 2, 8, 0.1008, "amd64"),
    it("m7i.xlarge", 4, 16, 0.2016, "amd64"),
    it("m7i.2xlarge", 8, 32, 0.4032, "amd64"),
    it("m5.large", 2, 8, 0.096, "amd64"),
    it("m5.xlarge", 4, 16, 0.192, "amd64"),
    it("m5.2xlarge", 8, 32, 0.384, "amd64"),
    it("r7g.medium", 1, 8, 0.0536, "arm64"),
    it("r7g.large", 2, 16, 0.1071, "arm64"),
    it("r7g.xlarge", 4, 32, 0.2142, "arm64"),
    it("r7g.2xlarge", 8, 64, 0.4284, "arm64"),
];

/// The instance type of this name.
#[cfg(test)]
pub fn by_name(name: &str) -> Option<&'static InstanceType> {
    CATALOGUE.iter().find(|t| t.name == name)
}

const GIB: i64 = 1024 * 1024 * 1024;
const MIB: i64 = 1024 * 1024;

impl InstanceType {
    fn family(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }

    fn size(&self) -> &'static str {
        self.name.split('.').nth(1).unwrap_or("")
    }

    /// The hourly price for a capacity type (`spot` or `on-demand`).
    pub fn hourly(&self, capacity_type: &str) -> f64 {
        if capacity_type == "spot" {
            self.on_demand_hourly * SPOT_SHARE
        } else {
            self.on_demand_hourly
        }
    }

    /// Capacity as (millicores, bytes).
    pub fn capacity(&self) -> (i64, i64) {
        (self.vcpu * 1000, self.memory_gib * GIB)
    }

    /// What pods can request on a node of this type: the CPU less the kubelet's reserve
    /// (100m) and the memory less the hypervisor and kubelet share (7.5 % and 255Mi), as
    /// Karpenter's EKS defaults roughly reserve.
    pub fn allocatable(&self) -> (i64, i64) {
        let (cpu, memory) = self.capacity();
        let memory = memory - memory * 75 / 1000 - 255 * MIB;
        (cpu - 100, memory)
    }

    /// The labels Karpenter puts on a node (and its NodeClaim) of this type.
    pub fn labels(&self, capacity_type: &str, zone: &str) -> Map<String, Value> {
        let category: String = self.family().chars().take(1).collect();
        let generation: String = self.family().chars().filter(char::is_ascii_digit).collect();
        let mut out = Map::new();
        for (k, v) in [
            ("node.kubernetes.io/instance-type", self.name.to_owned()),
            ("kubernetes.io/arch", self.arch.to_owned()),
            ("kubernetes.io/os", "linux".to_owned()),
            ("karpenter.sh/capacity-type", capacity_type.to_owned()),
            ("topology.kubernetes.io/zone", zone.to_owned()),
            ("karpenter.k8s.aws/instance-category", category),
            (
                "karpenter.k8s.aws/instance-family",
                self.family().to_owned(),
            ),
            ("karpenter.k8s.aws/instance-size", self.size().to_owned()),
            ("karpenter.k8s.aws/instance-generation", generation),
            ("karpenter.k8s.aws/instance-cpu", self.vcpu.to_string()),
            (
                "karpenter.k8s.aws/instance-memory",
                (self.memory_gib * 1024).to_string(),
            ),
        ] {
            out.insert(k.to_owned(), json!(v));
        }
        out
    }
}

/// A quantity as millicores (`500m`, `2`, `1.5`).
pub fn cpu_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(m) = text.strip_suffix('m') {
        return m.parse().ok();
    }
    let cores: f64 = text.parse().ok()?;
    Some((cores * 1000.0).round() as i64)
}

/// A quantity as bytes (`512Mi`, `2Gi`, `1G`, `1000`).
pub fn bytes(text: &str) -> Option<i64> {
    let text = text.trim();
    const UNITS: &[(&str, i64)] = &[
        ("Ki", 1024),
        ("Mi", MIB),
        ("Gi", GIB),
        ("Ti", GIB * 1024),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, factor) in UNITS {
        if let Some(n) = text.strip_suffix(suffix) {
            let n: f64 = n.parse().ok()?;
            return Some((n * *factor as f64).round() as i64);
        }
    }
    text.parse::<f64>().ok().map(|n| n.round() as i64)
}

/// Millicores as the API writes them (`2`, `1500m`).
pub fn cpu_text(millis: i64) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Bytes as the API writes them (`16Gi`, `1536Mi`, `1000Ki`).
pub fn bytes_text(bytes: i64) -> String {
    if bytes % GIB == 0 {
        format!("{}Gi", bytes / GIB)
    } else if bytes % MIB == 0 {
        format!("{}Mi", bytes / MIB)
    } else {
        format!("{}Ki", bytes / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(cpu_millis("500m"), Some(500));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(cpu_millis("x"), None);
        assert_eq!(bytes("2Gi"), Some(2 * GIB));
        assert_eq!(bytes("400Gi"), Some(400 * GIB));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(cpu_text(4000), "4");
        assert_eq!(cpu_text(3900), "3900m");
        assert_eq!(bytes_text(16 * GIB), "16Gi");
    }

    #[test]
    fn types() {
        let t = by_name("m7i.xlarge").unwrap();
        assert_eq!(t.capacity(), (4000, 16 * GIB));
        assert_eq!(t.allocatable().0, 3900);
        assert!(t.allocatable().1 < 15 * GIB);
        let labels = t.labels("on-demand", "us-east-1a");
        assert_eq!(labels["karpenter.k8s.aws/instance-family"], "m7i");
        assert_eq!(labels["karpenter.k8s.aws/instance-size"], "xlarge");
        assert_eq!(labels["karpenter.k8s.aws/instance-category"], "m");
        assert!((t.hourly("spot") - 0.2016 * SPOT_SHARE).abs() < 1e-9);
    }
}
