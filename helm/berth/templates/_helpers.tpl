{{/*
Names, labels and the shared pieces of every Berth service.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart> (the release name alone when it already contains the chart name), or fullnameOverride. */}}
{{- define "berth.fullname" -}}
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
{{- define "berth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "berth.labels" -}}
helm.sh/chart: {{ include "berth.chart" . }}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: berth
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The labels that select the release's pods. */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one service's resources. Call with (dict "root" $ "app" "registry-frontend"). */}}
{{- define "berth.componentLabels" -}}
{{ include "berth.labels" .root }}
app.kubernetes.io/component: {{ .app }}
{{- end }}

{{/* Selector of one service's pods. Call with (dict "root" $ "app" "registry-frontend"). */}}
{{- define "berth.componentSelectorLabels" -}}
{{ include "berth.selectorLabels" .root }}
app.kubernetes.io/component: {{ .app }}
{{- end }}

{{/*
<fullname>-<app>: the name of one service's Deployment, Service, PDB and HPA (and of the migrate Job, the
ConfigMap and the test pod). The full name is shortened, never the suffix, so names stay distinct and
within 63 characters.
*/}}
{{- define "berth.componentName" -}}
{{- $prefix := include "berth.fullname" .root | trunc (int (sub 62 (len .app))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix .app }}
{{- end }}

{{/*
The six services: values key -> app (apps/<app>/src/main.ts). Use with fromYaml.
*/}}
{{- define "berth.services" -}}
frontend: registry-frontend
tokenService: token-service
metadataService: metadata-service
replicationWorker: replication-worker
webhookDispatcher: webhook-dispatcher
scanWorker: scan-worker
{{- end }}

{{/*
One service's values: `defaults` overlaid with the service's own block. Call with
(dict "root" $ "key" "frontend") and read with fromYaml.
*/}}
{{- define "berth.serviceValues" -}}
{{- $own := index .root.Values .key | default dict }}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $own)) }}
{{- end }}

{{/* The image reference (the digest wins over the tag). */}}
{{- define "berth.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding the secret settings: existingSecret, or the chart's own. */}}
{{- define "berth.secretName" -}}
{{- .Values.existingSecret | default (include "berth.fullname" .) }}
{{- end }}

{{/* The ServiceAccount of the services. */}}
{{- define "berth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "berth.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
BERTH_BOOTSTRAP_CLIENT_ID: config.bootstrapClientId, or a GUID derived from the namespace and release name
(stable across upgrades, so every replica of every service agrees on the operator principal).
*/}}
{{- define "berth.bootstrapClientId" -}}
{{- if .Values.config.bootstrapClientId }}
{{- .Values.config.bootstrapClientId | lower }}
{{- else }}
{{- $h := sha256sum (printf "berth-bootstrap-client/%s/%s" .Release.Namespace .Release.Name) }}
{{- printf "%s-%s-4%s-8%s-%s" (substr 0 8 $h) (substr 8 12 $h) (substr 13 16 $h) (substr 17 20 $h) (substr 20 32 $h) }}
{{- end }}
{{- end }}

{{/* The host of the management and identity endpoints. */}}
{{- define "berth.managementHost" -}}
{{- if .Values.ingress.managementHost }}
{{- .Values.ingress.managementHost }}
{{- else if .Values.config.publicUrl }}
{{- (split ":" (urlParse .Values.config.publicUrl).host)._0 }}
{{- else }}
{{- .Values.config.loginSuffix }}
{{- end }}
{{- end }}

{{/* BERTH_PUBLIC_URL: config.publicUrl, else derived from the Ingress, else empty (the service default). */}}
{{- define "berth.publicUrl" -}}
{{- if .Values.config.publicUrl }}
{{- .Values.config.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) (include "berth.managementHost" .) }}
{{- end }}
{{- end }}

{{/* Whether the pods serve HTTPS themselves. */}}
{{- define "berth.scheme" -}}
{{- if eq .Values.config.tls "off" }}http{{ else }}https{{ end }}
{{- end }}

{{/* BERTH_TLS_CERT / BERTH_TLS_KEY: the configured paths, else the tlsSecretName mount. */}}
{{- define "berth.tlsCert" -}}
{{- .Values.config.tlsCert | default (ternary "/etc/berth/tls/tls.crt" "" (ne .Values.config.tlsSecretName "")) }}
{{- end }}
{{- define "berth.tlsKey" -}}
{{- .Values.config.tlsKey | default (ternary "/etc/berth/tls/tls.key" "" (ne .Values.config.tlsSecretName "")) }}
{{- end }}

{{/*
The secret settings every service reads (config validation needs them in every process, whatever the
service uses): env entries taken from the Secret. The keys are the env names.
*/}}
{{- define "berth.secretEnv" -}}
{{- $keys := list "BERTH_DATABASE_URL" }}
{{- if eq .Values.config.blobDriver "s3" }}
{{- $keys = concat $keys (list "BERTH_S3_ACCESS_KEY" "BERTH_S3_SECRET_KEY") }}
{{- end }}
{{- if eq .Values.config.cache "redis" }}
{{- $keys = append $keys "BERTH_REDIS_URL" }}
{{- end }}
{{- $keys = append $keys "BERTH_BOOTSTRAP_CLIENT_SECRET" }}
{{- $keys = append $keys "BERTH_MASTER_KEY" }}
{{- $secret := include "berth.secretName" . }}
{{- range $keys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- end }}

{{/* Settings that are required but empty in these values: listed by NOTES.txt. */}}
{{- define "berth.missingSettings" -}}
{{- $missing := list }}
{{- if not .Values.existingSecret }}
{{- if not .Values.secrets.databaseUrl }}{{ $missing = append $missing "BERTH_DATABASE_URL (secrets.databaseUrl)" }}{{ end }}
{{- if and (eq .Values.config.blobDriver "s3") (not .Values.secrets.s3AccessKey) }}{{ $missing = append $missing "BERTH_S3_ACCESS_KEY (secrets.s3AccessKey)" }}{{ end }}
{{- if and (eq .Values.config.blobDriver "s3") (not .Values.secrets.s3SecretKey) }}{{ $missing = append $missing "BERTH_S3_SECRET_KEY (secrets.s3SecretKey)" }}{{ end }}
{{- if and (eq .Values.config.cache "redis") (not .Values.secrets.redisUrl) }}{{ $missing = append $missing "BERTH_REDIS_URL (secrets.redisUrl)" }}{{ end }}
{{- end }}
{{- if and (eq .Values.config.blobDriver "s3") (not .Values.config.s3Endpoint) }}{{ $missing = append $missing "BERTH_S3_ENDPOINT (config.s3Endpoint)" }}{{ end }}
{{- if and (eq .Values.config.blobDriver "fs") (not .Values.fsBlobs.existingClaim) }}{{ $missing = append $missing "fsBlobs.existingClaim (a ReadWriteMany claim for BERTH_BLOB_DRIVER=fs)" }}{{ end }}
{{- if not .Values.config.kafkaBrokers }}{{ $missing = append $missing "BERTH_KAFKA_BROKERS (config.kafkaBrokers)" }}{{ end }}
{{- if and (eq .Values.config.tls "files") (not (and (include "berth.tlsCert" .) (include "berth.tlsKey" .))) }}{{ $missing = append $missing "BERTH_TLS_CERT/BERTH_TLS_KEY (config.tlsSecretName or config.tlsCert/tlsKey)" }}{{ end }}
{{- toYaml $missing }}
{{- end }}
