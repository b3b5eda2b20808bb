import Foundation
import Testing

private let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

/// The command tree and each command's help are snapshots: a changed flag or text is a visible diff.
/// Set FLOTILLA_UPDATE_GOLDEN=1 to rewrite them after an intended change.
@Test(arguments: [
    ["--help"], ["cluster", "--help"], ["cluster", "add", "--help"], ["generate", "--help"], ["apply", "--help"], ["sim", "--help"],
])
func helpSnapshot(_ arguments: [String]) throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let r = try cli.run(arguments, environment: ["COLUMNS": "100"])
    #expect(r.status == 0)
    let file = snapshots.appendingPathComponent((arguments.dropLast().joined(separator: "-").isEmpty ? "flotilla" : "flotilla-" + arguments.dropLast().joined(separator: "-")) + ".txt")
    if ProcessInfo.processInfo.environment["FLOTILLA_UPDATE_GOLDEN"] == "1" {
        try r.stdout.write(to: file, atomically: true, encoding: .utf8)
    }
    #expect(r.stdout == (try String(contentsOf: file, encoding: .utf8)), "help of `flotilla \(arguments.joined(separator: " "))` changed")
}
