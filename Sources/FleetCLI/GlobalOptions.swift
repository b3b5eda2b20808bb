import FleetAPI
import ArgumentParser
import FleetConfig
import FleetModel
import FleetStore
import Foundation

/// Options every command that touches state shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory holding the hub's state (default: $FLOTILLA_DATA_DIR, else ~/.flotilla).", valueName: "dir"))
    var dataDir: String?

    var resolvedDataDir: String {
        DataDirectory.resolve(flag: dataDir, environment: ProcessInfo.processInfo.environment,
                              home: FileManager.default.homeDirectoryForCurrentUser.path)
    }

    func openStore() throws -> SQLiteClusterStore {
        try SQLiteClusterStore(directory: URL(fileURLWithPath: resolvedDataDir))
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}

/// An error for the user: printed as is, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
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
