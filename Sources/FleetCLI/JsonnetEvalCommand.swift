import ArgumentParser
import FleetCLIKit
import FleetManifests
import Foundation

/// Evaluates one jsonnet file and prints its JSON: the child process a hub runs jsonnet in, so that a runaway
/// evaluation can be stopped. Not listed in help.
struct JsonnetEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonnet-eval",
        abstract: "Evaluate a jsonnet file (used by the hub to run jsonnet in a child process).",
        shouldDisplay: false
    )

    @Option var file: String
    /// Imports must resolve inside this directory (the repository's work copy).
    @Option var root: String
    @Option(name: .customLong("jpath")) var jpaths: [String] = []
    @Option(name: .customLong("ext-str")) var extStr: [String] = []
    @Option(name: .customLong("ext-code")) var extCode: [String] = []
    @Option(name: .customLong("tla-str")) var tlaStr: [String] = []
    @Option(name: .customLong("tla-code")) var tlaCode: [String] = []

    func run() throws {
        func variables(_ items: [String], code: Bool) throws -> [JsonnetOptions.Variable] {
            try items.map { item in
                guard let eq = item.firstIndex(of: "=") else { throw CLIError("expected NAME=VALUE, found '\(item)'") }
                return .init(name: String(item[..<eq]), value: String(item[item.index(after: eq)...]), code: code)
            }
        }
        let options = JsonnetOptions(extVars: try variables(extStr, code: false) + variables(extCode, code: true),
                                     tlas: try variables(tlaStr, code: false) + variables(tlaCode, code: true))
        do {
            print(try Jsonnet.evaluate(file: file, options: options, jpaths: jpaths, root: root), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
