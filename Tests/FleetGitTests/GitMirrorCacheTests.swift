import FleetGit
import Foundation
import Testing

/// A temporary directory for one test, removed afterwards.
func temporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-git-\(UUID().uuidString)")
    do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
        Issue.record("cannot create \(dir.path): \(error)")
    }
    return dir
}

/// A source repository with two commits on main, a tag and a second branch.
struct Fixture {
    let root: URL
    let source: URL
    let writer: GitRepositoryWriter
    let first: CommitID
    let second: CommitID
    let featureCommit: CommitID

    init() throws {
        root = temporaryDirectory()
        source = root.appendingPathComponent("source.git")
        writer = try GitRepositoryWriter(creatingAt: source)
        first = try writer.commit(files: [
            "teams/a/web/deploy.yaml": Data("kind: Deployment\n".utf8),
            "teams/a/api/deploy.yaml": Data("kind: Deployment\n".utf8),
            "README.md": Data("# apps\n".utf8),
        ], message: "first")
        try writer.tag("v1.0.0", at: first)
        second = try writer.commit(files: [
            "teams/a/web/deploy.yaml": Data("kind: Deployment\nreplicas: 2\n".utf8),
            "teams/a/api/deploy.yaml": Data("kind: Deployment\n".utf8),
            "teams/b/worker/config.json": Data("{}".utf8),
            "README.md": Data("# apps\n".utf8),
        ], message: "second")
        featureCommit = try writer.commit(files: ["only-on-feature.txt": Data("x".utf8)], message: "feature", branch: "feature/x")
    }

    var cache: GitMirrorCache { GitMirrorCache(root: root.appendingPathComponent("data/git")) }

    func cleanup() { try? FileManager.default.removeItem(at: root) }
}

/// Revisions resolve the way git resolves them: HEAD, branch, tag, full and short SHA.
@Test func resolveRevisions() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let repo = try f.cache.fetch(f.source.path)
    #expect(try repo.resolve("HEAD") == f.second)
    #expect(try repo.resolve("") == f.second)
    #expect(try repo.resolve("main") == f.second)
    #expect(try repo.resolve("v1.0.0") == f.first)
    #expect(try repo.resolve("feature/x") == f.featureCommit)
    #expect(try repo.resolve(f.first.hex) == f.first)
    #expect(try repo.resolve(String(f.first.hex.prefix(10))) == f.first)
    #expect(try repo.resolve("main~1") == f.first)
}

/// An unknown revision is an error naming the repository and the revision.
@Test func unknownRevision() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let repo = try f.cache.fetch(f.source.path)
    #expect { try repo.resolve("no-such-branch") } throws: { error in
        let e = error as? GitError
        return e?.code == .unknownRevision && e!.message.contains("no-such-branch") && e!.message.contains(f.source.path)
    }
}

/// The tree of a commit lists directories (including intermediate ones) and files.
@Test func listTree() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let repo = try f.cache.fetch("file://" + f.source.path)
    let old = try repo.tree(at: f.first)
    #expect(Set(old.directories) == ["teams", "teams/a", "teams/a/api", "teams/a/web"])
    #expect(Set(old.files) == ["README.md", "teams/a/api/deploy.yaml", "teams/a/web/deploy.yaml"])
    let new = try repo.tree(at: f.second)
    #expect(new.directories.contains("teams/b/worker"))
    #expect(new.commit == f.second)
}

/// Files read at a given commit; a missing file or a directory is a clear error.
@Test func readFiles() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let repo = try f.cache.fetch(f.source.path)
    #expect(String(decoding: try repo.readFile("teams/a/web/deploy.yaml", at: f.first), as: UTF8.self) == "kind: Deployment\n")
    #expect(String(decoding: try repo.readFile("./teams/a/web/deploy.yaml", at: f.second), as: UTF8.self).contains("replicas: 2"))
    #expect { try repo.readFile("teams/b/worker/config.json", at: f.first) } throws: {
        ($0 as? GitError)?.code == .notFound && "\($0)".contains("file 'teams/b/worker/config.json' not found")
    }
    #expect { try repo.readFile("teams/a", at: f.first) } throws: { ($0 as? GitError)?.code == .notAFile }
}

/// Fetch brings new commits into an existing mirror; open alone does not.
@Test func fetchUpdatesMirror() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    _ = try f.cache.fetch(f.source.path)
    let third = try f.writer.commit(files: ["new.txt": Data("n".utf8)], message: "third")
    #expect(try f.cache.open(f.source.path).resolve("main") == f.second)
    #expect(try f.cache.fetch(f.source.path).resolve("main") == third)
    // Deleted branches are pruned, as in `git fetch --prune` on a mirror.
    #expect(try f.cache.open(f.source.path).resolve("feature/x") == f.featureCommit)
    try f.writer.deleteBranch("feature/x")
    #expect(throws: GitError.self) { try f.cache.fetch(f.source.path).resolve("feature/x") }
}

