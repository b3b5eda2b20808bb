import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetDiff
import FleetGit
import FleetKube
import FleetManifests
import FleetModel
import Foundation

/// Which cluster a command talks to: a cluster from a clusters file, else one registered with the hub (reached
/// through the hub's proxy, with the caller's token and RBAC), else one of the local store — chosen as `cluster …`
/// commands choose (`StateTarget`).
struct ClusterTarget: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @OptionGroup var hub: ServerOptions
    @Option(help: "Cluster name (registered with the hub or the local store, or from --clusters).") var cluster: String
    @Option(help: "Clusters file to read the cluster from (its credentials used directly, no hub).") var clusters: String?
    @Option(help: "Request timeout, e.g. 30s.") var timeout: String = "30s"

    func client() throws -> KubeClient {
        let seconds = try parseDuration(timeout, flag: "--timeout").seconds
        if let clusters {
            guard let found = try ClustersFile.parse(try readText(clusters), file: clusters).first(where: { $0.cluster.name == cluster })?.cluster else {
                throw CLIError("cluster '\(cluster)' not found in \(clusters)")
            }
            return KubeClient(cluster: found, timeout: seconds)
        }
        switch StateTarget.choose(hub, global) {
        case .hub:
            // The hub answers for the cluster: 404 when it is not registered, 403 without `proxy` on it.
            let base = hub.url.hasSuffix("/") ? String(hub.url.dropLast()) : hub.url
            let through = Cluster(name: cluster, server: "\(base)/api/v1/clusters/\(KubeClient.queryValue(cluster))/proxy",
                                  credentials: ClusterCredentials(bearerToken: hub.token))
            return KubeClient(cluster: through, timeout: seconds)
        case .local:
            guard let found = try global.existingStore()?.cluster(named: cluster) else {
                throw CLIError("cluster '\(cluster)' not found in the local store \(global.resolvedDataDir) (see `flotilla cluster list`)")
            }
            return KubeClient(cluster: found, timeout: seconds)
        }
    }
}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a directory of manifests to a cluster with server-side apply.",
        discussion: """
        Objects are labelled app.kubernetes.io/managed-by=flotilla and annotated with the application name
        (--app, default: the directory's name). With --prune, objects applied earlier for the same application
        that the directory no longer has are deleted; nothing else is ever deleted.
        """
    )

    @OptionGroup var target: ClusterTarget
    @Option(name: .shortAndLong, help: "Directory (or file) of manifests.") var file: String
    @Option(help: "Application name that owns the objects (default: the directory's name).") var app: String?
    @Option(name: .shortAndLong, help: "Namespace for namespaced objects that set none.") var namespace: String = "default"
    @Flag(help: "Create missing namespaces first.") var createNamespace = false
    @Flag(help: "Delete objects this application applied before that the directory no longer has.") var prune = false
    @Option(help: "Requests at once.") var concurrency: Int = 16

    func run() throws {
        let objects = try loadManifests(file)
        let name = app ?? URL(fileURLWithPath: file).standardizedFileURL.lastPathComponent
        let syncer = Syncer(client: try target.client(), application: name, concurrency: concurrency)
        let result = try syncer.sync(objects, defaultNamespace: namespace, createNamespace: createNamespace, prune: prune)
        var lines: [(ObjectRef, String)] = result.created.map { ($0, "created") } + result.configured.map { ($0, "configured") }
            + result.unchanged.map { ($0, "unchanged") } + result.pruned.map { ($0, "pruned") }
        lines.sort { $0.0 < $1.0 }
        for (ref, verb) in lines { print("\(ref) \(verb)") }
        if !result.failed.isEmpty {
            throw CLIError(result.failed.map { "\($0.1)" }.joined(separator: "\n"))
        }
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show how a directory of manifests differs from what runs on a cluster.",
        discussion: "Exit status 0 when Synced, 1 when OutOfSync (like `kubectl diff`), 2 on error."
    )

    @OptionGroup var target: ClusterTarget
    @Option(name: .shortAndLong, help: "Directory (or file) of manifests.") var file: String
    @Option(help: "Application name (default: the directory's name), to show objects that prune would delete.") var app: String?
    @Option(name: .shortAndLong, help: "Namespace for namespaced objects that set none.") var namespace: String = "default"

    func run() throws {
        let client = try target.client()
        let name = app ?? URL(fileURLWithPath: file).standardizedFileURL.lastPathComponent
        let syncer = Syncer(client: client, application: name)
        let desired = try loadManifests(file).map { try syncer.prepare($0, defaultNamespace: namespace) }
        let live = try syncer.inventory()
        let fetched = ConcurrentRunner.map(desired, width: 16) { _, object -> JSONValue? in
            let (resource, ns, n) = try client.locate(object)
            return try client.get(resource, namespace: ns, name: n)
        }
        var outOfSync = 0
        var output = ""
        for ((ref, object), liveResult) in zip(desired, fetched) {
            let liveObject = try liveResult.get()
            let diff = Differ.compare(desired: object, live: liveObject)
            if !diff.inSync {
                outOfSync += 1
                output += diff.unified(label: ref.description + (liveObject == nil ? " (missing)" : ""))
            }
        }
        for (ref, object) in live.sorted(by: { $0.key < $1.key }) where !desired.contains(where: { $0.0 == ref }) {
            outOfSync += 1
            output += Differ.compare(desired: nil, live: object).unified(label: ref.description + " (would be pruned)")
        }
        print(output, terminator: "")
        let verdict = outOfSync == 0 ? "Synced" : "OutOfSync (\(outOfSync) object\(outOfSync == 1 ? "" : "s"))"
        FileHandle.standardError.write(Data("\(verdict)\n".utf8))
        if outOfSync > 0 { throw ExitCode(1) }
    }
}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Read objects from a cluster, with their health.",
        discussion: "KIND is a kind, a resource name or a short name: Deployment, deployments, deploy."
    )

    @OptionGroup var target: ClusterTarget
    @Argument(help: "Kind, resource or short name.") var kind: String
    @Argument(help: "Object name.") var name: String?
    @Option(name: .shortAndLong, help: "Namespace (default: all namespaces for a list, 'default' for one object).") var namespace: String?
    @Option(name: .shortAndLong, help: "Output format.") var output: OutputFormat = .table
    @Option(name: [.customShort("l"), .long], help: "Label selector.") var selector: String?

    func run() throws {
        let client = try target.client()
        let lower = kind.lowercased()
        let resources = try client.discover()
        guard let resource = resources.first(where: { $0.kind.lowercased() == lower || $0.name == lower })
            ?? resources.first(where: { $0.kind.lowercased() + "s" == lower }) ?? shortName(lower, resources) else {
            throw CLIError("cluster \(client.cluster.name) does not serve a resource named '\(kind)'")
        }
        var items: [JSONValue]
        if let name {
            guard let object = try client.get(resource, namespace: resource.namespaced ? (namespace ?? "default") : nil, name: name) else {
                throw CLIError("cluster \(client.cluster.name): \(resource.kind) \(namespace.map { "\($0)/" } ?? "")\(name) not found")
            }
            items = [object]
        } else {
            items = try client.list(resource, namespace: namespace, labelSelector: selector)
        }
        switch output {
        case .json: print((name == nil ? JSONValue.array(items) : items[0]).serialized())
        case .yaml: print(YAMLOutput.renderDocuments(items), terminator: "")
        case .table:
            let rows = items.map { o -> [String] in
                let health = HealthRules.assess(o)
                return [o.value(at: ["metadata", "namespace"])?.stringValue ?? "", o.value(at: ["metadata", "name"])?.stringValue ?? "",
                        health.status.rawValue, health.message]
            }
            if rows.isEmpty { FileHandle.standardError.write(Data("No \(resource.name) found.\n".utf8)) } else {
                print(TextTable.render(header: ["NAMESPACE", "NAME", "HEALTH", "MESSAGE"], rows: rows))
            }
        }
    }

    private func shortName(_ name: String, _ resources: [APIResource]) -> APIResource? {
        let known = ["deploy": "deployments", "sts": "statefulsets", "ds": "daemonsets", "rs": "replicasets", "cm": "configmaps",
                     "svc": "services", "ns": "namespaces", "po": "pods", "pvc": "persistentvolumeclaims", "ing": "ingresses",
                     "sa": "serviceaccounts", "cj": "cronjobs", "crd": "customresourcedefinitions", "hpa": "horizontalpodautoscalers"]
        guard let full = known[name] else { return nil }
        return resources.first { $0.name == full }
    }
}
