import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetModel
import Foundation

struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Inspect and operate the hub's Applications (through its API).",
        subcommands: [List.self, Get.self, Apply.self, Delete.self, Diff.self, Sync.self, TerminateOp.self, Refresh.self, History.self, Rollback.self, Unpin.self]
    )

    /// Prints what applying ApplicationSets and Applications did; fails when an Application was skipped.
    static func report(_ value: Items<AppliedApplicationSet>) throws {
        var skipped = 0
        for item in value.items {
            let plan = item.plan
            if item.name.hasPrefix("Application/") {
                let name = item.name.dropFirst("Application/".count)
                let change = plan.created.isEmpty ? plan.updated.isEmpty ? "unchanged" : "updated" : "created"
                print("application/\(name) \(change)")
            } else {
                print("applicationset/\(item.name) applied: \(plan.created.count) created, \(plan.updated.count) updated, \(plan.deleted.count) deleted")
            }
            for p in item.problems { FileHandle.standardError.write(Data("  skipped: \(p)\n".utf8)) }
            skipped += item.problems.count
        }
        // Skipped Applications make the command fail, so scripts and CI see them.
        if skipped > 0 { throw CLIError("\(skipped) Application\(skipped == 1 ? " was" : "s were") skipped") }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace Applications written directly (Argo CD's kind: Application); the hub syncs them as any other.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "Application YAML file (several documents allowed), or - for standard input.") var file: String
        func run() throws {
            try AppCommand.report(try hub.client.get(Items<AppliedApplicationSet>.self, "/api/v1/applications", method: "POST",
                                                     body: try readText(file), contentType: "application/yaml"))
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an Application written directly: its resources too when it has Argo CD's resources finalizer, else they are left (as Argo CD does).")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            _ = try hub.client.get(Deleted.self, AppCommand.path(name), method: "DELETE")
            print("application/\(name) deleted")
        }
    }

    static func path(_ name: String, _ suffix: String = "") -> String { "/api/v1/applications/\(HubClient.escape(name))\(suffix)" }

    static func table(_ items: [ApplicationSummary]) -> String {
        TextTable.render(header: ["NAME", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION", "APPSET"], rows: items.map { a in
            let pin = a.pinnedRevision == nil ? "" : " (pinned)"
            var cluster = a.cluster ?? "<none>"
            if let placement = a.placement {
                switch placement.phase {
                case .unplaced: cluster += " (Unplaced)"
                case .failingBack: cluster += " ← \(placement.pruneAfterHealthy ?? "?") (FailingBack)"
                case .failedOver: cluster += " → \(placement.active ?? "?") (\(placement.phase.rawValue))"
                }
            }
            return [a.name, cluster, a.namespace.stringValue ?? "", a.sync.rawValue, a.health.rawValue,
                    String((a.revision.stringValue ?? "").prefix(12)) + pin, a.appSet.isEmpty ? "-" : a.appSet]
        })
    }

    static func show<T: Encodable>(_ value: T, _ output: OutputFormat, table: () -> String) { show(APIJSON.value(value), output, table: table) }

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
            let items = try hub.client.list(ApplicationSummary.self, "/api/v1/applications" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
            if output == .table && items.isEmpty {
                FileHandle.standardError.write(Data("No Applications found.\n".utf8))
                return
            }
            AppCommand.show(items, output) { AppCommand.table(items) }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an Application: status, resources, conditions and history.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table

        func run() throws {
            let app = try hub.client.get(ApplicationDetail.self, AppCommand.path(name))
            AppCommand.show(app, output) {
                var lines = [AppCommand.table([app.summary]), ""]
                for c in app.summary.conditions.arrayValue ?? [] { lines.append("Condition \(c["type"]?.stringValue ?? ""): \(c["message"]?.stringValue ?? "")") }
                if let message = app.status.value(at: ["operationState", "message"])?.stringValue, !message.isEmpty { lines.append("Last operation: \(message)") }
                let resources = app.status["resources"]?.arrayValue ?? []
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
            let diff = try hub.client.get(DiffInfo.self, AppCommand.path(name, "/diff"))
            if !diff.message.isEmpty { FileHandle.standardError.write(Data("\(diff.message)\n".utf8)) }
            var differs = false
            for r in diff.resources {
                if let text = r.diff { print(text, terminator: text.hasSuffix("\n") ? "" : "\n"); differs = true }
            }
            if differs || diff.sync != "Synced" { throw ExitCode(1) }
        }
    }

    struct TerminateOp: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "terminate-op",
            abstract: "Stop the Application's running sync (one waiting on a wave or a hook); nothing applied so far is undone.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String

        func run() throws {
            _ = try hub.client.send("POST", AppCommand.path(name, "/terminate-op"), Optional<SyncRequest>.none, answer: Queued.self)
            print("application/\(name) sync terminating (automated sync does not start this revision again; `flotilla app sync \(name)` does)")
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
            let before = try client.get(ApplicationDetail.self, AppCommand.path(name)).summary.reconciledAt
            _ = try client.send("POST", AppCommand.path(name, "/sync"), SyncRequest(prune: !noPrune), answer: Queued.self)
            print("application/\(name) sync queued")
            guard let wait else { return }
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline {
                let app = try client.get(ApplicationDetail.self, AppCommand.path(name)).summary
                if app.reconciledAt != before, app.sync == .synced, app.health == .healthy {
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
            _ = try hub.client.get(Queued.self, AppCommand.path(name, "/refresh"), method: "POST")
            print("application/\(name) refresh queued")
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an Application's syncs (newest last); IDs are what rollback takes.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let items = try hub.client.get(Items<SyncRecord>.self, AppCommand.path(name, "/history")).items
            AppCommand.show(items, output) {
                TextTable.render(header: ["ID", "REVISION", "CLUSTER", "STARTED", "FINISHED", "RESULT", "RESOURCES", "AUTHOR", "COMMIT"], rows: items.map { h in
                    ["\(h.id)", String(h.revision.prefix(12)), h.cluster ?? "", h.startedAt, h.finishedAt, h.result, "\(h.resources.arrayValue?.count ?? 0)",
                     h.author ?? "", h.subject ?? ""]
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
            let value = try hub.client.send("POST", AppCommand.path(name, "/rollback"), RollbackRequest(id: id), answer: Queued.self)
            print("application/\(name) pinned to \(value.pinnedRevision ?? "?"); sync queued. Undo with `flotilla app unpin \(name)`.")
        }
    }

    struct Unpin: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rollback pin: the Application follows its targetRevision again.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            _ = try hub.client.get(Queued.self, AppCommand.path(name, "/unpin"), method: "POST")
            print("application/\(name) unpinned; sync queued")
        }
    }
}

struct AppSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appset",
        abstract: "Manage the hub's ApplicationSets (through its API).",
        subcommands: [Apply.self, Preview.self, List.self, Get.self, Rollout.self, Delete.self]
    )

    struct Rollout: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show where an ApplicationSet's progressive rollout (RollingSync) stands: each step and Application.")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let r = try hub.client.get(RolloutInfo.self, "/api/v1/applicationsets/\(HubClient.escape(name))/rollout")
            AppCommand.show(r, output) {
                guard r.strategy == "RollingSync" else { return "ApplicationSet \(r.name): strategy AllAtOnce (every Application syncs as soon as it changes)" }
                var lines = ["ApplicationSet \(r.name): RollingSync, \(r.phase)" + (r.activeStep.map { ", step \($0) of \(r.steps.count)" } ?? "")
                             + (r.haltedBy.isEmpty ? "" : " — halted by \(r.haltedBy.joined(separator: ", "))")]
                var rows: [[String]] = []
                for step in r.steps {
                    for app in step.applications { rows.append(["\(step.step)", step.selector, step.maxUpdate, app.name, app.status]) }
                    if step.applications.isEmpty { rows.append(["\(step.step)", step.selector, step.maxUpdate, "(none)", ""]) }
                }
                for name in r.excluded { rows.append(["-", "(no step)", "", name, "not synced by the rollout"]) }
                lines.append(TextTable.render(header: ["STEP", "SELECTOR", "MAX", "APPLICATION", "STATUS"], rows: rows))
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or replace ApplicationSets (and Applications in the same files); their Applications are generated at once.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "ApplicationSet YAML file, or - for standard input.") var file: String
        func run() throws {
            try AppCommand.report(try hub.client.get(Items<AppliedApplicationSet>.self, "/api/v1/applicationsets", method: "POST",
                                                     body: try readText(file), contentType: "application/yaml"))
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what applying ApplicationSets would do: Applications created, updated and deleted, with the diff of each against its cluster. Changes nothing.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "ApplicationSet YAML file, or - for standard input.") var file: String
        @Option(name: .shortAndLong, help: "table or json.") var output: OutputFormat = .table
        func run() throws {
            let value = try hub.client.get(Items<PreviewedApplicationSet>.self, "/api/v1/applicationsets/preview", method: "POST", body: try readText(file),
                                           contentType: "application/yaml")
            if output != .table { AppCommand.show(value, output) { "" }; return }
            var unrendered = 0
            for item in value.items {
                print("ApplicationSet \(item.name):")
                for app in item.applications {
                    let mark = app.change == "create" ? "+" : app.change == "delete" ? "-" : "~"
                    let state = app.sync.map { ", \($0)" } ?? ""
                    print("\(mark) \(app.name) (\(app.change), cluster \(app.cluster ?? "<none>")\(state))")
                    // A source that does not render is what the Application would show: said here, not only in -o json.
                    if app.sync == SyncStatus.unknown.rawValue, let message = app.message, !message.isEmpty {
                        print("  ! \(message)")
                        unrendered += 1
                    }
                    if let d = app.applicationDiff, !d.isEmpty { print(d) }
                    for r in app.resources ?? [] {
                        if let d = r.diff { print(d, terminator: d.hasSuffix("\n") ? "" : "\n") }
                    }
                }
                if item.plan.unchanged > 0 { print("  \(item.plan.unchanged) Application\(item.plan.unchanged == 1 ? "" : "s") unchanged") }
                for p in item.problems { print("! \(p.application) skipped: \(p.message)") }
            }
            // Scripts and CI see a preview whose sources do not render.
            if unrendered > 0 { throw CLIError("\(unrendered) Application\(unrendered == 1 ? "'s source does" : "s' sources do") not render") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ApplicationSets with their source and last generation.")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table
        func run() throws {
            let items = try hub.client.list(ApplicationSetInfo.self, "/api/v1/applicationsets")
            AppCommand.show(items, output) {
                TextTable.render(header: ["NAME", "APPLICATIONS", "SKIPPED", "SOURCE", "GENERATED", "ERROR"], rows: items.map { s in
                    [s.name, "\(s.applications)", "\(s.problems.count)", s.source, s.generatedAt ?? "", s.error ?? ""]
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
            let value = try hub.client.get(ApplicationSetInfo.self, "/api/v1/applicationsets/\(HubClient.escape(name))")
            AppCommand.show(value, output == .table ? .yaml : output) { "" }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an ApplicationSet added through the API, with its Applications (pruned unless preserveResourcesOnDeletion).")
        @OptionGroup var hub: ServerOptions
        @Argument var name: String
        func run() throws {
            _ = try hub.client.get(Deleted.self, "/api/v1/applicationsets/\(HubClient.escape(name))", method: "DELETE")
            print("applicationset/\(name) deleted")
        }
    }
}
