import ArgumentParser
import FleetConfig
import FleetGenerators
import FleetGit
import FleetManifests
import FleetModel
import Foundation

/// An error for the user: printed as is, exit status 1.
package struct CLIError: Error, CustomStringConvertible {
    package let description: String
    package init(_ message: String) { description = message }
}

package func readText(_ path: String) throws -> String {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read file '\(path)': \(FileManager.default.fileExists(atPath: path) ? "permission denied or a directory" : "no such file")")
        }
        data = d
    }
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError("file '\(path)' is not UTF-8 text") }
    return text
}

/// The repository a directory is in (the nearest parent with `.git`), or the directory itself, and the
/// directory's path inside it.
package func repositoryRoot(of path: String) -> (root: URL, relative: String) {
    let dir = URL(fileURLWithPath: path).standardizedFileURL
    var root = dir
    var candidate = dir
    while candidate.path != "/" {
        if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(".git").path) { root = candidate; break }
        candidate = candidate.deletingLastPathComponent().standardizedFileURL
    }
    return (root, dir.path == root.path ? "" : String(dir.path.dropFirst(root.path.count).drop { $0 == "/" }))
}

/// Manifests of a local directory or file: YAML/JSON, recursive, kustomize when there is a kustomization.
package func loadManifests(_ path: String) throws -> [JSONValue] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CLIError("'\(path)': no such file or directory") }
    if !isDir.boolValue {
        let text = try readText(path)
        let docs = path.hasSuffix(".json") ? [try JSONParser.parse(text)] : try YAMLValue.documents(text, file: path)
        return docs.filter { !$0.isNull }.flatMap { $0["kind"]?.stringValue == "List" ? ($0["items"]?.arrayValue ?? []) : [$0] }
    }
    // Inside a git checkout, the repository is the boundary (a kustomize overlay may name ../base), not the
    // directory; elsewhere, the directory is.
    let (root, relative) = repositoryRoot(of: path)
    let loader = ManifestLoader(git: WorkingTreeGitSource(root: root))
    return try loader.load(repoURL: root.path, revision: "", path: relative).objects
}

/// `20ms`, `1s`, `1.5s`, `2m`, `0`.
package func parseDuration(_ text: String, flag: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    if text == "0" { return .zero }
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let value = Double(text.dropLast(suffix.count)), value >= 0 { return .milliseconds(Int64(value * scale * 1000)) }
    }
    throw CLIError("\(flag) '\(text)': expected a duration such as 20ms, 1s or 2m")
}

extension Duration {
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The `flotilla` executable: this binary, or the one beside it when this is `flotilla-bench`.
package func flotillaExecutable() -> URL {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    if me.lastPathComponent == "flotilla" { return me }
    return me.deletingLastPathComponent().appendingPathComponent("flotilla")
}

/// Starts `flotilla sim ARGUMENTS` as a child process and waits for its "listening on" line.
/// Returns the process and the URL it serves; its output keeps being read so it never blocks on a full pipe.
package func launchSimulator(_ arguments: [String], name: String) throws -> (Process, String) {
    let process = Process()
    process.executableURL = flotillaExecutable()
    process.arguments = ["sim"] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = ""
    repeat {
        var bytes = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { bytes.append(byte) }
        if bytes.isEmpty && !process.isRunning { throw CLIError("the simulator of \(name) exited (port in use?)") }
        line = String(decoding: bytes, as: UTF8.self)
    } while !line.contains("listening on")
    DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
    return (process, line.components(separatedBy: "listening on ").last ?? "")
}

extension ParallelExecutor {
    /// CPU-bound work spread over the machine's cores with `concurrentPerform` (rendering is pure CPU work).
    package static let cores = ParallelExecutor(width: ProcessInfo.processInfo.activeProcessorCount) { count, body in
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}

/// A hub holds a connection per watched kind and per busy worker for each cluster (a simulator, as many on
/// its side): the soft limit on open files is raised to the hard limit, as Go programs such as kubectl do.
package func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

extension AsyncParsableCommand {
    /// The `main` of both executables: raise the open-file limit, parse, run (async or not), exit with the error.
    package static func runAsRoot() async {
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
