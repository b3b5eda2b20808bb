import CGit2
import FleetModel
import Foundation

/// A commit id: 40 hexadecimal characters.
public struct CommitID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hex: String

    public init?(_ hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        self.hex = hex
    }

    init(oid: git_oid) { self.hex = oid.hex }

    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }
    public static func < (a: CommitID, b: CommitID) -> Bool { a.hex < b.hex }
}

/// One entry of a commit's tree.
public struct GitTreeEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case directory
        case file
        case executable
        case symlink
        case submodule
    }

    /// Path from the repository root, `/`-separated, no leading `/`.
    public let path: String
    public let kind: Kind
}

/// Every entry of a commit's tree, in git's pre-order.
public struct GitTree: Sendable, Hashable {
    public let commit: CommitID
    public let entries: [GitTreeEntry]

    public var directories: [String] { entries.lazy.filter { $0.kind == .directory }.map(\.path) }
    public var files: [String] { entries.lazy.filter { $0.kind != .directory && $0.kind != .submodule }.map(\.path) }
}

/// An open git repository, read through libgit2. Not shared between threads: open one per thread
/// (opening is cheap), which is libgit2's own rule for `git_repository`.
public final class GitRepository {
    public let path: String
    /// The name used in messages: the remote URL (without credentials) for a mirror, else the path.
    public let displayName: String
    let handle: OpaquePointer

    public init(path: String, displayName: String? = nil) throws {
        _ = libgit2Ready
        var repo: OpaquePointer?
        self.displayName = displayName ?? path
        try check(git_repository_open_ext(&repo, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil), .notFound,
                  "cannot open git repository \(self.displayName)")
        self.handle = repo!
        self.path = path
    }

    deinit { git_repository_free(handle) }

    /// Resolves a branch, tag, commit SHA (full or abbreviated), `HEAD` or any git revision expression to a commit.
    /// An empty revision means `HEAD`.
    public func resolve(_ revision: String) throws -> CommitID {
        let rev = revision.isEmpty ? "HEAD" : revision
        var object: OpaquePointer?
        var result = git_revparse_single(&object, handle, rev)
        if result < 0, !rev.contains("/") {
            // In a mirror, branches and tags live under refs/heads and refs/tags.
            for candidate in ["refs/heads/\(rev)", "refs/tags/\(rev)"] where result < 0 {
                result = git_revparse_single(&object, handle, candidate)
            }
        }
        guard result >= 0, let object else {
            throw GitError(.unknownRevision, "repository \(displayName): revision '\(rev)' not found")
        }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        guard git_object_peel(&commit, object, GIT_OBJECT_COMMIT) >= 0, let commit else {
            throw GitError(.unknownRevision, "repository \(displayName): revision '\(rev)' does not name a commit")
        }
        defer { git_object_free(commit) }
        return CommitID(oid: git_object_id(commit).pointee)
    }

    /// The commit's author (`Name <email>`) and the first line of its message.
    public func commitInfo(_ id: CommitID) throws -> CommitInfo {
        guard var oid = git_oid(hex: id.hex) else { throw GitError(.invalid, "'\(id.hex)' is not a commit id") }
        var found: OpaquePointer?
        try check(git_commit_lookup(&found, handle, &oid), .unknownRevision, "repository \(displayName): commit \(id.short) not found")
        guard let commit = found else { throw GitError(.unknownRevision, "repository \(displayName): commit \(id.short) not found") }
        defer { git_commit_free(commit) }
        let subject = git_commit_summary(commit).map { String(cString: $0) } ?? ""
        var author = ""
        if let signature = git_commit_author(commit)?.pointee {
            let name = signature.name.map { String(cString: $0) } ?? ""
            let email = signature.email.map { String(cString: $0) } ?? ""
            author = email.isEmpty ? name : "\(name) <\(email)>"
        }
        return CommitInfo(subject: subject, author: author)
    }

    /// All directories and files of the commit's tree, recursively, in pre-order.
    public func tree(at commit: CommitID) throws -> GitTree {
        let tree = try lookupTree(commit)
        defer { git_tree_free(tree) }
        final class Collector {
            var entries: [GitTreeEntry] = []
        }
        let collector = Collector()
        let payload = Unmanaged.passUnretained(collector).toOpaque()
        let result = git_tree_walk(tree, GIT_TREEWALK_PRE, { root, entry, payload in
            guard let entry, let payload, let namePtr = git_tree_entry_name(entry) else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(payload).takeUnretainedValue()
            let name = String(cString: namePtr)
            let prefix = root.map { String(cString: $0) } ?? ""
            let kind: GitTreeEntry.Kind
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE: kind = .directory
            case GIT_FILEMODE_BLOB_EXECUTABLE: kind = .executable
            case GIT_FILEMODE_LINK: kind = .symlink
            case GIT_FILEMODE_COMMIT: kind = .submodule
            default: kind = .file
            }
            collector.entries.append(GitTreeEntry(path: prefix + name, kind: kind))
            return 0
        }, payload)
        try check(result, .other, "repository \(displayName): cannot list the tree of \(commit.short)")
        return GitTree(commit: commit, entries: collector.entries)
    }

    /// The object id of the tree or blob at `path` in a commit (the root tree for an empty path), or nil when
    /// the path does not exist. Equal ids mean equal content: a cheap test of whether a directory changed.
    public func objectID(of path: String, at commit: CommitID) throws -> String? {
        let tree = try lookupTree(commit)
        defer { git_tree_free(tree) }
        let clean = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
        if clean.isEmpty { return CommitID(oid: git_tree_id(tree).pointee).hex }
        var entry: OpaquePointer?
        guard git_tree_entry_bypath(&entry, tree, clean) >= 0, let entry else { return nil }
        defer { git_tree_entry_free(entry) }
        return CommitID(oid: git_tree_entry_id(entry).pointee).hex
    }

    /// The content of a file at a commit.
    public func readFile(_ path: String, at commit: CommitID) throws -> Data {
        let tree = try lookupTree(commit)
        defer { git_tree_free(tree) }
        let clean = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
        var entry: OpaquePointer?
        guard git_tree_entry_bypath(&entry, tree, clean) >= 0, let entry else {
            throw GitError(.notFound, "repository \(displayName) at \(commit.short): file '\(path)' not found")
        }
        defer { git_tree_entry_free(entry) }
        guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB else {
            throw GitError(.notAFile, "repository \(displayName) at \(commit.short): '\(path)' is a directory, not a file")
        }
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, git_tree_entry_id(entry)), .other,
                  "repository \(displayName) at \(commit.short): cannot read '\(path)'")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let raw = git_blob_rawcontent(blob) else { return Data() }
        return Data(bytes: raw, count: size)
    }

    private func lookupTree(_ commit: CommitID) throws -> OpaquePointer {
        guard var oid = git_oid(hex: commit.hex) else {
            throw GitError(.invalid, "'\(commit.hex)' is not a commit id")
        }
        var c: OpaquePointer?
        try check(git_commit_lookup(&c, handle, &oid), .unknownRevision,
                  "repository \(displayName): commit \(commit.short) not found")
        defer { git_commit_free(c) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, c), .other, "repository \(displayName): cannot read the tree of \(commit.short)")
        return tree!
    }
}
