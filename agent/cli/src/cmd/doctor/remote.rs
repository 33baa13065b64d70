//! The checks that reach other systems, reads only: the MCP servers, Kubernetes (reachable,
//! and which of the verbs the kubectl tools need are allowed), AWS, Slack and the model.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sopilot_llm::{Message, ModelClient, ModelRequest, ModelSpec, ToolSpec};
use sopilot_protocol::ToolRef;
use sopilot_runtime::{Gateway, ServerSpec};

use super::{CHECK_TIMEOUT, Line, Target, configured_model};
use crate::config::Config;
use crate::session::builtin_servers;

/// Every remote check, in the order an SRE would fix them.
pub async fn all(config: &Config, target: &Target<'_>) -> Vec<Line> {
    let mut lines = Vec::new();
    let (gateway, server_lines) = servers(config, target).await;
    let kubectl_tools: Vec<String> = gateway
        .tools()
        .filter(|t| t.tool.server() == "kubectl")
        .map(|t| t.tool.tool().to_owned())
        .collect();
    lines.extend(super::kube::check(target, &kubectl_tools).await);
    lines.extend(server_lines);
    lines.push(aws(&gateway, target).await);
    lines.extend(super::slack::check(config, target).await);
    lines.push(model(config, target).await);
    gateway.shutdown().await;
    lines
}

/// The MCP servers `serve` would start: each starts and lists its tools.
async fn servers(config: &Config, target: &Target<'_>) -> (Gateway, Vec<Line>) {
    let env = target.sim.map(|s| s.server_env()).unwrap_or_default();
    let mut specs: Vec<ServerSpec> = match builtin_servers(&env) {
        Ok(s) => s,
        Err(e) => {
            let (g, _) = Gateway::connect(Vec::new()).await;
            return (g, vec![Line::fail("mcp", e, "reinstall sopilot")]);
        }
    };
    if let Some(keep) = &config.builtin {
        specs.retain(|s| keep.contains(&s.name));
    }
    specs.extend(config.servers());
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let (gateway, failures) = Gateway::connect(specs).await;
    let mut lines: Vec<Line> = failures
        .iter()
        .map(|f| {
            Line::fail(
                "mcp",
                f.to_string(),
                "check the server's command and environment in `servers:` (run it by hand to see its error)",
            )
        })
        .collect();
    for name in names {
        let tools = gateway.tools().filter(|t| t.tool.server() == name).count();
        if tools > 0 {
            lines.push(Line::ok("mcp", format!("{name}: {tools} tools")));
        }
    }
    (gateway, lines)
}

