#!/usr/bin/env python3
"""Writes the output of `sopilot rbac --format helm-values` (the rules the default
configuration's tools need) into values.yaml's rbac.clusterRules, keeping the comments around
it. agent/cli/tests/all/helm.rs fails when they differ and names this script.

    python3 deploy/helm/sync-rbac.py [path/to/sopilot]
"""
import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
binary = sys.argv[1] if len(sys.argv) > 1 else "sopilot"
generated = subprocess.run(
    [binary, "rbac", "--format", "helm-values"], check=True, capture_output=True, text=True
).stdout
rules = generated.split("  clusterRules:\n", 1)[1]
values = here / "sopilot" / "values.yaml"
text = values.read_text()
start = text.index("  clusterRules:\n") + len("  clusterRules:\n")
end = text.index("\n\n", start) + 1
values.write_text(text[:start] + rules + text[end:])
print(f"{values}: rbac.clusterRules now the {rules.count('- apiGroups')} rules of `sopilot rbac`")
