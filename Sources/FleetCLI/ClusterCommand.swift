import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetHub
import FleetModel
import FleetStore
import Foundation

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Register clusters and inspect the registry.",
        subcommands: [Add.self, Apply.self, List.self, Get.self, Label.self, Remove.self,
                      Operate<CordonOperation>.self, Operate<UncordonOperation>.self, Operate<DrainOperation>.self,
                      Operate<FailbackOperation>.self]
    )
}

// MARK: - add

extension ClusterCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register one cluster, from flags or from a kubeconfig context.",
            discussion: """
            Examples:
              flotilla cluster add prod-eu --server https://10.0.0.1:6443 --label env=prod --token-file prod-eu.token --ca-file ca.pem
              flotilla cluster add --kubeconfig ~/.kube/config --context prod-eu --label env=prod
              flotilla cluster add --in-cluster        # Argo CD's in-cluster: https://kubernetes.default.svc

            Cluster names are free text, as in Argo CD (an EKS ARN, a GKE context name); templates get
            `nameNormalized` for a DNS-safe form.
            """
        )

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("hub"), help: ArgumentHelp("Register through this hub's API (default: $FLOTILLA_SERVER if set, else the local store).", valueName: "url"))
        var hubURL: String?
        var hub: ServerOptions {
            // Parsed rather than built, so that every option of the group has its value.
            (try? ServerOptions.parse(hubURL.map { ["--server", $0] } ?? [])) ?? ServerOptions()
        }
        @Argument(help: "Cluster name (free text). With --kubeconfig, defaults to the context name; with --in-cluster, to in-cluster.") var name: String?
        @Option(help: "API server URL (https, or http for a local simulator).") var server: String?
        @Option(name: .customLong("label"), help: ArgumentHelp("Label key=value (repeatable).", valueName: "key=value")) var labels: [String] = []
        @Option(name: .customLong("annotation"), help: ArgumentHelp("Annotation key=value (repeatable).", valueName: "key=value")) var annotations: [String] = []
        @Option(help: "Cluster that takes over this cluster's applications when it fails.") var secondary: String?
        @Option(help: "File holding a bearer token.") var tokenFile: String?
        @Option(help: "PEM file of the CA that signs the API server's certificate.") var caFile: String?
        @Option(help: "PEM client certificate (with --key-file).") var certFile: String?
        @Option(help: "PEM client key (with --cert-file).") var keyFile: String?
        @Flag(help: "Do not verify the API server's certificate (test clusters only).") var insecureSkipTlsVerify = false
        @Option(help: "Read server and credentials from this kubeconfig.") var kubeconfig: String?
        @Option(help: "Kubeconfig context (default: current-context).") var context: String?
        @Option(name: .customLong("name"), help: "Cluster name when reading a kubeconfig.") var nameOverride: String?
        @Flag(help: "Register the cluster the hub runs in (https://kubernetes.default.svc), with this pod's service account when there is one.")
        var inCluster = false

        func validate() throws {
            if inCluster {
                if kubeconfig != nil || server != nil { throw ValidationError("--in-cluster sets the server: drop --server and --kubeconfig.") }
                return
            }
            if kubeconfig == nil {
                if name == nil { throw ValidationError("Please give the cluster a NAME, or use --kubeconfig.") }
                if server == nil { throw ValidationError("Please specify --server URL, or use --kubeconfig.") }
                if context != nil || nameOverride != nil { throw ValidationError("--context and --name go with --kubeconfig.") }
                if (certFile == nil) != (keyFile == nil) { throw ValidationError("Please give --cert-file and --key-file together.") }
            } else {
                if server != nil || tokenFile != nil || caFile != nil || certFile != nil || keyFile != nil {
                    throw ValidationError("--server and the credential flags cannot be combined with --kubeconfig: the kubeconfig supplies them.")
                }
                if name != nil && nameOverride != nil { throw ValidationError("Please give the name once: as NAME or as --name.") }
            }
        }

        func run() throws {
            var cluster: Cluster
            if inCluster {
                var creds = InCluster.credentials() ?? ClusterCredentials()
                let files = LocalFiles()
                if let tokenFile {
                    creds.bearerToken = String(decoding: try read(files, tokenFile, "--token-file"), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                }
                if let caFile { creds.caData = try read(files, caFile, "--ca-file") }
                if insecureSkipTlsVerify { creds.insecureSkipTLSVerify = true; creds.caData = nil }
                cluster = Cluster(name: name ?? Cluster.inClusterName, server: Cluster.inClusterServer, credentials: creds)
            } else if let kubeconfig {
                let text = try readText(kubeconfig)
                cluster = try Kubeconfig.cluster(from: text, file: kubeconfig, context: context, name: name ?? nameOverride)
                cluster.insecureOverride(insecureSkipTlsVerify)
            } else {
                var creds = ClusterCredentials(insecureSkipTLSVerify: insecureSkipTlsVerify)
                let files = LocalFiles()
                if let tokenFile {
                    creds.bearerToken = String(decoding: try read(files, tokenFile, "--token-file"), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                }
                if let caFile { creds.caData = try read(files, caFile, "--ca-file") }
                if let certFile { creds.certData = try read(files, certFile, "--cert-file") }
                if let keyFile { creds.keyData = try read(files, keyFile, "--key-file") }
                cluster = Cluster(name: name!, server: server!, credentials: creds)
            }
            cluster.labels = try parsePairs(labels, flag: "--label")
            cluster.annotations = try parsePairs(annotations, flag: "--annotation")
            cluster.secondary = secondary ?? cluster.secondary
            let problems = cluster.problems()
            if !problems.isEmpty { throw FleetModel.InputError(problems) }
            if StateTarget.choose(hub, global) == .hub {
                _ = try hub.client.get(RegistryChanges.self, "/api/v1/clusters?mode=create", method: "POST", body: ClustersFile.entry(cluster).serialized(pretty: false))
                print("cluster/\(cluster.name) created")
                return
            }
            let store = try global.openStore()
            let new = cluster
            try store.update { registry in
                if registry[new.name] != nil {
                    throw CLIError("cluster '\(new.name)' already exists; change it with `flotilla cluster apply` or `flotilla cluster label`, or remove it first")
                }
                registry.upsert(new)
            }
            print("cluster/\(cluster.name) created")
        }
    }
}

