//! The shipped SOPs, Strands compatibility, lint messages and rendering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use sopilot_protocol::Trigger;
use sopilot_sop::{Diagnostic, Level, RenderError, Severity, Sop, name_from_path, parse, render};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse_file(path: &Path) -> (Sop, Vec<Diagnostic>) {
    let text = std::fs::read_to_string(path).unwrap();
    parse(&name_from_path(path), &text)
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("sops"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".sop.md"))
        .collect();
    files.sort();
    files
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn shipped_sops_are_clean_and_snapshotted() {
    let files = shipped();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let (sop, diags) = parse_file(&file);
        assert!(diags.is_empty(), "{}: {diags:#?}", file.display());
        assert!(
            sop.tool_block_count() > 0,
            "{} has no tool blocks",
            sop.name
        );
        insta::assert_yaml_snapshot!(format!("sop-{}", sop.name), sop);
    }
}

#[test]
fn the_complex_incident_sop_has_four_timed_phases() {
    let (sop, _) = parse_file(&repo().join("sops/complex-incident.sop.md"));
    let phases: Vec<(&str, u64)> = sop
        .front
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.deadline.unwrap().seconds()))
        .collect();
    assert_eq!(
        phases,
        vec![
            ("assess", 30),
            ("root-cause", 120),
            ("remediate", 360),
            ("post-incident", 600)
        ]
    );
    assert!(sop.steps.iter().all(|s| s.phase.is_some()));
}

#[test]
fn a_plain_strands_sop_parses() {
    let (sop, diags) = parse_file(&repo().join("agent/sop/tests/fixtures/strands-plain.sop.md"));
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(sop.name, "strands-plain");
    assert_eq!(sop.title, "Release Notes Writer");
    let p: Vec<(&str, bool, Option<&str>)> = sop
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.required, p.default.as_deref()))
        .collect();
    assert_eq!(
        p,
        vec![
            ("repo_path", true, None),
            ("since_tag", false, None),
            ("output_file", false, Some("RELEASE_NOTES.md")),
            ("include_authors", false, Some("true")),
            ("style", false, Some("concise bullet points")),
        ]
    );
    assert!(
        sop.parameters[4].description.contains("\"narrative\""),
        "nested items continue the description"
    );
    assert_eq!(sop.parameter_constraints.len(), 3);
    assert!(sop.parameter_constraints[1].text.contains("File path"));
    assert_eq!(sop.steps.len(), 3);
    assert_eq!(sop.steps[0].constraints.len(), 3);
    assert_eq!(sop.steps[0].constraints[2].level, Some(Level::MustNot));
    assert_eq!(
        sop.steps[1].constraints.len(),
        2,
        "#### and ##### headings stay inside the step"
    );
    let titles: Vec<&str> = sop.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Overview",
            "Parameters",
            "Mode Behavior",
            "Steps",
            "Examples",
            "Troubleshooting"
        ]
    );
}

/// Lints `text` and returns its diagnostics as `(line, severity, message)`.
fn lint(text: &str) -> Vec<(usize, Severity, String)> {
    parse("t", text)
        .1
        .into_iter()
        .map(|d| (d.line, d.severity, d.message))
        .collect()
}

fn has(diags: &[(usize, Severity, String)], line: usize, severity: Severity, needle: &str) -> bool {
    diags
        .iter()
        .any(|(l, s, m)| *l == line && *s == severity && m.contains(needle))
}

const MINIMAL: &str = "# T

## Overview

o

## Parameters

- **namespace** (required): ns

## Steps

### 1. Look

```tool
kubectl.list_pods: {namespace: \"{{ namespace }}\"}
```

**Constraints:**
- You MUST look
";

#[test]
fn minimal_sop_is_clean() {
    assert_eq!(lint(MINIMAL), vec![]);
}

#[test]
fn missing_sections_are_errors() {
    let d = lint("# T\n\n## Overview\n\no\n");
    assert!(
        has(
            &d,
            1,
            Severity::Error,
            "missing required section `## Parameters`"
        ),
        "{d:?}"
    );
    assert!(
        has(
            &d,
            1,
            Severity::Error,
            "missing required section `## Steps`"
        ),
        "{d:?}"
    );
    let d = lint("## Overview\n\n## Parameters\n\n## Steps\n");
    assert!(
        has(&d, 1, Severity::Error, "missing the `# Title` heading"),
        "{d:?}"
    );
    assert!(has(&d, 5, Severity::Error, "has no steps"), "{d:?}");
}

#[test]
fn malformed_parameter_line() {
    let d = lint(&MINIMAL.replace(
        "- **namespace** (required): ns",
        "- **namespace** (mandatory): ns",
    ));
    assert!(
        has(&d, 9, Severity::Error, "malformed parameter line"),
        "{d:?}"
    );
}

