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

    static func main() async { await runAsRoot() }
}
