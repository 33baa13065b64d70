//! The pure estimate behind `scale_placeholder_capacity`'s dry run: where new placeholder pods
//! go (room on existing nodes and launching NodeClaims first), and what Karpenter launches for
//! the rest, NodePool by NodePool (highest weight first): pods packed onto the largest instance
//! type the NodePool's requirements and limits allow, that node then shrunk to the cheapest
//! type holding its pods, with us-east-1 on-demand prices (spot at 40 % of them) from a small
//! built-in price list. Instance types outside the list make the cost unknown.

use serde::Serialize;

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Res {
    pub cpu: i64,
    pub memory: i64,
}

impl Res {
    pub fn fits(self, need: Res) -> bool {
        need.cpu <= self.cpu && need.memory <= self.memory
    }
    pub fn minus(self, other: Res) -> Res {
        Res {
            cpu: self.cpu - other.cpu,
            memory: self.memory - other.memory,
        }
    }
    pub fn plus(self, other: Res) -> Res {
        Res {
            cpu: self.cpu + other.cpu,
            memory: self.memory + other.memory,
        }
    }
    pub fn times(self, n: i64) -> Res {
        Res {
            cpu: self.cpu * n,
            memory: self.memory * n,
        }
    }
}

/// One EC2 instance type of the price list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpu: i64,
    pub memory_gib: i64,
    pub on_demand_hourly: f64,
    pub arch: &'static str,
}

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

/// us-east-1 on-demand USD per hour.
pub static PRICES: &[InstanceType] = &[
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

/// Spot price as a share of on-demand (an estimate; real spot prices move).
pub const SPOT_SHARE: f64 = 0.4;
const GIB: i64 = 1 << 30;
const MIB: i64 = 1 << 20;

impl InstanceType {
    pub fn capacity(&self) -> Res {
        Res {
            cpu: self.vcpu * 1000,
            memory: self.memory_gib * GIB,
        }
    }

    /// Capacity less the kubelet's and the system's reserve (100m, 7.5 % + 255Mi).
    pub fn allocatable(&self) -> Res {
        let c = self.capacity();
        Res {
            cpu: c.cpu - 100,
            memory: c.memory - c.memory * 75 / 1000 - 255 * MIB,
        }
    }

    pub fn hourly(&self, spot: bool) -> f64 {
        if spot {
            self.on_demand_hourly * SPOT_SHARE
        } else {
            self.on_demand_hourly
        }
    }

    /// The well-known labels a NodePool's requirements select instance types by.
    pub fn label(&self, key: &str) -> Option<String> {
        let (family, size) = self.name.split_once('.')?;
        Some(match key {
            "node.kubernetes.io/instance-type" => self.name.to_owned(),
            "kubernetes.io/arch" => self.arch.to_owned(),
            "kubernetes.io/os" => "linux".to_owned(),
            "karpenter.k8s.aws/instance-family" => family.to_owned(),
            "karpenter.k8s.aws/instance-size" => size.to_owned(),
            "karpenter.k8s.aws/instance-category" => family.chars().take(1).collect(),
            "karpenter.k8s.aws/instance-generation" => {
                family.chars().filter(char::is_ascii_digit).collect()
            }
            "karpenter.k8s.aws/instance-cpu" => self.vcpu.to_string(),
            "karpenter.k8s.aws/instance-memory" => (self.memory_gib * 1024).to_string(),
            _ => return None,
        })
    }
}

/// One NodePool requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether an instance type meets it; requirements on other keys (zone, capacity type,
    /// custom labels) do not narrow the instance type.
    fn allows(&self, t: &InstanceType) -> bool {
        let Some(label) = t.label(&self.key) else {
            return true;
        };
        let first = self.values.first().and_then(|v| v.parse::<i64>().ok());
        match self.operator.as_str() {
            "In" => self.values.contains(&label),
            "NotIn" => !self.values.contains(&label),
            "Exists" => true,
            "DoesNotExist" => false,
            "Gt" => matches!((label.parse::<i64>().ok(), first), (Some(a), Some(b)) if a > b),
            "Lt" => matches!((label.parse::<i64>().ok(), first), (Some(a), Some(b)) if a < b),
            _ => false,
        }
    }
}

/// What the planner needs of one NodePool.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub name: String,
    pub requirements: Vec<Requirement>,
    /// `spec.limits` (None: no limit).
    pub cpu_limit: Option<i64>,
    pub memory_limit: Option<i64>,
    /// The capacity of its NodeClaims now.
    pub in_use: Res,
}

impl Pool {
    /// Spot when the capacity-type requirement names it (Karpenter's usual choice then).
    fn spot(&self) -> bool {
        self.requirements.iter().any(|r| {
            r.key == "karpenter.sh/capacity-type"
                && r.operator == "In"
                && r.values.iter().any(|v| v == "spot")
        })
    }

