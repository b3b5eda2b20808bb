import FleetModel
import Foundation

/// Serves a plain directory (a working tree, possibly with uncommitted changes) as if it were a repository:
/// every revision resolves to the directory as it is now. `.git` is skipped. Used to preview generators
/// against a local checkout before pushing.
public struct WorkingTreeGitSource: GitSource {
    public let root: URL
    /// The commit id reported for the working tree.
    public static let commit = String(repeating: "0", count: 40)

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public func resolve(repoURL: String, revision: String) throws -> String { Self.commit }

    public func tree(repoURL: String, commit: String) throws -> RepoTree {
        var dirs: [String] = [], files: [String] = [], links: [String] = []
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey]) else {
            throw GitError(.notFound, "cannot read directory \(root.path)")
        }
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(base) else { continue }
            let rel = String(full.dropFirst(base.count))
            if rel == ".git" || rel.hasPrefix(".git/") {
                walker.skipDescendants()
                continue
            }
            if values?.isSymbolicLink == true {
                links.append(rel)
                continue
            }
            if values?.isDirectory == true { dirs.append(rel) } else { files.append(rel) }
        }
        return RepoTree(directories: dirs, files: files, symlinks: links)
    }

    public func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        let clean = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }
        if clean.contains("..") { throw GitError(.invalid, "path '\(path)' leaves the repository") }
        let url = root.appendingPathComponent(clean.joined(separator: "/"))
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw GitError(.notFound, "\(root.path): file '\(path)' not found")
        }
        return data
    }
}

/// Routes repository URLs to sources: exact overrides first (`--repo URL=PATH`), else the fallback.
public struct RoutingGitSource: GitSource {
    public let overrides: [String: any GitSource]
    public let fallback: any GitSource

    /// The overrides by `GitURL.matchKey`: a repoURL spelt another way (a trailing `/`, without `.git`, another
    /// case of host) reaches the same override.
    private let byKey: [String: any GitSource]

    public init(overrides: [String: any GitSource], fallback: any GitSource) {
        self.overrides = overrides
        self.fallback = fallback
        byKey = Dictionary(overrides.map { (GitURL.matchKey($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    private func source(_ url: String) -> any GitSource {
        overrides[url] ?? byKey[GitURL.matchKey(url)] ?? fallback
    }

    public func resolve(repoURL: String, revision: String) throws -> String {
        try source(repoURL).resolve(repoURL: repoURL, revision: revision)
    }

    public func tree(repoURL: String, commit: String) throws -> RepoTree {
        try source(repoURL).tree(repoURL: repoURL, commit: commit)
    }

    public func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        try source(repoURL).readFile(repoURL: repoURL, commit: commit, path: path)
    }

    public func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? {
        try source(repoURL).commitInfo(repoURL: repoURL, commit: commit)
    }
}

/// A local git repository standing in for a remote URL: reads `path`'s own refs (through the mirror cache).
public struct AliasGitSource: GitSource {
    public let path: String
    public let inner: MirrorGitSource

    public init(path: String, inner: MirrorGitSource) {
        self.path = path
        self.inner = inner
    }

    public func resolve(repoURL: String, revision: String) throws -> String { try inner.resolve(repoURL: path, revision: revision) }
    public func tree(repoURL: String, commit: String) throws -> RepoTree { try inner.tree(repoURL: path, commit: commit) }
    public func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        try inner.readFile(repoURL: self.path, commit: commit, path: path)
    }

    public func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? { try inner.commitInfo(repoURL: path, commit: commit) }
}
