import ArgumentParser
import Crypto
import FleetCLIKit
import FleetConfig
import FleetGit
import FleetKube
import FleetModel
import FleetPostgres
import FleetTesting
import Foundation

/// Replicas on one PostgreSQL, as processes: a PostgreSQL server of its own (initdb in a temporary directory),
/// simulated clusters in a child process, and `flotilla serve` replicas started and killed as users would.
final class HABenchWorld {
    let dir: URL
    let postgres: TestPostgres
    let databaseURL: String
    let pool: PostgresPool
    let sim: Process
    let repo: GitRepositoryWriter
    var files: [String: Data] = [:]
    var replicas: [String: Process] = [:]
    var ports: [String: Int] = [:]
    let configPath: String
    let clusters: Int
    let apps: Int
    static let repoURL = "https://git.example.com/bench/apps.git"
    static let secret = "bench-webhook-secret"

    init(clusters: Int, dirs: Int, latency: String, lease: (renew: String, duration: String)) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-ha-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        guard let server = try TestPostgres() else { throw CLIError("PostgreSQL's server programs (initdb, pg_ctl) are not installed") }
        postgres = server
        databaseURL = try server.createDatabase()
        pool = try PostgresPool(url: try PostgresURL(parsing: databaseURL), maxConnections: 2)
        self.clusters = clusters
        apps = clusters * dirs
        var entries: [FleetFixtures.ClusterEntry] = []
        for (i, port) in freeLoopbackPorts(clusters).enumerated() { entries.append(.init(name: "c\(i)", port: port, labels: ["env": "prod"])) }
        let clustersFile = dir.appendingPathComponent("clusters.yaml")
        try FleetFixtures.clustersYAML(entries).write(to: clustersFile, atomically: true, encoding: .utf8)
        sim = Process()
        sim.executableURL = flotillaExecutable()
        sim.arguments = ["sim", "--fleet", clustersFile.path, "--latency", latency, "--ready-after", "0s"]
        let out = Pipe()
        sim.standardOutput = out
        sim.standardError = FileHandle.nullDevice
        try sim.run()
        var seen = 0
        while seen < clusters, let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty { if byte == Data("\n".utf8) { seen += 1 } }
        guard seen == clusters else { throw CLIError("the simulator stopped after \(seen) of \(clusters) clusters started") }
        DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
        for d in 0..<dirs { files.merge(FleetFixtures.application("app\(d)")) { $1 } }
        repo = try GitRepositoryWriter(creatingAt: dir.appendingPathComponent("repo.git"))
        try repo.commit(files: files, message: "apps")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("appsets"), withIntermediateDirectories: true)
        try FleetFixtures.matrixApplicationSet(name: "bench", repoURL: Self.repoURL)
            .write(to: dir.appendingPathComponent("appsets/bench.yaml"), atomically: true, encoding: .utf8)
        configPath = dir.appendingPathComponent("hub.yaml").path
        try """
        listen: 127.0.0.1:0
        clusters: ['\(clustersFile.path)']
        applicationSets: ['\(dir.appendingPathComponent("appsets").path)']
        repositories: [{url: '\(Self.repoURL)', fetchFrom: '\(dir.appendingPathComponent("repo.git").path)'}]
        git: {pollInterval: 1h, webhookSecret: \(Self.secret)}
        reconcile: {concurrency: 32, perCluster: 8, resync: 1h}
        limits: {applicationsPerApplicationSet: \(max(10_000, apps))}
        auth: {adminTokenFile: '\(dir.appendingPathComponent("admin.token").path)'}
        store: {postgres: {url: '\(databaseURL)', keyFile: '\(dir.appendingPathComponent("secret.key").path)', maxConnections: 24}}
        lease: {renew: \(lease.renew), duration: \(lease.duration)}
        logLevel: \(ProcessInfo.processInfo.environment["FLOTILLA_BENCH_LOGS"] != nil ? "info" : "warning")
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts replica `name` and waits until it listens.
    func start(_ name: String) throws {
        let process = Process()
        process.executableURL = flotillaExecutable()
        process.arguments = ["serve", "--config", configPath, "--drain-timeout", "5"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["FLOTILLA_REPLICA": name, "FLOTILLA_DATA_DIR": dir.appendingPathComponent("data-\(name)").path]) { _, new in new }
        let out = Pipe()
        process.standardOutput = out
        let log = dir.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        guard let port = String(decoding: line, as: UTF8.self).split(separator: ":").last.flatMap({ Int($0) }) else {
            throw CLIError("replica \(name) did not start: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(500) ?? "")")
        }
        DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
        replicas[name] = process
        ports[name] = port
    }

    func stop() {
        for process in replicas.values where process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        sim.terminate()
        sim.waitUntilExit()
        pool.close()
        postgres.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Applications Synced and Healthy, and of those how many at `revision` (a commit id prefix), from the database.
    func counts(revision: String? = nil) throws -> (healthy: Int, atRevision: Int) {
        try pool.withConnection { db in
            let row = try db.query("""
                SELECT COUNT(*) FILTER (WHERE status::jsonb #>> '{sync,status}' = 'Synced' AND status::jsonb #>> '{health,status}' = 'Healthy') AS healthy,
                       COUNT(*) FILTER (WHERE status::jsonb #>> '{sync,status}' = 'Synced' AND status::jsonb #>> '{health,status}' = 'Healthy'
                                        AND status::jsonb #>> '{sync,revisions,0}' LIKE \(revision ?? "-") || '%') AS at
                FROM application
                """).first!.makeRandomAccess()
            return (Int(try row["healthy"].decode(Int64.self)), Int(try row["at"].decode(Int64.self)))
        }
    }

    /// Cluster leases held now, by replica.
    func clusterLeases() throws -> [String: [String]] {
        try pool.withConnection { db in
            var result: [String: [String]] = [:]
            for row in try db.query("""
                SELECT holder, key FROM lease WHERE key LIKE 'cluster/%' AND holder <> '' AND expires_at > extract(epoch FROM clock_timestamp())
                """) {
                let (holder, key) = try row.decode((String, String).self)
                result[holder, default: []].append(String(key.dropFirst("cluster/".count)))
            }
            return result
        }
    }

    /// Applications with more than one sync record of the same revision (a second replica applying it again).
    func doubleSyncs() throws -> Int {
        try pool.withConnection { db in
            let row = try db.query("""
                SELECT COUNT(*) AS n FROM (SELECT application, revision FROM sync_history GROUP BY application, revision HAVING COUNT(*) > 1) AS twice
                """).first!
            return Int(try row.makeRandomAccess()["n"].decode(Int64.self))
        }
    }

    /// Store writes refused by the fencing check, by replica.
    func fencedWrites() throws -> [String: Int] {
        try pool.withConnection { db in
            var result: [String: Int] = [:]
            for row in try db.query("SELECT replica, count FROM fenced_write") {
                let (replica, count) = try row.decode((String, Int64).self)
                result[replica] = Int(count)
            }
            return result
        }
    }

    /// Commits a change to every Application's ConfigMap and sends the push webhook to `replica`; returns the commit.
    func commitChange(_ tag: String, via replica: String) throws -> String {
        for key in files.keys where key.hasSuffix("config.yaml") {
            files[key] = Data(String(decoding: files[key]!, as: UTF8.self).replacingOccurrences(of: #"level: [^}]*"#, with: "level: \(tag)", options: .regularExpression).utf8)
        }
        let commit = try repo.commit(files: files, message: tag)
        let body = #"{"ref": "refs/heads/main", "after": "\#(commit.hex)", "repository": {"clone_url": "\#(Self.repoURL)"}}"#
        let signature = "sha256=" + Bytes.hex(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(Self.secret.utf8))))
        let answer = try client(replica, token: false, timeout: 30).request("POST", "/api/v1/webhook/git", body: Array(body.utf8), contentType: "application/json",
                                           headers: ["X-Hub-Signature-256": signature, "X-GitHub-Event": "push"])
        guard answer.status == 202 else { throw CLIError("webhook refused by \(replica): \(answer.status) \(answer.text)") }
        return commit.hex
    }

    /// An HTTP client to `replica`'s API, with the admin token (written by the first replica) unless `token` is false.
    func client(_ replica: String, token: Bool = true, timeout: Double = 5) -> HTTPTransport {
        let text = token ? ((try? String(contentsOfFile: dir.appendingPathComponent("admin.token").path, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines) : nil
        return HTTPTransport(server: "http://127.0.0.1:\(ports[replica]!)", credentials: ClusterCredentials(bearerToken: text), timeout: timeout)
    }

    /// `replica`'s Prometheus metrics.
    func metrics(_ replica: String) -> String {
        let transport = client(replica)
        return (try? transport.request("GET", "/metrics").text) ?? ""
    }

    /// One page of `replica`'s list of Applications on `cluster` (nil when it does not answer).
    func list(_ replica: String, cluster: String) -> [JSONValue]? {
        let transport = client(replica)
        guard let answer = try? transport.request("GET", "/api/v1/applications?cluster=\(cluster)&limit=1000"), answer.status == 200 else { return nil }
        return (try? JSONParser.parse(answer.text))?["items"]?.arrayValue
    }

    /// Whether `replica`'s API answers a list of Applications.
    func answers(_ replica: String) -> Bool {
        let transport = client(replica)
        return (try? transport.request("GET", "/api/v1/applications?limit=10").status) == 200
    }
}

extension BenchCommand {
    struct HABench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ha",
            abstract: "Hub replicas on one PostgreSQL: a replica killed or paused mid-fleet, and throughput with 1, 2 and 3 replicas.",
            discussion: """
              Starts its own PostgreSQL (initdb in a temporary directory), simulated clusters and `flotilla serve`
              replicas as processes.
                kill        SIGKILL the replica holding the most clusters; a commit pushed at once must reach every
                            Application it held (time from the kill), none synced twice, the API answering throughout.
                pause       SIGSTOP a replica for --pause seconds while a commit is synced by the others, then SIGCONT:
                            writes it attempts for clusters it lost are refused (fenced writes counted).
                throughput  the first sync of the fleet with 1, 2 and 3 replicas.
              """)

        enum Scenario: String, ExpressibleByArgument, CaseIterable { case kill, pause, throughput, all }

        @Option(help: "Scenario: kill, pause, throughput or all.") var scenario: Scenario = .all
        @Option(help: "Simulated clusters.") var clusters = 30
        @Option(help: "Application directories (Applications = clusters × dirs).") var dirs = 100
        @Option(help: "Simulated API latency.") var latency = "10ms"
        @Option(help: "Lease renewal interval.") var leaseRenew = "2s"
        @Option(help: "Lease duration.") var leaseDuration = "10s"
        @Option(help: "Seconds a paused replica stays stopped.") var pause = 30.0

        func run() throws {
            print("flotilla bench ha: \(clusters) clusters × \(dirs) = \(clusters * dirs) Applications, lease \(leaseRenew)/\(leaseDuration), latency \(latency)")
            if scenario == .kill || scenario == .all { try killScenario() }
            if scenario == .pause || scenario == .all { try pauseScenario() }
            if scenario == .throughput || scenario == .all { try throughputScenario() }
        }

        func world() throws -> HABenchWorld {
            try HABenchWorld(clusters: clusters, dirs: dirs, latency: latency, lease: (leaseRenew, leaseDuration))
        }

        /// Waits until `condition`, polling every 50 ms; the seconds waited, or nil after `timeout`.
        func wait(_ timeout: Double, _ condition: () throws -> Bool) -> Double? {
            let start = Date()
            while Date().timeIntervalSince(start) < timeout {
                if (try? condition()) == true { return Date().timeIntervalSince(start) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }

        func startThree(_ w: HABenchWorld) throws {
            for name in ["r1", "r2", "r3"] { try w.start(name) }
            let apps = w.apps
            guard let first = wait(900, { try w.counts().healthy == apps }) else { throw CLIError("the first sync did not finish: \(try w.counts())") }
            // Every cluster held, and the hand-overs to the replicas that joined done (rendezvous ranks decide the shares:
            // with few clusters one replica may rank first for none).
            guard wait(60, {
                let held = try w.clusterLeases()
                let asked = try w.pool.withConnection { db in
                    try db.query("SELECT COUNT(*) AS n FROM lease WHERE wanted_by IS NOT NULL").first!.makeRandomAccess()["n"].decode(Int64.self)
                }
                return held.values.reduce(0) { $0 + $1.count } == w.clusters && asked == 0
            }) != nil else {
                throw CLIError("the leases did not settle over three replicas: \(try w.clusterLeases())")
            }
            guard (try w.clusterLeases()).filter({ $0.key != "r1" }).contains(where: { !$0.value.isEmpty }) else {
                throw CLIError("neither r2 nor r3 ranks first for any of \(w.clusters) clusters: use more clusters")
            }
            print(String(format: "  first sync with 3 replicas: %.1f s; cluster leases: %@", first,
                         try w.clusterLeases().map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ")))
        }

        func killScenario() throws {
            let w = try world()
            defer { w.stop() }
            try startThree(w)
            let held = try w.clusterLeases()
            let victim = held.filter { $0.key != "r1" }.max { $0.value.count < $1.value.count }!.key
            let orphaned = Set(held[victim] ?? [])
            let orphanedApps = w.apps / w.clusters * orphaned.count
            kill(w.replicas[victim]!.processIdentifier, SIGKILL)
            let killed = Date()
            let survivors = ["r1", "r2", "r3"].filter { $0 != victim }
            // 1. Nothing changed in git: every Application it held must be reconciled (compared, repaired if needed)
            //    by another replica. Each survivor lists what it reconciled, with when.
            var unanswered = 0
            var reconciled: Double?
            let parser = ISO8601DateFormatter()
            parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var takeover: Double?
            while reconciled == nil && Date().timeIntervalSince(killed) < 120 {
                if takeover == nil, let now = try? w.clusterLeases(), now[victim] == nil, now.values.reduce(0, { $0 + $1.count }) == w.clusters {
                    takeover = Date().timeIntervalSince(killed)
                }
                var seen = Set<String>()
                for replica in survivors {
                    for cluster in orphaned {
                        guard let page = w.list(replica, cluster: cluster) else { unanswered += 1; continue }
                        for item in page where (item["reconciledAt"]?.stringValue).flatMap(parser.date(from:)).map({ $0 >= killed }) == true {
                            seen.insert(item["name"]?.stringValue ?? "")
                        }
                    }
                }
                if seen.count == orphanedApps { reconciled = Date().timeIntervalSince(killed) } else { Thread.sleep(forTimeInterval: 0.2) }
            }
            print(String(format: "  kill %@ (held %d clusters, %d Applications): its leases all taken over %.1f s after the kill, every one of its Applications reconciled by another replica %.1f s after it (lease %@)",
                         victim, orphaned.count, orphanedApps, takeover ?? -1, reconciled ?? -1, leaseDuration))
            // 2. Kill the next one too? No: a commit now must reach the whole fleet through the two survivors.
            let committed = Date()
            let commit = try w.commitChange("after-kill", via: "r1")
            var orphansDone: Double?
            while Date().timeIntervalSince(killed) < 180 && orphansDone == nil {
                if !w.answers("r1") || !w.answers(victim == "r2" ? "r3" : "r2") { unanswered += 1 }
                if orphansDone == nil {
                    let done = try w.pool.withConnection { db in
                        try db.query("""
                            SELECT COUNT(*) AS n FROM application WHERE cluster = ANY(\(Array(orphaned))) AND status::jsonb #>> '{sync,status}' = 'Synced'
                            AND status::jsonb #>> '{health,status}' = 'Healthy' AND status::jsonb #>> '{sync,revisions,0}' = \(commit)
                            """).first!.makeRandomAccess()["n"].decode(Int64.self)
                    }
                    if done == orphanedApps { orphansDone = Date().timeIntervalSince(committed) }
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            guard let all = wait(300, { try w.counts(revision: commit).atRevision == w.apps }) else {
                throw CLIError("not every Application reached the new commit: \(try w.counts(revision: commit))")
            }
            let total = Date().timeIntervalSince(committed)
            print(String(format: "  then a commit through the two survivors: the dead replica's Applications synced to it in %.1f s, the whole fleet in %.1f s (waited %.1f s more)",
                         orphansDone ?? -1, total, all))
            print("  lost: \(w.apps - (try w.counts(revision: commit)).atRevision), synced twice: \(try w.doubleSyncs()), API refusals during the take-over: \(unanswered)")
        }

        func pauseScenario() throws {
            let w = try world()
            defer { w.stop() }
            try startThree(w)
            let held = try w.clusterLeases()
            let paused = held.filter { $0.key != "r1" }.max { $0.value.count < $1.value.count }!.key
            // Paused mid-sync: the commit reaches it first, then it stops with work in hand.
            let commit = try w.commitChange("while-paused", via: paused)
            let mine = held[paused] ?? []
            _ = wait(30) {
                try w.pool.withConnection { db in
                    try db.query("""
                        SELECT COUNT(*) AS n FROM application WHERE cluster = ANY(\(mine)) AND status::jsonb #>> '{operationState,phase}' = 'Running'
                        """).first!.makeRandomAccess()["n"].decode(Int64.self)
                } > 0
            }
            kill(w.replicas[paused]!.processIdentifier, SIGSTOP)
            let stopped = Date()
            guard let synced = wait(max(60, pause), { try w.counts(revision: commit).atRevision == w.apps }) else {
                if ProcessInfo.processInfo.environment["FLOTILLA_BENCH_LOGS"] != nil {
                    for name in ["r1", "r3"] { print("--- \(name)\n" + ((try? String(contentsOf: w.dir.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? "")) }
                    print(try w.clusterLeases())
                    let rows = try w.pool.withConnection { db in
                        try db.query("SELECT name, cluster, status FROM application WHERE NOT (status::jsonb #>> '{sync,revisions,0}' LIKE \(commit) || '%') LIMIT 3").map {
                            try $0.decode((String, String, String).self)
                        }
                    }
                    for row in rows { print(row.0, row.1, row.2.prefix(1500)) }
                }
                throw CLIError("the fleet did not reach the commit while \(paused) was paused: \(try w.counts(revision: commit))")
            }
            let remaining = pause - Date().timeIntervalSince(stopped)
            if remaining > 0 { Thread.sleep(forTimeInterval: remaining) }
            kill(w.replicas[paused]!.processIdentifier, SIGCONT)
            // Give it time to wake, find its leases gone, and try whatever it had in hand.
            Thread.sleep(forTimeInterval: 15)
            let after = try w.clusterLeases()
            print(String(format: "  pause %@ (held %d clusters) for %.0f s: the others synced the fleet to the new commit in %.1f s", paused,
                         held[paused]?.count ?? 0, pause, synced))
            let metrics = w.metrics(paused)
            if ProcessInfo.processInfo.environment["FLOTILLA_BENCH_LOGS"] != nil {
                print((try? String(contentsOf: w.dir.appendingPathComponent("\(paused).log"), encoding: .utf8)) ?? "")
            }
            let refusedRequests = metrics.split(separator: "\n").first { $0.hasPrefix("flotilla_fenced_writes_total ") }.map { String($0.split(separator: " ")[1]) } ?? "?"
            let fenced = try w.fencedWrites()
            let others = fenced.filter { $0.key != paused }.values.reduce(0, +)
            print("  after SIGCONT: the paused replica's writes refused by the fencing check: \(refusedRequests) (cluster requests and store writes; \(fenced[paused] ?? 0) store writes); the others' (in-flight writes at the hand-backs): \(others) store writes; synced twice: \(try w.doubleSyncs()); clusters it holds 15 s later: \(after[paused]?.count ?? 0)")
        }

        func throughputScenario() throws {
            var first: Double?
            for count in 1...3 {
                let w = try world()
                defer { w.stop() }
                let names = (1...count).map { "r\($0)" }
                let start = Date()
                for name in names { try w.start(name) }
                let apps = w.apps
                guard wait(900, { try w.counts().healthy == apps }) != nil else { throw CLIError("the first sync with \(count) replicas did not finish") }
                let seconds = Date().timeIntervalSince(start)
                let cpu = names.compactMap { w.replicas[$0] }.map { processCPUSeconds(pid: $0.processIdentifier) }
                let spread = try w.clusterLeases().mapValues(\.count)
                first = first ?? seconds
                print(String(format: "  %d replica%@: %.1f s for %d Applications (%.0f /s, ×%.2f of one), CPU per replica %@ s, clusters %@", count,
                             count == 1 ? "" : "s", seconds, apps, Double(apps) / seconds, first! / seconds,
                             cpu.map { String(format: "%.1f", $0) }.joined(separator: "/"),
                             names.map { "\(spread[$0] ?? 0)" }.joined(separator: "/")))
            }
        }
    }
}
