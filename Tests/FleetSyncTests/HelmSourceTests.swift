import FleetGit
@testable import FleetManifests
import FleetModel
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Helm sources as Argo CD renders them: charts in git with `source.helm`, charts from a chart repository,
/// `$values` from a `ref` source, dependencies fetched from a repository.
@Suite struct HelmSourceTests {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-helm-src-\(UUID().uuidString)")
        let files = [
            "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 7.x\n  repository: https://charts.example.com\n  condition: redis.enabled\n",
            "charts/web/values.yaml": "replicas: 1\nimage: {tag: \"1.0\"}\nredis: {enabled: false}\n",
            "charts/web/values-prod.yaml": "replicas: 3\n",
            "charts/web/templates/deploy.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {{ .Release.Name }}-web
              namespace: {{ .Release.Namespace }}
            spec:
              replicas: {{ .Values.replicas }}
              template:
                spec:
                  containers:
                  - name: web
                    image: "nginx:{{ .Values.image.tag }}"
                    env:
                    - {name: NOTE, value: {{ .Values.note | default "none" | quote }}}
                    - {name: KUBE, value: {{ .Capabilities.KubeVersion.Version | quote }}}
            """,
            "charts/web/templates/hook.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\n",
            "env/prod.yaml": "note: from-ref\n",
        ]
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    func cleanup() { try? FileManager.default.removeItem(at: root) }

    /// A chart repository in memory: index.yaml plus archives made by `tar`.
    func repository() throws -> ChartRepositories {
        let dir = root.appendingPathComponent("repo-src/redis/templates")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "apiVersion: v2\nname: redis\nversion: 7.2.0\n".write(to: root.appendingPathComponent("repo-src/redis/Chart.yaml"), atomically: true, encoding: .utf8)
        try "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: {{ .Release.Name }}-redis}\n".write(to: dir.appendingPathComponent("sts.yaml"), atomically: true, encoding: .utf8)
        let tgz = root.appendingPathComponent("redis-7.2.0.tgz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", tgz.path, "-C", root.appendingPathComponent("repo-src").path, "redis"]
        try tar.run()
        tar.waitUntilExit()
        let archive = [UInt8](try Data(contentsOf: tgz))
        let index = """
        apiVersion: v1
        entries:
          redis:
          - {name: redis, version: 7.2.0, urls: [redis-7.2.0.tgz]}
          - {name: redis, version: 6.0.0, urls: [redis-6.0.0.tgz]}
          - {name: redis, version: 8.0.0-rc.1, urls: [redis-8.0.0-rc.1.tgz]}
        """
        let requests = Counter()
        return ChartRepositories { url, _ in
            requests.bump()
            switch url {
            case "https://charts.example.com/index.yaml": return Array(index.utf8)
            case "https://charts.example.com/redis-7.2.0.tgz": return archive
            default: throw ManifestError("GET \(url): HTTP 404")
            }
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func bump() { lock.withLock { n += 1 } }
    }

    func load(_ json: String, context: RenderContext = RenderContext(applicationName: "shop", namespace: "prod")) throws -> [JSONValue] {
        let loader = ManifestLoader(git: WorkingTreeGitSource(root: root), charts: try repository())
        return try loader.load(source: try JSONParser.parse(json.replacingOccurrences(of: "REPO", with: root.path)), context: context)?.objects ?? []
    }

    @Test func chartInGitWithArgoOptions() throws {
        defer { cleanup() }
        let objects = try load("""
        {"repoURL": "REPO", "path": "charts/web", "helm": {"releaseName": "gb", "valueFiles": ["values-prod.yaml", "$env/env/prod.yaml"],
         "parameters": [{"name": "image.tag", "value": "2.0"}], "kubeVersion": "1.29.0"}}
        """, context: RenderContext(applicationName: "shop", namespace: "prod",
                                    references: ["env": .init(repoURL: root.path, revision: "HEAD")]))
        let deploy = try #require(objects.first { $0["kind"]?.stringValue == "Deployment" })
        #expect(deploy.value(at: ["metadata", "name"])?.stringValue == "gb-web")
        #expect(deploy.value(at: ["metadata", "namespace"])?.stringValue == "prod")
        #expect(deploy.value(at: ["spec", "replicas"])?.intValue == 3)
        let container = deploy.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first
        #expect(container?["image"]?.stringValue == "nginx:2.0")
        #expect(container?["env"]?.arrayValue?.map { $0["value"]?.stringValue ?? "" } == ["from-ref", "v1.29.0"])
        // The hook is rendered (the syncer runs it in its phase).
        #expect(objects.contains { $0["kind"]?.stringValue == "Job" })
    }

    @Test func releaseNameDefaultsToTheApplication() throws {
        defer { cleanup() }
        let objects = try load(#"{"repoURL": "REPO", "path": "charts/web"}"#)
        #expect(objects.first { $0["kind"]?.stringValue == "Deployment" }?.value(at: ["metadata", "name"])?.stringValue == "shop-web")
    }

    @Test func dependencyFetchedFromTheChartRepository() throws {
        defer { cleanup() }
        let objects = try load(#"{"repoURL": "REPO", "path": "charts/web", "helm": {"valuesObject": {"redis": {"enabled": true}}}}"#)
        #expect(objects.contains { $0["kind"]?.stringValue == "StatefulSet" && $0.value(at: ["metadata", "name"])?.stringValue == "shop-redis" })
    }

    @Test func chartFromRepositoryPicksNewestMatchingVersion() throws {
        defer { cleanup() }
        let objects = try load(#"{"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": ">=6.0.0 <9.0.0"}"#)
        #expect(objects.map { $0.value(at: ["metadata", "name"])?.stringValue } == ["shop-redis"])
        #expect(throws: ManifestError.self) {
            try load(#"{"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "9.x"}"#)
        }
        #expect(throws: ManifestError.self) {
            try load(#"{"repoURL": "https://charts.example.com", "chart": "postgres", "targetRevision": "*"}"#)
        }
    }

    /// A hub reads remote value files only from its configured repositories.
    /// A chart `charts/simple` in the repository with one template; returns a function that renders it with one
    /// value file (a path or URL) through `charts`.
    func simpleChart(template: String, charts: ChartRepositories) throws -> (String) throws -> [JSONValue] {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("charts/simple/templates"), withIntermediateDirectories: true)
        try "apiVersion: v2\nname: simple\nversion: 1.0.0\n".write(to: root.appendingPathComponent("charts/simple/Chart.yaml"), atomically: true, encoding: .utf8)
        try template.write(to: root.appendingPathComponent("charts/simple/templates/t.yaml"), atomically: true, encoding: .utf8)
        let loader = ManifestLoader(git: WorkingTreeGitSource(root: root), charts: charts)
        let repo = root.path
        return { file in
            let json = #"{"repoURL": "REPO", "path": "charts/simple", "helm": {"valueFiles": ["FILE"]}}"#
                .replacingOccurrences(of: "REPO", with: repo).replacingOccurrences(of: "FILE", with: file)
            return try loader.load(source: try JSONParser.parse(json), context: RenderContext(applicationName: "shop"))?.objects ?? []
        }
    }

    @Test func remoteValueFilesOnlyFromConfiguredRepositories() throws {
        defer { cleanup() }
        let charts = ChartRepositories(credentials: [.init(urlPrefix: "https://values.example.com/", username: nil, password: nil)]) { url, _ in
            guard url == "https://values.example.com/prod.yaml" else { throw ManifestError("GET \(url): HTTP 404") }
            return Array("replicas: 7\n".utf8)
        }
        charts.remoteValueFiles = .configuredRepositories
        let load = try simpleChart(template: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: s}\nspec: {replicas: {{ .Values.replicas | default 1 }}}\n",
                                   charts: charts)
        let objects = try load("https://values.example.com/prod.yaml")
        #expect(objects.first { $0["kind"]?.stringValue == "Deployment" }?.value(at: ["spec", "replicas"])?.intValue == 7)
        #expect { try load("http://169.254.169.254/latest/meta-data") } throws: {
            "\($0)".contains("remote value files are read only from repositories listed in the hub's repositories:")
        }
    }

    /// URLs are compared parsed: a configured repository's password never goes to another host named
    /// through user information or a longer host name, and such URLs are not "within" the repository either.
    @Test func configuredRepositoriesAreComparedParsed() throws {
        defer { cleanup() }
        let sent = NIOLockedValueBox<[(String, String?)]>([])
        let charts = ChartRepositories(credentials: [.init(urlPrefix: "https://charts.example.com", username: "ci", password: "s3cret")]) { url, creds in
            sent.withLockedValue { $0.append((url, creds?.password)) }
            return Array("replicas: 7\n".utf8)
        }
        charts.remoteValueFiles = .configuredRepositories
        let load = try simpleChart(template: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {r: \"{{ .Values.replicas }}\"}\n",
                                   charts: charts)
        for hostile in ["https://charts.example.com@attacker.test:8443/v.yaml", "https://charts.example.com.evil.net/v.yaml",
                        "http://charts.example.com/v.yaml", "https://charts.example.com/../../other/v.yaml"] {
            #expect(throws: ManifestError.self, "\(hostile)") { try load(hostile) }
        }
        #expect(sent.withLockedValue { $0.isEmpty }, "\(sent.withLockedValue { $0 })")
        #expect(try load("https://CHARTS.example.com:443/values/v.yaml").first?.value(at: ["data", "r"])?.stringValue == "7")
        #expect(sent.withLockedValue { $0.map(\.1) } == ["s3cret"])
        #expect(charts.credentials(for: "https://charts.example.com@attacker.test/x") == nil)
        #expect(charts.credentials(for: "https://charts.example.com/x")?.password == "s3cret")
    }

    /// A hub fetches chart repositories only within `repositories:` or over HTTPS from `allowedHosts`.
    @Test func chartRepositoriesOnlyFromAllowedPlaces() throws {
        let charts = ChartRepositories(credentials: [.init(urlPrefix: "http://127.0.0.1:9/charts", username: nil, password: nil)]) { url, _ in
            throw ManifestError("GET \(url): unreachable")
        }
        charts.remoteValueFiles = .configuredRepositories
        charts.allowedHosts = ["charts.bitnami.com"]
        #expect(charts.refusal("http://127.0.0.1:9/charts/index.yaml") == nil)
        #expect(charts.refusal("https://charts.bitnami.com/bitnami/index.yaml") == nil)
        #expect(charts.refusal("http://charts.bitnami.com/bitnami/index.yaml")?.contains("plain http") == true)
        #expect(charts.refusal("https://example.org/index.yaml")?.contains("limits.chartRepositoryHosts") == true)
        #expect(charts.refusal("http://127.0.0.1:9/other/index.yaml") != nil)
        #expect(charts.refusal("https://user:pw@charts.bitnami.com/x")?.contains("user information") == true)
        #expect { try charts.chart(repoURL: "https://example.org", name: "x", constraint: "*") } throws: { "\($0)".contains("limits.chartRepositoryHosts") }
    }

    /// Chart archives are kept in memory by least-recent use within a byte budget, only once they open as a
    /// chart, and on disk as 0600 files pruned to their own budget.
    @Test func chartCachesAreBounded() throws {
        defer { cleanup() }
        var archives: [String: [UInt8]] = [:]
        var entries: [String] = []
        for v in 1...4 {
            let src = root.appendingPathComponent("src-\(v)/big")
            try FileManager.default.createDirectory(at: src.appendingPathComponent("templates"), withIntermediateDirectories: true)
            try "apiVersion: v2\nname: big\nversion: \(v).0.0\n".write(to: src.appendingPathComponent("Chart.yaml"), atomically: true, encoding: .utf8)
            try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n".write(to: src.appendingPathComponent("templates/cm.yaml"), atomically: true, encoding: .utf8)
            // Incompressible padding: each archive is about 20 KB.
            var rng = SystemRandomNumberGenerator()
            try Data((0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: src.appendingPathComponent("padding.bin"))
            let tgz = root.appendingPathComponent("big-\(v).0.0.tgz")
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "-czf", tgz.path, "-C", root.appendingPathComponent("src-\(v)").path, "big"]
            try tar.run()
            tar.waitUntilExit()
            let bytes = [UInt8](try Data(contentsOf: tgz))
            archives["https://charts.example.com/big-\(v).0.0.tgz"] = bytes
            entries.append("  - {name: big, version: \(v).0.0, urls: [big-\(v).0.0.tgz], digest: \(SHA256Digest.hex(Data(bytes)))}")
        }
        let garbage = Array("not a chart at all".utf8)
        archives["https://charts.example.com/broken-1.0.0.tgz"] = garbage
        let index = "apiVersion: v1\nentries:\n  big:\n" + entries.joined(separator: "\n")
            + "\n  broken:\n  - {name: broken, version: 1.0.0, urls: [broken-1.0.0.tgz], digest: \(SHA256Digest.hex(Data(garbage)))}\n"
        let fetches = NIOLockedValueBox<[String]>([])
        let cacheDir = root.appendingPathComponent("charts-cache")
        let charts = ChartRepositories(cacheDirectory: cacheDir, memoryCacheBytes: 50_000, diskCacheBytes: 50_000) { [archives] url, _ in
            fetches.withLockedValue { $0.append(url) }
            if url.hasSuffix("index.yaml") { return Array(index.utf8) }
            guard let bytes = archives[url] else { throw ManifestError("GET \(url): HTTP 404") }
            return bytes
        }
        for v in 1...4 { _ = try charts.chart(repoURL: "https://charts.example.com", name: "big", constraint: "\(v).0.0") }
        #expect(charts.memoryCacheSize <= 50_000 && charts.memoryCacheSize > 0, "\(charts.memoryCacheSize)")
        // The most recent is still in memory: no new fetch.
        let before = fetches.withLockedValue { $0.count }
        _ = try charts.chart(repoURL: "https://charts.example.com", name: "big", constraint: "4.0.0")
        #expect(fetches.withLockedValue { $0.count } == before)
        // On disk: owner-only files, within the budget.
        let files = try FileManager.default.contentsOfDirectory(atPath: cacheDir.path)
        var total = 0
        for name in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: cacheDir.appendingPathComponent(name).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name)")
            total += (attributes[.size] as? Int) ?? 0
        }
        #expect(!files.isEmpty && total <= 50_000, "\(files) \(total)")
        // An archive that does not open as a chart is refused and kept nowhere.
        for _ in 0..<2 {
            #expect(throws: (any Error).self) { try charts.chart(repoURL: "https://charts.example.com", name: "broken", constraint: "1.0.0") }
        }
        #expect(fetches.withLockedValue { $0.filter { $0.hasSuffix("broken-1.0.0.tgz") }.count } == 2)
        #expect(!FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent("\(SHA256Digest.hex(Data(garbage))).tgz").path))
    }

    @Test func missingValueFilesMayBeIgnored() throws {
        defer { cleanup() }
        let objects = try load(#"{"repoURL": "REPO", "path": "charts/web", "helm": {"valueFiles": ["nope.yaml"], "ignoreMissingValueFiles": true}}"#)
        #expect(!objects.isEmpty)
        #expect(throws: ManifestError.self) { try load(#"{"repoURL": "REPO", "path": "charts/web", "helm": {"valueFiles": ["../../../etc/passwd"]}}"#) }
    }
}
