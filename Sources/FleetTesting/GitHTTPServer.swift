import Foundation

/// A smart-HTTP git server on loopback that demands basic auth (`git_http_server.py` beside this file, serving
/// the repositories under `root` through `git http-backend`). Needs python3 and git.
public final class GitHTTPServer: @unchecked Sendable {
    let process = Process()
    public let port: Int

    public struct NotStarted: Error, CustomStringConvertible {
        public let description: String
    }

    public init(root: URL, user: String, password: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("git_http_server.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, root.path, user, password]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The server prints its port once it listens.
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw NotStarted(description: "the test git server did not start (python3 and git are needed)")
        }
        self.port = port
    }

    /// SIGKILL: a child of the test process inherits its blocked-signal mask, so SIGTERM may never arrive.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
