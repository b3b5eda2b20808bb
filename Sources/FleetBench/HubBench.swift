import ArgumentParser
import Crypto
import FleetCLIKit
import FleetConfig
import FleetGit
import FleetHub
import FleetKube
import FleetModel
import FleetReconcile
import FleetTesting
import Foundation
import Logging

/// A hub in this process over a simulated fleet in a child process (`flotilla sim --fleet`), so that the
/// process's CPU time and memory are the hub's alone.
final class HubBenchWorld {
    let dir: URL
    let sim: Process
    /// With `simProcesses` > 1: the other simulator processes (clusters split between them).
    var moreSims: [Process] = []
    /// With `simPerCluster`: one simulator process per cluster, by name.
    var sims: [String: Process] = [:]
    var ports: [String: Int] = [:]
    let latency: String
    let hub: Hub
    let repo: GitRepositoryWriter
    var files: [String: Data]
    static let repoURL = "https://git.example.com/bench/apps.git"

    /// - Parameters:
    ///   - standby: the last cluster is a standby (env=dr, selected by no generator) and the secondary of c0.
    ///   - simPerCluster: one simulator process per cluster, so that one can be killed (`killSim`).
    init(clusters: Int, dirs: Int, latency: String, concurrency: Int, perCluster: Int, reachable: Bool = true,
         standby: Bool = false, simPerCluster: Bool = false, failover: HubConfiguration.Failover = .init(), watch: Bool = true, resync: Double = 3600,
         simProcesses: Int = 1) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-hub-bench-\(UUID().uuidString)")
        self.latency = latency
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var entries: [FleetFixtures.ClusterEntry] = []
        // Unreachable clusters too get ports of their own (nothing listens there): one server address per cluster,
        // so each Application resolves to its cluster.
        let free = freeLoopbackPorts(clusters)
        for i in 0..<clusters {
            let port = free[i]
            ports["c\(i)"] = port
            let isStandby = standby && i == clusters - 1
            entries.append(.init(name: "c\(i)", port: port, labels: ["env": isStandby ? "dr" : "prod"], secondary: standby && i == 0 ? "c\(clusters - 1)" : nil))
        }
        try FleetFixtures.clustersYAML(entries).write(to: dir.appendingPathComponent("clusters.yaml"), atomically: true, encoding: .utf8)
        sim = Process()
        sim.executableURL = flotillaExecutable()
        sim.arguments = ["sim", "--fleet", dir.appendingPathComponent("clusters.yaml").path, "--latency", latency, "--ready-after", "0s"]
        let out = Pipe()
        sim.standardOutput = out
        sim.standardError = FileHandle.nullDevice
        if reachable && simPerCluster {
            for name in ports.keys.sorted() { sims[name] = try Self.launchSim(name, port: ports[name]!, latency: latency) }
        } else if reachable {
            // The clusters split between `simProcesses` processes, each serving its share (`sim --fleet`).
            let parts = max(1, min(simProcesses, clusters))
            for p in 0..<parts {
                let share = entries.enumerated().filter { $0.offset % parts == p }.map(\.element)
                let file = dir.appendingPathComponent("clusters-\(p).yaml")
                try FleetFixtures.clustersYAML(share).write(to: file, atomically: true, encoding: .utf8)
                let process = p == 0 ? sim : Process()
                process.executableURL = sim.executableURL
                process.arguments = ["sim", "--fleet", file.path, "--latency", latency, "--ready-after", "0s"]
                let out = Pipe()
                process.standardOutput = out
                process.standardError = FileHandle.nullDevice
                try process.run()
                if p > 0 { moreSims.append(process) }
                var seen = 0, line = Data()
                while seen < share.count, let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
                    if byte == Data("\n".utf8) { seen += 1; line = Data() } else { line.append(byte) }
                }
                guard seen == share.count else {
                    throw CLIError("simulator process \(p + 1) of \(parts) stopped after \(seen) of its \(share.count) clusters started")
                }
                DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
            }
        }

        files = [:]
        for d in 0..<dirs { files.merge(Self.app("app\(d)")) { $1 } }
        repo = try GitRepositoryWriter(creatingAt: dir.appendingPathComponent("repo.git"))
        try repo.commit(files: files, message: "apps")
        let appSet = FleetFixtures.matrixApplicationSet(name: "bench", repoURL: Self.repoURL)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("appsets"), withIntermediateDirectories: true)
        try appSet.write(to: dir.appendingPathComponent("appsets/bench.yaml"), atomically: true, encoding: .utf8)
        var config = HubConfiguration()
        config.clusters = [dir.appendingPathComponent("clusters.yaml").path]
        config.applicationSets = [dir.appendingPathComponent("appsets").path]
        config.repositories = [.init(url: Self.repoURL, fetchFrom: dir.appendingPathComponent("repo.git").path)]
        config.webhookSecret = "bench-webhook-secret"
        config.concurrency = concurrency
        config.perCluster = perCluster
        config.resync = resync
        config.gitPollInterval = 3600
        config.failover = failover
        config.watch = watch
        // The benchmark's one ApplicationSet makes every Application: the per-ApplicationSet cap must not cut it short.
        config.limits.applicationsPerApplicationSet = max(config.limits.applicationsPerApplicationSet, clusters * dirs)
        var logger = Logger(label: "bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        hub = try Hub(config: config, dataDir: dir.appendingPathComponent("data"), logger: logger)
    }

    /// Three objects per app: a ConfigMap, a Service and a Deployment.
    static func app(_ name: String) -> [String: Data] { FleetFixtures.application(name) }

    func counts() -> (synced: Int, healthy: Int) {
        let c = hub.metrics.applicationCounts()
        return (c["sync"]?["Synced"] ?? 0, c["health"]?["Healthy"] ?? 0)
    }

    /// Waits until `condition` holds, polling every 5 ms; returns the seconds waited, or nil after `timeout`.
    func wait(timeout: Double, _ condition: () -> Bool) -> Double? { FleetFixtures.wait(timeout: timeout, condition) }

    /// Whether every simulator process started for the fleet still runs.
    /// CPU time (user + system) of the simulator processes so far, in seconds: what the hub shares the machine with.
    var simulatorCPUSeconds: Double {
        let processes = sims.isEmpty ? [sim] + moreSims : Array(sims.values)
        return processes.filter(\.isRunning).reduce(0) { $0 + processCPUSeconds(pid: $1.processIdentifier) }
    }

    var simulatorsRunning: Bool { sims.isEmpty ? ([sim] + moreSims).allSatisfy(\.isRunning) : sims.values.allSatisfy(\.isRunning) }

    /// Starts cluster `name`'s simulator on its port (again, after `killSim`: empty, like a rebuilt cluster).
    func startSim(_ name: String) throws { sims[name] = try Self.launchSim(name, port: ports[name]!, latency: latency) }

    static func launchSim(_ name: String, port: Int, latency: String) throws -> Process {
        try launchSimulator(["--listen", "127.0.0.1:\(port)", "--name", name, "--latency", latency, "--ready-after", "0s"], name: name).0
    }

    /// SIGKILL to cluster `name`'s simulator.
    func killSim(_ name: String) {
        guard let p = sims[name], p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func stop() {
        hub.stop(timeout: 10)
        for p in sims.values where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        for p in [sim] + moreSims where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }
}

