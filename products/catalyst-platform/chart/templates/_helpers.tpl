{{/* Labels every object of the chart carries. */}}
{{- define "catalyst-platform.labels" -}}
app.kubernetes.io/part-of: catalyst-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* An image reference: `global.imageRegistry` (a Sovereign's own Harbor, set through its values) or the component's registry, then repository:tag. */}}
{{- define "catalyst-platform.image" -}}
{{- $registry := .global.imageRegistry | default .image.registry -}}
{{- printf "%s/%s:%s" $registry .image.repository (.image.tag | default .appVersion) -}}
{{- end -}}
