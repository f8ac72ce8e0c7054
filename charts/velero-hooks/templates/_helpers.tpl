{{/* Chart name, overridable. */}}
{{- define "velero-hooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full resource name prefix: release name, plus the chart name unless the release name already contains it. */}}
{{- define "velero-hooks.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "velero-hooks.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "velero-hooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "velero-hooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "velero-hooks.labels" -}}
helm.sh/chart: {{ include "velero-hooks.chart" . }}
{{ include "velero-hooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: velero-hooks
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "velero-hooks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "velero-hooks.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "velero-hooks.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding tls.crt/tls.key that the server reads. */}}
{{- define "velero-hooks.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret.name is required when certificates.mode is existingSecret" .Values.certificates.existingSecret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "velero-hooks.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* DNS name the API server uses to reach the Service. */}}
{{- define "velero-hooks.serviceDNS" -}}
{{- printf "%s.%s.svc" (include "velero-hooks.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* Rendered server configuration (the ConfigMap's config.yaml). */}}
{{- define "velero-hooks.config" -}}
normalize:
  pinContainer: {{ .Values.config.normalize.pinContainer }}
  jsonCommand: {{ .Values.config.normalize.jsonCommand }}
  explicitDefaults: {{ .Values.config.normalize.explicitDefaults }}
  migrateLegacy: {{ .Values.config.normalize.migrateLegacy }}
veleroVersion: {{ .Values.config.veleroVersion | quote }}
{{- end -}}

{{/*
Namespaces never sent to the webhook: the release namespace (the webhook must
not guard its own pods) and kube-system, plus the user's list.
*/}}
{{- define "velero-hooks.excludedNamespaces" -}}
{{- $ns := list .Release.Namespace "kube-system" -}}
{{- range .Values.webhook.excludeNamespaces -}}
{{- $ns = append $ns . -}}
{{- end -}}
{{- toJson (uniq $ns) -}}
{{- end -}}

{{/*
Namespaces whose Velero objects (Backups, Schedules, Restores) are never sent:
kube-system and webhook.excludeNamespaces, but not the release namespace,
which is often Velero's own namespace. The release namespace is left out of
the pod entries so the webhook's own pods can always start; it serves no
Velero objects, so checking them there cannot lock it out.
*/}}
{{- define "velero-hooks.excludedVeleroNamespaces" -}}
{{- $ns := list "kube-system" -}}
{{- range .Values.webhook.excludeNamespaces -}}
{{- $ns = append $ns . -}}
{{- end -}}
{{- toJson (uniq $ns) -}}
{{- end -}}

{{/*
namespaceSelector for one webhook entry. Argument: dict with "root" (the
top-level context) and "modes" (the namespace modes the entry serves, a
subset of enforce/warn/off). A namespace without the mode label, or with an
unknown value, has webhook.defaultMode.
*/}}
{{- define "velero-hooks.namespaceSelector" -}}
{{- $root := .root -}}
{{- $modes := .modes -}}
{{- $all := list "enforce" "warn" "off" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ if .veleroObjects }}{{ include "velero-hooks.excludedVeleroNamespaces" $root }}{{ else }}{{ include "velero-hooks.excludedNamespaces" $root }}{{ end }}
{{- if has $root.Values.webhook.defaultMode $modes }}
{{- /* Unlabelled namespaces are in: exclude the explicit other modes. */}}
{{- $others := list -}}
{{- range $all -}}
{{- if not (has . $modes) -}}
{{- $others = append $others . -}}
{{- end -}}
{{- end }}
  - key: {{ $root.Values.webhook.modeLabel }}
    operator: NotIn
    values: {{ toJson $others }}
{{- else }}
  - key: {{ $root.Values.webhook.modeLabel }}
    operator: In
    values: {{ toJson $modes }}
{{- end }}
{{- with $root.Values.webhook.namespaceSelectorExpressions }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/*
Rules: every kind whose pod metadata carries Velero hooks, on CREATE and
UPDATE. Keep in sync with ci/registered-rules.json (a test checks).
*/}}
{{- define "velero-hooks.rules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["pods", "podtemplates", "replicationcontrollers"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["jobs", "cronjobs"]
  scope: Namespaced
{{- end -}}

{{/*
Rules for Velero's own objects: their spec.hooks (a Schedule's
spec.template.hooks). Keep in sync with ci/registered-rules.json.
*/}}
{{- define "velero-hooks.veleroRules" -}}
- apiGroups: ["velero.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["backups", "schedules", "restores"]
  scope: Namespaced
{{- end -}}

{{/*
CEL for Velero's objects: only those with hooks are sent. A Schedule keeps
its Backups' spec in spec.template (schedule_types.go), Backups and Restores
in spec. has() of a field whose parent is missing is an evaluation error, so
every parent is guarded. An UPDATE that removes every hook is not sent
(nothing left to check). Backups made from a Schedule (label
velero.io/schedule-name, set by Velero's backup builder FromSchedule) carry
the Schedule's hooks, checked when the Schedule was written: like
controller-made objects they are skipped with webhook.skipControllerOwned, so
a Schedule admitted before the webhook keeps producing its Backups.
*/}}
{{- define "velero-hooks.veleroMatchConditions" -}}
- name: has-spec-hooks
  expression: {{ "has(object.spec) && (request.kind.kind == 'Schedule' ? (has(object.spec.template) && has(object.spec.template.hooks)) : has(object.spec.hooks))" | quote }}
{{- if .Values.webhook.skipControllerOwned }}
- name: not-controller-owned
  expression: {{ "!(has(object.metadata) && has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller == true))" | quote }}
- name: not-made-from-a-schedule
  expression: {{ "!(request.kind.kind == 'Backup' && has(object.metadata) && has(object.metadata.labels) && 'velero.io/schedule-name' in object.metadata.labels)" | quote }}
{{- end }}
{{- end -}}

{{/*
CEL: true when one of the annotation maps that can hold Velero hooks has a
key containing one of webhook.annotationKeyContains. Every step is guarded
with has(): a missing field must give false, not an evaluation error (which
the API server would treat as a webhook failure). Paths:
  metadata.annotations                                 every kind (Pod's hooks; misplaced hooks on workloads)
  template.metadata.annotations                        PodTemplate
  spec.template.metadata.annotations                   Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job
  spec.jobTemplate.spec.template.metadata.annotations  CronJob
*/}}
{{- define "velero-hooks.celKeyTest" -}}
{{- $tests := list -}}
{{- range .Values.webhook.annotationKeyContains -}}
{{- $tests = append $tests (printf "k.contains('%s')" .) -}}
{{- end -}}
{{- join " || " $tests -}}
{{- end -}}

{{- define "velero-hooks.celHasHookAnnotations" -}}
{{- $k := include "velero-hooks.celKeyTest" . -}}
(has(object.metadata) && has(object.metadata.annotations) && object.metadata.annotations.exists(k, {{ $k }})) ||
(has(object.template) && has(object.template.metadata) && has(object.template.metadata.annotations) && object.template.metadata.annotations.exists(k, {{ $k }})) ||
(has(object.spec) && has(object.spec.template) && has(object.spec.template.metadata) && has(object.spec.template.metadata.annotations) && object.spec.template.metadata.annotations.exists(k, {{ $k }})) ||
(has(object.spec) && has(object.spec.jobTemplate) && has(object.spec.jobTemplate.spec) && has(object.spec.jobTemplate.spec.template) && has(object.spec.jobTemplate.spec.template.metadata) && has(object.spec.jobTemplate.spec.template.metadata.annotations) && object.spec.jobTemplate.spec.template.metadata.annotations.exists(k, {{ $k }}))
{{- end -}}

{{- define "velero-hooks.matchConditions" -}}
- name: has-velero-annotations
  expression: |-
{{ include "velero-hooks.celHasHookAnnotations" . | indent 4 }}
{{- if .Values.webhook.skipControllerOwned }}
- name: not-controller-owned
  expression: {{ "!(has(object.metadata) && has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller == true))" | quote }}
{{- end }}
{{- end -}}

{{/* clientConfig for a webhook path. Argument: dict root, path. */}}
{{- define "velero-hooks.clientConfig" -}}
service:
  name: {{ include "velero-hooks.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: {{ .root.Values.service.port }}
{{- with .caBundle }}
caBundle: {{ . }}
{{- end }}
{{- end -}}
