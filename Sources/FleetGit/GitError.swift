import FleetModel
import Foundation
import CGit2

/// A git operation failed. The message names the repository (with any credentials removed from its URL)
/// and the revision or path involved.
public struct GitError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case unreachable
        case unknownRevision
        case notFound
        case notAFile
        case invalid
        case other
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// libgit2's last error text, or a fallback.
    static func lastMessage(_ fallback: String = "unknown libgit2 error") -> String {
        guard let e = git_error_last(), let msg = e.pointee.message else { return fallback }
        return String(cString: msg)
    }
}

/// URL helpers: credentials never leave through messages or the mirror's config.
public enum GitURL {
    /// The URL with any `user:password@` removed.
    public static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<hostEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }

    /// The form in which two spellings of one repository compare equal, as Argo CD compares them
    /// (`NormalizeGitURL`): blanks and credentials dropped, lower case, a trailing `/` and `.git` dropped,
    /// `git@host:org/repo` read as `ssh://git@host/org/repo`; a local path as its standardized `file://` URL.
    /// For matching configuration to repoURLs only: never a place to fetch from.
    public static func matchKey(_ url: String) -> String { RepositoryURL.matchKey(url) }

    /// Splits credentials out of a URL, e.g. `https://user:token@host/repo.git`.
    public static func splitCredentials(_ url: String) -> (url: String, credentials: GitCredentials?) {
        guard let schemeEnd = url.range(of: "://") else { return (url, nil) }
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<hostEnd].lastIndex(of: "@") else { return (url, nil) }
        let userinfo = rest[..<at]
        let parts = userinfo.split(separator: ":", maxSplits: 1)
        let user = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        let pass = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        return (redacted(url), GitCredentials(username: user, password: pass))
    }
}

/// Credentials for an https remote. A token is sent as the password of basic authentication,
/// which GitHub, GitLab and Bitbucket all accept.
public struct GitCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public static func token(_ token: String) -> GitCredentials {
        GitCredentials(username: "x-access-token", password: token)
    }

    public var description: String { "GitCredentials(username: \(username), password: redacted)" }
}