    fn types(&self) -> Vec<&'static InstanceType> {
        PRICES
            .iter()
            .filter(|t| self.requirements.iter().all(|r| r.allows(t)))
            .collect()
    }

    fn admits(&self, used: Res, t: &InstanceType) -> bool {
        let after = used.plus(t.capacity());
        self.cpu_limit.is_none_or(|l| after.cpu <= l)
            && self.memory_limit.is_none_or(|l| after.memory <= l)
    }
}

/// The nodes one NodePool would launch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolPlan {
    pub nodepool: String,
    pub nodes: usize,
    pub vcpus: i64,
    pub instance_types: Vec<String>,
    pub hourly_cost_usd: Option<f64>,
    /// Whether its instance types are in the price list (else nodes and cost are unknown).
    pub known: bool,
    pub cpu_limit_vcpus: Option<f64>,
    pub cpu_left_after_vcpus: Option<f64>,
    pub memory_left_after_gib: Option<f64>,
    /// Pods left Pending because the NodePool's limits are reached.
    pub pods_over_limits: i64,
}

/// The whole estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// New pods that fit on existing nodes or launching NodeClaims.
    pub pods_on_existing_capacity: i64,
    pub pods_on_new_nodes: i64,
    pub nodes_to_launch: usize,
    pub vcpus_to_launch: i64,
    /// `None` when an instance type is not in the price list.
    pub hourly_cost_usd: Option<f64>,
    /// Every new pod gets a node without passing a NodePool's limits (`None`: cannot tell,
    /// a NodePool's instance types are not in the price list).
    pub within_limits: Option<bool>,
    /// Pods no NodePool can hold (too big for every allowed type, or no NodePool).
    pub pods_unplaceable: i64,
    pub nodepools: Vec<PoolPlan>,
}

/// Plans `count` pods of `each` over existing `rooms` and then `pools` (in priority order).
pub fn plan(count: i64, each: Res, rooms: &[Res], pools: &[Pool]) -> Plan {
    let mut rooms = rooms.to_vec();
    let mut left = count;
    let mut on_existing = 0;
    for room in &mut rooms {
        while left > 0 && room.fits(each) {
            *room = room.minus(each);
            left -= 1;
            on_existing += 1;
        }
    }
    let mut plans = Vec::new();
    let mut unplaceable = 0;
    let mut over_limits = false;
    for pool in pools {
        if left == 0 {
            break;
        }
        let (p, placed, limited) = plan_pool(pool, left, each);
        left -= placed + limited;
        over_limits |= limited > 0;
        if p.nodes > 0 || limited > 0 || !p.known {
            plans.push(p);
        }
    }
    if pools.is_empty() || left > 0 {
        unplaceable = left;
    }
    let cost = plans
        .iter()
        .try_fold(0.0, |sum, p| p.hourly_cost_usd.map(|c| sum + c));
    Plan {
        pods_on_existing_capacity: on_existing,
        pods_on_new_nodes: count
            - on_existing
            - unplaceable
            - plans.iter().map(|p| p.pods_over_limits).sum::<i64>(),
        nodes_to_launch: plans.iter().map(|p| p.nodes).sum(),
        vcpus_to_launch: plans.iter().map(|p| p.vcpus).sum(),
        hourly_cost_usd: cost.map(|c| (c * 10_000.0).round() / 10_000.0),
        within_limits: plans
            .iter()
            .all(|p| p.known)
            .then_some(!over_limits && unplaceable == 0),
        pods_unplaceable: unplaceable,
        nodepools: plans,
    }
}

/// The whole reservation after a call, priced on nodes of its own: what it costs once the real
/// pods it is for arrive, take any room it now borrows on existing nodes, and push the
/// placeholders onto nodes Karpenter launches for them. This is what the policy's ceiling
/// bounds, so that repeated calls, each launching little, cannot add up past it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reservation {
    pub pods: i64,
    pub vcpus: f64,
    pub nodes: usize,
    /// `None` when a pod would land on an instance type outside the price list, or on none.
    pub hourly_cost_usd: Option<f64>,
}

/// Prices `pods` placeholder pods of `each` on new nodes of `pools` (in priority order),
/// ignoring existing room and the NodePools' limits and what they hold now (a bound on the
/// reservation alone, the same whatever else runs).
pub fn reservation(pods: i64, each: Res, pools: &[Pool]) -> Reservation {
    let alone: Vec<Pool> = pools
        .iter()
        .map(|p| Pool {
            cpu_limit: None,
            memory_limit: None,
            in_use: Res::default(),
            ..p.clone()
        })
        .collect();
    let p = plan(pods, each, &[], &alone);
    let priced = p.pods_unplaceable == 0 && p.nodepools.iter().all(|n| n.known);
    Reservation {
        pods,
        vcpus: (each.cpu * pods) as f64 / 1000.0,
        nodes: p.nodes_to_launch,
        hourly_cost_usd: p.hourly_cost_usd.filter(|_| priced),
    }
}

