import FleetModel
import Foundation

/// `GitSource` over the mirror cache. Each repository is fetched at most once per `refreshInterval`
/// per process; trees are cached by commit id, since a commit never changes.
public final class MirrorGitSource: GitSource, @unchecked Sendable {
    public let cache: GitMirrorCache
    private let credentials: @Sendable (String) -> GitCredentials?
    private let fetchOnResolve: Bool

    // `lock` guards `trees`, `treeOrder` and `fetched`.
    private let lock = NSLock()
    private var trees: [String: RepoTree] = [:]
    private var treeOrder: [String] = []
    private var fetched: Set<String> = []
    private let maxTrees = 64

    /// - Parameters:
    ///   - fetchOnResolve: fetch each repository once before its first resolve in this process; when false,
    ///     an existing mirror is used as it is (clone still happens if missing).
    ///   - credentials: credentials for a repository URL, if any.
    public init(cache: GitMirrorCache, fetchOnResolve: Bool = true,
                credentials: @escaping @Sendable (String) -> GitCredentials? = { _ in nil }) {
        self.cache = cache
        self.fetchOnResolve = fetchOnResolve
        self.credentials = credentials
    }

    private func repository(_ url: String) throws -> GitRepository {
        let first = lock.withLock { fetched.insert(url).inserted }
        if first && fetchOnResolve { return try cache.fetch(url, credentials: credentials(url)) }
        return try cache.open(url, credentials: credentials(url))
    }

    public func resolve(repoURL: String, revision: String) throws -> String {
        try repository(repoURL).resolve(revision).hex
    }

    public func tree(repoURL: String, commit: String) throws -> RepoTree {
        let key = GitMirrorCache.normalize(repoURL) + "@" + commit
        if let hit = lock.withLock({ trees[key] }) { return hit }
        guard let id = CommitID(commit) else { throw GitError(.invalid, "'\(commit)' is not a commit id") }
        let tree = try repository(repoURL).tree(at: id)
        var dirs: [String] = [], files: [String] = [], links: [String] = []
        for entry in tree.entries {
            switch entry.kind {
            case .directory: dirs.append(entry.path)
            case .file, .executable: files.append(entry.path)
            case .symlink: links.append(entry.path)
            case .submodule: break
            }
        }
        let result = RepoTree(directories: dirs, files: files, symlinks: links)
        lock.withLock {
            trees[key] = result
            treeOrder.append(key)
            if treeOrder.count > maxTrees { trees.removeValue(forKey: treeOrder.removeFirst()) }
        }
        return result
    }

    public func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        guard let id = CommitID(commit) else { throw GitError(.invalid, "'\(commit)' is not a commit id") }
        return try repository(repoURL).readFile(path, at: id)
    }

    public func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? {
        guard let id = CommitID(commit) else { throw GitError(.invalid, "'\(commit)' is not a commit id") }
        return try repository(repoURL).commitInfo(id)
    }
}