/// AWS: the region is set and CloudWatch answers a read with these credentials.
async fn aws(gateway: &Gateway, target: &Target<'_>) -> Line {
    let region = target
        .var("AWS_REGION")
        .or_else(|| target.var("AWS_DEFAULT_REGION"))
        .or_else(|| {
            target
                .var("AWS_PROFILE")
                .map(|p| format!("from profile {p}"))
        });
    let Some(region) = region else {
        return Line::skip(
            "aws",
            "no AWS region (AWS_REGION or AWS_PROFILE): the CloudWatch and Cost Explorer tools are off",
        );
    };
    let tool = ToolRef::new("cloudwatch", "describe_alarms");
    let Some(tool) = tool.ok().filter(|t| gateway.tool(t).is_some()) else {
        return Line::fail(
            "aws",
            format!("region {region}, but the CloudWatch server offers no describe_alarms"),
            "see the mcp line for the CloudWatch server's error",
        );
    };
    let started = Instant::now();
    match gateway
        .call(&tool, json!({"state": "ALARM"}), CHECK_TIMEOUT)
        .await
    {
        Ok(out) if !out.is_error => Line::ok(
            "aws",
            format!(
                "region {region}: CloudWatch answered describe_alarms in {} ms",
                started.elapsed().as_millis()
            ),
        ),
        Ok(out) => Line::fail(
            "aws",
            format!(
                "region {region}: CloudWatch refused: {}",
                first_line(&out.text)
            ),
            "check the credentials (AWS_PROFILE, IRSA / Pod Identity) and that the role allows cloudwatch:DescribeAlarms",
        ),
        Err(e) => Line::fail(
            "aws",
            format!("region {region}: {e}"),
            "check network access to CloudWatch and the credentials",
        ),
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

/// The model answers, and calls a tool when asked to (what every SOP step needs).
async fn model(config: &Config, target: &Target<'_>) -> Line {
    let scripted_sim = target
        .sim
        .filter(|s| configured_model(config).is_none() && s.scenario().model.is_some());
    let (client, what): (Arc<dyn ModelClient>, String) = match scripted_sim {
        Some(sim) => (
            Arc::new(sopilot_llm::OpenAiClient::new(
                "sopilot-sim",
                Some(sim.model_url()),
                Some("sim".into()),
                Duration::from_secs(30),
            )),
            "the scenario's scripted model".to_owned(),
        ),
        None => match build_model(config).await {
            Ok(Some(c)) => {
                let name = c.name();
                (c, name)
            }
            Ok(None) => {
                return Line::skip(
                    "model",
                    "no model (serve.model): runs carry out the SOPs' tool blocks only",
                );
            }
            Err(e) => {
                return Line::fail(
                    "model",
                    e,
                    "set serve.model to openai:MODEL (OPENAI_API_KEY, OPENAI_BASE_URL) or bedrock:MODEL_ID",
                );
            }
        },
    };
    probe(client.as_ref(), &what, scripted_sim.is_some()).await
}

async fn build_model(config: &Config) -> Result<Option<Arc<dyn ModelClient>>, String> {
    let Some(model) = configured_model(config) else {
        return Ok(None);
    };
    let spec: ModelSpec = model
        .parse()
        .map_err(|e: sopilot_llm::LlmError| e.to_string())?;
    crate::model::build_client(&spec, CHECK_TIMEOUT)
        .await
        .map_err(|e| format!("{model}: {e}"))
}

/// The tool the probe offers; a model that follows instructions calls it.
pub(super) const PROBE_TOOL: &str = "doctor__ping";

/// One tiny turn with one tool, asking for a call to it.
pub(super) async fn probe(client: &dyn ModelClient, what: &str, scripted: bool) -> Line {
    let request = ModelRequest {
        system: "You are a health check. Answer only with the tool call you are asked for.".into(),
        messages: vec![Message::User {
            content: format!("Call the tool {PROBE_TOOL} with echo set to \"ok\"."),
        }],
        tools: vec![ToolSpec {
            name: PROBE_TOOL.into(),
            description: "Answers pong. Call it when asked to.".into(),
            input_schema: json!({"type": "object", "properties": {"echo": {"type": "string"}},
                                 "required": ["echo"]}),
        }],
        max_output_tokens: 64,
    };
    let started = Instant::now();
    let answer = tokio::time::timeout(CHECK_TIMEOUT * 3, client.complete(&request)).await;
    let ms = started.elapsed().as_millis();
    let fix_reach =
        "check the endpoint and key (OPENAI_BASE_URL, OPENAI_API_KEY; AWS credentials for Bedrock)";
    match answer {
        Err(_) => Line::fail(
            "model",
            format!(
                "{what}: no answer within {} s",
                (CHECK_TIMEOUT * 3).as_secs()
            ),
            fix_reach,
        ),
        Ok(Err(e)) => Line::fail("model", format!("{what}: {e}"), fix_reach),
        Ok(Ok(_)) if scripted => Line::ok(
            "model",
            format!("{what} answers ({ms} ms); its tool calls are scripted, not probed"),
        ),
        Ok(Ok(r)) if r.tool_calls.iter().any(|c| c.name == PROBE_TOOL) => Line::ok(
            "model",
            format!(
                "{what} called the probe tool in {ms} ms ({} tokens in, {} out)",
                r.usage.input, r.usage.output
            ),
        ),
        Ok(Ok(r)) => Line::warn(
            "model",
            format!(
                "{what} answered in {ms} ms but did not call the probe tool (said: {:?})",
                first_line(r.text.as_deref().unwrap_or_default())
            ),
            "use a model that supports tool calling: without it runs stop at the first step",
        ),
    }
}