/// Several reservations added up (every placeholder in the cluster): pods, vCPUs, nodes and
/// cost summed, each priced on nodes of its own, so the total is at least what they would cost
/// packed together; the cost is unknown when any part's is.
pub fn total<'a>(parts: impl IntoIterator<Item = &'a Reservation>) -> Reservation {
    let mut sum = Reservation {
        pods: 0,
        vcpus: 0.0,
        nodes: 0,
        hourly_cost_usd: Some(0.0),
    };
    for r in parts {
        sum.pods += r.pods;
        sum.vcpus += r.vcpus;
        sum.nodes += r.nodes;
        sum.hourly_cost_usd = sum
            .hourly_cost_usd
            .zip(r.hourly_cost_usd)
            .map(|(a, b)| a + b);
    }
    sum.vcpus = (sum.vcpus * 1000.0).round() / 1000.0;
    sum.hourly_cost_usd = sum
        .hourly_cost_usd
        .map(|c| (c * 10_000.0).round() / 10_000.0);
    sum
}

/// Packs pods onto one NodePool's nodes: (its plan, pods placed, pods over its limits).
fn plan_pool(pool: &Pool, count: i64, each: Res) -> (PoolPlan, i64, i64) {
    let types = pool.types();
    if types.is_empty() {
        // Its instance types are not in the price list: neither nodes nor cost can be told.
        return (unknown(pool), count, 0);
    }
    let spot = pool.spot();
    let mut used = pool.in_use;
    let mut left = count;
    let mut launched: Vec<&InstanceType> = Vec::new();
    let mut limited = 0;
    while left > 0 {
        let within: Vec<&InstanceType> = types
            .iter()
            .copied()
            .filter(|t| pool.admits(used, t))
            .collect();
        let Some(largest) = within.iter().max_by_key(|t| (t.vcpu, t.memory_gib)) else {
            limited = left;
            break;
        };
        let per_node = pods_per(largest.allocatable(), each);
        if per_node == 0 {
            break;
        }
        let n = per_node.min(left);
        let need = each.times(n);
        let chosen = within
            .iter()
            .filter(|t| t.allocatable().fits(need))
            .min_by(|a, b| a.on_demand_hourly.total_cmp(&b.on_demand_hourly))
            .copied()
            .unwrap_or(largest);
        used = used.plus(chosen.capacity());
        launched.push(chosen);
        left -= n;
    }
    // Pods over the limits are among those left.
    let placed = count - left;
    let cost: f64 = launched.iter().map(|t| t.hourly(spot)).sum();
    let gib = |b: i64| (b as f64 / GIB as f64 * 10.0).round() / 10.0;
    let plan = PoolPlan {
        nodepool: pool.name.clone(),
        nodes: launched.len(),
        vcpus: launched.iter().map(|t| t.vcpu).sum(),
        instance_types: launched.iter().map(|t| t.name.to_owned()).collect(),
        hourly_cost_usd: Some((cost * 10_000.0).round() / 10_000.0),
        known: true,
        cpu_limit_vcpus: pool.cpu_limit.map(|l| l as f64 / 1000.0),
        cpu_left_after_vcpus: pool.cpu_limit.map(|l| (l - used.cpu) as f64 / 1000.0),
        memory_left_after_gib: pool.memory_limit.map(|l| gib(l - used.memory)),
        pods_over_limits: limited,
    };
    (plan, placed, limited)
}

/// The plan of a NodePool whose instance types the price list does not have.
fn unknown(pool: &Pool) -> PoolPlan {
    PoolPlan {
        nodepool: pool.name.clone(),
        nodes: 0,
        vcpus: 0,
        instance_types: Vec::new(),
        hourly_cost_usd: None,
        known: false,
        cpu_limit_vcpus: pool.cpu_limit.map(|l| l as f64 / 1000.0),
        cpu_left_after_vcpus: None,
        memory_left_after_gib: None,
        pods_over_limits: 0,
    }
}

