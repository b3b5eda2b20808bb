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
        subcommands: [Health.self, Discover.self, Action.self]
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
            let object = try readObject(self.object)
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

    struct Discover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an actions/discovery.lua script on an object and print the actions it offers.",
            discussion: "Prints the table the script returns (action name → {disabled, iconClass, displayName, params}) as JSON."
        )

        @Argument(help: "The discovery.lua script.") var script: String
        @Argument(help: "The object, a YAML or JSON file.") var object: String

        func run() throws {
            print(try runScript(script, globals: [("obj", try readObject(object))]).map { $0.serialized(pretty: false) } ?? "{}")
        }
    }

    struct Action: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an action.lua script on an object and print what it changes.",
            discussion: """
            Parameters are the global `actionParams` (strings). Prints the changed object, or the list of impacted
            resources the script returns ([{operation: create|patch, resource: …}]), as JSON. A failing action prints
            its error and exits 1.
            """
        )

        @Argument(help: "The action.lua script.") var script: String
        @Argument(help: "The object, a YAML or JSON file.") var object: String
        @Option(name: .customLong("param"), help: ArgumentHelp("An action parameter (repeatable).", valueName: "name=value")) var params: [String] = []

        func run() throws {
            let object = try readObject(self.object)
            var given: [(String, JSONValue)] = []
            for param in params {
                guard let eq = param.firstIndex(of: "=") else { throw CLIError("--param \(param): expected name=value") }
                given.append((String(param[..<eq]), .string(String(param[param.index(after: eq)...]))))
            }
            guard let result = try runScript(script, globals: [("obj", object), ("actionParams", .object(given))]) else {
                throw CLIError("\(script): the action returned nothing")
            }
            print(LuaScript.restoringEmptyArrays(result, like: object).serialized(pretty: false))
        }
    }
}

/// Runs a script on the hub's sandbox; its errors name the script.
private func runScript(_ script: String, globals: [(String, JSONValue)]) throws -> JSONValue? {
    let source = try readText(script)
    do {
        return try LuaScript.run(source, chunkName: URL(fileURLWithPath: script).lastPathComponent, globals: globals)
    } catch let error as LuaError {
        throw CLIError("\(script): \(error)")
    }
}

/// One object from a YAML or JSON file; `---` markers around it are fine (empty documents are not objects).
private func readObject(_ path: String) throws -> JSONValue {
    let documents = try YAMLValue.documents(try readText(path), file: path).filter { !$0.isNull }
    guard documents.count == 1, let object = documents.first else {
        throw CLIError("\(path): expected one object, found \(documents.count) YAML documents")
    }
    return object
}

private func readText(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("open \(path): no such file or directory") }
    return String(decoding: data, as: UTF8.self)
}
