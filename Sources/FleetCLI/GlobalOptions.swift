import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetConfig
import FleetModel
import FleetStore
import Foundation

/// Options every command that touches state shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory holding the hub's state (default: $FLOTILLA_DATA_DIR, else ~/.flotilla).", valueName: "dir"))
    var dataDir: String?

    var resolvedDataDir: String {
        let environment = ProcessInfo.processInfo.environment
        return DataDirectory.resolve(flag: dataDir, environment: environment,
                                     home: DataDirectory.home(environment: environment, fallback: FileManager.default.homeDirectoryForCurrentUser.path))
    }

    func openStore() throws -> SQLiteClusterStore {
        try SQLiteClusterStore(directory: URL(fileURLWithPath: resolvedDataDir))
    }

    /// The local store when it exists; nil otherwise (a command that only reads never creates one).
    func existingStore() throws -> SQLiteClusterStore? {
        FileManager.default.fileExists(atPath: resolvedDataDir) ? try openStore() : nil
    }

    /// The user named a local store (`--data-dir` or `$FLOTILLA_DATA_DIR`).
    var requested: Bool { dataDir != nil || !(ProcessInfo.processInfo.environment["FLOTILLA_DATA_DIR"] ?? "").isEmpty }
}

/// Where a command that works on the hub or on a local store acts.
enum StateTarget: Equatable {
    case hub
    case local

    /// The hub when one is named (`--server`, `$FLOTILLA_SERVER`); the local store when one is named (`--data-dir`,
    /// `$FLOTILLA_DATA_DIR`); else the hub at the default URL when it answers there; else the local store, said in one
    /// line on standard error (a registry no hub reads is never used without saying so).
    static func choose(_ hub: ServerOptions, _ global: GlobalOptions) -> StateTarget {
        if hub.requested { return .hub }
        if global.requested { return .local }
        if HubClient.answers(hub.url) { return .hub }
        FileHandle.standardError.write(Data("no hub answers at \(hub.url): using the local store in \(global.resolvedDataDir) (--server or FLOTILLA_SERVER names a hub, --data-dir a store)\n".utf8))
        return .local
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}


/// Prints a list as a table, a JSON array or YAML documents (what every list command's `-o` offers).
func printList<Item: Encodable>(_ items: [Item], _ format: OutputFormat, table: () -> String) {
    printList(items.map { APIJSON.value($0) }, format, table: table)
}

func printList(_ items: [JSONValue], _ format: OutputFormat, table: () -> String) {
    switch format {
    case .table: print(table())
    case .json: print(JSONValue.array(items).serialized())
    case .yaml: print(YAMLOutput.renderDocuments(items), terminator: "")
    }
}