/// CPU time (user + system) of this process, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// CPU time (user + system) of another process, in seconds (0 when it cannot be read).
func processCPUSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    // After the command in parentheses: state is field 3, utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Current resident set size (VmRSS), in MiB.
func currentRSSMiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) / 1024
    }
    return -1
}

extension BenchCommand {
    struct HubBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hub",
            abstract: "Measure the hub: commit-to-healthy latency, first-sync throughput, resync CPU, memory.",
            discussion: """
            Simulated clusters run in a child process (`flotilla sim --fleet`), so CPU and RSS are the hub's.
              flotilla bench hub --scenario e2e                                  (20 clusters, commit + webhook → Healthy)
              flotilla bench hub --scenario throughput --clusters 20 --dirs 500 --latency 10ms
              flotilla bench hub --scenario resync --clusters 20 --dirs 500
              flotilla bench hub --scenario memory --clusters 100 --dirs 1000    (100,000 Applications)
              flotilla bench hub --scenario dashboard --clusters 100 --dirs 1000 --runs 20   (the dashboard's pages with 100,000 Applications)
              flotilla bench hub --scenario drift --clusters 20 --dirs 50 --runs 10   (another client changes an object; time until healed)
              flotilla bench hub --scenario scale --clusters 500 --dirs 100 --sim-processes 4   (50,000 Applications: first sync, RSS, cache)
            Add --no-watch to run the same with the clusters' caches off (every reconcile reads the API servers,
            drift is seen at the next resync).
            """
        )

        enum Scenario: String, ExpressibleByArgument { case e2e, throughput, resync, memory, drift, scale, dashboard }

        @Option(help: "e2e, throughput, resync, memory, drift, scale or dashboard.") var scenario: Scenario = .e2e
        @Option(help: "Simulator processes the clusters are split between.") var simProcesses: Int = 1
        @Option(help: "Simulated clusters.") var clusters: Int = 20
        @Option(help: "App directories in the repository (Applications = dirs × clusters).") var dirs: Int = 10
        @Option(help: "Latency the simulated API servers add to every answer.") var latency: String = "0ms"
        @Option(help: "Reconciles at once.") var concurrency: Int = 32
        @Option(help: "Reconciles at once per cluster.") var perCluster: Int = 8
        @Option(help: "Repetitions (e2e, drift, resync, dashboard).") var runs: Int = 5
        @Flag(help: "Turn the clusters' watch-fed caches off (reconcile.watch: false).") var noWatch = false

        func run() throws {
            let world = try HubBenchWorld(clusters: clusters, dirs: dirs, latency: latency, concurrency: concurrency, perCluster: perCluster,
                                          reachable: scenario != .memory && scenario != .dashboard, watch: !noWatch,
                                          resync: scenario == .drift ? 180 : 3600, simProcesses: simProcesses)
            defer { world.stop() }
            let apps = clusters * dirs
            print("bench hub \(scenario.rawValue): \(clusters) clusters × \(dirs) dirs = \(apps) Applications (3 objects each), latency \(latency), concurrency \(concurrency)/\(perCluster) per cluster, watch \(noWatch ? "off" : "on")")
            let startCPU = processCPUSeconds(), startSimCPU = world.simulatorCPUSeconds
            let (_, load) = try measure { try world.hub.start() }
            print("  start (fetch, generate, store):   \(String(format: "%8.3f s", load))   \(Int(Double(apps) / load)) apps/s generated and stored")
            switch scenario {
            case .dashboard:
                try DashboardBench.run(world: world, apps: apps, runs: runs, last: "app\(dirs - 1)-c\(clusters - 1)")
                return
            case .memory:
                let stored = try world.hub.store.count()
                guard stored == apps else { throw CLIError("\(stored) of \(apps) Applications were stored: the figure would not measure what it says") }
                Thread.sleep(forTimeInterval: 2)
                print("  RSS with \(apps) Applications stored and queued: \(currentRSSMiB()) MiB (peak \(peakRSSMiB()) MiB); CPU \(String(format: "%.2f", processCPUSeconds() - startCPU)) s")
                return
            case .throughput, .resync:
                guard let first = world.wait(timeout: 1800, { world.counts().synced == apps }) else {
                    throw CLIError("not all Applications synced within 30 minutes: \(world.counts())")
                }
                let total = first + load
                let l = try parseDuration(latency, flag: "--latency").seconds
                // Fewest sequential round trips of a first sync: inventory list, read, apply.
                let bound = l > 0 ? Double(concurrency) / (3 * l) : .infinity
                print("  first sync of all:                \(String(format: "%8.3f s", total))   \(Int(Double(apps) / total)) apps/s" +
                      (l > 0 ? "   (bound \(Int(bound)) apps/s = \(concurrency) workers / (3 round trips × \(latency)); \(String(format: "%.0f", 100 * Double(apps) / total / bound)) %)" : ""))
                _ = world.wait(timeout: 120) { world.counts().healthy == apps }
                let firstCPU = processCPUSeconds() - startCPU, firstHTTP = HTTPTransport.exchangeCPU.seconds
                let simCPU = world.simulatorCPUSeconds - startSimCPU
                print("  hub CPU for the first sync:       \(String(format: "%8.2f s", firstCPU))   \(String(format: "%.0f", firstCPU / Double(apps) * 1e6)) µs per app" +
                      " (HTTP exchanges \(String(format: "%.0f", firstHTTP / Double(apps) * 1e6)) µs, the rest \(String(format: "%.0f", (firstCPU - firstHTTP) / Double(apps) * 1e6)) µs)")
                // Both on this machine's cores: when their sum nears cores × wall time, the run is CPU-bound.
                print("  simulators' CPU meanwhile:        \(String(format: "%8.2f s", simCPU));  hub + simulators = \(String(format: "%.1f", (firstCPU + simCPU) / total)) of \(ProcessInfo.processInfo.activeProcessorCount) cores busy on average")
                guard scenario == .resync else { return }
                _ = world.wait(timeout: 60) { world.hub.queueMetrics.running == 0 }
                Thread.sleep(forTimeInterval: 3)   // progress re-checks settle
                for _ in 0..<max(1, runs) {
                    let done = world.hub.queueMetrics.completed
                    let cpu0 = processCPUSeconds(), http0 = HTTPTransport.exchangeCPU.seconds
                    let (_, wall) = measure { () -> Void in
                        world.hub.resyncAll()
                        _ = world.wait(timeout: 600) { world.hub.queueMetrics.completed >= done + apps }
                    }
                    let cpu = processCPUSeconds() - cpu0, http = HTTPTransport.exchangeCPU.seconds - http0
                    print("  full resync of \(apps) synced apps:  \(String(format: "%8.3f s", wall)) wall, \(String(format: "%.2f", cpu)) s hub CPU = \(String(format: "%.0f", cpu / Double(apps) * 1e6)) µs per app")
                    print("    of which HTTP exchanges (libcurl):   \(String(format: "%.2f", http)) s; hub CPU excluding the network: \(String(format: "%.0f", (cpu - http) / Double(apps) * 1e6)) µs per app")
                }
                print("  peak RSS: \(peakRSSMiB()) MiB")
            case .scale:
                let rssBefore = currentRSSMiB()
                guard let first = world.wait(timeout: 3600, { world.counts().synced == apps || !world.simulatorsRunning }), world.simulatorsRunning else {
                    throw CLIError(world.simulatorsRunning ? "not all Applications synced within an hour: \(world.counts())" : "a simulator process stopped during the first sync")
                }
                let total = first + load
                let cpu = processCPUSeconds() - startCPU
                print("  first sync of all:                \(String(format: "%8.1f s", total))   \(Int(Double(apps) / total)) apps/s, hub CPU \(String(format: "%.0f", cpu / Double(apps) * 1e6)) µs per app")
                _ = world.wait(timeout: 600) { world.counts().healthy == apps }
                _ = world.wait(timeout: 60) { world.hub.queueMetrics.running == 0 }
                let cached = world.hub.cachedObjects()
                let objects = cached.values.reduce(0, +)
                let rss = currentRSSMiB()
                print("  healthy: \(world.counts().healthy) of \(apps); RSS \(rss) MiB (peak \(peakRSSMiB()) MiB; \(rssBefore) MiB with the Applications stored, before any sync)")
                print("  cached objects: \(objects) on \(cached.count) clusters; RSS growth during the sync per cached object: " +
                      "\(objects > 0 ? String(format: "%.1f KiB", Double(rss - rssBefore) * 1024 / Double(objects)) : "-") (an upper bound: it includes statuses and history)")
            case .drift:
                guard world.wait(timeout: 1800, { world.counts().healthy == apps }) != nil else { throw CLIError("initial sync did not finish: \(world.counts())") }
                _ = world.wait(timeout: 60) { world.hub.queueMetrics.running == 0 }
                Thread.sleep(forTimeInterval: 1)
                // Another field manager (as `kubectl apply --server-side --force-conflicts` would) changes one
                // Application's ConfigMap on every cluster at once; each is timed until git's value is back.
                let clients = (0..<clusters).map { KubeClient(cluster: Cluster(name: "c\($0)", server: "http://127.0.0.1:\(world.ports["c\($0)"]!)"), timeout: 10) }
                var times: [Double] = []
                for r in 0..<runs {
                    let app = "app\(r % dirs)"
                    let drifted: JSONValue = .object([("apiVersion", "v1"), ("kind", "ConfigMap"),
                                                      ("metadata", .object([("name", .string(app)), ("namespace", .string(app))])),
                                                      ("data", .object([("level", .string("debug-\(r)"))]))])
                    let starts = ConcurrentRunner.map(clients, width: 16) { client -> Date in
                        _ = try client.apply(drifted, fieldManager: "bench-drift", force: true)
                        return Date()
                    }
                    let cm = try clients[0].resource(apiVersion: "v1", kind: "ConfigMap")
                    let healed = ConcurrentRunner.map(Array(zip(clients, starts)), width: 16) { client, start -> Double in
                        let began = try start.get()
                        while Date().timeIntervalSince(began) < 300 {
                            if try client.get(cm, namespace: app, name: app)?.value(at: ["data", "level"]) == "info" { return Date().timeIntervalSince(began) }
                            Thread.sleep(forTimeInterval: 0.005)
                        }
                        throw CLIError("\(app) on \(client.cluster.name) was not healed within 300 s")
                    }
                    for h in healed { times.append(try h.get()) }
                }
                let sorted = times.sorted()
                func at(_ q: Double) -> String { String(format: "%.3f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) }
                print("  drift healed (\(times.count) changes on \(clusters) clusters, resync \(Int(world.hub.config.resync)) s): " +
                      "median \(at(0.5)) s, p99 \(at(0.99)) s, max \(String(format: "%.3f", sorted.last ?? 0)) s")
            case .e2e:
                guard world.wait(timeout: 600, { world.counts().healthy == apps }) != nil else { throw CLIError("initial sync did not finish") }
                var times: [Double] = []
                for r in 0..<runs {
                    let name = "new\(r)"
                    world.files.merge(HubBenchWorld.app(name)) { $1 }
                    let commit = try world.repo.commit(files: world.files, message: "add \(name)")
                    let body = #"{"ref": "refs/heads/main", "after": "\#(commit.hex)", "repository": {"clone_url": "\#(HubBenchWorld.repoURL)"}}"#
                    let signature = "sha256=" + Bytes.hex(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array("bench-webhook-secret".utf8))))
                    let start = Date()
                    let answer = HubAPI(hub: world.hub).handleBlocking(APIRequest(method: "POST", path: "/api/v1/webhook/git",
                                                                          headers: ["x-hub-signature-256": signature], body: Array(body.utf8)))
                    guard answer.status == 202 else { throw CLIError("webhook refused: \(answer.body)") }
                    let names = (0..<clusters).map { "\(name)-c\($0)" }
                    guard world.wait(timeout: 60, {
                        names.allSatisfy { n in
                            guard let app = (try? world.hub.store.application(named: n)) ?? nil else { return false }
                            return app.status.value(at: ["health", "status"]) == "Healthy" && app.status.value(at: ["sync", "status"]) == "Synced"
                        }
                    }) != nil else { throw CLIError("\(name) did not become Healthy on every cluster") }
                    times.append(Date().timeIntervalSince(start))
                }
                let sorted = times.sorted()
                print("  commit + webhook → Healthy on all \(clusters) clusters: median \(String(format: "%.3f", sorted[sorted.count / 2])) s, " +
                      "min \(String(format: "%.3f", sorted.first!)) s, max \(String(format: "%.3f", sorted.last!)) s over \(runs) commits")
            }
        }
    }
}
