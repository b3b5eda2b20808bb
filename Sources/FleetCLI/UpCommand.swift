import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetGit
import FleetHub
import FleetModel
import FleetPostgres
import FleetSim
import Foundation

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a complete local setup: the simulated fleet, a demo git repository and the hub.",
        discussion: """
        Serves every loopback cluster of fleet/clusters.yaml with the simulator, creates a git repository in the
        data directory from fleet/apps/ (kept across restarts: your commits stay), loads generators/ and runs the
        hub on it. A post-commit hook in the demo repository notifies the hub's webhook, so a commit is deployed
        within a second or two. Ctrl-C stops everything.

        With --replicas N (2 or more), the hub runs as N replicas on a PostgreSQL server started in DATA_DIR/pg
        (PostgreSQL's server programs must be installed); replica 1 listens on the configured port, the others on
        the next ports, each a process of its own: kill one and the others take its clusters over (docs/ha.md).
        """
    )

    @Option(help: "Hub configuration.") var config: String = "fleet/hub.yaml"
    @Option(help: "State directory (default: the configuration's dataDir).") var dataDir: String?
    @Option(help: "Directory whose files seed the demo repository.") var apps: String = "fleet/apps"
    @Option(help: "Repository URL the example ApplicationSets use; the hub reads it from the demo repository.")
    var repoURL: String = "https://github.com/acme/fleet-apps.git"
    @Option(help: "How long simulated workloads take to become ready, e.g. 1s.") var readyAfter: String = "1s"
    @Option(help: "HOST:PORT of the hub's API (default: the configuration's listen).") var listen: String?
    @Option(help: "Hub replicas on a local PostgreSQL (1: one hub on SQLite).") var replicas = 1
    /// Set in the child processes that run replicas 2…N.
    @Option(help: .hidden) var replicaIndex: Int?

    func validate() throws {
        if !(1...9).contains(replicas) { throw ValidationError("--replicas must be between 1 and 9") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var hubConfig = try HubConfiguration.load(try readText(config), file: config, environment: environment)
        if let listen { hubConfig.listen = listen }
        let data = URL(fileURLWithPath: dataDir ?? hubConfig.dataDir ?? ".flotilla-demo").standardizedFileURL
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let replicaIndex { return try await runReplica(replicaIndex, config: hubConfig, data: data) }
        var postgres: LocalPostgres?
        if replicas > 1 {
            // PostgreSQL runs as its own user when this runs as root: it must be able to reach DATA_DIR/pg (the files
            // in the data directory keep their own owner-only modes).
            if getuid() == 0 { try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: data.path) }
            guard let server = try LocalPostgres(directory: data.appendingPathComponent("pg"), persistent: true) else {
                throw CLIError("--replicas needs PostgreSQL's server programs (initdb, pg_ctl): install PostgreSQL (Debian: apt-get install postgresql)")
            }
            postgres = server
            var store = HubConfiguration.Postgres(url: try server.database(named: "flotilla"))
            store.keyFile = data.appendingPathComponent("secret.key").path
            hubConfig.store.postgres = store
            hubConfig.replicaName = "up-1"
        }
        defer { postgres?.stop() }

        // 1. The simulated fleet: one process per cluster, so that one can be killed to watch failover.
        _ = try parseDuration(readyAfter, flag: "--ready-after")
        let sims = SimChildren()
        do {
            for file in hubConfig.clusters {
                for listener in try fleetListeners(file, readyAfter: 0, failImage: nil, tls: nil, certificate: { .init(certificate: "", key: "") }) {
                    try sims.start(fleet: file, cluster: listener.cluster.options.name, arguments: ["--ready-after", readyAfter, "--tls-dir", data.appendingPathComponent("tls").path])
                }
            }
        } catch {
            sims.stop()
            throw CLIError("cannot start the simulated clusters (\(error)); is another `flotilla up` or `flotilla sim` running on their ports?")
        }

        // 2. The demo repository, created once.
        let repo = data.appendingPathComponent("demo-repo")
        let secret = hubConfig.webhookSecret ?? "flotilla-demo-webhook"
        hubConfig.webhookSecret = secret
        if !FileManager.default.fileExists(atPath: repo.appendingPathComponent(".git").path) {
            try seedRepository(at: repo)
        }
        hubConfig.repositories.append(.init(url: repoURL, fetchFrom: repo.path))
        hubConfig.gitPollInterval = min(hubConfig.gitPollInterval, 5)
        hubConfig.dataDir = data.path
        if hubConfig.auth.adminTokenFile == nil { hubConfig.auth.adminTokenFile = data.appendingPathComponent("admin.token").path }
        let tokenFile = hubConfig.auth.adminTokenFile!

        // 3. The hub.
        let logger = makeLogger(level: hubConfig.logLevel)
        let host = hubConfig.listen.split(separator: ":").dropLast().joined(separator: ":")
        let repoURL = self.repoURL
        let fleetFile = hubConfig.clusters.first ?? "fleet/clusters.yaml"
        let others = ReplicaChildren()
        defer { others.stop() }
        let replicas = self.replicas, config = self.config, apps = self.apps, readyAfter = self.readyAfter
        let databaseURL = hubConfig.store.postgres?.url
        do {
            try await Hub.serve(config: hubConfig, dataDir: data, logger: logger, drainTimeout: 10, onListening: { port in
                // Off the server's threads: starting the other replicas waits for each to listen.
                DispatchQueue.global().async {
                    let url = "http://\(host):\(port)"
                    try? Self.installHook(in: repo, hub: url, repoURL: repoURL, secret: secret)
                    for index in 2...max(2, replicas) where replicas > 1 {
                        do {
                            try others.start(index: index, arguments: ["up", "--config", config, "--data-dir", data.path, "--apps", apps, "--repo-url", repoURL,
                                                                       "--ready-after", readyAfter, "--listen", "\(host):\(port + index - 1)", "--replica-index", "\(index)"],
                                             environment: ["FLOTILLA_POSTGRES_URL": databaseURL ?? ""], log: data.appendingPathComponent("replica-\(index).log"))
                        } catch {
                            FileHandle.standardError.write(Data("replica \(index) did not start: \(error)\n".utf8))
                        }
                    }
                    var lines = ["", "Flotilla is up.", "  dashboard:  \(url)/ui/   (log in with the API token below)",
                                 "  hub API:    \(url)   (export FLOTILLA_SERVER=\(url))",
                                 "  API token:  in \(tokenFile) (mode 0600; the CLI reads it, or export FLOTILLA_TOKEN_FILE=\(tokenFile))"]
                    for c in sims.started { lines.append("  cluster:    \(c.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(c.url)   (simulator pid \(c.pid))") }
                    if replicas > 1 {
                        lines.append("  replica:    up-1        \(url)   (this process, pid \(getpid()))")
                        for child in others.started {
                            lines.append("  replica:    up-\(child.index)        http://\(host):\(port + child.index - 1)   (pid \(child.pid); log \(data.path)/replica-\(child.index).log)")
                        }
                        lines.append("  PostgreSQL: \(data.path)/pg   (flotilla replicas --server \(url); kill a replica's pid: the others take its clusters over)")
                    }
                    lines += ["  demo repo:  \(repo.path)", ""]
                    // The hint fits the demo repository as it is: after the ranker was added (a restart), change it instead.
                    if FileManager.default.fileExists(atPath: repo.appendingPathComponent("teams/search/ranker").path) {
                        lines += ["Try this: change a team's directory, commit, watch the change reach every staging and prod cluster:",
                                  "  cd \(repo.path) && sed -i 's/replicas: [0-9]*/replicas: 2/' teams/search/ranker/deployment.yaml && git commit -qam 'scale ranker'"]
                    } else {
                        lines += ["Try this: add a directory, commit, watch it appear on every staging and prod cluster:",
                                  "  cd \(repo.path) && mkdir teams/search/ranker && sed s/indexer/ranker/g teams/search/indexer/deployment.yaml > teams/search/ranker/deployment.yaml && git add -A && git commit -qm 'add ranker'"]
                    }
                    lines += ["  flotilla app list --server \(url) -l team=search        (Ctrl-C stops everything)", "",
                              "Try failover: kill a cluster's simulator and watch its apps move to its secondary:",
                              "  kill \(sims.started.first { $0.name == "prod-eu" }?.pid ?? sims.started.first?.pid ?? 0); flotilla events --server \(url) --watch",
                              "  flotilla sim --fleet \(fleetFile) --only \(sims.started.first { $0.name == "prod-eu" }?.name ?? sims.started.first?.name ?? "NAME") &     (brings it back; apps return after the hold-down)", ""]
                    FileHandle.standardOutput.write(Data(lines.joined(separator: "\n").utf8))
                }
            }, onReady: { hub in
                let apps = (try? hub.store.count()) ?? 0
                FileHandle.standardOutput.write(Data("hub ready: \(hub.applicationSets().count) ApplicationSets, \(apps) Applications\n".utf8))
            })
        } catch {
            sims.stop()
            throw error
        }
        sims.stop()
    }

    /// Replica `index` of `flotilla up --replicas N` (a child process): the hub only, on the PostgreSQL store the
    /// parent started (its URL in FLOTILLA_POSTGRES_URL), its mirrors in DATA_DIR/replica-INDEX.
    private func runReplica(_ index: Int, config loaded: HubConfiguration, data: URL) async throws {
        var hubConfig = loaded
        if let listen { hubConfig.listen = listen }
        guard var store = hubConfig.store.postgres else { throw CLIError("--replica-index needs FLOTILLA_POSTGRES_URL") }
        store.keyFile = data.appendingPathComponent("secret.key").path
        hubConfig.store.postgres = store
        hubConfig.replicaName = "up-\(index)"
        hubConfig.webhookSecret = hubConfig.webhookSecret ?? "flotilla-demo-webhook"
        hubConfig.repositories.append(.init(url: repoURL, fetchFrom: data.appendingPathComponent("demo-repo").path))
        hubConfig.gitPollInterval = min(hubConfig.gitPollInterval, 5)
        hubConfig.auth.adminTokenFile = hubConfig.auth.adminTokenFile ?? data.appendingPathComponent("admin.token").path
        let dir = data.appendingPathComponent("replica-\(index)")
        hubConfig.dataDir = dir.path
        try await Hub.serve(config: hubConfig, dataDir: dir, logger: makeLogger(level: hubConfig.logLevel), drainTimeout: 10,
                            onListening: { port in FileHandle.standardOutput.write(Data("replica up-\(index) listening on \(port)\n".utf8)) },
                            onReady: { _ in })
    }

    /// A non-bare repository holding the files of `apps`, checked out, on branch main.
    private func seedRepository(at repo: URL) throws {
        var files: [String: Data] = [:]
        let root = URL(fileURLWithPath: apps).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw CLIError("cannot read \(apps)")
        }
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            files[relative] = try Data(contentsOf: url)
        }
        if files.isEmpty { throw CLIError("\(apps) holds no files to seed the demo repository with") }
        let writer = try GitRepositoryWriter(creatingAt: repo, bare: false)
        try writer.commit(files: files, message: "Example apps from \(apps)", date: Date())
        try writer.checkoutHead()
        // An identity of its own, so that `git commit` works in the demo repository on any machine.
        let config = repo.appendingPathComponent(".git/config")
        let text = (try? String(contentsOf: config, encoding: .utf8)) ?? ""
        try (text + "[user]\n\tname = Flotilla Demo\n\temail = demo@flotilla.invalid\n").write(to: config, atomically: true, encoding: .utf8)
    }

    /// A post-commit hook that tells the hub about each commit (GitLab-style push event with its token).
    static func installHook(in repo: URL, hub: String, repoURL: String, secret: String) throws {
        let hooks = repo.appendingPathComponent(".git/hooks")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        let hook = hooks.appendingPathComponent("post-commit")
        let script = """
        #!/bin/sh
        # Installed by `flotilla up`: notify the hub of each commit (the hub also polls).
        curl -s -o /dev/null -m 5 -X POST '\(hub)/api/v1/webhook/git' \\
          -H 'Content-Type: application/json' -H 'X-Gitlab-Event: Push Hook' -H 'X-Gitlab-Token: \(secret)' \\
          -d '{"object_kind": "push", "ref": "refs/heads/main", "project": {"git_http_url": "\(repoURL)"}}' || true

        """
        try script.write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: hook.path)
    }
}

