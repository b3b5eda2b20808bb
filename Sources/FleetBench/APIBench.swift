import ArgumentParser
import FleetCLIKit
import FleetHub
import FleetModel
import Foundation

extension BenchCommand {
    struct APIBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api",
            abstract: "Measure the hub's HTTP API under concurrent clients (wrk), side by side with /healthz as the ceiling.",
            discussion: """
            A hub in this process over simulated clusters in a child process, its HTTP server on a loopback port, and
            wrk (Debian package `wrk`) as the load generator. The Applications' first sync runs while wrk loads the API.
              flotilla bench api --clusters 20 --dirs 500 --connections 50 --duration 10s --limit 100
            """
        )

        @Option(help: "Simulated clusters.") var clusters: Int = 20
        @Option(help: "App directories in the repository (Applications = dirs × clusters).") var dirs: Int = 500
        @Option(help: "Concurrent connections (clients).") var connections: Int = 50
        @Option(help: "wrk threads.") var threads: Int = 2
        @Option(help: "Length of each run (wrk's --duration).") var duration: String = "10s"
        @Option(help: "Page size of GET /api/v1/applications.") var limit: Int = 100
        @Option(help: "The wrk binary.") var wrk: String = "wrk"
        @Flag(help: "Also time the handlers in process, without HTTP.") var inProcess = false
        @Option(help: "Nice value of the simulated clusters' process: they stand in for remote machines, not for work of the hub's cores (0 to share the cores equally).")
        var simNice: Int32 = 10

        struct Figures {
            var requestsPerSecond: Double = 0
            var p50 = "", p90 = "", p99 = ""
            var errors = ""
        }

        func run() throws {
            let world = try HubBenchWorld(clusters: clusters, dirs: dirs, latency: "0ms", concurrency: 32, perCluster: 8)
            defer { world.stop() }
            let apps = clusters * dirs
            if world.sim.isRunning { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(world.sim.processIdentifier), simNice) }
            try world.hub.start()
            guard let token = world.hub.bootstrapToken else { throw CLIError("the bench hub minted no admin token") }
            let server = BenchHTTPServer(hub: world.hub)
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.port)"
            if inProcess {
                // Quiet: after the first sync, so the figures are the handlers' own.
                _ = world.wait(timeout: 600) { world.counts().synced == apps }
                _ = world.wait(timeout: 60) { world.hub.queueMetrics.running == 0 }
                // The handlers alone, without HTTP: CPU per request of each route.
                let api = HubAPI(hub: world.hub)
                for path in ["/api/v1/whoami", "/api/v1/applications/app0-c0", "/api/v1/applications?limit=\(limit)"] {
                    let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
                    var query: [String: String] = [:]
                    if parts.count > 1 { for kv in parts[1].split(separator: "&") { let p = kv.split(separator: "="); query[String(p[0])] = String(p[1]) } }
                    let request = APIRequest(method: "GET", path: parts[0], query: query, headers: ["authorization": "Bearer \(token)"])
                    let n = 300
                    let cpu0 = processCPUSeconds()
                    let (_, wall) = measure { for _ in 0..<n { _ = api.handleBlocking(request) } }
                    say("  in process \(path.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(format: "%7.0f", wall / Double(n) * 1e6)) µs wall, \(String(format: "%7.0f", (processCPUSeconds() - cpu0) / Double(n) * 1e6)) µs CPU per request")
                }
            }
            say("bench api: \(apps) Applications (\(clusters) clusters × \(dirs) dirs), \(connections) connections, \(threads) wrk threads, \(duration) per run, simulated clusters at nice \(simNice)")
            _ = world.wait(timeout: 600) { world.counts().synced == apps }
            let ceiling = try load(base + "/healthz", token: nil)
            say(line("GET /healthz (ceiling)", ceiling))
            // First quiet, then while every Application is being reconciled again (a full resync).
            for busy in [false, true] {
                if busy {
                    _ = world.wait(timeout: 60) { world.hub.queueMetrics.running == 0 }
                    world.hub.resyncAll()
                }
                let done0 = world.hub.queueMetrics.completed
                say(busy ? "  while all \(apps) Applications resync:" : "  quiet (all synced):")
                let list = try load(base + "/api/v1/applications?limit=\(limit)", token: token)
                say(line("GET /api/v1/applications?limit=\(limit)", list))
                let one = try load(base + "/api/v1/applications/app0-c0", token: token)
                say(line("GET /api/v1/applications/app0-c0", one))
                if busy { say("    reconciles completed meanwhile: \(world.hub.queueMetrics.completed - done0)") }
                say(String(format: "    list / ceiling: %.2f", list.requestsPerSecond / max(1, ceiling.requestsPerSecond)))
            }
        }

        func line(_ label: String, _ f: Figures) -> String {
            "  \(label.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(format: "%8.0f", f.requestsPerSecond)) req/s   p50 \(f.p50)  p90 \(f.p90)  p99 \(f.p99)\(f.errors.isEmpty ? "" : "   \(f.errors)")"
        }

        /// Runs wrk against `url` and reads its summary.
        func load(_ url: String, token: String?) throws -> Figures {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            var arguments = [wrk, "-t\(threads)", "-c\(connections)", "-d\(duration)", "--latency"]
            if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
            process.arguments = arguments + [url]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            do { try process.run() } catch { throw CLIError("cannot run \(wrk): \(error). Install it (Debian: apt-get install wrk).") }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CLIError("\(wrk) failed (is it installed? Debian: apt-get install wrk):\n\(text)") }
            var figures = Figures()
            for raw in text.split(separator: "\n") {
                let fields = raw.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let first = fields.first else { continue }
                switch first {
                case "Requests/sec:": figures.requestsPerSecond = Double(fields.last ?? "") ?? 0
                case "50%": figures.p50 = fields.last ?? ""
                case "90%": figures.p90 = fields.last ?? ""
                case "99%": figures.p99 = fields.last ?? ""
                case "Non-2xx": figures.errors = raw.trimmingCharacters(in: .whitespaces)
                default: if raw.contains("Socket errors") { figures.errors += raw.trimmingCharacters(in: .whitespaces) }
                }
            }
            return figures
        }
    }
}

/// Writes a line at once (unbuffered), so that progress shows while the bench runs, also into a file.
private func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// The bound port and the server's task, handed from the server's task to the bench.
/// The bench hub's API served on a free loopback port, until `stop()`.
final class BenchHTTPServer: @unchecked Sendable {
    let port: Int
    private let box = PortBox()
    private let task: Task<Void, any Error>

    init(hub: Hub) {
        let server = HubServer(api: HubAPI(hub: hub), listen: "127.0.0.1:0", logger: hub.benchLogger)
        let started = DispatchSemaphore(value: 0)
        let box = self.box
        task = Task {
            let (port, task) = try await server.start()
            box.set(port, task)
            started.signal()
            _ = await task.result
        }
        started.wait()
        port = box.port
    }

    func stop() {
        box.task?.cancel()
        task.cancel()
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    private var serverTask: Task<Void, any Error>?
    func set(_ port: Int, _ task: Task<Void, any Error>) { lock.withLock { value = port; serverTask = task } }
    var port: Int { lock.withLock { value } }
    var task: Task<Void, any Error>? { lock.withLock { serverTask } }
}
