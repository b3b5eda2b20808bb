import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetLua
import FleetModel
import Foundation

/// Runs one resource customization script on one object, as the hub runs Argo CD's scripts: for operators
/// testing their scripts, and for Argo CD's own tests.
struct LuaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lua",
        abstract: "Run a resource customization script (Argo CD's Lua) on an object file.",
        subcommands: [Health.self]
    )

    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a health.lua script on an object and print the health it returns.",
            discussion: """
            The object (YAML or JSON) is the global `obj`; the script returns {status = ..., message = ...}. The
            script runs in the hub's sandbox (Lua 5.1 with goto; base, table, string, math and a safe os) within
            its budget. Prints {"status": ..., "message": ...} as JSON; a failing script prints its error and exits 1.

            Example:
              flotilla lua health resource_customizations/cert-manager.io/Certificate/health.lua certificate.yaml
            """
        )

        @Argument(help: "The health.lua script.") var script: String
        @Argument(help: "The object, a YAML or JSON file.") var object: String

        func run() throws {
            let source = try readText(script)
            // One object; `---` markers around it are fine (empty documents are not objects).
            let documents = try YAMLValue.documents(try readText(self.object), file: self.object).filter { !$0.isNull }
            guard documents.count == 1, let object = documents.first else {
                throw CLIError("\(self.object): expected one object, found \(documents.count) YAML documents")
            }
            let result: JSONValue?
            do {
                result = try LuaScript.run(source, chunkName: URL(fileURLWithPath: script).lastPathComponent, globals: [("obj", object)])
            } catch let error as LuaError {
                throw CLIError("\(script): \(error)")
            }
            guard let result, case .object = result else {
                throw CLIError("\(script): the script returned \(result.map { $0.serialized(pretty: false) } ?? "nothing"), not a table with a status")
            }
            print(result.serialized(pretty: false))
        }
    }
}

private func readText(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("open \(path): no such file or directory") }
    return String(decoding: data, as: UTF8.self)
}
