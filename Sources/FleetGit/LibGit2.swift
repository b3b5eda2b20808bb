import CGit2

/// libgit2 is initialised once per process, before first use.
let libgit2Ready: Bool = {
    git_libgit2_init()
    return true
}()

/// Calls a libgit2 function and turns a negative result into a `GitError`.
@inline(__always)
func check(_ result: Int32, _ code: GitError.Code = .other, _ what: @autoclosure () -> String) throws {
    if result < 0 {
        throw GitError(code, "\(what()): \(GitError.lastMessage())")
    }
}

extension git_oid {
    /// The 40-character hexadecimal form.
    var hex: String {
        var oid = self
        var buffer = [CChar](repeating: 0, count: 40)
        git_oid_fmt(&buffer, &oid)
        return String(decoding: buffer.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init?(hex: String) {
        var oid = git_oid()
        guard hex.utf8.count == 40, git_oid_fromstr(&oid, hex) == 0 else { return nil }
        self = oid
    }
}
