import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetModel
import Foundation

/// `flotilla events`: the hub's append-only event log.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the hub's event log: cluster state changes, failovers, failbacks, prunes.",
        discussion: """
          Oldest first. Examples:
            flotilla events --cluster prod-eu
            flotilla events --app web-prod-eu -o json
            flotilla events --watch
          """)

    @OptionGroup var hub: ServerOptions
    @Option(help: "Only events about this cluster.") var cluster: String?
    @Option(help: "Only events about this Application.") var app: String?
    @Option(help: "At most this many (the newest).") var limit = 100
    @Flag(name: .shortAndLong, help: "Keep printing new events as they happen.") var watch = false
    @Option(name: .shortAndLong, help: "Output format.") var output: OutputFormat = .table

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var after = 0
        var first = true
        repeat {
            var query = ["limit=\(limit)", "after=\(after)"]
            if let cluster { query.append("cluster=" + HubClient.escape(cluster)) }
            if let app { query.append("application=" + HubClient.escape(app)) }
            let items = try hub.client.get(Items<HubEvent>.self, "/api/v1/events?" + query.joined(separator: "&")).items
            after = items.last?.id ?? after
            switch output {
            case .json: if !items.isEmpty || first { print(APIJSON.value(items).serialized()) }
            case .yaml: if !items.isEmpty || first { print(YAMLOutput.render(APIJSON.value(items)), terminator: "") }
            case .table:
                if !items.isEmpty {
                    let rows = items.map { e in [e.at, e.type, e.cluster ?? "-", e.application ?? "-", e.message] }
                    let text = TextTable.render(header: ["TIME", "TYPE", "CLUSTER", "APPLICATION", "MESSAGE"], rows: rows)
                    print(first ? text : text.split(separator: "\n").dropFirst().joined(separator: "\n"))
                } else if first && !watch {
                    FileHandle.standardError.write(Data("No events.\n".utf8))
                }
            }
            first = false
            // Into a pipe (`| grep`), each batch is written at once rather than when a buffer fills (every stream).
            fflush(nil)
            if watch { Thread.sleep(forTimeInterval: 1) }
        } while watch
    }
}
