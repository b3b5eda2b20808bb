import CGit2
import Foundation

/// Writes commits into a repository through libgit2, without a work tree or the `git` command.
/// Used to build example and test repositories, and the synthetic repositories of benchmarks.
///
/// ```swift
/// let w = try GitRepositoryWriter(creatingAt: dir)
/// let c1 = try w.commit(files: ["apps/web/deploy.yaml": Data(yaml.utf8)], message: "add web")
/// try w.tag("v1", at: c1)
/// ```
public final class GitRepositoryWriter {
    public let repository: GitRepository
    public let branch: String

    /// Creates a new repository at `path` whose HEAD is `branch`. `bare` repositories have no work tree.
    public init(creatingAt path: URL, branch: String = "main", bare: Bool = true) throws {
        _ = libgit2Ready
        var raw: OpaquePointer?
        try check(git_repository_init(&raw, path.path, bare ? 1 : 0), .other, "cannot create repository at \(path.path)")
        try check(git_repository_set_head(raw, "refs/heads/\(branch)"), .other, "cannot set HEAD of \(path.path)")
        git_repository_free(raw)
        repository = try GitRepository(path: path.path)
        self.branch = branch
    }

    /// Commits exactly `files` (path → content; the previous tree is replaced) on `branch` (default: the
    /// writer's branch), with the branch's current commit as parent.
    @discardableResult
    public func commit(files: [String: Data], message: String, branch: String? = nil,
                       date: Date = Date(timeIntervalSince1970: 1_700_000_000)) throws -> CommitID {
        let ref = "refs/heads/\(branch ?? self.branch)"
        let root = Directory()
        for (path, data) in files {
            let parts = path.split(separator: "/").map(String.init)
            guard !parts.isEmpty else { continue }
            var dir = root
            for part in parts.dropLast() {
                if let sub = dir.dirs[part] { dir = sub } else {
                    let sub = Directory()
                    dir.dirs[part] = sub
                    dir = sub
                }
            }
            dir.files[parts.last!] = data
        }
        var treeOID = try write(root)
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, repository.handle, &treeOID), .other, "cannot read back the new tree")
        defer { git_tree_free(tree) }

        var signature: UnsafeMutablePointer<git_signature>?
        try check(git_signature_new(&signature, "Flotilla", "flotilla@example.invalid", git_time_t(date.timeIntervalSince1970), 0),
                  .other, "cannot create signature")
        defer { git_signature_free(signature) }

        var parent: OpaquePointer?
        var parentOID = git_oid()
        if git_reference_name_to_id(&parentOID, repository.handle, ref) == 0 {
            try check(git_commit_lookup(&parent, repository.handle, &parentOID), .other, "cannot read parent commit")
        }
        defer { if let parent { git_commit_free(parent) } }
        var oid = git_oid()
        var parents: [OpaquePointer?] = parent.map { [$0] } ?? []
        let result = parents.withUnsafeMutableBufferPointer { buffer in
            git_commit_create(&oid, repository.handle, ref, signature, signature, nil, message, tree,
                              buffer.count, buffer.baseAddress)
        }
        try check(result, .other, "cannot create commit on \(ref)")
        return CommitID(oid: oid)
    }

    /// Makes the work tree and index of a non-bare repository match HEAD (after `commit`, which writes only
    /// objects and refs), so that `git status` is clean and users can edit and commit with `git`.
    public func checkoutHead() throws {
        var options = git_checkout_options()
        try check(git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), .other, "cannot initialise checkout options")
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue
        try check(git_checkout_head(repository.handle, &options), .other, "cannot check out HEAD in \(repository.path)")
    }

    /// Creates or moves a lightweight tag.
    public func tag(_ name: String, at commit: CommitID) throws {
        guard var oid = git_oid(hex: commit.hex) else { throw GitError(.invalid, "bad commit id") }
        var object: OpaquePointer?
        try check(git_object_lookup(&object, repository.handle, &oid, GIT_OBJECT_COMMIT), .other, "commit \(commit.short) not found")
        defer { git_object_free(object) }
        var tagOID = git_oid()
        try check(git_tag_create_lightweight(&tagOID, repository.handle, name, object, 1), .other, "cannot create tag \(name)")
    }

    /// Deletes a branch.
    public func deleteBranch(_ name: String) throws {
        var ref: OpaquePointer?
        try check(git_reference_lookup(&ref, repository.handle, "refs/heads/\(name)"), .notFound, "branch \(name) not found")
        defer { git_reference_free(ref) }
        try check(git_reference_delete(ref), .other, "cannot delete branch \(name)")
    }

    private final class Directory {
        var dirs: [String: Directory] = [:]
        var files: [String: Data] = [:]
    }

    private func write(_ dir: Directory) throws -> git_oid {
        var builder: OpaquePointer?
        try check(git_treebuilder_new(&builder, repository.handle, nil), .other, "cannot build tree")
        defer { git_treebuilder_free(builder) }
        for (name, data) in dir.files {
            var blob = git_oid()
            let r = data.withUnsafeBytes { git_blob_create_from_buffer(&blob, repository.handle, $0.baseAddress, $0.count) }
            try check(r, .other, "cannot write blob \(name)")
            try check(git_treebuilder_insert(nil, builder, name, &blob, GIT_FILEMODE_BLOB), .other, "cannot add \(name)")
        }
        for (name, sub) in dir.dirs {
            var subOID = try write(sub)
            try check(git_treebuilder_insert(nil, builder, name, &subOID, GIT_FILEMODE_TREE), .other, "cannot add \(name)/")
        }
        var oid = git_oid()
        try check(git_treebuilder_write(&oid, builder), .other, "cannot write tree")
        return oid
    }
}
