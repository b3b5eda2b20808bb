import Crypto
import FleetGit
import FleetKube
import FleetModel
import Foundation
import Testing

/// A hub as users run it: `flotilla sim` processes for the clusters, a git repository written with libgit2, and
/// `flotilla serve --config` as a process on a free loopback port. Everything is stopped by `stop()`.
final class HubFixture: @unchecked Sendable {
    let cli = CLI()
    var sims: [String: SimProcess] = [:]
    let repoPath: URL
    let repo: GitRepositoryWriter
    /// The URL ApplicationSets name; the hub fetches it from `repoPath` (`fetchFrom`).
    static let repoURL = "https://git.example.com/acme/apps.git"
    static let secret = "test-webhook-secret"
    private(set) var hub: Process?
    private(set) var port = 0
    private var files: [String: String]
    let configPath: String
    private let hubLog: URL

    /// - Parameters:
    ///   - clusters: name → labels; each gets its own simulator.
    ///   - files: the repository's first commit.
    ///   - appSets: ApplicationSet YAML documents, one file each.
    ///   - secondaries: cluster → its secondary.
    ///   - extraConfig: more hub configuration (YAML, top-level keys).
    ///   - simArguments: more `flotilla sim` options for every cluster (e.g. `--ready-after 20s`).
    init(clusters: [String: [String: String]], files: [String: String], appSets: [String], resync: String = "1s", poll: String = "60s",
         secondaries: [String: String] = [:], extraConfig: String = "", authPolicy: String = "", simArguments: [String] = []) throws {
        for name in clusters.keys.sorted() { sims[name] = try SimProcess(arguments: ["--name", name] + simArguments) }
        var yaml = "clusters:\n"
        for name in clusters.keys.sorted() {
            let labels = clusters[name]!.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", ")
            let secondary = secondaries[name].map { ", secondary: \($0)" } ?? ""
            yaml += "  - {name: \(name), server: '\(sims[name]!.server)', labels: {\(labels)}\(secondary)}\n"
        }
        cli.write("clusters.yaml", yaml)
        for (i, set) in appSets.enumerated() { cli.write("appsets/set-\(i).yaml", set) }
        repoPath = cli.workDir.appendingPathComponent("repo.git")
        self.files = files
        repo = try GitRepositoryWriter(creatingAt: repoPath)
        try repo.commit(files: files.mapValues { Data($0.utf8) }, message: "initial")
        hubLog = cli.workDir.appendingPathComponent("hub.log")
        configPath = cli.write("hub.yaml", """
        listen: 127.0.0.1:0
        dataDir: \(cli.dataDir.path)
        clusters: [clusters.yaml]
        applicationSets: [appsets/]
        repositories:
          - {url: '\(Self.repoURL)', fetchFrom: '\(repoPath.path)'}
        git: {pollInterval: \(poll), webhookSecret: \(Self.secret)}
        reconcile: {concurrency: 8, perCluster: 4, resync: \(resync)}
        logLevel: info
        auth: {adminTokenFile: '\(cli.workDir.appendingPathComponent("admin.token").path)', policy: '\(authPolicy)'}
        \(extraConfig)
        """)
        try startHub()
    }

    /// Starts `flotilla serve` and waits until `/readyz` answers 200.
    func startHub() throws {
        let (process, port) = try launchServe(environment: [:], log: hubLog)
        hub = process
        self.port = port
        try waitFor("hub ready", timeout: 30) { (try? self.raw("GET", "/readyz").status) == 200 }
    }

    /// Starts `flotilla serve` with this fixture's configuration (and `environment` over it), its stderr appended
    /// to `log`; returns the process and the port it listens on.
    func launchServe(environment: [String: String], log logFile: URL) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--config", configPath, "--drain-timeout", "5"]
        process.currentDirectoryURL = cli.workDir
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe()
        process.standardOutput = out
        if !FileManager.default.fileExists(atPath: logFile.path) { FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        process.standardError = log
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "hub did not start: \(text) \(log)"])
        }
        // Keep draining stdout so the hub never blocks on a full pipe.
        DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
        return (process, port)
    }

    var url: String { "http://127.0.0.1:\(port)" }
    /// The admin token the hub wrote on its first start.
    var tokenFile: String { cli.workDir.appendingPathComponent("admin.token").path }
    var token: String { ((try? String(contentsOfFile: tokenFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
    /// Environment for CLI processes talking to this hub as admin.
    var env: [String: String] { ["FLOTILLA_TOKEN_FILE": tokenFile] }
    var log: String { (try? String(contentsOf: hubLog, encoding: .utf8)) ?? "" }

    /// SIGTERM (or `signal`), then the exit status.
    @discardableResult
    func stopHub(signal: Int32 = SIGTERM) -> Int32 {
        guard let hub else { return 0 }
        kill(hub.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(15)
        while hub.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if hub.isRunning { kill(hub.processIdentifier, SIGKILL) }
        hub.waitUntilExit()
        self.hub = nil
        return hub.terminationStatus
    }

    func stop() {
        for sim in sims.values { kill(sim.process.processIdentifier, SIGCONT) }
        stopHub()
        for sim in sims.values { _ = sim.stop() }
        cli.cleanup()
    }

    // MARK: API

    func raw(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPResponse {
        let transport = HTTPTransport(server: url, credentials: ClusterCredentials(), timeout: 30)
        var headers = headers
        if headers["Authorization"] == nil { headers["Authorization"] = "Bearer \(token)" }
        return try transport.request(method, path, body: body.map { Array($0.utf8) }, contentType: body == nil ? nil : "application/json", headers: headers)
    }

    @discardableResult
    func api(_ method: String, _ path: String, body: String? = nil, expect: Int? = nil) throws -> JSONValue {
        let r = try raw(method, path, body: body)
        if let expect { #expect(r.status == expect, "\(method) \(path): \(r.status) \(r.text)") }
        return (try? JSONParser.parse(r.text)) ?? .null
    }

    func applications() throws -> [String: JSONValue] {
        var map: [String: JSONValue] = [:]
        for item in try api("GET", "/api/v1/applications")["items"]?.arrayValue ?? [] { map[item["name"]?.stringValue ?? ""] = item }
        return map
    }

    /// Polls `condition` every 100 ms; fails with `what` after `timeout` seconds.
    func waitFor(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "timed out waiting for \(what)\n--- hub log ---\n\(log.suffix(3000))"])
    }

    /// Waits until exactly `names` exist, each Synced and Healthy.
    func waitHealthy(_ names: Set<String>, timeout: Double = 20) throws {
        try waitFor("Synced and Healthy: \(names.sorted())", timeout: timeout) {
            let apps = try applications()
            return Set(apps.keys) == names && apps.values.allSatisfy { $0["sync"] == "Synced" && $0["health"] == "Healthy" }
        }
    }

    // MARK: Git

    /// Commits the repository with `changes` (nil deletes a file), then sends a signed GitHub push webhook.
    func commit(_ changes: [String: String?], webhook: Bool = true) throws {
        for (path, content) in changes {
            if let content { files[path] = content } else { files.removeValue(forKey: path) }
        }
        let commit = try repo.commit(files: files.mapValues { Data($0.utf8) }, message: "change")
        if webhook { try push(after: commit.hex) }
    }

    func push(after: String, secret: String = HubFixture.secret) throws {
        let body = #"{"ref": "refs/heads/main", "after": "\#(after)", "repository": {"clone_url": "\#(Self.repoURL)"}}"#
        let signature = "sha256=" + Bytes.hex(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8))))
        let r = try raw("POST", "/api/v1/webhook/git", body: body, headers: ["X-Hub-Signature-256": signature, "X-GitHub-Event": "push"])
        if secret == Self.secret { #expect(r.status == 202, "\(r.text)") }
    }

    // MARK: Clusters

    /// Freezes a simulator (SIGSTOP): its port accepts nothing it answers, like a partitioned cluster; its
    /// objects stay. `thaw` resumes it.
    func freeze(_ cluster: String) { kill(sims[cluster]!.process.processIdentifier, SIGSTOP) }
    func thaw(_ cluster: String) { kill(sims[cluster]!.process.processIdentifier, SIGCONT) }

    /// Names of the objects of `kind` in `namespace` that Flotilla applied for `application` on `cluster`.
    func owned(_ cluster: String, _ apiVersion: String, _ kind: String, namespace: String, by application: String) throws -> [String] {
        let client = KubeClient(cluster: Cluster(name: cluster, server: sims[cluster]!.server), timeout: 5)
        return try client.list(try client.resource(apiVersion: apiVersion, kind: kind), namespace: namespace,
                               labelSelector: "flotilla.io/app=\(application)").compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
    }

    /// Reads an object from a simulated cluster.
    func get(_ cluster: String, _ apiVersion: String, _ kind: String, namespace: String, name: String) throws -> JSONValue? {
        let client = KubeClient(cluster: Cluster(name: cluster, server: sims[cluster]!.server), timeout: 5)
        return try client.get(try client.resource(apiVersion: apiVersion, kind: kind), namespace: namespace, name: name)
    }
}

/// A git-directories × clusters ApplicationSet over `apps/*`, on clusters matching `selector` (env=…).
func directoryAppSet(name: String, env: String, automated: String? = "{prune: true, selfHeal: true}", path: String = "apps/*",
                     annotations: String = "{}") -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: \(name), annotations: \(annotations)}
    spec:
      generators:
        - matrix:
            generators:
              - git: {repoURL: '\(HubFixture.repoURL)', revision: HEAD, directories: [{path: '\(path)'}]}
              - clusters: {selector: {matchLabels: {env: \(env)}}}
      template:
        metadata:
          name: '{{path.basename}}-{{name}}'
          labels: {app: '{{path.basename}}'}
        spec:
          project: default
          source: {repoURL: '\(HubFixture.repoURL)', targetRevision: HEAD, path: '{{path}}'}
          destination: {server: '{{server}}', namespace: '{{path.basename}}'}
          syncPolicy:
            \(automated.map { "automated: \($0)" } ?? "")
            syncOptions: [CreateNamespace=true]
    """
}

func configMap(_ name: String, _ data: String) -> String {
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(name)}\ndata: {value: '\(data)'}\n"
}

func deployment(_ name: String, image: String = "nginx:1.27") -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: \(name)}
    spec:
      replicas: 2
      selector: {matchLabels: {app: \(name)}}
      template:
        metadata: {labels: {app: \(name)}}
        spec: {containers: [{name: \(name), image: '\(image)'}]}

    """
}
