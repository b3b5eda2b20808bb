import ArgumentParser
import FleetCLIKit
import FleetGit
import FleetHelm
import FleetManifests
import FleetModel
import Foundation

extension BenchCommand {
    /// Renders a synthetic mid-size chart (the shape of `helm create` charts: helpers, a Deployment, Service,
    /// Ingress, HPA, …; 20 templates over the chart and 2 subcharts) in a loop on one thread, then loads it as
    /// 1,000 Applications' sources with a handful of distinct values, counting how many renders the cache lets through.
    struct RenderBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render a synthetic mid-size Helm chart: renders per second on one thread, and renders for 1,000 Applications sharing it."
        )

        @Option(help: "Seconds to render for.") var seconds: Double = 5
        @Option(help: "Applications that use the chart.") var apps: Int = 1000
        @Option(help: "Distinct values among them.") var distinct: Int = 10

        func run() throws {
            let files = SyntheticChart.files()
            var map: [String: [UInt8]] = [:]
            for (path, text) in files { map[path] = Array(text.utf8) }
            let chart = try ChartLoader.load(files: map, origin: "bench")
            let options = HelmRenderOptions(releaseName: "shop", namespace: "prod", valueFiles: [("prod.yaml", "replicaCount: 3\ningress:\n  enabled: true\n")],
                                            set: ["image.tag=1.4.2"], includeCRDs: true)
            let templates = files.filter { $0.0.contains("templates/") }.count
            let first = try HelmRenderer.render(chart, options: options)
            print("bench render: chart with \(templates) templates (\(chart.dependencies.count) subcharts), \(first.manifests.count) objects per render")
            var count = 0
            let start = Date()
            let cpuStart = clock()
            while Date().timeIntervalSince(start) < seconds {
                _ = try HelmRenderer.render(chart, options: options)
                count += 1
            }
            let elapsed = Date().timeIntervalSince(start)
            let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
            print(String(format: "  one thread: %d renders in %.2f s = %.0f renders/s (%.2f ms each, %.2f s CPU)", count, elapsed, Double(count) / elapsed,
                         elapsed / Double(count) * 1000, cpu))

            // 1,000 Applications of the chart in git, with `distinct` value sets and one release name.
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-render-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            for (path, text) in files {
                let url = root.appendingPathComponent("chart/" + path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            let loader = ManifestLoader(git: WorkingTreeGitSource(root: root), cache: ManifestCache())
            let loadStart = Date()
            var objects = 0
            for i in 0..<apps {
                let source: JSONValue = .object([("repoURL", .string(root.path)), ("path", "chart"),
                                                 ("helm", .object([("releaseName", "shop"), ("valuesObject", .object([("replicaCount", .int(1 + i % distinct))]))]))])
                objects += try loader.load(source: source, context: RenderContext(applicationName: "shop-\(i)", namespace: "prod"))?.objects.count ?? 0
            }
            let loadTime = Date().timeIntervalSince(loadStart)
            print(String(format: "  %d Applications, %d distinct values: %.2f s, %d objects, %d renders (cache: one per chart, values and revision)",
                         apps, distinct, loadTime, objects, loader.cache?.count ?? -1))
            print("  peak RSS: \(peakRSSMiB()) MiB")
        }
    }
}

