//! The workspace's dependency rule, as code: every crate sits in a layer read from its
//! folder, and a normal dependency may only point down (README, "Architecture").
//!
//! - `lib/*` depend on nothing of ours but other `lib/*` crates;
//! - `sim/*` depend only on `lib/*`, and `sim/env` also on the other simulators;
//! - `mcp-servers/common` depends on `agent/protocol` and `lib/*`; the MCP servers on those
//!   and `mcp-servers/common`;
//! - the agent crates point one way: `protocol ← policy, sop ← llm ← llm-bedrock, runtime ←
//!   server ← eval ← cli`, all of them on `lib/*`; only `agent/cli` (the binary) also ships the MCP
//!   servers and the simulated environment;
//! - nothing depends on `agent/cli`, not even as a dev-dependency, except `bench/*`;
//! - `lib/test-support` (test helpers: it starts simulators and MCP servers) is a
//!   dev-dependency only, and depends on `lib/*`, the simulators, `mcp-servers/common` and
//!   `agent/protocol`;
//! - the pure crates (`lib/*`, `agent/protocol`, `agent/policy`, `agent/sop`) name no async
//!   runtime, HTTP stack or SDK; the exceptions are the [`NETWORK_LIBS`], leaf clients of a
//!   network service (`lib/slack-api`), which follow the `lib/*` rule otherwise.
//!
//! Dev-dependencies may point anywhere else (tests drive the simulators). [`check`] reads
//! `cargo metadata --format-version 1 --no-deps` and names every edge that breaks the rule.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where a crate sits, by the folder it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `lib/*` but `lib/test-support`: leaf libraries.
    Lib,
    /// `lib/test-support`: helpers for integration tests, only ever a dev-dependency.
    TestSupport,
    /// `sim/env`: the whole simulated environment.
    SimEnv,
    /// `sim/*` but `sim/env`: one simulator each.
    Sim,
    /// `mcp-servers/common`: MCP server plumbing.
    McpCommon,
    /// `mcp-servers/*` but `common`: the MCP servers.
    McpServer,
    /// `agent/*`, ranked: a crate may depend on agent crates of lower rank only.
    Agent(AgentCrate),
    /// `bench/*`: benchmarks, which may drive anything.
    Bench,
    /// `tests/*`: checks over the workspace.
    Checks,
}

/// The agent crates, in the order dependencies may point (lower first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentCrate {
    Protocol,
    Policy,
    Sop,
    Llm,
    LlmBedrock,
    Runtime,
    Server,
    Eval,
    Cli,
}

impl AgentCrate {
    /// The agent crate in `agent/FOLDER`.
    fn from_folder(folder: &str) -> Option<Self> {
        Some(match folder {
            "protocol" => Self::Protocol,
            "policy" => Self::Policy,
            "sop" => Self::Sop,
            "llm" => Self::Llm,
            "llm-bedrock" => Self::LlmBedrock,
            "runtime" => Self::Runtime,
            "server" => Self::Server,
            "eval" => Self::Eval,
            "cli" => Self::Cli,
            _ => return None,
        })
    }

    /// `protocol ← policy, sop ← llm ← llm-bedrock, runtime ← server ← eval ← cli`.
    fn rank(self) -> u8 {
        match self {
            Self::Protocol => 0,
            Self::Policy | Self::Sop => 1,
            Self::Llm => 2,
            Self::LlmBedrock | Self::Runtime => 3,
            Self::Server => 4,
            Self::Eval => 5,
            Self::Cli => 6,
        }
    }

    /// Pure crates: no tokio, no network.
    fn is_pure(self) -> bool {
        matches!(self, Self::Protocol | Self::Policy | Self::Sop)
    }
}