#[test]
fn front_matter_errors_carry_file_lines() {
    let d = lint(&format!("---\nname: t\ntriggers: [\n---\n{MINIMAL}"));
    assert!(
        d.iter().any(|(l, s, m)| *s == Severity::Error
            && (2..=4).contains(l)
            && m.contains("not valid YAML")),
        "{d:?}"
    );
    let d = lint(&format!(
        "---\nname: t\nbudjet: {{max_turns: 3}}\n---\n{MINIMAL}"
    ));
    assert!(
        has(&d, 3, Severity::Error, "unknown field `budjet`"),
        "{d:?}"
    );
    let d = lint(&format!("---\nbudget:\n  deadline: soon\n---\n{MINIMAL}"));
    assert!(has(&d, 3, Severity::Error, "not a duration"), "{d:?}");
    let d = lint(&format!("---\nname: t\n{MINIMAL}"));
    assert!(has(&d, 1, Severity::Error, "no closing `---`"), "{d:?}");
}

#[test]
fn per_tool_output_budgets_name_offered_tools() {
    let front = |budget: &str| {
        format!("---\ntools: [kubectl.*]\nbudget:\n  tool_output_bytes:\n{budget}---\n{MINIMAL}")
    };
    assert_eq!(lint(&front("    kubectl.pod_logs: 4096\n")), vec![]);
    let d = lint(&front("    cloudwatch.filter_log_events: 4096\n"));
    assert!(
        has(
            &d,
            5,
            Severity::Error,
            "which the front matter's `tools` does not include"
        ),
        "{d:?}"
    );
    let d = lint(&front("    pod_logs: 4096\n"));
    assert!(has(&d, 5, Severity::Error, "is not a tool name"), "{d:?}");
    let d = lint(&front("    kubectl.*: 4096\n"));
    assert!(has(&d, 5, Severity::Error, "no globs"), "{d:?}");
    let d = lint(&front("    kubectl.pod_logs: 0\n"));
    assert!(has(&d, 5, Severity::Error, "budget of 0 bytes"), "{d:?}");
    let d = lint(&format!(
        "---\nbudget:\n  max_tool_output_bytes_per_call: 0\n---\n{MINIMAL}"
    ));
    assert!(has(&d, 3, Severity::Error, "no tool output"), "{d:?}");
    let d = lint(&front("    kubectl.pod_logs: lots\n"));
    assert!(d.iter().any(|(_, s, _)| *s == Severity::Error), "{d:?}");
}

#[test]
fn tool_block_errors() {
    let block =
        |body: &str| MINIMAL.replace("kubectl.list_pods: {namespace: \"{{ namespace }}\"}", body);
    // The fence opens on line 15; its first line is 16.
    let d = lint(&block("kubectl.list_pods: {namespace: [}"));
    assert!(has(&d, 16, Severity::Error, "not valid YAML"), "{d:?}");
    let d = lint(&block("kubectl.list_pods: {}\nkubectl.top_nodes: {}"));
    assert!(has(&d, 15, Severity::Error, "holds 2 calls"), "{d:?}");
    let d = lint(&block("list_pods: {}"));
    assert!(has(&d, 16, Severity::Error, "malformed tool"), "{d:?}");
    let d = lint(&block("kubectl.list_pods: {namespace: \"{{ nmespace }}\"}"));
    assert!(
        has(
            &d,
            15,
            Severity::Error,
            "uses nmespace, which is neither a parameter nor trigger.*"
        ),
        "{d:?}"
    );
    let d = lint(&block(
        "kubectl.list_pods: {namespace: \"{{ trigger.event.object.namespace }}\"}",
    ));
    assert_eq!(d, vec![]);
}

#[test]
fn undefined_phase_and_negative_constraints() {
    let d = lint(&MINIMAL.replace("### 1. Look", "### 1. Look (phase: assess)"));
    assert!(
        has(
            &d,
            13,
            Severity::Error,
            "phase \"assess\", which the front matter does not define"
        ),
        "{d:?}"
    );
    let d = lint(&MINIMAL.replace("- You MUST look", "- You MUST NOT delete pods"));
    assert!(
        has(
            &d,
            20,
            Severity::Warning,
            "negative constraint without a reason"
        ),
        "{d:?}"
    );
    let d = lint(&MINIMAL.replace(
        "- You MUST look",
        "- You MUST NOT delete pods because they hold evidence",
    ));
    assert_eq!(d, vec![]);
}

#[test]
fn tool_blocks_must_fit_the_declared_tools() {
    let d = lint(&format!("---\ntools: [cloudwatch.*]\n---\n{MINIMAL}"));
    assert!(has(&d, 18, Severity::Error, "does not include"), "{d:?}");
}

