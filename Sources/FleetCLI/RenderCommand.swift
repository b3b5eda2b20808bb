import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetGit
import FleetManifests
import FleetModel
import Foundation

/// Renders an Application source directory as the hub would, with Argo CD's source options as flags, to check
/// and debug it without a hub or a cluster.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the manifests a source renders to: a source directory, or a Helm chart with helm's flags.",
        subcommands: [RenderDirectoryCommand.self, RenderHelmCommand.self],
        defaultSubcommand: RenderDirectoryCommand.self
    )
}

struct RenderDirectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dir",
        abstract: "Print the manifests an Application source directory renders to (plain, kustomize, jsonnet, Helm).",
        discussion: """
        The directory is read as an Application's `source.path` in its git checkout (the repository is the
        boundary, so overlays may name ../base). Flags are Argo CD's source options; a source Flotilla cannot
        render (a Helm chart, a plugin) is an error naming it.

        Examples:
          flotilla render fleet/apps/teams/payments/api --replicas payments-api=6 --name-prefix staging-
          flotilla render jsonnet-guestbook-tla --tla-code replicas=2 --jsonnet-lib vendor
        """
    )

    @Argument(help: "The source directory.") var directory: String
    @Option(name: .shortAndLong, help: "yaml or json.") var output: OutputFormat = .yaml
    @Flag(help: "Read subdirectories too (directory.recurse).") var recurse = false
    @Option(help: "Only files matching this glob (directory.include).") var include: String?
    @Option(help: "Skip files matching this glob (directory.exclude).") var exclude: String?
    @Option(name: .customLong("ext-str"), help: ArgumentHelp("Jsonnet external variable (repeatable).", valueName: "name=value")) var extStr: [String] = []
    @Option(name: .customLong("ext-code"), help: ArgumentHelp("Jsonnet external variable as code.", valueName: "name=code")) var extCode: [String] = []
    @Option(name: .customLong("tla-str"), help: ArgumentHelp("Jsonnet top-level argument.", valueName: "name=value")) var tlaStr: [String] = []
    @Option(name: .customLong("tla-code"), help: ArgumentHelp("Jsonnet top-level argument as code.", valueName: "name=code")) var tlaCode: [String] = []
    @Option(name: .customLong("jsonnet-lib"), help: "Jsonnet library path, relative to the repository root (repeatable).") var libs: [String] = []
    @Option(help: "kustomize namePrefix.") var namePrefix: String?
    @Option(help: "kustomize nameSuffix.") var nameSuffix: String?
    @Option(name: .customLong("image"), help: ArgumentHelp("kustomize image override (repeatable).", valueName: "[old=]name:tag")) var images: [String] = []
    @Option(name: .customLong("replicas"), help: ArgumentHelp("kustomize replica count (repeatable).", valueName: "name=count")) var replicas: [String] = []
    @Option(name: .customLong("common-label"), help: ArgumentHelp("kustomize common label (repeatable).", valueName: "key=value")) var labels: [String] = []
    @Option(name: .customLong("common-annotation"), help: ArgumentHelp("kustomize common annotation (repeatable).", valueName: "key=value")) var annotations: [String] = []
    @Option(name: .customLong("kustomize-namespace"), help: "kustomize namespace.") var kustomizeNamespace: String?

    @Option(help: ArgumentHelp("Stop a render that takes longer (e.g. 60s, 5m).", valueName: "duration")) var timeout: String = "60s"

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("'\(directory)' is not a directory")
        }
        let (root, relative) = repositoryRoot(of: directory)
        var source: JSONValue = .object([("repoURL", .string(root.path)), ("path", .string(relative.isEmpty ? "." : relative))])
        var dir: [(String, JSONValue)] = [("recurse", .bool(recurse))]
        if let include { dir.append(("include", .string(include))) }
        if let exclude { dir.append(("exclude", .string(exclude))) }
        func vars(_ items: [String], code: Bool, flag: String) throws -> [JSONValue] {
            try parsePairs(items, flag: flag).sorted { $0.key < $1.key }.map {
                .object([("name", .string($0.key)), ("value", .string($0.value)), ("code", .bool(code))])
            }
        }
        let ext = try vars(extStr, code: false, flag: "--ext-str") + vars(extCode, code: true, flag: "--ext-code")
        let tlas = try vars(tlaStr, code: false, flag: "--tla-str") + vars(tlaCode, code: true, flag: "--tla-code")
        if !ext.isEmpty || !tlas.isEmpty || !libs.isEmpty {
            dir.append(("jsonnet", .object([("extVars", .array(ext)), ("tlas", .array(tlas)), ("libs", .array(libs.map(JSONValue.string)))])))
        }
        source.set("directory", .object(dir))
        var kustomize: [(String, JSONValue)] = []
        if let namePrefix { kustomize.append(("namePrefix", .string(namePrefix))) }
        if let nameSuffix { kustomize.append(("nameSuffix", .string(nameSuffix))) }
        if let kustomizeNamespace { kustomize.append(("namespace", .string(kustomizeNamespace))) }
        if !images.isEmpty { kustomize.append(("images", .array(images.map(JSONValue.string)))) }
        if !replicas.isEmpty {
            kustomize.append(("replicas", .array(try parsePairs(replicas, flag: "--replicas").sorted { $0.key < $1.key }.map {
                .object([("name", .string($0.key)), ("count", .string($0.value))])
            })))
        }
        if !labels.isEmpty { kustomize.append(("commonLabels", .sortedObject(try parsePairs(labels, flag: "--common-label")))) }
        if !annotations.isEmpty { kustomize.append(("commonAnnotations", .sortedObject(try parsePairs(annotations, flag: "--common-annotation")))) }
        if !kustomize.isEmpty { source.set("kustomize", .object(kustomize)) }

        let seconds = Double(try parseDuration(timeout, flag: "--timeout").components.seconds)
        var limits = ManifestLoader.Limits()
        limits.renderTimeout = seconds
        limits.subprocessTimeout = min(limits.subprocessTimeout, seconds)
        let loader = ManifestLoader(git: WorkingTreeGitSource(root: root), limits: limits)
        let objects: [JSONValue]
        do { objects = try loader.load(source: source)?.objects ?? [] } catch { throw CLIError("\(error)") }
        switch output {
        case .json: print(JSONValue.array(objects).serialized())
        default: print(YAMLOutput.renderDocuments(objects), terminator: "")
        }
    }
}
