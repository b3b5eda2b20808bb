import FleetGit
import Foundation
import Testing

/// A smart-HTTP git server on loopback that demands basic auth (Fixtures/git_http_server.py).
final class GitHTTPServer {
    let process = Process()
    let port: Int

    init(root: URL, user: String, password: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/git_http_server.py")
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
            throw GitError(.other, "test git server did not start")
        }
        self.port = port
    }

    /// SIGKILL: a child of the test process inherits its blocked-signal mask, so SIGTERM may never arrive.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

private let toolsPresent = ["/usr/bin/python3", "/usr/bin/git"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

/// https-style remotes: credentials are sent through libgit2's callback; wrong ones fail once, clearly, without leaking.
@Test(.enabled(if: toolsPresent, "needs python3 and git to serve smart HTTP"))
func httpBasicAuth() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let server = try GitHTTPServer(root: f.root, user: "bot", password: "right-pass-9")
    defer { server.stop() }
    let url = "http://127.0.0.1:\(server.port)/source.git"

    #expect { try f.cache.fetch(url, credentials: GitCredentials(username: "bot", password: "wrong-pass-1")) } throws: { error in
        let text = "\(error)"
        return (error as? GitError)?.code == .unreachable && text.contains(url) && text.contains("authentication failed")
            && !text.contains("wrong-pass-1")
    }
    #expect(throws: GitError.self) { try f.cache.fetch(url) }

    let repo = try f.cache.fetch(url, credentials: GitCredentials(username: "bot", password: "right-pass-9"))
    #expect(try repo.resolve("main") == f.second)
    #expect(try repo.resolve("v1.0.0") == f.first)

    // Credentials embedded in the URL work too, and are not stored in the mirror's config.
    let third = try f.writer.commit(files: ["x": Data("x".utf8)], message: "third")
    let again = try f.cache.fetch("http://bot:right-pass-9@127.0.0.1:\(server.port)/source.git")
    #expect(try again.resolve("main") == third)
    let config = try String(contentsOfFile: again.path + "/config", encoding: .utf8)
    #expect(!config.contains("right-pass-9"))
}
