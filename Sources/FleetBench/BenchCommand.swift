import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetGenerators
import FleetGit
import FleetKube
import FleetModel
import FleetSim
import FleetStore
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Flotilla on synthetic input and print figures.",
        subcommands: [Registry.self, Generate.self, GitTree.self, RenderBench.self, ApplyBench.self, HubBench.self, FailoverBench.self, APIBench.self, HABench.self]
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

extension BenchCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate Applications from a git directories × clusters matrix over a synthetic registry and repository."
        )

        @Option(help: "Number of clusters in the synthetic registry.") var clusters: Int = 100
        @Option(help: "Number of application directories in the synthetic repository.") var dirs: Int = 1_000
        @Flag(help: "Use Go-template mode instead of fasttemplate.") var goTemplate = false
        @Option(help: "Repetitions (the best is reported).") var runs: Int = 3

        func validate() throws {
            if clusters < 1 || dirs < 1 || runs < 1 { throw ValidationError("Please give positive --clusters, --dirs and --runs.") }
        }

        func run() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let repoPath = root.appendingPathComponent("apps.git")
            let writer = try GitRepositoryWriter(creatingAt: repoPath)
            var files: [String: Data] = [:]
            for i in 0..<dirs { files["apps/app-\(i)/deployment.yaml"] = Data("kind: Deployment\n".utf8) }
            let (_, repoTime) = try measure { try writer.commit(files: files, message: "synthetic") }

            let envs = ["dev", "staging", "prod"], regions = ["eu", "us", "ap"]
            let registry = (0..<clusters).map { i in
                Cluster(name: String(format: "cluster-%05d", i), server: "https://10.\(i / 65536 % 256).\(i / 256 % 256).\(i % 256):6443",
                        labels: ["env": envs[i % 3], "region": regions[i % 3], "fleet": "bench"])
            }
            let t: (String) -> String = { goTemplate ? "{{ .\($0) }}" : "{{\($0)}}" }
            let yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: ApplicationSet
            metadata: {name: bench, namespace: argocd}
            spec:
              goTemplate: \(goTemplate)
              generators:
                - matrix:
                    generators:
                      - git: {repoURL: '\(repoPath.path)', revision: HEAD, directories: [{path: 'apps/*'}]}
                      - clusters: {selector: {matchLabels: {fleet: bench}}}
              template:
                metadata:
                  name: '\(t("path.basename"))-\(t("name"))'
                  labels: {app: '\(t("path.basename"))', env: '\(goTemplate ? "{{ index .metadata.labels \"env\" }}" : "{{metadata.labels.env}}")'}
                spec:
                  project: default
                  source: {repoURL: '\(repoPath.path)', targetRevision: HEAD, path: '\(goTemplate ? "{{ .path.path }}" : "{{path}}")'}
                  destination: {server: '\(t("server"))', namespace: '\(t("path.basename"))'}
                  syncPolicy: {automated: {prune: true, selfHeal: true}}
            """
            let appSet = try ApplicationSet.parse(yaml, file: "bench.yaml")[0]
            let cache = GitMirrorCache(root: root.appendingPathComponent("data/git"))
            let git = MirrorGitSource(cache: cache, fetchOnResolve: true)
            // First run includes the clone and the tree read; later runs hit the tree cache (trees are cached by commit).
            var best = Double.infinity, first = 0.0, count = 0
            for run in 0..<runs {
                // The bench measures sizes beyond the hub's default per-ApplicationSet limit.
                let context = GeneratorContext(clusters: registry, git: git, maxApplications: Int.max)
                var apps: [Application] = []
                apps.reserveCapacity(clusters * dirs)
                let (result, seconds) = try measure { try Generation.generate(appSet, context: context, executor: .cores) { apps.append($0) } }
                count = result.count
                if run == 0 { first = seconds }
                best = min(best, seconds)
                apps.removeAll()
            }
            print("bench generate: \(clusters) clusters × \(dirs) directories = \(count) Applications (\(goTemplate ? "Go template" : "fasttemplate"), \(ParallelExecutor.cores.width) threads)")
            print("  synthetic repository written in \(String(format: "%.1f", repoTime * 1000)) ms")
            print(String(format: "  first run (clone + tree + generate): %8.3f s", first))
            print(String(format: "  best of %d runs:                    %8.3f s   %.0f applications/s", runs, best, Double(count) / best))
            print("  peak RSS: \(peakRSSMiB()) MiB")
        }
    }

    struct GitTree: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "git-tree",
            abstract: "List every directory of a synthetic repository's commit, and compare with `git ls-tree -r -d` on the same repository."
        )

        @Option(help: "Number of leaf directories (each under a group of 100).") var dirs: Int = 10_000
        @Option(help: "Repetitions (the best is reported).") var runs: Int = 5

        func run() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let writer = try GitRepositoryWriter(creatingAt: root.appendingPathComponent("repo.git"))
            var files: [String: Data] = [:]
            for i in 0..<dirs { files["group-\(i / 100)/app-\(i)/kustomization.yaml"] = Data("resources: []\n".utf8) }
            let commit = try writer.commit(files: files, message: "synthetic")
            let repo = try GitRepository(path: root.appendingPathComponent("repo.git").path)
            var ours = Double.infinity, directories = 0
            for _ in 0..<runs {
                let (tree, seconds) = try measure { try repo.tree(at: commit) }
                directories = tree.directories.count
                ours = min(ours, seconds)
            }
            print("bench git-tree: \(directories) directories")
            print(String(format: "  flotilla (libgit2 tree walk):  %8.2f ms", ours * 1000))
            guard let git = ["/usr/bin/git", "/usr/local/bin/git"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                print("  git: not installed, no comparison")
                return
            }
            func timeGit(_ arguments: [String]) throws -> (Double, Int) {
                var best = Double.infinity, lines = 0
                for _ in 0..<runs {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: git)
                    process.arguments = ["--git-dir", root.appendingPathComponent("repo.git").path] + arguments
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    let (out, seconds) = try measure { () -> Data in
                        try process.run()
                        let data = pipe.fileHandleForReading.readDataToEndOfFile()
                        process.waitUntilExit()
                        return data
                    }
                    lines = out.split(separator: UInt8(ascii: "\n")).count
                    best = min(best, seconds)
                }
                return (best, lines)
            }
            let (theirs, lines) = try timeGit(["ls-tree", "-r", "-d", "--name-only", commit.hex])
            let (startup, _) = try timeGit(["rev-parse", "--verify", "-q", commit.hex])
            print(String(format: "  git ls-tree -r -d (process):   %8.2f ms  (%d directories)", theirs * 1000, lines))
            print(String(format: "  git process start (rev-parse): %8.2f ms", startup * 1000))
            print(String(format: "  ratio git / flotilla:          %8.2f×  (%.2f× without git's process start)", theirs / ours, max(0, theirs - startup) / ours))
        }
    }
}

extension BenchCommand {
    struct ApplyBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Apply a directory of objects to a simulator with latency, then run `kubectl apply --server-side` on the same files against a fresh simulator."
        )

        @Option(help: "Number of objects (half ConfigMaps, half Deployments).") var objects: Int = 2_000
        @Option(help: "Number of namespaces they are spread over.") var namespaces: Int = 20
        @Option(help: "Latency the simulator adds to every answer.") var latency: String = "20ms"
        @Option(help: "Requests Flotilla sends at once.") var concurrency: Int = 32
        @Option(help: "GET requests for the simulator throughput figure.") var gets: Int = 20_000
        @Flag(help: "Skip the kubectl run.") var noKubectl = false

        func run() async throws {
            let delay = try parseDuration(latency, flag: "--latency")
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("manifests")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var nsYAML = ""
            for n in 0..<namespaces { nsYAML += "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench-\(n)}\n---\n" }
            try nsYAML.write(to: dir.appendingPathComponent("00-namespaces.yaml"), atomically: true, encoding: .utf8)
            for i in 0..<objects {
                let ns = "bench-\(i % namespaces)"
                let text = i % 2 == 0
                    ? "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-\(i), namespace: \(ns)}\ndata: {index: '\(i)'}\n"
                    : "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-\(i), namespace: \(ns)}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: app-\(i)}}\n  template:\n    metadata: {labels: {app: app-\(i)}}\n    spec: {containers: [{name: main, image: 'nginx:1.27'}]}\n"
                try text.write(to: dir.appendingPathComponent(String(format: "obj-%05d.yaml", i)), atomically: true, encoding: .utf8)
            }
            let manifests = try loadManifests(dir.path)
            let total = manifests.count

            // Flotilla against simulator A, kubectl against simulator B, both with the same latency.
            let a = SimCluster(options: .init(name: "bench-a")), b = SimCluster(options: .init(name: "bench-b"))
            let c = SimCluster(options: .init(name: "bench-get"))
            let slow = try await SimServer(listeners: [.init(host: "127.0.0.1", port: 0, cluster: a), .init(host: "127.0.0.1", port: 0, cluster: b)],
                                           latency: delay, logLevel: .critical).start()
            let fast = try await SimServer(listeners: [.init(host: "127.0.0.1", port: 0, cluster: c)], logLevel: .critical).start()
            let ports = slow.ports.merging(fast.ports) { x, _ in x }
            let concurrency = self.concurrency, gets = self.gets, noKubectl = self.noKubectl
            let (flotillaTime, kubectlTime, getRate) = try await ConcurrentRunner.blocking { () throws -> (Double, Double?, Double) in
                let client = KubeClient(cluster: Cluster(name: "bench-a", server: "http://127.0.0.1:\(ports["bench-a"]!)"))
                let syncer = Syncer(client: client, application: "bench", concurrency: concurrency)
                let (result, flotillaTime) = try measure { try syncer.sync(manifests, createNamespace: false) }
                guard result.failed.isEmpty, result.created.count == total else {
                    throw CLIError("flotilla apply failed: \(result.failed.first.map { "\($0.1)" } ?? "\(result.created.count) of \(total) created")")
                }
                var kubectlTime: Double?
                if !noKubectl, let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: kubectl)
                    let cache = root.appendingPathComponent("kube")
                    process.arguments = ["--server", "http://127.0.0.1:\(ports["bench-b"]!)", "--cache-dir", cache.path, "apply", "--server-side", "-R", "-f", dir.path]
                    var env = ProcessInfo.processInfo.environment
                    env["KUBECONFIG"] = "/dev/null"
                    env["HOME"] = root.path
                    process.environment = env
                    process.standardOutput = FileHandle.nullDevice
                    let err = Pipe()
                    process.standardError = err
                    let (_, t) = try measure { () throws -> Void in
                        try process.run()
                        _ = err.fileHandleForReading.readDataToEndOfFile()
                        process.waitUntilExit()
                    }
                    guard process.terminationStatus == 0, b.objectCount >= total else { throw CLIError("kubectl apply failed (exit \(process.terminationStatus))") }
                    kubectlTime = t
                }
                // Simulator throughput: simple GETs of one object, no added latency.
                let getClient = KubeClient(cluster: Cluster(name: "bench-get", server: "http://127.0.0.1:\(ports["bench-get"]!)"))
                _ = try getClient.apply(.object([("apiVersion", "v1"), ("kind", "ConfigMap"), ("metadata", .object([("name", "probe"), ("namespace", "default")])), ("data", .object([("a", "b")]))]))
                let cm = try getClient.resource(apiVersion: "v1", kind: "ConfigMap")
                let (_, getTime) = measure { ConcurrentRunner.map(Array(0..<gets), width: 8) { _ in _ = try getClient.get(cm, namespace: "default", name: "probe") } }
                return (flotillaTime, kubectlTime, Double(gets) / getTime)
            }
            await slow.stop()
            await fast.stop()
            print("bench apply: \(total) objects (\(objects) ConfigMaps and Deployments + \(namespaces) Namespaces), simulator latency \(latency)")
            print(String(format: "  flotilla (server-side apply, %d at once): %7.2f s   %6.0f objects/s", concurrency, flotillaTime, Double(total) / flotillaTime))
            if let kubectlTime {
                print(String(format: "  kubectl apply --server-side -R -f:        %7.2f s   %6.0f objects/s", kubectlTime, Double(total) / kubectlTime))
                print(String(format: "  ratio flotilla / kubectl:                 %7.1f×", kubectlTime / flotillaTime))
            }
            print(String(format: "  simulator: %.0f GETs/s on loopback (8 client threads in the same process, no latency)", getRate))
        }
    }
}

