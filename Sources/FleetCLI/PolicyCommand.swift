import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetModel
import FleetPolicy
import Foundation

/// `flotilla policy test`: the hub's policy gate, locally, for a git repository's CI.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check rendered manifests against policies, as the hub does before a sync.",
        subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the Applications an ApplicationSet renders (or manifests) against policies; exit 1 on a deny.",
            discussion: """
            The policies are the hub's (`kind: Policy`, docs/policy.md). With --render, the ApplicationSet's
            Applications are generated and rendered as `flotilla generate --render` does (with --clusters and
            --repo passed on); else the files (or - for stdin) are rendered manifests, or the output of
            `flotilla generate --render -o yaml`. A policy that selects clusters by label is applied only when
            the destination's labels are known (--clusters); otherwise it is listed as not applied.

            Examples:
              flotilla policy test -f fleet/policies --render generators/team-apps.yaml --clusters fleet/clusters.yaml --repo https://git.example.com/acme/apps.git=.
              kustomize build overlays/prod | flotilla policy test -f policies/ -
            """)

        @OptionGroup var global: GlobalOptions
        @Option(name: .shortAndLong, help: "A policy file or a directory of them (repeatable).") var file: [String]
        @Option(help: "An ApplicationSet file to generate and render.") var render: String?
        @Option(help: "Clusters file: the generator's clusters and their labels.") var clusters: String?
        @Option(name: .customLong("repo"), help: ArgumentHelp("Read repository URL from a local path (repeatable).", valueName: "URL=PATH")) var repos: [String] = []
        @Option(help: "The project of plain manifests.") var project = "default"
        @Option(help: "The namespace of plain manifests that name none.") var namespace = "default"
        @Option(name: .shortAndLong, help: "table or json.") var output: OutputFormat = .table
        @Argument(help: "Rendered manifests (files, or - for stdin).") var manifests: [String] = []

        func run() throws {
            var policies: [Policy] = []
            for path in file {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CLIError("cannot read '\(path)': no such file or directory") }
                let files = isDir.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(path)/\($0)" }
                    : [path]
                for f in files { policies += try Policy.parse(try readText(f), file: f) }
            }
            if policies.isEmpty { throw CLIError("no policy in \(file.joined(separator: ", "))") }
            let registry = try clusters.map { try ClustersFile.parse(try readText($0), file: $0).map(\.cluster) } ?? []
            var targets: [(name: String, objects: [JSONValue], target: PolicyTarget)] = []
            if let render {
                for app in try generated(render) {
                    let destination = app.value(at: ["spec", "destination"]) ?? .null
                    let cluster = registry.first { $0.name == destination["name"]?.stringValue || $0.server == destination["server"]?.stringValue }
                    targets.append((app.value(at: ["metadata", "name"])?.stringValue ?? "?", app["manifests"]?.arrayValue ?? [],
                                    PolicyTarget(project: app.value(at: ["spec", "project"])?.stringValue ?? "default", clusterLabels: cluster?.labels,
                                                 namespace: destination["namespace"]?.stringValue ?? "default")))
                }
            }
            var plain: [JSONValue] = []
            for path in manifests {
                for doc in try YAMLValue.documents(try readText(path), file: path == "-" ? "<stdin>" : path) where doc != .null {
                    if doc["kind"]?.stringValue == "Application", let rendered = doc["manifests"]?.arrayValue {
                        targets.append((doc.value(at: ["metadata", "name"])?.stringValue ?? "?", rendered,
                                        PolicyTarget(project: doc.value(at: ["spec", "project"])?.stringValue ?? "default", clusterLabels: nil,
                                                     namespace: doc.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "default")))
                    } else {
                        plain.append(doc)
                    }
                }
            }
            if !plain.isEmpty { targets.append(("(manifests)", plain, PolicyTarget(project: project, clusterLabels: nil, namespace: namespace))) }
            if targets.isEmpty { throw CLIError("nothing to check: give --render APPSET or manifest files") }

            var rows: [[String]] = []
            var json: [JSONValue] = []
            var denied = 0, skipped: Set<String> = []
            for (name, objects, target) in targets {
                let outcome = PolicyEngine.evaluate(policies, objects: objects, target: target)
                skipped.formUnion(outcome.skipped)
                denied += outcome.denied.count
                for v in outcome.violations {
                    rows.append([name, v.object, v.field, v.policy, v.rule.rawValue, v.enforcement.rawValue, v.message])
                    json.append(.object([("application", .string(name)), ("object", .string(v.object)), ("field", .string(v.field)), ("policy", .string(v.policy)),
                                         ("rule", .string(v.rule.rawValue)), ("enforcement", .string(v.enforcement.rawValue)), ("message", .string(v.message))]))
                }
            }
            switch output {
            case .json: print(JSONValue.array(json).serialized())
            default:
                if !rows.isEmpty { print(TextTable.render(header: ["APPLICATION", "OBJECT", "FIELD", "POLICY", "RULE", "ENFORCEMENT", "MESSAGE"], rows: rows)) }
            }
            let checked = targets.reduce(0) { $0 + $1.objects.count }
            var summary = "\(checked) object\(checked == 1 ? "" : "s") of \(targets.count) Application\(targets.count == 1 ? "" : "s") checked against \(policies.count) polic\(policies.count == 1 ? "y" : "ies"): "
                + "\(denied) denied, \(rows.count - denied) warning\(rows.count - denied == 1 ? "" : "s")"
            if !skipped.isEmpty { summary += "; not applied (cluster labels unknown: pass --clusters): \(skipped.sorted().joined(separator: ", "))" }
            FileHandle.standardError.write(Data((summary + "\n").utf8))
            if denied > 0 { throw ExitCode(1) }
        }

        /// The ApplicationSet's Applications with their rendered manifests, from `flotilla generate --render`.
        func generated(_ appSet: String) throws -> [JSONValue] {
            var arguments = ["generate", "-f", appSet, "--render", "-o", "json", "--data-dir", global.resolvedDataDir]
            if let clusters { arguments += ["--clusters", clusters] }
            for r in repos { arguments += ["--repo", r] }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            process.arguments = arguments
            // Its errors go to a file (read once it ended), its output through a pipe read to the end.
            let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-policy-\(UUID().uuidString).err")
            FileManager.default.createFile(atPath: errorFile.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: errorFile) }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = try FileHandle(forWritingTo: errorFile)
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
                throw CLIError("rendering \(appSet) failed: \(errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            return try JSONParser.parse(String(decoding: data, as: UTF8.self)).arrayValue ?? []
        }
    }
}
