//! Stage 1, resolve: which tool, whether this call may be made at all, and what its
//! resource argument means on the cluster.

use std::time::Duration;

use serde_json::Value;
use sopilot_policy::ServerTrust;
use sopilot_protocol::{CallOrigin, Resource, ToolRef};

use super::call::{Call, Step};
use super::{CallScope, Gate, NOT_OFFERED, resolve_name};
use crate::gateway::ToolInfo;

/// The rule name of a refusal because `dry_run` was given to a tool that cannot dry-run.
pub const NO_DRY_RUN: &str = "builtin:no-dry-run";

/// The rule name of a refusal because a `kind` argument did not resolve on the cluster.
pub const UNRESOLVED_KIND: &str = "builtin:unresolved-kind";

/// The tool a builtin server offers to resolve resource spellings.
const RESOLVER: &str = "resolve_resource";

/// How long resolving a kind may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(20);

/// What the call is about, once resolved.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub tool: ToolRef,
    pub info: ToolInfo,
    /// What the `kind` argument resolved to on the cluster.
    pub resource: Option<Resource>,
}

impl Gate {
    pub(super) async fn resolve(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        origin: CallOrigin,
    ) -> Step<Target> {
        let Some(tool) = resolve_name(&call.out.tool) else {
            let why = format!("{:?} is not a tool name (SERVER__TOOL)", call.out.tool);
            return Err(call.refuse(NOT_OFFERED, why));
        };
        let Some(info) = self.gateway.tool(&tool).cloned() else {
            return Err(call.refuse(
                NOT_OFFERED,
                format!("no connected MCP server offers {tool}"),
            ));
        };
        if origin == CallOrigin::Model && !scope.offered.contains(&tool) {
            let why =
                format!("{tool} was not offered to this SOP; use only the tools you were given");
            return Err(call.refuse(NOT_OFFERED, why));
        }
        if !call.args.is_object() {
            return Err(call.refuse(NOT_OFFERED, "the arguments are not a JSON object".into()));
        }
        let dry_run = call.args.get("dry_run");
        if dry_run.is_some_and(|d| d != &Value::Bool(false)) && !info.dry_runnable() {
            let why = format!(
                "{tool} cannot dry-run, so `dry_run` would be ignored and the call would act for real; call it without dry_run"
            );
            return Err(call.refuse(NO_DRY_RUN, why));
        }
        let resource = self.resolve_kind(call, &tool, &info).await?;
        // Secrets are refused before anything else is asked of the server, a dry run
        // included: the policy's built-in guard would deny the call anyway.
        let secret = resource.as_ref().is_some_and(Resource::is_secret)
            || call
                .args
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(sopilot_protocol::may_name_secrets);
        if secret {
            let why = format!(
                "{tool} would read or change Secrets; SOPilot never reads or changes Secret data"
            );
            return Err(call.refuse(sopilot_policy::SECRET_GUARD, why));
        }
        Ok(Target {
            tool,
            info,
            resource,
        })
    }

    /// Resolves a builtin tool's `kind` argument with its server's resolver and pins the
    /// argument to the fully qualified spelling, so the server acts on exactly what the
    /// policy decided about.
    async fn resolve_kind(
        &self,
        call: &mut Call<'_>,
        tool: &ToolRef,
        info: &ToolInfo,
    ) -> Step<Option<Resource>> {
        let Some(kind) = call
            .args
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Ok(None);
        };
        let resolver = ToolRef::new(tool.server(), RESOLVER).ok();
        let Some(resolver) = resolver.filter(|r| {
            info.trust == ServerTrust::Builtin && r != tool && self.gateway.tool(r).is_some()
        }) else {
            return Ok(None);
        };
        let answer = self
            .gateway
            .call(
                &resolver,
                serde_json::json!({"kind": kind}),
                RESOLVE_TIMEOUT,
            )
            .await;
        let resolved = match answer {
            Ok(o) if !o.is_error => o
                .structured
                .as_ref()
                .and_then(|s| s.get("resource"))
                .and_then(|r| serde_json::from_value::<Resource>(r.clone()).ok())
                .ok_or_else(|| "the resolver's answer names no resource".to_owned()),
            Ok(o) => Err(o.text),
            Err(e) => Err(e.to_string()),
        };
        match resolved {
            Ok(r) => {
                let qualified = r.qualified();
                if qualified != kind {
                    call.pin("kind", Value::String(qualified));
                }
                Ok(Some(r))
            }
            Err(why) => Err(call.refuse(
                UNRESOLVED_KIND,
                format!("kind {kind:?} could not be resolved on the cluster: {why}"),
            )),
        }
    }
}