fn pods_per(room: Res, each: Res) -> i64 {
    let by = |r: i64, e: i64| if e <= 0 { i64::MAX } else { r / e };
    by(room.cpu, each.cpu)
        .min(by(room.memory, each.memory))
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(limit_vcpu: i64) -> Pool {
        let req = |k: &str, v: &[&str]| Requirement {
            key: k.into(),
            operator: "In".into(),
            values: v.iter().map(|s| (*s).to_owned()).collect(),
        };
        Pool {
            name: "default".into(),
            requirements: vec![
                req("kubernetes.io/arch", &["amd64"]),
                req("karpenter.sh/capacity-type", &["on-demand"]),
                req("karpenter.k8s.aws/instance-family", &["m7i", "c7i"]),
                req(
                    "karpenter.k8s.aws/instance-size",
                    &["large", "xlarge", "2xlarge"],
                ),
            ],
            cpu_limit: Some(limit_vcpu * 1000),
            memory_limit: Some(96 * GIB),
            in_use: Res::default(),
        }
    }

    const PAUSE: Res = Res {
        cpu: 1000,
        memory: 2 * GIB,
    };

    #[test]
    fn seven_placeholders_take_one_c7i_2xlarge() {
        let p = plan(
            7,
            PAUSE,
            &[Res {
                cpu: 900,
                memory: GIB,
            }],
            &[pool(24)],
        );
        assert_eq!(p.pods_on_existing_capacity, 0);
        assert_eq!(p.nodes_to_launch, 1);
        assert_eq!(p.vcpus_to_launch, 8);
        assert_eq!(p.nodepools[0].instance_types, ["c7i.2xlarge"]);
        assert_eq!(p.hourly_cost_usd, Some(0.357));
        assert_eq!(p.within_limits, Some(true));
        assert_eq!(p.nodepools[0].cpu_left_after_vcpus, Some(16.0));
    }

    #[test]
    fn beyond_limits_is_reported() {
        let p = plan(27, PAUSE, &[], &[pool(24)]);
        assert_eq!(p.nodes_to_launch, 3);
        assert_eq!(p.pods_on_new_nodes, 21);
        assert_eq!(p.nodepools[0].pods_over_limits, 6);
        assert_eq!(p.within_limits, Some(false));
    }

    #[test]
    fn the_reservation_is_priced_whole_on_nodes_of_its_own() {
        // Room on existing nodes and what the NodePool holds now do not lower it.
        let mut busy = pool(24);
        busy.in_use = Res {
            cpu: 16_000,
            memory: 64 * GIB,
        };
        let r = reservation(21, PAUSE, &[busy]);
        assert_eq!((r.pods, r.vcpus, r.nodes), (21, 21.0, 3));
        assert_eq!(r.hourly_cost_usd, Some(1.071));
        // Its limits do not cap it either: 27 pods are 4 nodes, not 3 and 6 Pending.
        let r = reservation(27, PAUSE, &[pool(24)]);
        assert_eq!(r.nodes, 4);
        assert!(r.hourly_cost_usd.is_some_and(|c| c > 1.071), "{r:?}");
        assert_eq!(reservation(0, PAUSE, &[]).hourly_cost_usd, Some(0.0));
        // No NodePool, or one outside the price list: unknown, not free.
        assert_eq!(reservation(7, PAUSE, &[]).hourly_cost_usd, None);
        let mut unpriced = pool(24);
        unpriced.requirements[2].values = vec!["m6i".into()];
        assert_eq!(reservation(7, PAUSE, &[unpriced]).hourly_cost_usd, None);
    }

    #[test]
    fn reservations_add_up_and_one_unknown_cost_makes_the_total_unknown() {
        let a = reservation(14, PAUSE, &[pool(24)]);
        let b = reservation(7, PAUSE, &[pool(24)]);
        let t = total([&a, &b]);
        assert_eq!((t.pods, t.vcpus, t.nodes), (21, 21.0, 3));
        assert_eq!(t.hourly_cost_usd, Some(1.071));
        assert_eq!(total([]).hourly_cost_usd, Some(0.0));
        let unknown = reservation(7, PAUSE, &[]);
        assert_eq!(total([&a, &unknown]).hourly_cost_usd, None);
    }

    #[test]
    fn room_on_existing_nodes_comes_first_and_no_pool_means_unplaceable() {
        let p = plan(
            3,
            PAUSE,
            &[Res {
                cpu: 2500,
                memory: 8 * GIB,
            }],
            &[],
        );
        assert_eq!(p.pods_on_existing_capacity, 2);
        assert_eq!(p.pods_unplaceable, 1);
        assert_eq!(p.within_limits, Some(false));
        let none = plan(0, PAUSE, &[], &[pool(24)]);
        assert_eq!(
            (
                none.nodes_to_launch,
                none.hourly_cost_usd,
                none.within_limits
            ),
            (0, Some(0.0), Some(true))
        );
        let mut unpriced = pool(24);
        unpriced.requirements[2].values = vec!["m6i".into()];
        let p = plan(7, PAUSE, &[], &[unpriced]);
        assert_eq!((p.hourly_cost_usd, p.within_limits), (None, None));
    }
}