#[test]
fn trigger_params_are_checked() {
    let front = "---\ntriggers:\n  - kubernetes_event: {reasons: [BackOff]}\n    params: {namespce: \"{{ trigger.event.object.namespace }}\"}\n---\n";
    let d = lint(&format!("{front}{MINIMAL}"));
    assert!(has(&d, 4, Severity::Error, "not a parameter"), "{d:?}");
    assert!(
        has(
            &d,
            3,
            Severity::Warning,
            "does not fill required parameter \"namespace\""
        ),
        "{d:?}"
    );
    let front =
        "---\ntriggers:\n  - {kubernetes_event: {reasons: [A]}, slack: {keywords: [x]}}\n---\n";
    let d = lint(&format!("{front}{MINIMAL}"));
    assert!(has(&d, 3, Severity::Error, "exactly one"), "{d:?}");
}

#[test]
fn render_fills_parameters_and_leaves_foreign_templates_alone() {
    let text = "# T

## Overview

Investigate {{ namespace }}/{{ pod }} ({{ channel }}). Helm: `{{ .Values.image.tag }}`, unknown {{ other }}.

## Parameters

- **namespace** (required): ns
- **pod** (required): pod
- **channel** (optional, default: \"#incidents\"): where

## Steps

### 1. Look

```yaml
image: {{ namespace }}
```

```tool
kubectl.describe_pod: {namespace: \"{{ namespace }}\", name: \"{{ pod }}\", tail_lines: \"{{ trigger.event.count }}\", note: \"pod {{ pod }}\"}
```
";
    let (sop, diags) = parse("t", text);
    assert!(diags.is_empty(), "{diags:?}");
    let trigger = Trigger::from_payload(&json!({"kind": "Event", "reason": "BackOff", "count": 12,
        "involvedObject": {"kind": "Pod", "namespace": "payment", "name": "p-1"}}))
    .unwrap();
    let r = render(
        &sop,
        &params(&[("namespace", "payment"), ("pod", "p-1")]),
        Some(&trigger),
    )
    .unwrap();
    assert!(
        r.markdown.contains("Investigate payment/p-1 (#incidents)."),
        "{}",
        r.markdown
    );
    assert!(
        r.markdown.contains("`{{ .Values.image.tag }}`"),
        "{}",
        r.markdown
    );
    assert!(r.markdown.contains("unknown {{ other }}"), "{}", r.markdown);
    assert!(
        r.markdown.contains("image: {{ namespace }}"),
        "non-tool fences are untouched: {}",
        r.markdown
    );
    let call = &r.steps[0].calls[0];
    assert_eq!(
        call.args,
        json!({"namespace": "payment", "name": "p-1", "tail_lines": 12, "note": "pod p-1"})
    );
}

#[test]
fn render_errors_name_the_problem() {
    let (sop, _) = parse("t", MINIMAL);
    assert_eq!(
        render(&sop, &params(&[]), None).unwrap_err(),
        RenderError::MissingParameters(vec!["namespace".into()])
    );
    let err = render(&sop, &params(&[("namespace", "a"), ("pdo", "x")]), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown parameter pdo (this SOP declares: namespace)"),
        "{err}"
    );
    // A parameter's text cannot change a call's structure.
    let r = render(&sop, &params(&[("namespace", "a\", evil: \"b")]), None).unwrap();
    assert_eq!(
        r.steps[0].calls[0].args,
        json!({"namespace": "a\", evil: \"b"})
    );
    // A trigger field the run does not have is an error for tool blocks.
    let text = MINIMAL.replace("\"{{ namespace }}\"", "\"{{ trigger.alarm.name }}\"");
    let (sop, _) = parse("t", &text);
    let err = render(&sop, &params(&[("namespace", "a")]), None).unwrap_err();
    assert!(
        matches!(err, RenderError::ToolBlock { line: 15, .. }),
        "{err}"
    );
}

#[test]
fn shipped_sops_render_with_trigger_params() {
    let (sop, _) = parse_file(&repo().join("sops/pod-crashloop.sop.md"));
    let trigger = Trigger::from_payload(&json!({"kind": "Event", "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "namespace": "payment", "name": "payment-service-7d8f-xyz"}})).unwrap();
    let p = sopilot_sop::trigger_params(&sop, &trigger)
        .unwrap()
        .unwrap();
    assert_eq!(
        p,
        params(&[
            ("namespace", "payment"),
            ("pod", "payment-service-7d8f-xyz")
        ])
    );
    let r = render(&sop, &p, Some(&trigger)).unwrap();
    assert_eq!(
        r.steps[0].calls[0].args,
        json!({"namespace": "payment", "name": "payment-service-7d8f-xyz"})
    );
    assert!(
        r.markdown.contains("post the report to `#incidents`"),
        "{}",
        r.markdown
    );
}