/// A chart shaped like real ones: `helm create`'s templates and helpers, plus config, RBAC and two subcharts.
enum SyntheticChart {
    static func files() -> [(String, String)] {
        let helpers = """
        {{- define "app.name" -}}
        {{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
        {{- end }}
        {{- define "app.fullname" -}}
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
        {{- define "app.chart" -}}
        {{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
        {{- end }}
        {{- define "app.labels" -}}
        helm.sh/chart: {{ include "app.chart" . }}
        {{ include "app.selectorLabels" . }}
        app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
        app.kubernetes.io/managed-by: {{ .Release.Service }}
        {{- end }}
        {{- define "app.selectorLabels" -}}
        app.kubernetes.io/name: {{ include "app.name" . }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        {{- end }}
        {{- define "app.serviceAccountName" -}}
        {{- if .Values.serviceAccount.create }}
        {{- default (include "app.fullname" .) .Values.serviceAccount.name }}
        {{- else }}
        {{- default "default" .Values.serviceAccount.name }}
        {{- end }}
        {{- end }}
        """
        let values = """
        replicaCount: 1
        image: {repository: nginx, pullPolicy: IfNotPresent, tag: ""}
        imagePullSecrets: []
        nameOverride: ""
        fullnameOverride: ""
        serviceAccount: {create: true, annotations: {}, name: ""}
        podAnnotations: {prometheus.io/scrape: "true"}
        podSecurityContext: {fsGroup: 2000}
        securityContext: {readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: {drop: [ALL]}}
        service: {type: ClusterIP, port: 80}
        ingress:
          enabled: false
          className: nginx
          annotations: {cert-manager.io/cluster-issuer: letsencrypt}
          hosts: [{host: shop.example.com, paths: [{path: /, pathType: ImplementationSpecific}]}]
          tls: [{secretName: shop-tls, hosts: [shop.example.com]}]
        resources: {limits: {cpu: 500m, memory: 256Mi}, requests: {cpu: 100m, memory: 128Mi}}
        autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 80}
        nodeSelector: {}
        tolerations: []
        affinity: {}
        config: {LOG_LEVEL: info, FEATURE_X: "on", CACHE_TTL: "300", REGION: eu-west-1}
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        cache: {enabled: true}
        worker: {enabled: true}
        """
        var files: [(String, String)] = [
            ("Chart.yaml", "apiVersion: v2\nname: shop\nversion: 1.4.0\nappVersion: \"1.4.2\"\ndependencies:\n- {name: cache, version: 0.x, condition: cache.enabled}\n- {name: worker, version: 0.x, condition: worker.enabled}\n"),
            ("values.yaml", values),
            ("templates/_helpers.tpl", helpers),
            ("templates/NOTES.txt", "Visit http://{{ (index .Values.ingress.hosts 0).host }}\n"),
            ("templates/serviceaccount.yaml", """
            {{- if .Values.serviceAccount.create -}}
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: {{ include "app.serviceAccountName" . }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
              {{- with .Values.serviceAccount.annotations }}
              annotations:
                {{- toYaml . | nindent 4 }}
              {{- end }}
            {{- end }}
            """),
            ("templates/service.yaml", """
            apiVersion: v1
            kind: Service
            metadata:
              name: {{ include "app.fullname" . }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
            spec:
              type: {{ .Values.service.type }}
              ports:
                - port: {{ .Values.service.port }}
                  targetPort: http
                  protocol: TCP
                  name: http
              selector:
                {{- include "app.selectorLabels" . | nindent 4 }}
            """),
            ("templates/deployment.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {{ include "app.fullname" . }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
            spec:
              {{- if not .Values.autoscaling.enabled }}
              replicas: {{ .Values.replicaCount }}
              {{- end }}
              selector:
                matchLabels:
                  {{- include "app.selectorLabels" . | nindent 6 }}
              template:
                metadata:
                  annotations:
                    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
                    {{- with .Values.podAnnotations }}
                    {{- toYaml . | nindent 8 }}
                    {{- end }}
                  labels:
                    {{- include "app.selectorLabels" . | nindent 8 }}
                spec:
                  {{- with .Values.imagePullSecrets }}
                  imagePullSecrets:
                    {{- toYaml . | nindent 8 }}
                  {{- end }}
                  serviceAccountName: {{ include "app.serviceAccountName" . }}
                  securityContext:
                    {{- toYaml .Values.podSecurityContext | nindent 8 }}
                  containers:
                    - name: {{ .Chart.Name }}
                      securityContext:
                        {{- toYaml .Values.securityContext | nindent 12 }}
                      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
                      imagePullPolicy: {{ .Values.image.pullPolicy }}
                      envFrom: [{configMapRef: {name: {{ include "app.fullname" . }}}}]
                      env:
                        {{- range .Values.env }}
                        - name: {{ .name }}
                          value: {{ .value | quote }}
                        {{- end }}
                      ports:
                        - name: http
                          containerPort: {{ .Values.service.port }}
                          protocol: TCP
                      livenessProbe: {httpGet: {path: /, port: http}}
                      readinessProbe: {httpGet: {path: /, port: http}}
                      resources:
                        {{- toYaml .Values.resources | nindent 12 }}
                  {{- with .Values.nodeSelector }}
                  nodeSelector:
                    {{- toYaml . | nindent 8 }}
                  {{- end }}
            """),
            ("templates/configmap.yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {{ include "app.fullname" . }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
            data:
              {{- range $k, $v := .Values.config }}
              {{ $k }}: {{ $v | quote }}
              {{- end }}
            """),
            ("templates/hpa.yaml", """
            {{- if .Values.autoscaling.enabled }}
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata:
              name: {{ include "app.fullname" . }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ include "app.fullname" . }}}
              minReplicas: {{ .Values.autoscaling.minReplicas }}
              maxReplicas: {{ .Values.autoscaling.maxReplicas }}
              metrics:
                - type: Resource
                  resource: {name: cpu, target: {type: Utilization, averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}}}
            {{- end }}
            """),
            ("templates/ingress.yaml", """
            {{- if .Values.ingress.enabled -}}
            {{- $fullName := include "app.fullname" . -}}
            {{- $svcPort := .Values.service.port -}}
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: {{ $fullName }}
              labels:
                {{- include "app.labels" . | nindent 4 }}
              {{- with .Values.ingress.annotations }}
              annotations:
                {{- toYaml . | nindent 4 }}
              {{- end }}
            spec:
              {{- if and .Values.ingress.className (semverCompare ">=1.18-0" .Capabilities.KubeVersion.GitVersion) }}
              ingressClassName: {{ .Values.ingress.className }}
              {{- end }}
              tls:
                {{- range .Values.ingress.tls }}
                - hosts:
                    {{- range .hosts }}
                    - {{ . | quote }}
                    {{- end }}
                  secretName: {{ .secretName }}
                {{- end }}
              rules:
                {{- range .Values.ingress.hosts }}
                - host: {{ .host | quote }}
                  http:
                    paths:
                      {{- range .paths }}
                      - path: {{ .path }}
                        pathType: {{ .pathType }}
                        backend: {service: {name: {{ $fullName }}, port: {number: {{ $svcPort }}}}}
                      {{- end }}
                {{- end }}
            {{- end }}
            """),
            ("templates/role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {{ include \"app.fullname\" . }}\n  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\nrules:\n- {apiGroups: [\"\"], resources: [configmaps], verbs: [get, list, watch]}\n"),
            ("templates/rolebinding.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {{ include \"app.fullname\" . }}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: {{ include \"app.fullname\" . }}}\nsubjects:\n- {kind: ServiceAccount, name: {{ include \"app.serviceAccountName\" . }}, namespace: {{ .Release.Namespace }}}\n"),
            ("templates/pdb.yaml", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ include \"app.fullname\" . }}\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {{- include \"app.selectorLabels\" . | nindent 6 }}\n"),
            ("templates/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include \"app.fullname\" . }}\ntype: Opaque\ndata:\n  token: {{ printf \"%s-%s\" .Release.Name .Chart.Version | b64enc | quote }}\n"),
            ("templates/networkpolicy.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {{ include \"app.fullname\" . }}\nspec:\n  podSelector:\n    matchLabels:\n      {{- include \"app.selectorLabels\" . | nindent 6 }}\n  policyTypes: [Ingress]\n"),
            ("templates/tests/test-connection.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{{ include \"app.fullname\" . }}-test\"\n  annotations: {\"helm.sh/hook\": test}\nspec:\n  containers: [{name: wget, image: busybox, command: [wget], args: ['{{ include \"app.fullname\" . }}:{{ .Values.service.port }}']}]\n  restartPolicy: Never\n"),
        ]
        for sub in ["cache", "worker"] {
            files += [
                ("charts/\(sub)/Chart.yaml", "apiVersion: v2\nname: \(sub)\nversion: 0.3.0\n"),
                ("charts/\(sub)/values.yaml", "replicas: 1\nimage: \(sub):2\nport: 6379\n"),
                ("charts/\(sub)/templates/_helpers.tpl", "{{- define \"\(sub).name\" -}}{{ .Release.Name }}-\(sub){{- end }}\n"),
                ("charts/\(sub)/templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"\(sub).name\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: {{ include \"\(sub).name\" . }}}}\n  template:\n    metadata: {labels: {app: {{ include \"\(sub).name\" . }}}}\n    spec: {containers: [{name: main, image: {{ .Values.image | quote }}, ports: [{containerPort: {{ .Values.port }}}]}]}\n"),
                ("charts/\(sub)/templates/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"\(sub).name\" . }}\nspec:\n  ports: [{port: {{ .Values.port }}}]\n  selector: {app: {{ include \"\(sub).name\" . }}}\n"),
            ]
        }
        return files
    }
}
