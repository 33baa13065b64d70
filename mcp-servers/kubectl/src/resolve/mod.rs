//! Resource spellings (`deploy`, `Secret.v1`, `apps/v1/Deployment`) resolved against
//! discovery, before anything else is decided or asked of the API server.
//!
//! Pure: no client, no I/O. [`resolve`] parses a spelling with a strict grammar and matches
//! it against a list of discovery entries ([`Candidate`]); [`known()`] is the built-in list
//! that answers common kinds without a discovery round trip, through the same grammar.
//!
//! The grammar, ASCII only, case-insensitive, surrounding whitespace trimmed:
//!
//! | form | example | means |
//! |---|---|---|
//! | `NAME` | `deploy`, `Deployment` | any group (core first, then built-in groups) |
//! | `NAME.GROUP` | `deployments.apps` | that group, its preferred version |
//! | `NAME.VERSION.GROUP` | `deployments.v1.apps` | exactly that group and version |
//! | `NAME.VERSION` | `pods.v1` | the core group, that version |
//! | `GROUP/VERSION/KIND` | `apps/v1/Deployment` | exactly that group and version |
//! | `VERSION/KIND` | `v1/Pod` | the core group, that version |
//!
//! NAME (and KIND) is a resource's kind, plural, singular or short name; the group `core`
//! is the core group (`secrets.core`, `core/v1/Secret`), as is leaving the group out of
//! the versioned forms. Parts are DNS labels: empty parts (`secret./`, `pods..v1`, a
//! trailing `.` or `/`), other characters and non-ASCII text are errors that list the
//! accepted forms. In `NAME.X.Y…`, `X` is first read as a version (`deployments.v1.apps`)
//! and, when nothing is served there, as the start of a group
//! (`networkpolicies.networking.k8s.io`); so [`Resource::qualified`] always resolves to
//! exactly the resource it names.
//!
//! Several matches: one group-version prefers a plural over a singular over a kind over a
//! short name; without a version, each group answers with its preferred version; across
//! groups the core group wins, then the built-in groups in the API server's priority
//! ([`BUILT_IN_GROUPS`], as kubectl orders them); anything else is ambiguous and must be
//! qualified.

mod known;

use sopilot_protocol::Resource;

pub use known::known;

/// The accepted forms, for error messages a model or an SRE can act on.
pub const FORMS: &str = "Accepted forms (case-insensitive): NAME (Deployment, deployments, deployment, deploy), NAME.GROUP (deployments.apps), NAME.VERSION.GROUP (deployments.v1.apps), NAME.VERSION for the core group (pods.v1), GROUP/VERSION/KIND (apps/v1/Deployment), VERSION/KIND for the core group (v1/Pod); `core` names the core group";

/// Built-in API groups in kube-apiserver's discovery priority (the order kubectl prefers
/// when a name exists in several groups). The core group comes before all of them.
pub const BUILT_IN_GROUPS: &[&str] = &[
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "resource.k8s.io",
    "storagemigration.k8s.io",
];

/// One resource as discovery lists it (one per group-version it is served in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    /// Whether `version` is the group's preferred version.
    pub preferred: bool,
}

impl Candidate {
    /// The resolved resource.
    pub fn resource(&self) -> Resource {
        Resource {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
            namespaced: self.namespaced,
        }
    }

    /// How well `name` (lowercase) names this resource: 0 plural, 1 singular, 2 kind,
    /// 3 short name; `None` when it does not.
    fn strength(&self, name: &str) -> Option<u8> {
        if self.plural.eq_ignore_ascii_case(name) {
            Some(0)
        } else if !self.singular.is_empty() && self.singular.eq_ignore_ascii_case(name) {
            Some(1)
        } else if self.kind.eq_ignore_ascii_case(name) {
            Some(2)
        } else if self
            .short_names
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
        {
            Some(3)
        } else {
            None
        }
    }
}

/// Why a spelling names no single resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The spelling does not follow the grammar.
    #[error("kind {spelling:?} is not a resource spelling: {why}. {FORMS}")]
    Malformed { spelling: String, why: String },
    /// Well formed, but nothing served matches.
    #[error(
        "kind {spelling:?} matches no resource the API server serves; check the spelling, or list what is served with kubectl api-resources. {FORMS}"
    )]
    Unknown { spelling: String },
    /// Several resources match and no rule prefers one.
    #[error(
        "kind {spelling:?} is ambiguous: it names {}; qualify it as PLURAL.VERSION.GROUP, e.g. {}",
        .candidates.join(", "),
        .candidates.first().map_or("deployments.v1.apps", String::as_str)
    )]
    Ambiguous {
        spelling: String,
        candidates: Vec<String>,
    },
}