extension Cluster {
    fileprivate mutating func insecureOverride(_ insecure: Bool) {
        if insecure { credentials.insecureSkipTLSVerify = true }
    }
}

// MARK: - apply

extension ClusterCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the registry match a clusters file (Flotilla format or Argo CD cluster Secrets).",
            discussion: "Applying the same file twice changes nothing. With --prune, clusters the file does not list are removed. A file with any problem changes nothing."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "Clusters file, or - for standard input.") var file: String
        @Flag(help: "Remove registered clusters that the file does not list.") var prune = false
        @Flag(help: "Show what would change without changing anything.") var dryRun = false

        func run() throws {
            let text = try readText(file)
            let entries = try ClustersFile.parse(text, file: file == "-" ? "<stdin>" : file)
            if StateTarget.choose(hub, global) == .hub {
                // Files the clusters file names (tokenFile, caFile, …) are read here, on this machine: the hub takes
                // credentials only by value.
                let body = JSONValue.object([("clusters", .array(entries.map { ClustersFile.entry($0.cluster) }))]).serialized(pretty: false)
                let answer = try hub.client.get(RegistryChanges.self, "/api/v1/clusters?prune=\(prune)&dryRun=\(dryRun)", method: "POST", body: body)
                let suffix = dryRun ? " (dry run)" : ""
                var lines: [(String, String)] = []
                for (names, verb) in [(answer.created, "created"), (answer.updated, "configured"), (answer.unchanged, "unchanged"), (answer.deleted, "pruned")] {
                    for name in names where verb != "unchanged" || entries.contains(where: { $0.cluster.name == name }) {
                        lines.append((name, verb))
                    }
                }
                for (name, verb) in lines.sorted(by: { $0.0 < $1.0 }) { print("cluster/\(name) \(verb)\(suffix)") }
                return
            }
            let store = try global.openStore()
            let prune = self.prune
            let apply: (inout ClusterRegistry) throws -> Void = { registry in
                let listed = Set(entries.map(\.cluster.name))
                if prune {
                    for name in registry.names where !listed.contains(name) { registry.remove(name) }
                }
                for entry in entries { registry.upsert(entry.cluster) }
            }
            let changes: ClusterChanges
            do {
                if dryRun {
                    let before = ClusterRegistry(try store.clusters())
                    var after = before
                    try apply(&after)
                    try after.validate()
                    changes = after.changes(from: before)
                } else {
                    changes = try store.update(apply)
                }
            } catch var error as InputError {
                // Point registry-wide problems (secondaries, cycles) at the cluster's entry in the file.
                let locations = Dictionary(entries.map { ($0.cluster.name, $0.location) }, uniquingKeysWith: { a, _ in a })
                for i in error.problems.indices where error.problems[i].location == nil {
                    let parts = error.problems[i].field.split(separator: ".")
                    if parts.count > 1, parts[0] == "clusters", let location = locations[String(parts[1])] {
                        error.problems[i].location = location
                    }
                }
                throw error
            }
            let suffix = dryRun ? " (dry run)" : ""
            var lines: [(String, String)] = []
            lines += changes.created.map { ($0, "created") }
            lines += changes.updated.map { ($0, "configured") }
            lines += changes.unchanged.filter { n in entries.contains { $0.cluster.name == n } }.map { ($0, "unchanged") }
            lines += changes.deleted.map { ($0, "pruned") }
            for (name, verb) in lines.sorted(by: { $0.0 < $1.0 }) { print("cluster/\(name) \(verb)\(suffix)") }
        }
    }
}

