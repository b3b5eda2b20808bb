import Foundation

/// The port through which generators and the sync engine read git. Implemented over the libgit2 mirror
/// cache (`FleetGit.MirrorGitSource`) and, in tests, over in-memory repositories.
public protocol GitSource: Sendable {
    /// Resolves a branch, tag, commit or `HEAD` (empty = `HEAD`) of `repoURL` to a 40-hex commit id.
    /// Errors name the repository and the revision.
    func resolve(repoURL: String, revision: String) throws -> String

    /// Every directory and file of a commit, see ``RepoTree``.
    func tree(repoURL: String, commit: String) throws -> RepoTree

    /// A file's content at a commit.
    func readFile(repoURL: String, commit: String, path: String) throws -> Data

    /// Who made a commit and why (its subject line), when the source can say; nil otherwise.
    func commitInfo(repoURL: String, commit: String) throws -> CommitInfo?
}

extension GitSource {
    public func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? { nil }
}

/// A commit's author and subject, as a sync's history shows them.
public struct CommitInfo: Sendable, Equatable, Codable {
    /// The first line of the commit message.
    public var subject: String
    /// `Name <email>`.
    public var author: String
    public init(subject: String, author: String) {
        self.subject = subject
        self.author = author
    }
}

/// A commit's tree as generators need it.
public struct RepoTree: Sendable, Hashable {
    /// Directories, `/`-separated, relative, in depth-first pre-order with each directory's entries in byte
    /// order: the order of Go's `filepath.WalkDir`, which Argo CD's directory generator follows.
    public let directories: [String]
    /// Regular files (not symlinks or submodules), sorted by full path in byte order.
    public let files: [String]
    /// Symbolic links, sorted: never followed; a source that holds one is refused, naming it.
    public let symlinks: [String]

    public init(directories: [String], files: [String], symlinks: [String] = []) {
        self.directories = directories.sorted(by: RepoTree.walkOrder)
        self.files = files.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.symlinks = symlinks.sorted()
    }

    /// Whether `path` is a regular file of the tree (binary search: `files` is in byte order).
    public func containsFile(_ path: String) -> Bool {
        var low = 0, high = files.count
        while low < high {
            let mid = (low + high) / 2
            if files[mid].utf8.lexicographicallyPrecedes(path.utf8) { low = mid + 1 } else { high = mid }
        }
        return low < files.count && files[low] == path
    }

    /// Pre-order with lexically sorted siblings: compare segment by segment, a parent before its children.
    public static func walkOrder(_ a: String, _ b: String) -> Bool {
        var ai = a.utf8.makeIterator(), bi = b.utf8.makeIterator()
        while true {
            let x = ai.next(), y = bi.next()
            switch (x, y) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?):
                if x == y { continue }
                // A segment boundary sorts before any other byte: "a/b" < "a-c" is false in byte order,
                // but "a" (then "/b") comes before "a-c" in a walk.
                if x == UInt8(ascii: "/") { return true }
                if y == UInt8(ascii: "/") { return false }
                return x < y
            }
        }
    }
}