/// Where a parsed spelling looks: a group (`Some("")` is core) and a version, or any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    group: Option<String>,
    version: Option<String>,
}

/// A parsed spelling: the name, and the scopes to try in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    name: String,
    scopes: Vec<Scope>,
}

/// Resolves `spelling` against `candidates` (discovery entries, in discovery order).
pub fn resolve(spelling: &str, candidates: &[Candidate]) -> Result<Resource, ResolveError> {
    resolve_scoped(spelling, candidates).map(|(r, _)| r)
}

/// Resolves `spelling` against the built-in list of common kinds, when that answer is the
/// one discovery would give: `None` means "ask discovery". A malformed spelling is an
/// error here already; a match is only taken from the spelling's first reading (a later
/// reading, e.g. `NAME.GROUP` for `a.b.c`, might lose to the first one in discovery).
pub fn resolve_known(spelling: &str) -> Option<Result<Resource, ResolveError>> {
    match resolve_scoped(spelling, &known()) {
        Ok((r, 0)) => Some(Ok(r)),
        Err(e @ ResolveError::Malformed { .. }) => Some(Err(e)),
        Ok(_) | Err(_) => None,
    }
}

/// The resolution and the index of the reading (scope) that matched.
fn resolve_scoped(
    spelling: &str,
    candidates: &[Candidate],
) -> Result<(Resource, usize), ResolveError> {
    let spec = parse(spelling)?;
    for (i, scope) in spec.scopes.iter().enumerate() {
        let found: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| in_scope(c, scope) && c.strength(&spec.name).is_some())
            .collect();
        if !found.is_empty() {
            return choose(spelling, &spec.name, scope, &found).map(|r| (r, i));
        }
    }
    Err(ResolveError::Unknown {
        spelling: spelling.to_owned(),
    })
}

fn in_scope(c: &Candidate, scope: &Scope) -> bool {
    scope.group.as_ref().is_none_or(|g| *g == c.group)
        && scope.version.as_ref().is_none_or(|v| *v == c.version)
}