impl Layer {
    /// The layer of the crate whose folder is `dir`, relative to the workspace root
    /// (`agent/llm`, `sim/env`); `None` for a folder the rule does not know.
    pub fn of(dir: &Path) -> Option<Layer> {
        let parts: Vec<&str> = dir.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            ["lib", "test-support"] => Some(Layer::TestSupport),
            ["lib", _] => Some(Layer::Lib),
            ["sim", "env"] => Some(Layer::SimEnv),
            ["sim", _] => Some(Layer::Sim),
            ["mcp-servers", "common"] => Some(Layer::McpCommon),
            ["mcp-servers", _] => Some(Layer::McpServer),
            ["agent", name] => AgentCrate::from_folder(name).map(Layer::Agent),
            ["bench", _] => Some(Layer::Bench),
            ["tests", _] => Some(Layer::Checks),
            _ => None,
        }
    }

    /// Whether this layer's crates are pure (no async runtime, no network).
    fn is_pure(self) -> bool {
        match self {
            Layer::Lib => true,
            Layer::Agent(a) => a.is_pure(),
            _ => false,
        }
    }
}

/// Why a normal dependency from `from` on `to` is not allowed; `None` if it is.
pub fn refuse(from: Layer, to: Layer) -> Option<&'static str> {
    use Layer::*;
    if to == Agent(AgentCrate::Cli) && from != Bench {
        return Some("nothing depends on agent/cli (the binary) but bench/*");
    }
    if to == TestSupport {
        return Some("lib/test-support is for tests: make it a dev-dependency");
    }
    let allowed = match from {
        Lib => matches!(to, Lib),
        Sim => matches!(to, Lib),
        SimEnv => matches!(to, Lib | Sim),
        TestSupport => matches!(
            to,
            Lib | Sim | SimEnv | McpCommon | Agent(AgentCrate::Protocol)
        ),
        McpCommon => matches!(to, Lib | Agent(AgentCrate::Protocol)),
        McpServer => matches!(to, Lib | McpCommon | Agent(AgentCrate::Protocol)),
        Agent(AgentCrate::Cli) => !matches!(to, Bench | Checks),
        Agent(a) => match to {
            Lib => true,
            Agent(b) => b.rank() < a.rank(),
            _ => false,
        },
        Bench | Checks => !matches!(to, Bench | Checks),
    };
    if allowed {
        return None;
    }
    Some(match from {
        Lib => "lib/* crates depend on nothing of ours but other lib/* crates",
        Sim => "a simulator depends only on lib/*; move what it shares into lib/",
        SimEnv => "sim/env depends only on lib/* and the other simulators",
        TestSupport => {
            "lib/test-support depends only on lib/*, the simulators, mcp-servers/common and agent/protocol"
        }
        McpCommon => "mcp-servers/common depends only on agent/protocol and lib/*",
        McpServer => {
            "an MCP server depends only on agent/protocol, mcp-servers/common and lib/*; move what it shares into lib/"
        }
        Agent(_) => {
            "agent crates point one way (protocol ← policy, sop ← llm ← llm-bedrock, runtime ← server ← eval ← cli) and on lib/*; only agent/cli ships the MCP servers and simulators"
        }
        Bench | Checks => "bench/* and tests/* are leaves nothing else builds on",
    })
}

/// Outside crates a pure crate may not name: async runtimes, HTTP stacks, SDKs.
const IMPURE: &[&str] = &[
    "tokio",
    "axum",
    "hyper",
    "reqwest",
    "rmcp",
    "async-openai",
    "kube",
    "tower",
    "futures",
];

/// `lib/*` crates that are clients of a network service (the Slack Web API client), so they
/// name tokio and an HTTP stack: leaves like every `lib/*` crate, but not pure.
pub const NETWORK_LIBS: &[&str] = &["lib/slack-api"];

/// Whether the crate in `dir` (relative to the workspace root), of `layer`, must be pure.
pub fn must_be_pure(layer: Layer, dir: &Path) -> bool {
    layer.is_pure() && !NETWORK_LIBS.iter().any(|lib| dir == Path::new(lib))
}

