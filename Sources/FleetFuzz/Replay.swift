#if !FUZZING
import Foundation

/// Without libFuzzer (`swift build`): `flotilla-fuzz TARGET FILE…` runs saved inputs through a target once each —
/// a crash found by `.ci/fuzz`, or a regression input — and `flotilla-fuzz --list` names the targets.
@main
enum Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--list" || arguments.isEmpty {
            for target in targets { print("\(target.name): \(target.input)") }
            exit(arguments.isEmpty ? 2 : 0)
        }
        guard let target = targets.first(where: { $0.name == arguments[0] }) else {
            FileHandle.standardError.write(Data("no fuzz target '\(arguments[0])' (flotilla-fuzz --list)\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(1)
            }
            target.run(Array(data))
            print("\(target.name): \(path) ok")
        }
    }
}
#endif
