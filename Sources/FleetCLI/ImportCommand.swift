import ArgumentParser
import FleetAPI
import FleetAuth
import FleetCLIKit
import FleetConfig
import FleetGenerators
import FleetModel
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring another tool's installation over.",
        subcommands: [ArgoCD.self]
    )

    struct ArgoCD: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "argocd",
            abstract: "Move an Argo CD installation onto the hub (dry run unless --apply).",
            discussion: """
            FILE is what `kubectl -n argocd get applications,applicationsets,appprojects,secrets,configmaps -o yaml` \
            prints. Everything is checked first; with any problem nothing changes. With --apply: AppProjects, \
            repository Secrets and argocd-rbac-cm's policy.csv are written to --out DIR (files the hub reads when its \
            configuration names them: projects, repositorySecrets, auth.policyFile), cluster Secrets are registered, \
            then Applications and ApplicationSets are applied through the hub's API, each on its own (one refused — \
            its project not yet in force, say — does not stop the others; the command then exits 1). Running it again \
            changes nothing. What cannot be carried over (accounts, other Secrets and settings) is listed with the reason.
            """
        )
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "The export (YAML), or - for standard input.") var file: String
        @Option(help: ArgumentHelp("Directory for projects.yaml, repository-secrets.yaml and policy.csv.", valueName: "dir")) var out: String?
        @Flag(help: "Carry it out (without it, only say what would be done).") var apply = false

        func run() throws {
            let source = file == "-" ? "<stdin>" : file
            let export = try ArgoExport(try readText(file), file: source)
            // Checked before anything is done: every definition, Secret and project as the hub will read it.
            let definitions = try export.applicationSets.map { try ApplicationSet($0, file: source) } + export.applications.map { try ApplicationSet($0, file: source) }
            let clusters = export.clusterSecrets.isEmpty ? [] : try ClustersFile.parse(YAMLOutput.renderDocuments(export.clusterSecrets), file: "\(source) (cluster Secrets)")
            if !export.repositorySecrets.isEmpty {
                _ = try RepositorySecret.parse(YAMLOutput.renderDocuments(export.repositorySecrets), file: "\(source) (repository Secrets)")
            }
            for project in export.projects {
                _ = try Project(object: project, file: "\(source): AppProject \(project.value(at: ["metadata", "name"])?.stringValue ?? "?")")
            }
            var files: [(name: String, text: String, what: [String], mode: Int)] = []
            if !export.projects.isEmpty {
                files.append(("projects.yaml", YAMLOutput.renderDocuments(export.projects), export.projects.map { "appproject/\(Self.name($0))" }, 0o644))
            }
            if !export.repositorySecrets.isEmpty {
                files.append(("repository-secrets.yaml", YAMLOutput.renderDocuments(export.repositorySecrets),
                              export.repositorySecrets.map { "repository-secret/\(Self.name($0))" }, 0o600))
            }
            if let policy = export.policyFile { files.append(("policy.csv", policy, ["argocd-rbac-cm policy.csv"], 0o644)) }
            if !files.isEmpty && out == nil {
                throw CLIError("--out DIR is needed: \(files.flatMap(\.what).joined(separator: ", ")) become files the hub reads")
            }
            for (what, why) in export.notCarried { FileHandle.standardError.write(Data("not carried over: \(what): \(why)\n".utf8)) }

            guard apply else {
                for f in files { for what in f.what { print("\(what) → \(out!)/\(f.name)") } }
                for c in clusters { print("cluster/\(c.cluster.name) register") }
                for d in definitions { print("\(d.standalone ? "application" : "applicationset")/\(d.objectName) apply") }
                print("dry run: nothing changed (run again with --apply)")
                return
            }
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                for f in files {
                    let path = out + "/" + f.name
                    let same = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) == f.text } ?? false
                    if !same {
                        FileManager.default.createFile(atPath: path, contents: Data(f.text.utf8), attributes: [.posixPermissions: f.mode])
                        try FileManager.default.setAttributes([.posixPermissions: f.mode], ofItemAtPath: path)
                    }
                    for what in f.what { print("\(what) \(same ? "unchanged" : "written") (\(path))") }
                }
            }
            if !export.projects.isEmpty { waitForProjects(export.projects.map(Self.name)) }
            if !clusters.isEmpty {
                let body = JSONValue.object([("clusters", .array(clusters.map { ClustersFile.entry($0.cluster) }))]).serialized(pretty: false)
                let answer = try hub.client.get(RegistryChanges.self, "/api/v1/clusters?prune=false&dryRun=false", method: "POST", body: body)
                for name in answer.created { print("cluster/\(name) created") }
                for name in answer.updated { print("cluster/\(name) configured") }
                for name in answer.unchanged where clusters.contains(where: { $0.cluster.name == name }) { print("cluster/\(name) unchanged") }
            }
            var refused: [String] = []
            for definition in definitions {
                let label = "\(definition.standalone ? "application" : "applicationset")/\(definition.objectName)"
                do {
                    let answer = try hub.client.get(Items<AppliedApplicationSet>.self, "/api/v1/applicationsets", method: "POST",
                                                    body: definition.object.serialized(pretty: false), contentType: "application/json")
                    for item in answer.items {
                        let plan = item.plan
                        let change = plan.created.isEmpty && plan.updated.isEmpty && plan.deleted.isEmpty ? "unchanged" : "applied"
                        print("\(label) \(change)" + (definition.standalone ? "" : ": \(plan.created.count) created, \(plan.updated.count) updated, \(plan.deleted.count) deleted"))
                        for p in item.problems { FileHandle.standardError.write(Data("  skipped: \(p)\n".utf8)) }
                        if !item.problems.isEmpty { refused.append(label) }
                    }
                } catch {
                    FileHandle.standardError.write(Data("\(label) refused: \(error)\n".utf8))
                    refused.append(label)
                }
            }
            if let out, !files.isEmpty {
                print("the hub reads \(files.map { "\(out)/\($0.name)" }.joined(separator: ", ")) when its configuration names them (projects, repositorySecrets, auth.policyFile)")
            }
            if !refused.isEmpty { throw CLIError("\(refused.count) not applied: \(refused.joined(separator: ", "))") }
        }

        /// The hub re-reads its project files every 2 s: Applications naming a project just written are applied once
        /// it lists them (up to 15 s; a hub whose configuration does not name the file never will, and says so when
        /// they are applied).
        func waitForProjects(_ names: [String]) {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                // try? is right here: a hub that cannot list projects now is asked again until the deadline.
                if let listed = try? hub.client.get(JSONValue.self, "/api/v1/projects"),
                   Set(listed["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []).isSuperset(of: names) { return }
                Thread.sleep(forTimeInterval: 0.5)
            }
            FileHandle.standardError.write(Data("the hub does not list the projects \(names.joined(separator: ", ")) yet: is \(out ?? "DIR")/projects.yaml in its projects: configuration?\n".utf8))
        }

        static func name(_ object: JSONValue) -> String { object.value(at: ["metadata", "name"])?.stringValue ?? "?" }
    }
}
