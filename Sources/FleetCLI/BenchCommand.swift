import ArgumentParser
import FleetConfig
import FleetModel
import FleetStore
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Flotilla on synthetic input and print figures.",
        subcommands: [Registry.self]
    )

    struct Registry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse, apply, re-apply and query a synthetic clusters file in a temporary store."
        )

        @Option(help: "Number of clusters.") var clusters: Int = 10_000

        func validate() throws {
            if clusters < 1 { throw ValidationError("Please give --clusters of at least 1.") }
        }

        func run() throws {
            let envs = ["dev", "staging", "prod"], regions = ["eu", "us", "ap", "sa"]
            var yaml = "clusters:\n"
            for i in 0..<clusters {
                let name = String(format: "c%06d", i)
                yaml += "  - name: \(name)\n    server: https://10.\(i / 65536 % 256).\(i / 256 % 256).\(i % 256):6443\n"
                yaml += "    labels: {env: \(envs[i % 3]), region: \(regions[i % 4]), shard: s\(i % 16)}\n"
                yaml += "    auth: {token: bench-token-\(i)}\n"
                if i % 2 == 0 && i + 1 < clusters { yaml += "    secondary: \(String(format: "c%06d", i + 1))\n" }
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }

            let (entries, parse) = try measure { try ClustersFile.parse(yaml, file: "bench.yaml") }
            let store = try SQLiteClusterStore(directory: dir)
            let apply: (inout ClusterRegistry) -> Void = { registry in for e in entries { registry.upsert(e.cluster) } }
            let (created, first) = try measure { try store.update(apply) }
            let (unchanged, second) = try measure { try store.update(apply) }
            let selector = try LabelSelector(parsing: "env=prod,region in (eu,us),!canary")
            let (matched, query) = try measure { try store.clusters().filter { selector.matches($0.labels) }.count }

            print("bench registry: \(clusters) clusters (\(yaml.utf8.count / 1024) KiB of YAML)")
            print(row("parse + validate file", parse, clusters))
            print(row("apply (create, 1 transaction)", first, created.created.count))
            print(row("re-apply (no change)", second, unchanged.unchanged.count))
            print(row("load + select (\(matched) match)", query, clusters))
            print("peak RSS: \(peakRSSMiB()) MiB")
        }

        private func row(_ label: String, _ seconds: Double, _ count: Int) -> String {
            let rate = seconds > 0 ? Int(Double(count) / seconds) : 0
            return "  \(label.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%8.1f ms", seconds * 1000))   \(rate) clusters/s"
        }
    }
}

/// Runs `body` once and returns its result with the wall time in seconds.
func measure<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    return (result, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSSMiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb / 1024
    }
    return -1
}
