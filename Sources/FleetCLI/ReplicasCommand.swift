import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetModel
import Foundation

/// `flotilla replicas`: the hub's replicas on a shared PostgreSQL store, their heartbeats and leases.
struct ReplicasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicas",
        abstract: "List the hub's replicas: heartbeat lag, liveness and the leases each holds.",
        discussion: """
          Any replica answers for all (they share the database). A hub on SQLite is one replica holding everything.
          Examples:
            flotilla replicas
            flotilla replicas -o json
          """)

    @OptionGroup var hub: ServerOptions
    @Option(name: .shortAndLong, help: "Output format.") var output: OutputFormat = .table

    func run() throws {
        let items = try hub.client.get(Items<ReplicaInfo>.self, "/api/v1/replicas").items
        switch output {
        case .json: print(APIJSON.value(items).serialized())
        case .yaml: print(YAMLOutput.render(APIJSON.value(items)), terminator: "")
        case .table:
            let rows = items.map { r -> [String] in
                let clusters = r.leases.filter { $0.hasPrefix("cluster/") }.count
                let lag = r.heartbeatAge < 0 ? "-" : String(format: "%.1fs", r.heartbeatAge)
                return [r.name + (r.isSelf ? " *" : ""), r.address, lag, r.live ? "yes" : "no", "\(clusters)",
                        r.leases.contains("generation") || r.leases == ["*"] ? "yes" : "no"]
            }
            print(TextTable.render(header: ["REPLICA", "ADDRESS", "HEARTBEAT", "LIVE", "CLUSTERS", "GENERATION"], rows: rows))
        }
    }
}