/// Whether a pure crate may not depend on the outside crate `name`.
pub fn is_impure(name: &str) -> bool {
    IMPURE.contains(&name) || name.starts_with("tokio-") || name.starts_with("aws-")
}

/// One dependency that breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The depending crate, `sim/model (sopilot-sim-model)`.
    pub from: String,
    /// The dependency, `agent/llm (sopilot-llm)` or an outside crate's name.
    pub to: String,
    /// Why it is not allowed.
    pub why: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: {}", self.from, self.to, self.why)
    }
}

/// Why the metadata could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// A field `cargo metadata --format-version 1` always has is missing.
    #[error("cargo metadata: {0} is missing or not what format version 1 gives")]
    Shape(&'static str),
}

/// A workspace crate: its name and folder relative to the workspace root.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    dir: PathBuf,
}

impl Member {
    fn label(&self) -> String {
        format!("{} ({})", self.dir.display(), self.name)
    }
}

fn str_field<'a>(v: &'a Value, key: &'static str) -> Result<&'a str, MetadataError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or(MetadataError::Shape(key))
}

/// The folder of `manifest` (a `Cargo.toml` path) relative to `root`.
fn rel_dir(root: &Path, manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or(manifest);
    dir.strip_prefix(root).unwrap_or(dir).to_path_buf()
}

/// Every edge of `cargo metadata --format-version 1 --no-deps` that breaks the rule, and every
/// workspace crate in a folder the rule does not know.
pub fn check(metadata: &Value) -> Result<Vec<Violation>, MetadataError> {
    let root = PathBuf::from(str_field(metadata, "workspace_root")?);
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or(MetadataError::Shape("packages"))?;
    let mut out = Vec::new();
    for package in packages {
        let member = Member {
            name: str_field(package, "name")?.to_owned(),
            dir: rel_dir(&root, Path::new(str_field(package, "manifest_path")?)),
        };
        let Some(layer) = Layer::of(&member.dir) else {
            out.push(Violation {
                from: member.label(),
                to: "(its folder)".into(),
                why: "a crate in a folder the layer rule does not know; add the folder to Layer::of and the README's crate table".into(),
            });
            continue;
        };
        let deps = package
            .get("dependencies")
            .and_then(Value::as_array)
            .ok_or(MetadataError::Shape("dependencies"))?;
        for dep in deps {
            out.extend(check_dep(&root, &member, layer, dep)?);
        }
    }
    Ok(out)
}

/// The violation of one dependency entry, if any.
fn check_dep(
    root: &Path,
    member: &Member,
    layer: Layer,
    dep: &Value,
) -> Result<Option<Violation>, MetadataError> {
    let name = str_field(dep, "name")?;
    let dev = dep.get("kind").and_then(Value::as_str) == Some("dev");
    let Some(path) = dep.get("path").and_then(Value::as_str) else {
        // An outside crate.
        let why = (!dev && must_be_pure(layer, &member.dir) && is_impure(name))
            .then_some("a pure crate names no async runtime, HTTP stack or SDK");
        return Ok(why.map(|why| Violation {
            from: member.label(),
            to: name.to_owned(),
            why: why.to_owned(),
        }));
    };
    let to = Member {
        name: name.to_owned(),
        dir: PathBuf::from(path)
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(path)),
    };
    let why = match Layer::of(&to.dir) {
        None => Some("a dependency in a folder the layer rule does not know"),
        Some(Layer::Agent(AgentCrate::Cli)) if dev && layer != Layer::Bench => Some(
            "nothing depends on agent/cli (the binary), not even a test; run it with assert_cmd",
        ),
        Some(_) if dev => None,
        Some(to_layer) => refuse(layer, to_layer),
    };
    Ok(why.map(|why| Violation {
        from: member.label(),
        to: to.label(),
        why: why.to_owned(),
    }))
}