// MARK: - list / get

extension ClusterCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered clusters.", aliases: ["ls"])

        @OptionGroup var global: GlobalOptions
        @OptionGroup var hub: ServerOptions
        @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. 'env=prod,region in (eu,us),!canary'.") var selector: String?
        @Option(name: .shortAndLong, help: "Output format.") var output: OutputFormat = .table

        func run() throws {
            let parsed = try selector.map { try LabelSelector(parsing: $0) } ?? .everything
            let clusters: [ClusterView]
            if StateTarget.choose(hub, global) == .hub {
                let query = selector.map { "?selector=" + HubClient.escape($0) } ?? ""
                clusters = try hub.client.list(HubCluster.self, "/api/v1/clusters" + query).map(ClusterView.init)
            } else {
                clusters = try (global.existingStore()?.clusters() ?? []).filter { parsed.matches($0.labels) }.map(ClusterView.init)
            }
            switch output {
            case .table:
                if clusters.isEmpty {
                    FileHandle.standardError.write(Data("No clusters found.\n".utf8))
                } else {
                    print(ClusterView.table(clusters))
                }
            case .json: print(JSONValue.array(clusters.map(\.json)).serialized())
            case .yaml: print(YAMLOutput.render(.array(clusters.map(\.json))), terminator: "")
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one cluster.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Cluster name.") var name: String
        @Option(name: .shortAndLong, help: "Output format.") var output: OutputFormat = .yaml

        func run() throws {
            let cluster: ClusterView
            if StateTarget.choose(hub, global) == .hub {
                cluster = ClusterView(try hub.client.get(HubCluster.self, "/api/v1/clusters/\(HubClient.escape(name))"))
            } else {
                guard let c = try global.existingStore()?.cluster(named: name) else { throw CLIError("cluster '\(name)' not found") }
                cluster = ClusterView(c)
            }
            switch output {
            case .table: print(ClusterView.table([cluster]))
            case .json: print(cluster.json.serialized())
            case .yaml: print(YAMLOutput.render(cluster.json), terminator: "")
            }
        }
    }
}

// MARK: - label / rm

extension ClusterCommand {
    struct Label: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set or remove labels of a cluster.",
            discussion: "Examples: `flotilla cluster label prod-eu tier=gold canary-`. Changing the value of an existing label needs --overwrite."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Cluster name.") var name: String
        @Argument(help: "key=value to set, key- to remove.") var changes: [String]
        @Flag(help: "Allow changing the value of an existing label.") var overwrite = false

        func validate() throws {
            if changes.isEmpty { throw ValidationError("Please give at least one key=value or key- change.") }
        }

