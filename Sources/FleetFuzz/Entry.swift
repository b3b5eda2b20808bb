import Foundation

/// The target named by `FLOTILLA_FUZZ_TARGET`, chosen once.
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FLOTILLA_FUZZ_TARGET"] ?? ""
    guard let target = targets.first(where: { $0.name == name }) else {
        let list = targets.map { "  \($0.name): \($0.input)" }.joined(separator: "\n")
        FileHandle.standardError.write(Data("FLOTILLA_FUZZ_TARGET must name a target:\n\(list)\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's entry point: one input to the selected target. Built with `-sanitize=fuzzer` (see `.ci/fuzz`),
/// libFuzzer supplies `main`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected.run(bytes)
    return 0
}