/// The mirror's HEAD follows the source's default branch, whatever its name.
@Test func headFollowsDefaultBranch() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let writer = try GitRepositoryWriter(creatingAt: root.appendingPathComponent("src.git"), branch: "trunk")
    let c = try writer.commit(files: ["a": Data("a".utf8)], message: "one")
    let repo = try GitMirrorCache(root: root.appendingPathComponent("git")).fetch(writer.repository.path)
    #expect(try repo.resolve("HEAD") == c)
}

/// An unreachable repository is an error naming it, and leaves no half-made mirror behind.
@Test func unreachableRepository() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let cache = GitMirrorCache(root: root.appendingPathComponent("git"))
    #expect { try cache.fetch(root.appendingPathComponent("missing").path) } throws: { error in
        (error as? GitError)?.code == .unreachable && "\(error)".contains("missing") && "\(error)".contains("unreachable")
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache.root.path).filter { !$0.hasSuffix(".lock") }
    #expect(leftovers.isEmpty, "\(leftovers)")
}

/// A host whose name does not resolve (`.invalid` never does) is named as what went wrong, never as libgit2's
/// "unsupported URL protocol", which points at the build.
@Test func anUnresolvableHostIsNamed() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let cache = GitMirrorCache(root: root.appendingPathComponent("git"))
    #expect { try cache.fetch("https://git.nonexistent.invalid/acme/apps.git") } throws: { error in
        let text = "\(error)"
        return (error as? GitError)?.code == .unreachable && text.contains("git.nonexistent.invalid") && !text.contains("unsupported URL protocol")
            && (text.contains("could not reach") || text.contains("resolve"))
    }
}

/// Credentials never appear in messages or in the mirror path; different URLs get different mirrors.
@Test func credentialsStayOutOfMessages() {
    #expect(GitURL.redacted("https://user:s3cret@git.example.com/acme/apps.git") == "https://git.example.com/acme/apps.git")
    #expect(GitURL.redacted("/local/path") == "/local/path")
    let split = GitURL.splitCredentials("https://bot:tok%40en@git.example.com/a.git")
    #expect(split.url == "https://git.example.com/a.git")
    #expect(split.credentials == GitCredentials(username: "bot", password: "tok@en"))
    #expect(!"\(GitCredentials.token("s3cret"))".contains("s3cret"))

    let cache = GitMirrorCache(root: URL(fileURLWithPath: "/data/git"))
    let a = cache.mirrorPath(for: "https://user:s3cret@git.example.com/acme/apps.git")
    #expect(!a.path.contains("s3cret"))
    #expect(a == cache.mirrorPath(for: "https://git.example.com/acme/apps.git"))
    #expect(a != cache.mirrorPath(for: "https://git.example.com/acme/apps2.git"))
    #expect(cache.mirrorPath(for: "/srv/repo") == cache.mirrorPath(for: "file:///srv/repo"))
}

/// Many threads fetching the same mirror at once all succeed and see the same commit.
@Test func concurrentFetches() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let results = ResultBox()
    let cache = f.cache, path = f.source.path
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
        do {
            results.add(try cache.fetch(path).resolve("main").hex)
        } catch {
            results.add("error: \(error)")
        }
    }
    #expect(results.all == Array(repeating: f.second.hex, count: 8))
}

final class ResultBox: @unchecked Sendable {
    // `lock` guards `items`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Object ids tell which directories changed between two commits; a missing path has none.
@Test func objectIDsOfPaths() throws {
    let f = try Fixture()
    defer { f.cleanup() }
    let repo = try f.cache.fetch(f.source.path)
    #expect(try repo.objectID(of: "teams/a/api", at: f.first) == repo.objectID(of: "teams/a/api", at: f.second))
    #expect(try repo.objectID(of: "teams/a/web", at: f.first) != repo.objectID(of: "teams/a/web", at: f.second))
    #expect(try repo.objectID(of: "teams/b/worker", at: f.first) == nil)
    #expect(try repo.objectID(of: "./teams/b/worker/", at: f.second) != nil)
    #expect(try repo.objectID(of: "", at: f.first) != repo.objectID(of: "", at: f.second))
}

/// A non-bare repository written with the writer is checked out: its work tree holds the committed files.
@Test func checkoutOfNonBareRepository() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    let writer = try GitRepositoryWriter(creatingAt: root.appendingPathComponent("work"), bare: false)
    try writer.commit(files: ["apps/web/config.yaml": Data("a: 1\n".utf8)], message: "seed")
    try writer.checkoutHead()
    let text = try String(contentsOf: root.appendingPathComponent("work/apps/web/config.yaml"), encoding: .utf8)
    #expect(text == "a: 1\n")
    #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("work/.git/index").path))
}
