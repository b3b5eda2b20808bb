import FleetModel
import FleetTesting
import Foundation
import Testing

/// README.md run as a reader runs it: `flotilla up` as "Two commands" says, then every command of "The hub in five
/// minutes" and of the CLI tour, as written and in order (read from README.md, comments stripped), each checked
/// against what the README promises. A command the README gains without a check here fails the test, as does one
/// that fails or breaks its promise; timings are checked with generous bounds.
@Test(.enabled(if: TestRequirement.runs(readmeKubectl != nil && gitProgram != nil), "needs kubectl and git (.ci/setup installs them)"),
      .timeLimit(.minutes(10)))
func theReadmeTourDoesWhatTheReadmeSays() throws {
    let readme = try String(contentsOf: CLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let setup = ReadmeTour.commands(in: readme, section: "Two commands")
    #expect(setup.first == "bash .ci/setup && swift build && .build/debug/flotilla up", "the main job's command changed: \(setup)")

    let tour = try ReadmeTour()
    defer { tour.stop() }
    try tour.startDemo()

    let checks = ReadmeTour.checks(tour)
    var ran = 0
    for section in ["The hub in five minutes", "CLI tour"] {
        for command in ReadmeTour.commands(in: readme, section: section) {
            // Checks are keyed by the command with its blanks collapsed (README aligns some with extra spaces).
            guard let check = checks[command.split(separator: " ").joined(separator: " ")] else {
                Issue.record("README command without a check in ReadmeTourTests: \(command)")
                continue
            }
            if let problem = try check(command) { Issue.record("README: `\(command)`: \(problem)") }
            ran += 1
        }
    }
    #expect(ran >= 35, "only \(ran) README commands ran")

    // `flotilla up` a second time on the same directory: everything comes back, and its hint fits the repository
    // (the ranker exists now: change it rather than add it again). prod-us is still drained: its Applications run
    // on prod-ap, where the same apps run natively — each copy is covered by its sibling (OutOfSync, Healthy:
    // docs/failover.md), and every native Application there is Synced, even though all started on empty clusters.
    try tour.restartDemo()
    #expect(tour.demoText.contains("git commit -qam 'scale ranker'") && !tour.demoText.contains("mkdir teams/search/ranker"), "\(tour.demoText)")
    let again = try tour.poll("flotilla app list", seconds: 60) { r in
        let apps = r.apps
        let unwell = apps.filter { ($0.sync != "Synced" && !$0.movedHere) || $0.health != "Healthy" }.map(\.name)
        return apps.count >= 42 && unwell.isEmpty ? nil : "\(apps.count) Applications; not Synced Healthy: \(unwell)"
    }
    #expect(again == nil, "after a restart: \(again ?? "")")
    #expect(!FileManager.default.fileExists(atPath: tour.home.appendingPathComponent(".flotilla").path), "the tour created ~/.flotilla")
}

private let readmeKubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }
private let gitProgram = ["/usr/bin/git", "/usr/local/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// A reader's terminal: a working directory holding the repository's `fleet/` and `generators/`, `flotilla` on the
/// PATH (what README's alias names), a home of its own with what the README assumes the reader has (a kubeconfig,
/// a token file and a CA for `cluster add`), and the demo `flotilla up` started there.
final class ReadmeTour: @unchecked Sendable {
    let root: URL
    let home: URL
    private(set) var environment: [String: String]
    private var cwd: String
    private var oldpwd: String
    private var demo: Process?
    private let demoOutput = NIOLockedText()
    /// Simulator pids by cluster name, as `flotilla up` prints them; and processes the README starts with `&`.
    private(set) var simulators: [String: Int32] = [:]
    private var background: [Int32] = []

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-readme-\(UUID().uuidString)")
        home = root.appendingPathComponent("home")
        let bin = root.appendingPathComponent("bin")
        let fm = FileManager.default
        for dir in [home.appendingPathComponent(".kube"), bin] { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        for name in ["fleet", "generators"] {
            try fm.createSymbolicLink(at: root.appendingPathComponent(name), withDestinationURL: CLI.packageRoot.appendingPathComponent(name))
        }
        try fm.createSymbolicLink(at: bin.appendingPathComponent("flotilla"), withDestinationURL: CLI.binary)
        // What the README assumes the reader has: a cluster's token and CA, a kubeconfig with a `staging` context.
        try "edge-token\n".write(to: root.appendingPathComponent("edge-1.token"), atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n".write(to: root.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: staging
          cluster: {server: "https://10.0.0.10:6443", insecure-skip-tls-verify: true}
        users:
        - name: staging
          user: {token: staging-token}
        contexts:
        - name: staging
          context: {cluster: staging, user: staging}
        current-context: staging
        """.write(to: home.appendingPathComponent(".kube/config"), atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FLOTILLA_") }
        env["HOME"] = home.path
        env["PATH"] = bin.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["KUBECONFIG"] = "/dev/null"
        env["GIT_AUTHOR_NAME"] = "Reader"
        env["GIT_AUTHOR_EMAIL"] = "reader@example.invalid"
        env["GIT_COMMITTER_NAME"] = "Reader"
        env["GIT_COMMITTER_EMAIL"] = "reader@example.invalid"
        environment = env
        cwd = root.path
        oldpwd = root.path
    }

    /// `flotilla up` in the working directory; returns once the hub is ready and the simulators' pids are known.
    func startDemo() throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["up"]
        process.currentDirectoryURL = root
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: { () -> URL in
            let log = root.appendingPathComponent("up.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            return log
        }())
        try process.run()
        demo = process
        let sink = demoOutput
        DispatchQueue.global().async {
            // availableData: what the pipe holds now (a read of N bytes would wait for all N).
            while case let data = out.fileHandleForReading.availableData, !data.isEmpty { sink.append(String(decoding: data, as: UTF8.self)) }
        }
        try waitFor("flotilla up: hub ready", seconds: 120) { sink.text.contains("hub ready:") }
        for line in sink.text.split(separator: "\n") where line.contains("(simulator pid ") {
            let words = line.split(separator: " ")
            if words.count > 1, let pid = line.split(separator: "pid ").last.flatMap({ Int32($0.prefix { $0.isNumber }) }) {
                simulators[String(words[1])] = pid
            }
        }
    }

    var demoText: String { demoOutput.text }

    /// Stops `flotilla up` as Ctrl-C does (and what the tour started beside it), then starts it again.
    func restartDemo() throws {
        for pid in background { kill(pid, SIGKILL) }
        background = []
        if let demo, demo.isRunning {
            kill(demo.processIdentifier, SIGINT)
            try waitFor("flotilla up to stop on SIGINT", seconds: 30) { !demo.isRunning }
        }
        for pid in simulators.values { kill(pid, SIGKILL) }
        simulators = [:]
        demoOutput.reset()
        try startDemo()
    }

    func stop() {
        for pid in background { kill(pid, SIGKILL) }
        if let demo, demo.isRunning {
            kill(demo.processIdentifier, SIGINT)
            let deadline = Date().addingTimeInterval(20)
            while demo.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }  // waiting for a process to exit
            if demo.isRunning { kill(demo.processIdentifier, SIGKILL) }
        }
        for pid in simulators.values { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: root)
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The rows of an `app list` table: name, cluster (where it runs; "prod-eu → dr-eu (FailedOver)" during a
        /// failover is read as its first word), sync and health.
        var apps: [(name: String, cluster: String, sync: String, health: String, movedHere: Bool)] {
            stdout.split(separator: "\n").dropFirst().compactMap { line in
                let words = line.split(separator: " ").map(String.init)
                guard words.count >= 4, let at = words.firstIndex(where: { ["Synced", "OutOfSync", "Unknown"].contains($0) }), at + 1 < words.count else { return nil }
                return (words[0], words[1], words[at], words[at + 1], line.contains("(FailedOver)"))
            }
        }
    }

    /// Runs one README command in bash, in the tour's directory (`cd` and `cd -` carry over), bounded by `seconds`
    /// (124 when it had to be stopped). `export` and `alias` lines change the tour itself; `<pid of NAME>` is the
    /// pid `flotilla up` printed; a command ending in `&` is started in the background and left running.
    @discardableResult
    func run(_ command: String, seconds: Int = 120) throws -> Result {
        var line = command
        for (name, pid) in simulators { line = line.replacingOccurrences(of: "<pid of \(name)>", with: String(pid)) }
        if line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1).map(String.init)
            environment[pair[0]] = pair.count > 1 ? pair[1] : ""
            return Result(status: 0, stdout: "", stderr: "")
        }
        if line.hasSuffix("&") {
            // Started as a child of its own, output to a file, left running (stopped with the tour).
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "exec " + String(line.dropLast()).trimmingCharacters(in: .whitespaces)]
            process.currentDirectoryURL = URL(fileURLWithPath: cwd)
            process.environment = environment
            let log = root.appendingPathComponent("background-\(background.count).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            background.append(process.processIdentifier)
            return Result(status: 0, stdout: "", stderr: "")
        }
        let script = "cd \(quote(cwd)) && export OLDPWD=\(quote(oldpwd))\n\(line)\n__status=$?\nprintf '\\n@@cwd=%s\\n@@old=%s\\n' \"$PWD\" \"$OLDPWD\"\nexit $__status\n"
        let result = try CLI.runProcess(URL(fileURLWithPath: "/usr/bin/timeout"), ["--kill-after=5", String(seconds), "/bin/bash", "-c", script],
                                        environment: environment)
        var stdout = result.stdout
        if let marker = stdout.range(of: "\n@@cwd=", options: .backwards) {
            let trailer = stdout[marker.upperBound...].split(separator: "\n")
            if let dir = trailer.first { cwd = String(dir) }
            if trailer.count > 1, trailer[1].hasPrefix("@@old=") { oldpwd = String(trailer[1].dropFirst(6)) }
            stdout = String(stdout[..<marker.lowerBound])
        }
        return Result(status: result.status, stdout: stdout, stderr: result.stderr)
    }

    private func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Runs `command` until `done` says nothing is missing (nil), at most `seconds`; the last reason otherwise.
    func poll(_ command: String, seconds: Double, _ done: (Result) -> String?) throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: String?
        repeat {
            let result = try run(command)
            last = result.status == 0 ? done(result) : "exit \(result.status): \(result.stderr.prefix(500))"
            if last == nil { return nil }
            Thread.sleep(forTimeInterval: 1)  // polling what the README promises within a time
        } while Date() < deadline
        return "not within \(Int(seconds)) s: \(last ?? "")"
    }

    func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.5)  // polling a process that is starting
        }
        throw CLIReadmeError("\(what): not within \(Int(seconds)) s; flotilla up said:\n\(demoOutput.text.suffix(2000))")
    }

    // MARK: - README.md

    /// The commands of a section's `sh` blocks: comments and blank lines dropped, `\` continuations joined.
    static func commands(in readme: String, section: String) -> [String] {
        guard let start = readme.range(of: "\n## \(section)\n") else { return [] }
        let rest = readme[start.upperBound...]
        let body = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var commands: [String] = []
        var inBlock = false, inOther = false
        var pending = ""
        for raw in body.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.hasPrefix("```") {
                if inBlock || inOther { inBlock = false; inOther = false } else if raw == "```sh" { inBlock = true } else { inOther = true }
                continue
            }
            guard inBlock else { continue }
            var line = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasSuffix("\\") {
                line.removeLast()
                pending += line.trimmingCharacters(in: .whitespaces) + " "
                continue
            }
            commands.append(pending + line)
            pending = ""
        }
        return commands
    }

    /// The line without its `# comment` (a `#` after a blank, outside quotes).
    static func stripComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var out = ""
        for c in line {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && (previous == " " || previous == "\t") {
                break
            }
            out.append(c)
            previous = c
        }
        return out
    }
}

/// The text a process wrote so far, read while it runs.
final class NIOLockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func append(_ s: String) { lock.withLock { value += s } }
    func reset() { lock.withLock { value = "" } }
    var text: String { lock.withLock { value } }
}

struct CLIReadmeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ReadmeTour {
    typealias Check = (String) throws -> String?

    /// What README.md promises of each command, by the command as written.
    static func checks(_ tour: ReadmeTour) -> [String: Check] {
        func ok(_ result: Result) -> String? { result.status == 0 ? nil : "exit \(result.status): \(result.stderr.prefix(800))\(result.stdout.suffix(400))" }
        /// Runs the command once: it must succeed and `expect` must find what the README promises.
        func once(_ expect: @escaping (Result) -> String?) -> Check {
            { command in
                let result = try tour.run(command)
                return ok(result) ?? expect(result)
            }
        }
        func contains(_ needles: String...) -> Check {
            once { r in needles.first { !(r.stdout + r.stderr).contains($0) }.map { "no '\($0)' in:\n\(r.stdout.prefix(1500))\(r.stderr.prefix(500))" } }
        }
        var checks: [String: Check] = [:]
        var committedAt = Date()

        // "The hub in five minutes".
        checks["alias flotilla=.build/debug/flotilla"] = { _ in
            FileManager.default.isExecutableFile(atPath: CLI.packageRoot.appendingPathComponent(".build/debug/flotilla").path) ? nil : "no .build/debug/flotilla"
        }
        checks["export FLOTILLA_SERVER=http://127.0.0.1:8080"] = { command in
            _ = try tour.run(command)
            return nil
        }
        checks["flotilla app list"] = { command in
            // 37 Applications across 8 clusters, every one Synced and Healthy within a minute of the hub being ready.
            try tour.poll(command, seconds: 60) { r in
                let rows = r.apps
                let clusters = Set(rows.map(\.cluster))
                let unwell = rows.filter { $0.sync != "Synced" || $0.health != "Healthy" }.map { "\($0.name) \($0.sync) \($0.health)" }
                return rows.count == 37 && clusters.count == 8 && unwell.isEmpty ? nil : "\(rows.count) Applications on \(clusters.count) clusters; not Synced Healthy: \(unwell)"
            }
        }
        checks["cd .flotilla-demo/demo-repo"] = once { _ in nil }
        checks["mkdir teams/search/ranker && sed s/indexer/ranker/g teams/search/indexer/deployment.yaml > teams/search/ranker/deployment.yaml"] = once { _ in nil }
        checks["git add -A && git commit -qm 'add ranker' && cd -"] = { command in
            let result = try tour.run(command)
            committedAt = Date()
            return ok(result)
        }
        checks["flotilla app list -l team=search"] = { command in
            // search-ranker on every staging and prod cluster, Healthy in ~2 s (bound: 30 s).
            let problem = try tour.poll(command, seconds: 30) { r in
                let ranker = r.apps.filter { $0.name.hasPrefix("search-ranker-") }
                let healthy = Set(ranker.filter { $0.sync == "Synced" && $0.health == "Healthy" }.map(\.cluster))
                let wanted: Set<String> = ["staging-eu", "staging-us", "prod-eu", "prod-us"]
                return wanted.isSubset(of: healthy) ? nil : "search-ranker Synced Healthy on \(healthy.sorted()), not on \(wanted.subtracting(healthy).sorted())"
            }
            let took = Date().timeIntervalSince(committedAt)
            return problem ?? (took < 30 ? nil : "took \(Int(took)) s")
        }
        checks["kubectl --server http://127.0.0.1:7103 get deploy -n search"] = contains("search-ranker")
        checks["flotilla app history search-ranker-staging-eu"] = contains("Succeeded", "staging-eu", "add ranker")
        checks["flotilla appset preview -f generators/team-apps.yaml"] = contains("ApplicationSet team-apps", "20 Applications unchanged")

        // Failover: prod-eu's Applications move to dr-eu within ~15 s (bound: 45 s), and come back after the hold-down.
        checks["kill <pid of prod-eu>; flotilla events --watch"] = { command in
            let result = try tour.run(command, seconds: 45)
            guard result.status == 124 else { return "events --watch ended by itself (exit \(result.status)): \(result.stderr.prefix(500))" }
            return result.stdout.contains("FailedOver") && result.stdout.contains("prod-eu") ? nil : "no FailedOver event for prod-eu in:\n\(result.stdout.suffix(1500))"
        }
        checks["flotilla app list --cluster dr-eu"] = { command in
            try tour.poll(command, seconds: 30) { r in
                let moved = r.apps.filter { $0.name.hasSuffix("-prod-eu") }
                return moved.count >= 5 && moved.allSatisfy({ $0.health == "Healthy" }) ? nil : "prod-eu's Applications are not Healthy on dr-eu: \(r.stdout.prefix(1500))"
            }
        }
        checks["flotilla sim --fleet fleet/clusters.yaml --only prod-eu &"] = { command in
            if let problem = ok(try tour.run(command)) { return problem }
            // They return after the 60 s hold-down (bound: 150 s): nothing of prod-eu's is listed on dr-eu any more.
            return try tour.poll("flotilla app list --cluster prod-eu", seconds: 150) { r in
                let back = r.apps.filter { $0.name.hasSuffix("-prod-eu") && $0.cluster == "prod-eu" && $0.health == "Healthy" }
                guard back.count >= 5 else { return "\(back.count) back on prod-eu so far" }
                let still = (try? tour.run("flotilla app list --cluster dr-eu").apps.filter { $0.name.hasSuffix("-prod-eu") }) ?? []
                guard still.isEmpty else { return "still on dr-eu: \(still.map(\.name))" }
                // The failover's band is closed: the event log says prod-eu's Applications failed back.
                let events = (try? tour.run("flotilla events --cluster prod-eu").stdout) ?? ""
                return events.contains("FailedBack") ? nil : "no FailedBack event for prod-eu yet"
            }
        }
        checks["flotilla cluster drain prod-us"] = contains("prod-us")

        // The CLI tour.
        checks["flotilla cluster apply -f fleet/clusters.yaml"] = once { r in
            r.stdout.split(separator: "\n").filter { $0.hasSuffix(" unchanged") }.count == 8 ? nil : "re-applying changed something: \(r.stdout)"
        }
        checks["flotilla cluster apply -f fleet/clusters.yaml --prune --dry-run"] = once { r in
            r.stdout.split(separator: "\n").filter { $0.hasSuffix("(dry run)") }.count == 8 ? nil : "\(r.stdout)"
        }
        checks["flotilla cluster list -l 'env=prod,region in (eu,us),!canary' -o json"] = once { r in
            let names = ((try? JSONParser.parse(r.stdout))?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            if r.stdout.contains("sim-token") { return "a credential in the answer" }
            return names.sorted() == ["prod-eu", "prod-us"] ? nil : "selected \(names)"
        }
        checks["flotilla cluster get prod-eu"] = once { r in
            r.stdout.contains("name: prod-eu") && !r.stdout.contains("sim-token") ? nil : "\(r.stdout)"
        }
        checks["flotilla cluster add edge-1 --server https://10.0.0.9:6443 --label env=edge --token-file edge-1.token --ca-file ca.pem"] = contains("cluster/edge-1 created")
        checks["flotilla cluster add --kubeconfig ~/.kube/config --context staging --name staging-ap --label env=lab"] = contains("cluster/staging-ap created")
        checks["flotilla cluster label edge-1 tier=bronze"] = once { _ in nil }
        checks["flotilla cluster label edge-1 tier-"] = once { _ in nil }
        checks["flotilla cluster rm edge-1 staging-ap"] = contains("edge-1 removed", "staging-ap removed")
        checks["flotilla generate -f generators/ --clusters fleet/clusters.yaml --repo https://github.com/acme/fleet-apps.git=fleet/apps"] =
            contains("37 applications from 5 ApplicationSets")
        checks["flotilla generate -f generators/team-apps.yaml -o json --render --clusters fleet/clusters.yaml --repo https://github.com/acme/fleet-apps.git=fleet/apps"] = once { r in
            let apps = (try? JSONParser.parse(r.stdout))?.arrayValue ?? []
            return apps.count >= 10 ? nil : "\(apps.count) Applications in:\n\(r.stdout.prefix(800))"
        }
        checks["flotilla render fleet/apps/teams/payments/api --replicas payments-api=6"] = contains("replicas: 6")
        checks["flotilla render helm fleet/charts/web -f fleet/charts/web/values-prod.yaml --set image.tag=1.4.2 --release-name web --include-crds"] =
            contains("kind: CustomResourceDefinition", ":1.4.2")
        checks["flotilla apply --cluster dev-eu -f fleet/apps/teams/search/web -n search --create-namespace"] = contains("Deployment.apps search/search-web")
        checks["flotilla diff --cluster dev-eu -f fleet/apps/teams/search/web -n search"] = once { r in r.stderr.contains("Synced") ? nil : r.stderr }
        checks["flotilla get --cluster dev-eu deploy -n search"] = contains("search-web")
        checks["flotilla get --clusters fleet/clusters.yaml --cluster dev-eu deploy -n search"] = contains("search-web")
        checks["kubectl --server http://127.0.0.1:7101 get deploy -A"] = contains("search-web")
        checks["flotilla repo fetch .flotilla-demo/demo-repo"] = once { r in
            // The mirror is a cache: in ~/.cache/flotilla/git, not in a store under ~/.flotilla.
            guard r.stdout.contains("HEAD") else { return r.stdout }
            return FileManager.default.fileExists(atPath: tour.home.appendingPathComponent(".cache/flotilla/git").path) ? nil : "no mirror in ~/.cache/flotilla/git"
        }
        checks["flotilla repo ls .flotilla-demo/demo-repo --dirs -r main"] = contains("teams/")
        checks["flotilla repo cat .flotilla-demo/demo-repo teams/search/indexer/deployment.yaml -r main"] = contains("kind: Deployment")
        return checks
    }
}
