import FleetConfig
import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

/// A chart repository served on loopback by a real HTTP server (python3's http.server with basic auth).
final class LoopbackChartRepository: @unchecked Sendable {
    let dir: URL
    let process: Process
    let port: Int

    init(user: String, password: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-charts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("src/web/templates"), withIntermediateDirectories: true)
        let script = """
        import base64, http.server, os, socket, sys
        root, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
        want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        class H(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
            def log_message(self, *a): pass
            def do_GET(self):
                if self.headers.get("Authorization") != want:
                    self.send_response(401); self.send_header("WWW-Authenticate", "Basic"); self.end_headers(); return
                super().do_GET()
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        try script.write(to: dir.appendingPathComponent("serve.py"), atomically: true, encoding: .utf8)
        // The chart: a Deployment whose replicas come from values, published as web-1.2.0.tgz.
        try "apiVersion: v2\nname: web\nversion: 1.2.0\n".write(to: dir.appendingPathComponent("src/web/Chart.yaml"), atomically: true, encoding: .utf8)
        try "replicas: 1\n".write(to: dir.appendingPathComponent("src/web/values.yaml"), atomically: true, encoding: .utf8)
        try """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{ .Release.Name }}-web}
        spec:
          replicas: {{ .Values.replicas }}
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: "nginx:1.27"}]}
        """.write(to: dir.appendingPathComponent("src/web/templates/deploy.yaml"), atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", dir.appendingPathComponent("web-1.2.0.tgz").path, "-C", dir.appendingPathComponent("src").path, "web"]
        try tar.run()
        tar.waitUntilExit()
        try """
        apiVersion: v1
        entries:
          web:
          - {name: web, version: 1.2.0, urls: [web-1.2.0.tgz]}
          - {name: web, version: 0.9.0, urls: [web-0.9.0.tgz]}
        """.write(to: dir.appendingPathComponent("index.yaml"), atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", dir.appendingPathComponent("serve.py").path, dir.path, user, password]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let p = Int(line) else { kill(process.processIdentifier, SIGKILL); throw CocoaError(.fileReadUnknown) }
        port = p
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        // SIGKILL: a child of the test runner may inherit a blocked SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// End to end: an ApplicationSet over a chart from a loopback chart repository (credentials from
/// `repositories:`) and a chart in git, with per-cluster values from a `$values` ref, deployed by the hub to two
/// simulated clusters; the git chart's PreSync Job runs and is deleted after success, its waves go in order.
@Test func helmApplicationSetAcrossClusters() async throws {
    let charts = try LoopbackChartRepository(user: "ci", password: "s3cret")
    defer { charts.stop() }
    let files = [
        "env/eu.yaml": "replicas: 2\n",
        "env/us.yaml": "replicas: 3\n",
        "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
        "charts/api/values.yaml": "greeting: hello\n",
        "charts/api/templates/migrate.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata:
          generateName: {{ .Release.Name }}-migrate-
          annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: hook-succeeded}
        spec:
          template:
            spec: {restartPolicy: Never, containers: [{name: m, image: "busybox"}]}
        """,
        "charts/api/templates/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{ .Release.Name }}, annotations: {argocd.argoproj.io/sync-wave: "0"}}
        spec:
          replicas: 1
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec: {containers: [{name: api, image: "api:1"}]}
        """,
        "charts/api/templates/cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: {{ .Release.Name }}-after, annotations: {argocd.argoproj.io/sync-wave: "1"}}
        data: {greeting: {{ .Values.greeting | quote }}}
        """,
    ]
    let appSet = """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: helm}
    spec:
      goTemplate: true
      generators:
        - clusters: {}
      template:
        metadata: {name: 'shop-{{ .name }}'}
        spec:
          project: default
          sources:
            - repoURL: \(charts.url)
              chart: web
              targetRevision: 1.x
              helm: {valueFiles: ['$values/env/{{ .name }}.yaml']}
            - repoURL: https://git.example.com/acme/apps.git
              targetRevision: HEAD
              path: charts/api
              helm: {releaseName: api, parameters: [{name: greeting, value: 'hi {{ .name }}'}]}
            - repoURL: https://git.example.com/acme/apps.git
              targetRevision: HEAD
              ref: values
          destination: {server: '{{ .server }}', namespace: shop}
          syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    """
    let fixture = try await InProcessHub(clusters: ["eu": true, "us": true], files: files, appSet: appSet) { config in
        config.repositories.append(.init(url: charts.url, username: "ci", password: "s3cret"))
    }
    let hub = fixture.hub
    for (cluster, replicas) in [("eu", 2), ("us", 3)] {
        let app = "shop-\(cluster)"
        let deadline = Date().addingTimeInterval(30)
        var status: JSONValue?
        while Date() < deadline {
            status = try hub.store.application(named: app)?.status
            if status?.value(at: ["sync", "status"])?.stringValue == "Synced" && status?.value(at: ["health", "status"])?.stringValue == "Healthy" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let s = try #require(status)
        #expect(s.value(at: ["sync", "status"])?.stringValue == "Synced", "\(s.serialized())")
        let hooks = s["hooks"]?.arrayValue ?? []
        #expect(hooks.count == 1 && hooks[0]["phase"]?.stringValue == "PreSync" && hooks[0]["status"]?.stringValue == "Succeeded"
                && hooks[0]["deleted"]?.boolValue == true && hooks[0]["name"]?.stringValue?.hasPrefix("api-migrate-") == true, "\(s.serialized())")
        let names = Set(s["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        #expect(names == ["\(app)-web", "api", "api-after"])
        let live = try await ConcurrentRunner.blocking { () -> (JSONValue?, JSONValue?, [JSONValue]) in
            let client = KubeClient(cluster: try hub.clusterStore.cluster(named: cluster)!, timeout: 5)
            let deploy = try client.resource(apiVersion: "apps/v1", kind: "Deployment")
            let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
            let jobs = try client.list(try client.resource(apiVersion: "batch/v1", kind: "Job"), namespace: "shop")
            return (try client.get(deploy, namespace: "shop", name: "\(app)-web"), try client.get(cm, namespace: "shop", name: "api-after"), jobs)
        }
        #expect(live.0?.value(at: ["spec", "replicas"])?.intValue == replicas)
        #expect(live.1?.value(at: ["data", "greeting"])?.stringValue == "hi \(cluster)")
        #expect(live.2.isEmpty, "the PreSync Job is deleted after success")
    }
    await fixture.stop()
}
