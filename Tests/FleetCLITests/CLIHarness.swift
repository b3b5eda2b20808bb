import Foundation
import Testing

/// Runs the built `flotilla` binary in a private data directory and captures its output.
struct CLI {
    let dataDir: URL
    let workDir: URL

    init() {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-cli-\(UUID().uuidString)")
        dataDir = root.appendingPathComponent("data")
        workDir = root.appendingPathComponent("work")
        do { try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true) } catch {
            Issue.record("cannot create \(workDir.path): \(error)")
        }
    }

    func cleanup() { try? FileManager.default.removeItem(at: dataDir.deletingLastPathComponent()) }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The package root, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `flotilla` executable that `swift test` built next to the test bundle.
    static let binary: URL = {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent().appendingPathComponent("flotilla")) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flotilla"))
        candidates.append(packageRoot.appendingPathComponent(".build/debug/flotilla"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// Writes a file in the work directory and returns its path.
    @discardableResult
    func write(_ name: String, _ content: String) -> String {
        let url = workDir.appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            Issue.record("cannot write \(url.path): \(error)")
        }
        return url.path
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env["FLOTILLA_DATA_DIR"] = dataDir.path
        for (k, v) in extra { env[k] = v }
        return try Self.runProcess(Self.binary, arguments, environment: env, stdin: stdin, directory: workDir)
    }

    /// Runs any program to completion and captures its output.
    static func runProcess(_ executable: URL, _ arguments: [String], environment env: [String: String], stdin: String? = nil,
                           directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
