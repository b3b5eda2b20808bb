import FleetGit
import FleetTesting
import Foundation
import Testing

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