        func run() throws {
            var set: [String: String] = [:], remove: [String] = []
            for change in changes {
                if change.hasSuffix("-") && !change.contains("=") {
                    remove.append(String(change.dropLast()))
                } else {
                    set.merge(try parsePairs([change], flag: "label")) { $1 }
                }
            }
            let name = self.name, overwrite = self.overwrite
            if StateTarget.choose(hub, global) == .hub {
                _ = try hub.client.send("POST", "/api/v1/clusters/\(HubClient.escape(name))/labels", LabelChange(set: set, remove: remove, overwrite: overwrite),
                                        answer: HubCluster.self)
                print("cluster/\(name) labeled")
                return
            }
            let store = try global.openStore()
            let changed = try store.update { registry in
                guard var cluster = registry[name] else { throw CLIError("cluster '\(name)' not found") }
                for key in remove {
                    if cluster.labels.removeValue(forKey: key) == nil {
                        throw CLIError("cluster '\(name)' has no label '\(key)' to remove")
                    }
                }
                for (key, value) in set {
                    if let old = cluster.labels[key], old != value, !overwrite {
                        throw CLIError("cluster '\(name)' already has label \(key)=\(old); use --overwrite to change it")
                    }
                    cluster.labels[key] = value
                }
                registry.upsert(cluster)
            }
            print("cluster/\(name) \(changed.isEmpty ? "not labeled" : "labeled")")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove clusters from the registry.", aliases: ["delete"])

        @OptionGroup var global: GlobalOptions
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Cluster names.") var names: [String]

        func validate() throws {
            if names.isEmpty { throw ValidationError("Please name at least one cluster to remove.") }
        }

        func run() throws {
            let names = self.names
            if StateTarget.choose(hub, global) == .hub {
                for name in names {
                    _ = try hub.client.get(RegistryChanges.self, "/api/v1/clusters/\(HubClient.escape(name))", method: "DELETE")
                    print("cluster/\(name) removed")
                }
                return
            }
            let store = try global.openStore()
            try store.update { registry in
                let missing = names.filter { registry[$0] == nil }
                if !missing.isEmpty { throw CLIError("cluster\(missing.count > 1 ? "s" : "") \(missing.map { "'\($0)'" }.joined(separator: ", ")) not found") }
                for name in names {
                    let dependents = registry.dependents(of: name).filter { !names.contains($0) }
                    if !dependents.isEmpty {
                        throw CLIError("cluster '\(name)' is the secondary of \(dependents.joined(separator: ", ")); change their secondary first")
                    }
                }
                for name in names { registry.remove(name) }
            }
            for name in names { print("cluster/\(name) removed") }
        }
    }
}

// MARK: - helpers

/// `key=value` pairs from flags, each key and value checked as Kubernetes label syntax by the model.
func parsePairs(_ items: [String], flag: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let eq = item.firstIndex(of: "=") else {
            throw CLIError("\(flag) '\(item)': expected key=value")
        }
        result[String(item[..<eq])] = String(item[item.index(after: eq)...])
    }
    return result
}


private func read(_ files: LocalFiles, _ path: String, _ flag: String) throws -> Data {
    do { return try files.read(path, relativeTo: nil) } catch { throw CLIError("\(flag): \(error)") }
}

// MARK: - Operator commands (through the hub)

/// cordon, uncordon, drain, failback: operator commands that only the hub can carry out. One command, one row each.
protocol ClusterOperation {
    static var action: String { get }
    static var abstract: String { get }
    static var discussion: String { get }
    /// The hub's answer (the cluster, or how many Applications fail back).
    associatedtype Answer: Decodable
    /// What to print once the hub answered.
    static func done(_ cluster: String, _ answer: Answer) -> String
}

extension ClusterCommand {
    struct Operate<Operation: ClusterOperation>: ParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: Operation.action, abstract: Operation.abstract, discussion: Operation.discussion)
        }
        @OptionGroup var hub: ServerOptions
        @Argument(help: "Cluster name.") var name: String
        func run() throws {
            let answer = try hub.client.get(Operation.Answer.self, "/api/v1/clusters/\(HubClient.escape(name))/\(Operation.action)", method: "POST", body: "{}")
            print(Operation.done(name, answer))
        }
    }

    enum CordonOperation: ClusterOperation {
        static let action = "cordon"
        static let abstract = "Stop placing Applications on a cluster (failover skips it); what runs there stays."
        static let discussion = ""
        static func done(_ cluster: String, _ answer: HubCluster) -> String { "cluster/\(cluster) cordoned" }
    }

    enum UncordonOperation: ClusterOperation {
        static let action = "uncordon"
        static let abstract = "Accept placements again; drained Applications fail back (failback: auto)."
        static let discussion = ""
        static func done(_ cluster: String, _ answer: HubCluster) -> String { "cluster/\(cluster) uncordoned" }
    }

    enum DrainOperation: ClusterOperation {
        static let action = "drain"
        static let abstract = "Planned maintenance: move every Application to its secondary now."
        static let discussion = "Each Application is synced on its secondary first; its copy on the drained cluster is pruned once it is Healthy there (make-before-break). `flotilla cluster uncordon` brings them back."
        static func done(_ cluster: String, _ answer: HubCluster) -> String {
            "cluster/\(cluster) drained: its Applications move to their secondaries (see `flotilla events --cluster \(cluster)`)"
        }
    }

    enum FailbackOperation: ClusterOperation {
        static let action = "failback"
        static let abstract = "Fail back now the Applications whose primary is this cluster."
        static let discussion = "For `failback: manual`, or to skip the hold-down. The cluster must be Healthy and not cordoned. Each Application syncs on its primary; its copy on the secondary is pruned once it is Healthy there."
        static func done(_ cluster: String, _ answer: FailbackStarted) -> String {
            "cluster/\(cluster): \(answer.failingBack) Applications failing back"
        }
    }
}
