import ArgumentParser
import FleetCLIKit
import Foundation

@main
struct FlotillaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla-bench",
        abstract: BenchCommand.configuration.abstract,
        subcommands: BenchCommand.configuration.subcommands
    )

    static func main() async {
        raiseOpenFileLimit()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