/// Picks one of several matches: versions within a group, names within a group-version,
/// then groups by priority.
fn choose(
    spelling: &str,
    name: &str,
    scope: &Scope,
    found: &[&Candidate],
) -> Result<Resource, ResolveError> {
    let mut groups: Vec<&str> = Vec::new();
    for c in found {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    let mut per_group = Vec::new();
    for g in groups {
        let in_group: Vec<&Candidate> = found.iter().copied().filter(|c| c.group == g).collect();
        let version = match &scope.version {
            Some(v) => v.clone(),
            None => in_group
                .iter()
                .find(|c| c.preferred)
                .or_else(|| in_group.first())
                .map(|c| c.version.clone())
                .unwrap_or_default(),
        };
        let mut best: Vec<&Candidate> = in_group
            .into_iter()
            .filter(|c| c.version == version)
            .collect();
        let top = best.iter().filter_map(|c| c.strength(name)).min();
        best.retain(|c| c.strength(name) == top);
        match best.as_slice() {
            [one] => per_group.push(*one),
            many => return Err(ambiguous(spelling, many)),
        }
    }
    by_group_priority(spelling, &per_group)
}

/// Rank of a group: the core group first, then the built-in groups, then everything else.
fn rank(group: &str) -> usize {
    if group.is_empty() {
        return 0;
    }
    BUILT_IN_GROUPS
        .iter()
        .position(|g| *g == group)
        .map_or(usize::MAX, |i| i + 1)
}

fn by_group_priority(spelling: &str, per_group: &[&Candidate]) -> Result<Resource, ResolveError> {
    let best = per_group.iter().map(|c| rank(&c.group)).min();
    let top: Vec<&Candidate> = per_group
        .iter()
        .copied()
        .filter(|c| Some(rank(&c.group)) == best)
        .collect();
    match top.as_slice() {
        [one] => Ok(one.resource()),
        _ => Err(ambiguous(spelling, per_group)),
    }
}

fn ambiguous(spelling: &str, many: &[&Candidate]) -> ResolveError {
    ResolveError::Ambiguous {
        spelling: spelling.to_owned(),
        candidates: many.iter().map(|c| c.resource().qualified()).collect(),
    }
}

fn malformed(spelling: &str, why: impl Into<String>) -> ResolveError {
    ResolveError::Malformed {
        spelling: spelling.to_owned(),
        why: why.into(),
    }
}

/// A DNS label: lowercase letters, digits and inner hyphens.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes API version: `v1`, `v2beta1`, `v1alpha3`.
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.starts_with('0') {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// The group a spelling names: `core` is the core group (`""`).
fn group_of(labels: &[&str]) -> String {
    let g = labels.join(".");
    if g == "core" { String::new() } else { g }
}

/// Parses a spelling into a name and the scopes to look in.
fn parse(spelling: &str) -> Result<Spec, ResolveError> {
    if !spelling.is_ascii() {
        return Err(malformed(
            spelling,
            "it contains a character outside ASCII (resource names are ASCII)",
        ));
    }
    let text = spelling
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    if text.is_empty() {
        return Err(malformed(spelling, "it is empty"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-')))
    {
        return Err(malformed(
            spelling,
            format!("{bad:?} is not allowed (only letters, digits, '-', '.' and '/')"),
        ));
    }
    if text.contains('/') {
        parse_slashed(spelling, &text)
    } else {
        parse_dotted(spelling, &text)
    }
}

/// `GROUP/VERSION/KIND` or `VERSION/KIND`.
fn parse_slashed(spelling: &str, text: &str) -> Result<Spec, ResolveError> {
    let parts: Vec<&str> = text.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(malformed(
            spelling,
            "it has an empty part (a leading, trailing or doubled '/')",
        ));
    }
    let (group, version, name) = match parts.as_slice() {
        [version, name] => (String::new(), *version, *name),
        [group, version, name] => {
            let labels: Vec<&str> = group.split('.').collect();
            if !labels.iter().all(|l| is_label(l)) {
                return Err(malformed(
                    spelling,
                    format!("{group:?} is not an API group (dot-separated DNS labels)"),
                ));
            }
            (group_of(&labels), *version, *name)
        }
        _ => return Err(malformed(spelling, "it has more than two '/'")),
    };
    if !is_label(version) {
        return Err(malformed(
            spelling,
            format!("{version:?} is not an API version (e.g. v1, v2beta1)"),
        ));
    }
    if !is_label(name) {
        return Err(malformed(
            spelling,
            format!("{name:?} is not a kind or resource name (no dots after the '/')"),
        ));
    }
    Ok(Spec {
        name: name.to_owned(),
        scopes: vec![Scope {
            group: Some(group),
            version: Some(version.to_owned()),
        }],
    })
}

/// `NAME`, `NAME.GROUP`, `NAME.VERSION` and `NAME.VERSION.GROUP`.
fn parse_dotted(spelling: &str, text: &str) -> Result<Spec, ResolveError> {
    let labels: Vec<&str> = text.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(malformed(
            spelling,
            "it has an empty part (a leading, trailing or doubled '.')",
        ));
    }
    if let Some(bad) = labels.iter().find(|l| !is_label(l)) {
        return Err(malformed(
            spelling,
            format!("{bad:?} is not a DNS label (letters, digits and inner '-')"),
        ));
    }
    let (name, rest) = match labels.split_first() {
        Some((name, rest)) => ((*name).to_owned(), rest),
        None => return Err(malformed(spelling, "it is empty")),
    };
    let scopes = match rest {
        [] => vec![Scope {
            group: None,
            version: None,
        }],
        [one] if is_version(one) => vec![Scope {
            group: Some(String::new()),
            version: Some((*one).to_owned()),
        }],
        [_] => vec![Scope {
            group: Some(group_of(rest)),
            version: None,
        }],
        [first, group @ ..] => vec![
            Scope {
                group: Some(group_of(group)),
                version: Some((*first).to_owned()),
            },
            Scope {
                group: Some(group_of(rest)),
                version: None,
            },
        ],
    };
    Ok(Spec { name, scopes })
}

#[cfg(test)]
mod tests;
