#!/usr/bin/env python3
"""The Helm chart (deploy/helm/sopilot) checked by Helm's own library (PyPI helm-python-sdk,
which embeds Helm v4's Go SDK): for the default values and for deploy/helm/values-production.yaml
it lints the chart, validates the values against values.schema.json and renders the templates,
writing each set's manifests to OUT/<set>.yaml; then it shows that bad values are refused (a
misspelt key, a rule granting Secrets, a writable root filesystem, a ReadWriteOnce volume shared
by two replicas). Prints one JSON object for the Rust test (agent/cli/tests/all/helm.rs), which
applies the manifests to the simulated Kubernetes API with the real kubectl. Exits non-zero on
any failure, naming it.

usage: helm_chart_check.py --chart deploy/helm/sopilot --production deploy/helm/values-production.yaml --out DIR
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

try:
    import helm_python as helm
except ImportError:
    sys.exit(
        "helm_python is missing: pip install 'helm-python-sdk>=0.2.2,<0.3' (scripts/test does)"
    )

RELEASE = "sopilot"
NAMESPACE = "sopilot"
KUBE_VERSION = "v1.33.0"
# Lint severities (helm_python.lint): 1 info, 2 warning, 3 error.
WARNING = 2


def read_values(path):
    """A values file as Helm reads one (`helm -f FILE`): through Helm's own loader, as the
    values of a throwaway chart."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = os.path.join(tmp, "values-reader")
        os.mkdir(chart)
        with open(os.path.join(chart, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: values-reader\nversion: 0.0.0\n")
        shutil.copyfile(path, os.path.join(chart, "values.yaml"))
        with helm.Chart.load(chart) as c:
            return c.values


def lint_findings(chart_dir, values):
    report = helm.lint(chart_dir, values, strict=True, namespace=NAMESPACE, kube_version=KUBE_VERSION)
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    return report, problems + [{"severity": 3, "path": "", "error": e} for e in report["errors"]]


def render_set(chart_dir, name, values, out_dir):
    """Lints, validates and renders one set of values; returns what the Rust test checks."""
    report, problems = lint_findings(chart_dir, values)
    if problems:
        raise SystemExit(f"helm lint of the {name} values found problems: {json.dumps(problems)}")
    with helm.Chart.load(chart_dir) as chart:
        chart.validate_schema(values)
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    documents = []
    for template in sorted(manifests):
        text = manifests[template].strip()
        if template.endswith("NOTES.txt") or not text:
            continue
        documents.append(f"# Source: {template}\n{text}")
    path = os.path.join(out_dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write("\n---\n".join(documents) + "\n")
    notes = next((t for n, t in manifests.items() if n.endswith("NOTES.txt")), "")
    return {
        "manifests": path,
        "lint": report["messages"],
        "templates": sorted(n for n, t in manifests.items() if t.strip()),
        "notes": notes,
    }


def refused(chart_dir, values, how):
    """The error Helm gives for values that must be refused (`how`: schema, template or render),
    or a failure when it accepts them."""
    if how == "schema":
        with helm.Chart.load(chart_dir) as chart:
            try:
                chart.validate_schema(values)
            except helm.HelmError as e:
                return str(e)
    elif how == "template":
        # The templates' own checks, with the schema out of the way (as with
        # --skip-schema-validation): a copy of the chart without values.schema.json. (`helm lint`
        # cannot show them: in lint mode Helm logs a template's `fail` instead of failing.)
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "sopilot")
            shutil.copytree(chart_dir, copy)
            os.remove(os.path.join(copy, "values.schema.json"))
            return refused(copy, values, "render")
    elif how == "render":
        with helm.Chart.load(chart_dir) as chart:
            try:
                chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
            except helm.HelmError as e:
                return str(e)
    raise SystemExit(f"Helm accepted values it must refuse ({how}): {json.dumps(values)}")


SECRETS_RULE = {"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get"]}
# Rules that reach Secrets another way: a ServiceAccount's token, a shell in a pod.
TOKEN_RULE = {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}
EXEC_RULE = {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}

REFUSALS = {
    "misspelt_top_level_key": ({"replicaCountt": 2}, "schema"),
    "misspelt_nested_key": ({"serviceMonitor": {"enabeld": True}}, "schema"),
    "wrong_type": ({"replicaCount": "two"}, "schema"),
    "secrets_rule_by_schema": ({"rbac": {"clusterRules": [SECRETS_RULE]}}, "schema"),
    "secrets_rule_by_template": ({"rbac": {"clusterRules": [SECRETS_RULE]}}, "template"),
    "token_rule_by_schema": ({"rbac": {"clusterRules": [TOKEN_RULE]}}, "schema"),
    "exec_rule_by_template": ({"rbac": {"clusterRules": [EXEC_RULE]}}, "template"),
    "writable_root_filesystem": (
        {"securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": False,
                             "runAsNonRoot": True}},
        "schema",
    ),
    "shared_readwriteonce_volume": ({"replicaCount": 2, "persistence": {"enabled": True}}, "render"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chart", required=True)
    ap.add_argument("--production", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sets = {
        "default": {},
        "production": read_values(args.production),
    }
    result = {
        "helm_sdk": helm.helm_sdk_version(),
        "helm_c": helm.helm_c_version(),
        "sets": {name: render_set(args.chart, name, values, args.out) for name, values in sets.items()},
        "refused": {case: refused(args.chart, values, how) for case, (values, how) in REFUSALS.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
