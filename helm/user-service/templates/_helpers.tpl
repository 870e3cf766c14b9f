{{/*
Chart name, truncated to the 63 characters a DNS label allows.
*/}}
{{- define "user-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name; the release name alone when it already contains the chart name.
*/}}
{{- define "user-service.fullname" -}}
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

{{- define "user-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "user-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "user-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "user-service.labels" -}}
helm.sh/chart: {{ include "user-service.chart" . }}
{{ include "user-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "user-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "user-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Secret with the connection URLs and signing keys.
*/}}
{{- define "user-service.secretName" -}}
{{- default (include "user-service.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "user-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Writable /tmp for a read-only root filesystem.
*/}}
{{- define "user-service.tmpVolume" -}}
- name: tmp
  {{- with get .Values.tmpVolume "sizeLimit" }}
  emptyDir:
    sizeLimit: {{ . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}

{{/*
The ConfigMap's data: config merged with extraConfig (extraConfig wins), and
over both the settings the chart owns (the schema refuses them in config):
PORT, MIGRATIONS_ON_START (off while the migration hook Job runs the migrations)
and ADMIN_CONSOLE_ENABLED. A map of strings: whole numbers given unquoted would
otherwise print as floats (2.592e+06).
*/}}
{{- define "user-service.configData" -}}
{{- $managed := dict "PORT" (.Values.containerPort | int | toString) "MIGRATIONS_ON_START" (ternary "false" "true" .Values.migrations.job.enabled) "ADMIN_CONSOLE_ENABLED" (.Values.adminConsole.enabled | toString) }}
{{- $data := merge $managed (deepCopy .Values.extraConfig) (deepCopy .Values.config) }}
{{- range $key, $value := $data }}
{{- if kindIs "float64" $value }}
{{ $key }}: {{ $value | int64 | toString | quote }}
{{- else }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Combinations of values that values.schema.json cannot express; fails the
render with a line that names the values.
*/}}
{{- define "user-service.validate" -}}
{{- if and .Values.secret.create .Values.secret.existingSecret }}
{{- fail "secret.create and secret.existingSecret exclude each other: either the chart creates the Secret or it uses yours" }}
{{- end }}
{{- with .Values.autoscaling }}
{{- if and .enabled (lt (int .maxReplicas) (int .minReplicas)) }}
{{- fail (printf "autoscaling.maxReplicas (%d) must be at least autoscaling.minReplicas (%d)" (int .maxReplicas) (int .minReplicas)) }}
{{- end }}
{{- if and .enabled (not .targetCPUUtilizationPercentage) (not .targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling needs autoscaling.targetCPUUtilizationPercentage or autoscaling.targetMemoryUtilizationPercentage above 0" }}
{{- end }}
{{- end }}
{{- end }}
