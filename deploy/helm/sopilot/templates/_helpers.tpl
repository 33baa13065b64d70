{{/* The chart name, or nameOverride. */}}
{{- define "sopilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resources' name: fullnameOverride, else the release name (with the chart name unless it holds it). */}}
{{- define "sopilot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "sopilot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels every object carries. */}}
{{- define "sopilot.labels" -}}
helm.sh/chart: {{ include "sopilot.chart" . }}
{{ include "sopilot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the pods (never change them after an install). */}}
{{- define "sopilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sopilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "sopilot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sopilot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the environment comes from, if any. */}}
{{- define "sopilot.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.create }}
{{- include "sopilot.fullname" . }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: leaderElection.enabled, or (null) more than one replica. */}}
{{- define "sopilot.leaderElection" -}}
{{- $on := .Values.leaderElection.enabled }}
{{- if kindIs "bool" $on }}
{{- if $on }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true
{{- end }}
{{- end }}

{{/* The leader election Lease's name. */}}
{{- define "sopilot.leaseName" -}}
{{- printf "%s-leader" (include "sopilot.fullname" .) }}
{{- end }}

{{/* Where the pod keeps the store. */}}
{{- define "sopilot.dataDir" -}}/var/lib/sopilot{{- end }}

{{/*
sopilot.yaml: .Values.config with what the chart decides (the store, the listen address, the
mounted SOPs and policies, leader election).
*/}}
{{- define "sopilot.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $serve := get $config "serve" | default dict }}
{{- $_ := set $config "store" (printf "%s/sopilot.db" (include "sopilot.dataDir" .)) }}
{{- $_ := set $serve "listen" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- if .Values.sops }}
{{- $_ := set $serve "sops" (append (get $serve "sops" | default list) "/etc/sopilot/sops") }}
{{- end }}
{{- if .Values.policies }}
{{- $_ := set $serve "policy" (list "/etc/sopilot/policies") }}
{{- end }}
{{- if include "sopilot.leaderElection" . }}
{{- $le := .Values.leaderElection }}
{{- $_ := set $serve "leader_election" (dict "enabled" true "namespace" .Release.Namespace "name" (include "sopilot.leaseName" .) "lease_duration" $le.leaseDuration "renew_deadline" $le.renewDeadline "retry_period" $le.retryPeriod) }}
{{- end }}
{{- $_ := set $config "serve" $serve }}
{{- toYaml $config }}
{{- end }}

{{/*
Refuses ClusterRole rules that would grant Secrets (the schema refuses them too; this holds
with --skip-schema-validation).
*/}}
{{- define "sopilot.checkRules" -}}
{{- range $i, $rule := .Values.rbac.clusterRules }}
{{- range $rule.resources }}
{{- if or (eq . "secrets") (eq . "*") (hasPrefix "secrets/" .) }}
{{- fail (printf "rbac.clusterRules[%d] grants %q: SOPilot never needs Secrets; remove it (regenerate the rules with `sopilot rbac --format helm-values`)" $i .) }}
{{- end }}
{{- if has . (list "serviceaccounts/token" "pods/exec" "pods/attach" "pods/portforward" "nodes/proxy" "services/proxy") }}
{{- fail (printf "rbac.clusterRules[%d] grants %q, which reaches Secrets another way: SOPilot never needs it; remove it (regenerate the rules with `sopilot rbac --format helm-values`)" $i .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
