import ArgumentParser
import FleetCLIKit
import Foundation

/// `flotilla bench …` runs `flotilla-bench …`, the benchmarks' own executable beside this one (the shipped binary
/// carries none of them).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Flotilla on synthetic input and print figures (runs flotilla-bench).",
        discussion: "Every argument goes to flotilla-bench, built beside flotilla: swift build --product flotilla-bench."
    )

    @Argument(parsing: .captureForPassthrough, help: "The benchmark and its options, as flotilla-bench takes them.")
    var arguments: [String] = []

    func run() throws {
        let bench = flotillaExecutable().deletingLastPathComponent().appendingPathComponent("flotilla-bench")
        guard FileManager.default.isExecutableFile(atPath: bench.path) else {
            throw CLIError("\(bench.path) is not built: swift build --product flotilla-bench (or -c release)")
        }
        let process = Process()
        process.executableURL = bench
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }
}
