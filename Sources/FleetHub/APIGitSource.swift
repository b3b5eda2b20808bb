import FleetGit
import FleetModel
import Foundation

/// Git as ApplicationSets sent through the API see it: a repository named by a path on the hub's filesystem
/// (or `file://`) is refused unless the hub's configuration lists it under `repositories`. Otherwise any account
/// that may write or preview an ApplicationSet could read any git repository the hub's user can read.
struct APIGitSource: GitSource {
    let inner: any GitSource
    /// Normalized URLs of the configured repositories.
    let configured: Set<String>
    /// Called before a revision is resolved (the hub fetches repositories it does not watch).
    var beforeResolve: (@Sendable (String) -> Void)? = nil

    /// True for `/path`, `./path`, `~/path`, `file://…` and bare names; false for `https://…`, `ssh://…` and
    /// scp-like `git@host:org/repo.git`.
    static func isLocal(_ url: String) -> Bool {
        if url.lowercased().hasPrefix("file:") { return true }
        if url.contains("://") { return false }
        if url.hasPrefix("/") || url.hasPrefix(".") || url.hasPrefix("~") { return true }
        // scp-like syntax: user@host:path, or host:path where the host part has no slash.
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return false }
        return true
    }

    func problem(_ url: String) -> String? {
        guard Self.isLocal(url), !configured.contains(GitURL.matchKey(url)) else { return nil }
        return "repoURL '\(url)' is a path on the hub: ApplicationSets sent through the API may name only remote repositories or those listed under repositories in the hub configuration"
    }

    private func check(_ url: String) throws {
        if let problem = problem(url) { throw HubError(.invalid, problem) }
    }

    func resolve(repoURL: String, revision: String) throws -> String {
        try check(repoURL)
        beforeResolve?(repoURL)
        return try inner.resolve(repoURL: repoURL, revision: revision)
    }

    func tree(repoURL: String, commit: String) throws -> RepoTree {
        try check(repoURL)
        return try inner.tree(repoURL: repoURL, commit: commit)
    }

    func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        try check(repoURL)
        return try inner.readFile(repoURL: repoURL, commit: commit, path: path)
    }

    func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? {
        try check(repoURL)
        return try inner.commitInfo(repoURL: repoURL, commit: commit)
    }
}
