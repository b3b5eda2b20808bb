import CGit2
import FleetModel
import Foundation

/// Bare mirrors of remote repositories under one directory (normally `<data-dir>/git`).
///
/// ```swift
/// let cache = GitMirrorCache(root: dataDir.appendingPathComponent("git"))
/// let repo = try cache.fetch("https://github.com/acme/apps.git", credentials: .token(t))
/// let head = try repo.resolve("main")
/// let tree = try repo.tree(at: head)
/// ```
///
/// A repository URL may be a local path, a `file://` URL or an `https://` URL. Credentials are passed to
/// libgit2 for each fetch and never written to the mirror's config. Fetches of one mirror are serialised
/// across threads and processes with a lock file.
public struct GitMirrorCache: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The mirror directory for a URL: a readable name plus a hash of the normalised URL.
    public func mirrorPath(for url: String) -> URL {
        let normalized = Self.normalize(url)
        let readable = normalized
            .replacingOccurrences(of: "://", with: "-")
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" }
        let tail = String(String(readable).suffix(48)).trimmingCharacters(in: CharacterSet(charactersIn: "-."))
        return root.appendingPathComponent("\(tail)-\(Self.fnv1a(normalized)).git")
    }

    /// Opens the mirror of `url`, cloning it first if it does not exist yet. Does not fetch an existing mirror.
    public func open(_ url: String, credentials: GitCredentials? = nil) throws -> GitRepository {
        let path = mirrorPath(for: url)
        if FileManager.default.fileExists(atPath: path.appendingPathComponent("HEAD").path) {
            return try GitRepository(path: path.path, displayName: GitURL.redacted(url))
        }
        return try fetch(url, credentials: credentials)
    }

    /// Clones `url` into its mirror, or fetches it if the mirror exists (pruning deleted refs), and opens it.
    public func fetch(_ url: String, credentials: GitCredentials? = nil) throws -> GitRepository {
        _ = libgit2Ready
        let (cleanURL, embedded) = GitURL.splitCredentials(url)
        let creds = credentials ?? embedded
        let remoteURL = Self.remoteURL(cleanURL)
        let display = GitURL.redacted(url)
        let path = mirrorPath(for: cleanURL)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

        let lock = try FileLock(path: path.path + ".lock")
        defer { lock.unlock() }

        let exists = FileManager.default.fileExists(atPath: path.appendingPathComponent("HEAD").path)
        if exists {
            let repo = try GitRepository(path: path.path, displayName: display)
            try Self.checkRemote(repo, expected: remoteURL, display: display)
            try Self.fetchOrigin(repo, credentials: creds, display: display)
            return repo
        }
        // Clone into a temporary directory and move it into place only when complete, so a failed or
        // interrupted clone never leaves a half mirror behind.
        let temp = root.appendingPathComponent(".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temp) }
        var raw: OpaquePointer?
        try check(git_repository_init(&raw, temp.path, 1), .other, "cannot create mirror for \(display)")
        git_repository_free(raw)
        do {
            let repo = try GitRepository(path: temp.path, displayName: display)
            var remote: OpaquePointer?
            try check(git_remote_create_with_fetchspec(&remote, repo.handle, "origin", remoteURL, "+refs/*:refs/*"),
                      .invalid, "repository \(display): invalid URL")
            git_remote_free(remote)
            var config: OpaquePointer?
            if git_repository_config(&config, repo.handle) == 0 {
                git_config_set_bool(config, "remote.origin.mirror", 1)
                git_config_free(config)
            }
            try Self.fetchOrigin(repo, credentials: creds, display: display)
        }
        try FileManager.default.moveItem(at: temp, to: path)
        return try GitRepository(path: path.path, displayName: display)
    }

    // MARK: - Internals

    public static func normalize(_ url: String) -> String {
        let clean = GitURL.splitCredentials(url).url
        if clean.contains("://") { return clean.hasSuffix("/") ? String(clean.dropLast()) : clean }
        return "file://" + URL(fileURLWithPath: clean).standardizedFileURL.path
    }

    /// libgit2 takes local repositories as plain paths.
    static func remoteURL(_ url: String) -> String {
        if url.hasPrefix("file://") { return String(url.dropFirst("file://".count)) }
        if url.contains("://") { return url }
        return URL(fileURLWithPath: url).standardizedFileURL.path
    }

    static func fnv1a(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }

    private static func checkRemote(_ repo: GitRepository, expected: String, display: String) throws {
        var remote: OpaquePointer?
        try check(git_remote_lookup(&remote, repo.handle, "origin"), .other, "mirror of \(display) has no origin remote")
        defer { git_remote_free(remote) }
        let actual = git_remote_url(remote).map { String(cString: $0) } ?? ""
        if actual != expected {
            throw GitError(.invalid, "mirror at \(repo.path) belongs to another repository, not \(display)")
        }
    }

    private final class CredentialState {
        let credentials: GitCredentials?
        var attempts = 0
        init(_ credentials: GitCredentials?) { self.credentials = credentials }
    }

    private static func fetchOrigin(_ repo: GitRepository, credentials: GitCredentials?, display: String) throws {
        var remote: OpaquePointer?
        try check(git_remote_lookup(&remote, repo.handle, "origin"), .other, "mirror of \(display) has no origin remote")
        defer { git_remote_free(remote) }

        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        options.prune = GIT_FETCH_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL
        let state = CredentialState(credentials)
        let unmanaged = Unmanaged.passRetained(state)
        defer { unmanaged.release() }
        options.callbacks.payload = unmanaged.toOpaque()
        options.callbacks.credentials = { out, _, _, allowed, payload in
            guard let payload else { return GIT_PASSTHROUGH.rawValue }
            let state = Unmanaged<CredentialState>.fromOpaque(payload).takeUnretainedValue()
            // Give the credentials once; a second request means they were refused. Stop instead of looping.
            guard let creds = state.credentials, state.attempts == 0,
                  allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 else {
                return GIT_EAUTH.rawValue
            }
            state.attempts += 1
            return git_credential_userpass_plaintext_new(out, creds.username, creds.password)
        }
        let result = git_remote_fetch(remote, nil, &options, "flotilla fetch")
        if result < 0 {
            let detail = GitError.lastMessage()
            var reason = result == GIT_EAUTH.rawValue || state.attempts > 0 && detail.contains("auth")
                ? "authentication failed (check the repository credentials)" : detail
            // libgit2 says "unsupported URL protocol" when the host's name does not resolve: say what happened.
            if detail.contains("unsupported URL protocol"), let host = RepositoryURL(display)?.bareHost, !host.isEmpty, !Self.resolves(host) {
                reason = "could not reach \(host): the name does not resolve (no network, or no DNS for it)"
            }
            throw GitError(.unreachable, "repository \(display) is unreachable: \(reason)")
        }
        Self.updateHead(repo, remote: remote)
    }

    /// Whether `host` resolves to an address.
    static func resolves(_ host: String) -> Bool {
        var result: UnsafeMutablePointer<addrinfo>?
        defer { if let result { freeaddrinfo(result) } }
        return getaddrinfo(host, nil, nil, &result) == 0
    }

    /// Points the mirror's HEAD at the remote's default branch, as `git clone --mirror` does.
    private static func updateHead(_ repo: GitRepository, remote: OpaquePointer?) {
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        if git_remote_default_branch(&buf, remote) == 0, let ptr = buf.ptr {
            let ref = String(cString: ptr)
            var object: OpaquePointer?
            if git_revparse_single(&object, repo.handle, ref) == 0 {
                git_object_free(object)
                git_repository_set_head(repo.handle, ref)
                return
            }
        }
        // Fallback: keep a HEAD that resolves; otherwise prefer main, then master.
        var head: OpaquePointer?
        if git_repository_head(&head, repo.handle) == 0 {
            git_reference_free(head)
            return
        }
        for candidate in ["refs/heads/main", "refs/heads/master"] {
            var object: OpaquePointer?
            if git_revparse_single(&object, repo.handle, candidate) == 0 {
                git_object_free(object)
                git_repository_set_head(repo.handle, candidate)
                return
            }
        }
    }
}

/// An exclusive `flock` on a file, held until `unlock()`: serialises fetches of one mirror across processes.
final class FileLock {
    private let fd: Int32

    init(path: String) throws {
        fd = Foundation.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw GitError(.other, "cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                close(fd)
                throw GitError(.other, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func unlock() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