/// Simulator processes started by `flotilla up`, one per cluster, stopped with it.
final class SimChildren: @unchecked Sendable {
    struct Started {
        let name: String
        let url: String
        let pid: Int32
    }
    private(set) var started: [Started] = []
    private var processes: [Process] = []

    /// Starts `flotilla sim --fleet FILE --only NAME` and waits for its "listening on" line.
    func start(fleet: String, cluster: String, arguments: [String]) throws {
        let (process, url) = try launchSimulator(["--fleet", fleet, "--only", cluster] + arguments, name: cluster)
        processes.append(process)
        started.append(Started(name: cluster, url: url, pid: process.processIdentifier))
    }

    /// SIGTERM to each (SIGKILL after 5 s).
    func stop() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        for p in processes {
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
    }
}

/// The replicas 2…N of `flotilla up --replicas N`, child processes stopped with it.
final class ReplicaChildren: @unchecked Sendable {
    struct Started {
        let index: Int
        let pid: Int32
    }
    /// Guards `started` and `processes`.
    private let lock = NSLock()
    private(set) var started: [Started] = []
    private var processes: [Process] = []

    /// Starts this binary with `arguments`, its standard error into `log`; waits for its "listening" line.
    func start(index: Int, arguments: [String], environment: [String: String], log: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var bytes = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { bytes.append(byte) }
        guard String(decoding: bytes, as: UTF8.self).contains("listening") else {
            throw CLIError("it exited (see \(log.path))")
        }
        DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
        lock.withLock {
            processes.append(process)
            started.append(Started(index: index, pid: process.processIdentifier))
        }
    }

    /// SIGTERM to each (SIGKILL after 10 s).
    func stop() {
        let running = lock.withLock { processes }
        for p in running where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        for p in running {
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
    }
}

