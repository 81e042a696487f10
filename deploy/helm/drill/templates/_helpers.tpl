{{/* Names and labels, as `helm create` makes them. */}}
{{- define "drill.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "drill.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "drill.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drill.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "drill.labels" -}}
{{ include "drill.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "drill.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "drill.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "drill.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Where the scenarios are, inside the pod. */}}
{{- define "drill.scenarioPath" -}}
{{- if .Values.scenarios.git.url -}}
/scenarios/repo/{{ .Values.scenarios.git.path }}
{{- else -}}
/scenarios
{{- end -}}
{{- end -}}

{{/* The results folder or URL drill writes to (DRILL_RESULTS). */}}
{{- define "drill.resultsEnv" -}}
- name: DRILL_RESULTS
  value: {{ default "/results" .Values.results.url | quote }}
{{- if .Values.results.url }}
{{- /* The local mirror of the bucket: the pod's /results volume. */}}
- name: DRILL_CACHE_DIR
  value: /results/mirror
{{- end }}
{{- end -}}

{{- define "drill.resultsVolume" -}}
- name: results
{{- if .Values.results.persistentVolumeClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.results.persistentVolumeClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "drill.envFrom" -}}
{{- if or .Values.scenarios.envFromSecret .Values.results.credentialsSecret }}
envFrom:
{{- with .Values.scenarios.envFromSecret }}
  - secretRef: {name: {{ . }}}
{{- end }}
{{- with .Values.results.credentialsSecret }}
  - secretRef: {name: {{ . }}}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The pod of a drill run: .root is the chart's context, .component names
the pod, .shards the number of shards (0 or 1: none), .args the extra
arguments of `drill run`.
*/}}
{{- define "drill.runPod" -}}
{{- $ := .root -}}
metadata:
  labels:
    {{- include "drill.selectorLabels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  {{- with $.Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "drill.serviceAccountName" $ }}
  # A failed pod is a result (podFailurePolicy), never restarted in place.
  restartPolicy: Never
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  {{- if $.Values.scenarios.git.url }}
  initContainers:
    - name: scenarios
      image: {{ include "drill.image" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      command: [bash, -euo, pipefail, -c]
      args:
        - git clone --quiet --depth=1 ${SCENARIOS_REF:+--branch="$SCENARIOS_REF"} -- "$SCENARIOS_GIT" /scenarios/repo
      env:
        - {name: SCENARIOS_GIT, value: {{ $.Values.scenarios.git.url | quote }}}
        - {name: SCENARIOS_REF, value: {{ $.Values.scenarios.git.ref | quote }}}
        - {name: GIT_TERMINAL_PROMPT, value: "0"}
      {{- include "drill.envFrom" $ | nindent 6 }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      volumeMounts:
        - {name: scenarios, mountPath: /scenarios}
  {{- end }}
  containers:
    - name: drill
      image: {{ include "drill.image" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        - run
        - --trigger=schedule
        {{- if gt (int .shards) 1 }}
        - --shards={{ .shards }}
        {{- end }}
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        - {{ include "drill.scenarioPath" $ }}
      env:
        {{- include "drill.resultsEnv" $ | nindent 8 }}
        - {name: CI, value: "true"}
        {{- with $.Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- include "drill.envFrom" $ | nindent 6 }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      {{- with $.Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - {name: scenarios, mountPath: /scenarios}
        - {name: results, mountPath: /results}
        - {name: tmp, mountPath: /tmp}
  volumes:
    {{- if $.Values.scenarios.git.url }}
    - name: scenarios
      emptyDir: {}
    {{- else }}
    - name: scenarios
      configMap:
        name: {{ include "drill.fullname" $ }}-scenarios
    {{- end }}
    {{- include "drill.resultsVolume" $ | nindent 4 }}
    - name: tmp
      emptyDir: {}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
Exit codes (docs/contract.md 7): 1, 2 and 4 are the drill's own results,
recorded and not retried; 3 (the environment) and a disrupted pod are
retried. .indexed fails only the shard's index (backoffLimitPerIndex).
*/}}
{{- define "drill.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: {{ if .indexed }}FailIndex{{ else }}FailJob{{ end }}
      onExitCodes:
        containerName: drill
        operator: In
        values: [1, 2, 4]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
{{- end -}}
