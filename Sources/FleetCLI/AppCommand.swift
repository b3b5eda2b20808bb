import ArgumentParser
import FleetConfig
import FleetModel
import Foundation

struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Inspect and operate the hub's Applications (through its API).",
        subcommands: [List.self, Get.self, Diff.self, Sync.self, Refresh.self, History.self, Rollback.self, Unpin.self]
    )

    static func path(_ name: String, _ suffix: String = "") -> String { "/api/v1/applications/\(HubClient.escape(name))\(suffix)" }

    static func table(_ items: [JSONValue]) -> String {
        TextTable.render(header: ["NAME", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION", "APPSET"], rows: items.map { a in
            let pin = a["pinnedRevision"]?.stringValue == nil ? "" : " (pinned)"
            var cluster = a["cluster"]?.stringValue ?? "<none>"
            if let phase = a.value(at: ["placement", "phase"])?.stringValue {
                switch phase {
                case "Unplaced": cluster += " (Unplaced)"
                case "FailingBack": cluster += " ← \(a.value(at: ["placement", "pruneAfterHealthy"])?.stringValue ?? "?") (FailingBack)"
                default: cluster += " → \(a.value(at: ["placement", "active"])?.stringValue ?? "?") (\(phase))"
                }
            }
            return [a["name"]?.stringValue ?? "", cluster, a["namespace"]?.stringValue ?? "",
                    a["sync"]?.stringValue ?? "", a["health"]?.stringValue ?? "",
                    String((a["revision"]?.stringValue ?? "").prefix(12)) + pin, a["appSet"]?.stringValue ?? ""]
        })
    }

    static func show(_ value: JSONValue, _ output: OutputFormat, table: () -> String) {
        switch output {
        case .table: Swift.print(table())
        case .json: Swift.print(value.serialized())
        case .yaml: Swift.print(YAMLOutput.render(value), terminator: "")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List Applications, filtered by labels, cluster, ApplicationSet, sync or health status.")
        @OptionGroup var hub: ServerOptions
        @Option(name: [.customShort("l"), .long], help: "Label selector on the Applications' labels, e.g. team=search,env in (prod,staging).") var selector: String?
        @Option(help: "Only Applications deployed to this cluster.") var cluster: String?
        @Option(help: "Only Applications of this ApplicationSet.") var appset: String?
        @Option(help: "Only this sync status (Synced, OutOfSync, Unknown).") var sync: String?
        @Option(help: "Only this health status (Healthy, Progressing, Degraded, Missing, ...).") var health: String?
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table

        func run() throws {
            var query: [String] = []
            for (k, v) in [("selector", selector), ("cluster", cluster), ("appSet", appset), ("sync", sync), ("health", health)] {
                if let v { query.append("\(k)=\(HubClient.escape(v))") }
            }
            let items = try hub.client.list("/api/v1/applications" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
            let value: JSONValue = .object([("items", .array(items))])
            if output == .table && items.isEmpty {
                FileHandle.standardError.write(Data("No Applications found.\n".utf8))
                return
            }
            AppCommand.show(value["items"] ?? .array([]), output) { AppCommand.table(items) }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an Application: status, resources, conditions and history.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table

        func run() throws {
            let app = try hub.client.call("GET", AppCommand.path(name))
            AppCommand.show(app, output) {
                var lines = [AppCommand.table([app]), ""]
                for c in app["conditions"]?.arrayValue ?? [] { lines.append("Condition \(c["type"]?.stringValue ?? ""): \(c["message"]?.stringValue ?? "")") }
                if let message = app.value(at: ["status", "operationState", "message"])?.stringValue, !message.isEmpty { lines.append("Last operation: \(message)") }
                let resources = app.value(at: ["status", "resources"])?.arrayValue ?? []
                lines.append(TextTable.render(header: ["KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH"], rows: resources.map { r in
                    [r["kind"]?.stringValue ?? "", r["namespace"]?.stringValue ?? "", r["name"]?.stringValue ?? "", r["status"]?.stringValue ?? "", r["health"]?.stringValue ?? ""]
                }))
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show how the cluster differs from git for an Application (Secret values redacted). Exit status 1 when it differs.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String

        func run() throws {
            let diff = try hub.client.call("GET", AppCommand.path(name, "/diff"))
            if let message = diff["message"]?.stringValue, !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            var differs = false
            for r in diff["resources"]?.arrayValue ?? [] {
                if let text = r["diff"]?.stringValue { print(text, terminator: text.hasSuffix("\n") ? "" : "\n"); differs = true }
            }
            if differs || diff["sync"]?.stringValue != "Synced" { throw ExitCode(1) }
        }
    }

    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sync an Application now (ahead of the queue, even without automated sync).")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Flag(help: "Do not prune resources that are no longer in git.") var noPrune = false
        @Option(help: "Wait up to this many seconds until the Application is Synced and Healthy.") var wait: Double?

        func run() throws {
            let client = hub.client
            let before = try client.call("GET", AppCommand.path(name))["reconciledAt"]?.stringValue
            try client.call("POST", AppCommand.path(name, "/sync"), body: "{\"prune\": \(!noPrune)}")
            print("application/\(name) sync queued")
            guard let wait else { return }
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline {
                let app = try client.call("GET", AppCommand.path(name))
                if app["reconciledAt"]?.stringValue != before, app["sync"] == "Synced", app["health"] == "Healthy" {
                    print("application/\(name) Synced and Healthy")
                    return
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            throw CLIError("application/\(name) is not Synced and Healthy after \(wait) s (see `flotilla app get \(name)`)")
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch the Application's repositories and compare again now.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            try hub.client.call("POST", AppCommand.path(name, "/refresh"))
            print("application/\(name) refresh queued")
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an Application's syncs (newest last); IDs are what rollback takes.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let value = try hub.client.call("GET", AppCommand.path(name, "/history"))
            let items = value["items"]?.arrayValue ?? []
            AppCommand.show(value["items"] ?? .array([]), output) {
                TextTable.render(header: ["ID", "REVISION", "STARTED", "FINISHED", "RESULT", "RESOURCES"], rows: items.map { h in
                    ["\(h["id"].map { if case .int(let i) = $0 { return i } else { return 0 } } ?? 0)", String((h["revision"]?.stringValue ?? "").prefix(12)),
                     h["startedAt"]?.stringValue ?? "", h["finishedAt"]?.stringValue ?? "", h["result"]?.stringValue ?? "",
                     "\(h["resources"]?.arrayValue?.count ?? 0)"]
                })
            }
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll an Application back to a history entry: it is pinned to that revision, even under automated sync, until `app unpin`.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Argument(help: "History ID (see `flotilla app history`).") var id: Int
        func run() throws {
            let value = try hub.client.call("POST", AppCommand.path(name, "/rollback"), body: "{\"id\": \(id)}")
            print("application/\(name) pinned to \(value["pinnedRevision"]?.stringValue ?? "?"); sync queued. Undo with `flotilla app unpin \(name)`.")
        }
    }

    struct Unpin: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rollback pin: the Application follows its targetRevision again.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            try hub.client.call("POST", AppCommand.path(name, "/unpin"))
            print("application/\(name) unpinned; sync queued")
        }
    }
}

struct AppSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appset",
        abstract: "Manage the hub's ApplicationSets (through its API).",
        subcommands: [Apply.self, Preview.self, List.self, Get.self, Delete.self]
    )

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or replace ApplicationSets; their Applications are generated at once.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "ApplicationSet YAML file, or - for standard input.") var file: String
        func run() throws {
            let value = try hub.client.call("POST", "/api/v1/applicationsets", body: try readText(file), contentType: "application/yaml")
            var skipped = 0
            for item in value["items"]?.arrayValue ?? [] {
                let plan = item["plan"] ?? .object([])
                func n(_ k: String) -> Int { plan[k]?.arrayValue?.count ?? 0 }
                print("applicationset/\(item["name"]?.stringValue ?? "") applied: \(n("created")) created, \(n("updated")) updated, \(n("deleted")) deleted")
                let problems = item["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
                for p in problems { FileHandle.standardError.write(Data("  skipped: \(p)\n".utf8)) }
                if !problems.isEmpty { skipped += problems.count }
            }
            // Skipped Applications make the command fail, so scripts and CI see them.
            if skipped > 0 { throw CLIError("\(skipped) Application\(skipped == 1 ? " was" : "s were") skipped") }
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what applying ApplicationSets would do: Applications created, updated and deleted, with the diff of each against its cluster. Changes nothing.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "ApplicationSet YAML file, or - for standard input.") var file: String
        @Option(name: .shortAndLong, help: "table or json.") var output: OutputFormat = .table
        func run() throws {
            let value = try hub.client.call("POST", "/api/v1/applicationsets/preview", body: try readText(file), contentType: "application/yaml")
            if output != .table { AppCommand.show(value, output) { "" }; return }
            for item in value["items"]?.arrayValue ?? [] {
                print("ApplicationSet \(item["name"]?.stringValue ?? ""):")
                for app in item["applications"]?.arrayValue ?? [] {
                    let change = app["change"]?.stringValue ?? ""
                    let mark = change == "create" ? "+" : change == "delete" ? "-" : "~"
                    print("\(mark) \(app["name"]?.stringValue ?? "") (\(change), cluster \(app["cluster"]?.stringValue ?? "<none>"))")
                    if let d = app["applicationDiff"]?.stringValue, !d.isEmpty { print(d) }
                    for r in app["resources"]?.arrayValue ?? [] {
                        if let d = r["diff"]?.stringValue { print(d, terminator: d.hasSuffix("\n") ? "" : "\n") }
                    }
                }
                if let unchanged = item.value(at: ["plan", "unchanged"]), case .int(let n) = unchanged, n > 0 { print("  \(n) Applications unchanged") }
                for p in item["problems"]?.arrayValue ?? [] {
                    print("! \(p["application"]?.stringValue ?? "") skipped: \(p["message"]?.stringValue ?? "")")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ApplicationSets with their source and last generation.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let items = try hub.client.list("/api/v1/applicationsets")
            let value: JSONValue = .object([("items", .array(items))])
            AppCommand.show(value["items"] ?? .array([]), output) {
                TextTable.render(header: ["NAME", "APPLICATIONS", "SKIPPED", "SOURCE", "GENERATED", "ERROR"], rows: items.map { s in
                    [s["name"]?.stringValue ?? "", "\(s["applications"].flatMap { if case .int(let i) = $0 { return i } else { return nil } } ?? 0)",
                     "\(s["problems"]?.arrayValue?.count ?? 0)",
                     s["source"]?.stringValue ?? "", s["generatedAt"]?.stringValue ?? "", s["error"]?.stringValue ?? ""]
                })
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an ApplicationSet as the hub serves it.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "json or yaml.") var output: OutputFormat = .yaml
        func run() throws {
            let value = try hub.client.call("GET", "/api/v1/applicationsets/\(HubClient.escape(name))")
            AppCommand.show(value, output == .table ? .yaml : output) { "" }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an ApplicationSet added through the API, with its Applications (pruned unless preserveResourcesOnDeletion).")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            try hub.client.call("DELETE", "/api/v1/applicationsets/\(HubClient.escape(name))")
            print("applicationset/\(name) deleted")
        }
    }
}
