import FleetGit
import Foundation
import Testing

/// `flotilla repo` mirrors a repository and reads it at any revision.
@Test func repoCommands() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let source = cli.workDir.appendingPathComponent("apps.git")
    let writer = try GitRepositoryWriter(creatingAt: source)
    let first = try writer.commit(files: ["teams/a/web/app.yaml": Data("v: 1\n".utf8)], message: "one")
    try writer.tag("v1", at: first)
    _ = try writer.commit(files: ["teams/a/web/app.yaml": Data("v: 2\n".utf8), "teams/b/api/app.yaml": Data("v: 1\n".utf8)], message: "two")

    let fetch = try cli.run(["repo", "fetch", source.path])
    #expect(fetch.status == 0, "\(fetch.stderr)")
    #expect(fetch.stdout.hasPrefix("\(source.path) HEAD "))
    #expect(try cli.run(["repo", "resolve", source.path, "v1"]).stdout == first.hex + "\n")
    #expect(try cli.run(["repo", "ls", source.path, "--dirs"]).stdout == "teams/\nteams/a/\nteams/a/web/\nteams/b/\nteams/b/api/\n")
    #expect(try cli.run(["repo", "cat", source.path, "teams/a/web/app.yaml", "-r", "v1"]).stdout == "v: 1\n")

    let bad = try cli.run(["repo", "resolve", source.path, "nope"])
    #expect(bad.status != 0 && bad.stderr.contains("revision 'nope' not found"))
    let gone = try cli.run(["repo", "fetch", "https://user:pa55word@127.0.0.1:1/none.git"])
    #expect(gone.status != 0 && gone.stderr.contains("https://127.0.0.1:1/none.git is unreachable"))
    #expect(!gone.stderr.contains("pa55word"))
}
