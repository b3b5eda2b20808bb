import Foundation

/// A repository or fetch URL, parsed, so that URLs are compared by what they reach rather than by their
/// text: `https://charts.example.com` must not match `https://charts.example.com.evil.net`, nor
/// `http://charts.example.com@evil:8080` (user information: the host is `evil`).
///
/// ```swift
/// let base = RepositoryURL("https://charts.example.com/stable")!
/// RepositoryURL("https://charts.example.com/stable/app-1.0.tgz")!.isWithin(base)   // true
/// RepositoryURL("https://charts.example.com/stable-evil/x")!.isWithin(base)        // false
/// ```
public struct RepositoryURL: Sendable, Equatable, CustomStringConvertible {
    /// Lowercased: `https`, `http`, `oci`, `ssh`, `file`.
    public let scheme: String
    /// The URL names a user (and maybe a password) before its host.
    public let hasUserInfo: Bool
    /// Lowercased; IPv6 addresses keep their brackets.
    public let host: String
    /// The explicit port, else the scheme's default (443 for https and oci, 80 for http, 22 for ssh).
    public let port: Int?
    /// Path segments, without empty ones; query and fragment dropped.
    public let path: [String]

    /// Nil for text that is not `scheme://host[:port][/path]`, or whose path holds `.` or `..` segments
    /// (which an HTTP client would resolve to somewhere else).
    public init?(_ text: String) {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) else { return nil }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var hasUserInfo = false
        if let at = authority.lastIndex(of: "@") {
            hasUserInfo = true
            authority = authority[authority.index(after: at)...]
        }
        var host = Substring(authority)
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (0...65535).contains(p) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            let digits = authority[authority.index(after: colon)...]
            if !digits.isEmpty {
                guard let p = Int(digits), (0...65535).contains(p) else { return nil }
                port = p
            }
        }
        guard !host.isEmpty || scheme == "file" else { return nil }
        if !host.hasPrefix("[") && !host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) {
            return nil
        }
        var pathText = rest[authorityEnd...]
        if let cut = pathText.firstIndex(where: { $0 == "?" || $0 == "#" }) { pathText = pathText[..<cut] }
        let segments = pathText.split(separator: "/").map(String.init)
        for segment in segments {
            let decoded = segment.replacingOccurrences(of: "%2e", with: ".").replacingOccurrences(of: "%2E", with: ".")
            if decoded == "." || decoded == ".." { return nil }
        }
        self.scheme = scheme
        self.hasUserInfo = hasUserInfo
        self.host = host.lowercased()
        self.port = port ?? Self.defaultPort(scheme)
        self.path = segments
    }

    static func defaultPort(_ scheme: String) -> Int? {
        switch scheme {
        case "https", "oci": return 443
        case "http": return 80
        case "ssh": return 22
        default: return nil
        }
    }

    /// Same scheme, host and port, and `base`'s path is a whole-segment prefix of this one's.
    public func isWithin(_ base: RepositoryURL) -> Bool {
        scheme == base.scheme && host == base.host && port == base.port && path.count >= base.path.count
            && zip(path, base.path).allSatisfy { $0 == $1 }
    }

    /// `host` without IPv6 brackets, for comparing with a host allowlist.
    public var bareHost: String { host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host }

    public var description: String {
        "\(scheme)://\(host)" + (port.map { $0 == Self.defaultPort(scheme) ? "" : ":\($0)" } ?? "") + (path.isEmpty ? "" : "/" + path.joined(separator: "/"))
    }

    /// The form in which two spellings of one repository compare equal, as Argo CD compares them
    /// (`NormalizeGitURL`): blanks and credentials dropped, lower case, a trailing `/` and `.git` dropped,
    /// `git@host:org/repo` read as `ssh://git@host/org/repo`; a local path as its standardized `file://` URL.
    /// For matching configuration to repoURLs only: never a place to fetch from.
    public static func matchKey(_ url: String) -> String {
        var u = url.trimmingCharacters(in: .whitespaces)
        if !u.contains("://") {
            if let colon = u.firstIndex(of: ":"), u[..<colon].contains("@"), !u[..<colon].contains("/") {
                u = "ssh://" + u[..<colon] + "/" + u[u.index(after: colon)...]   // scp-like git@host:org/repo
            } else {
                return "file://" + URL(fileURLWithPath: u).standardizedFileURL.path
            }
        }
        // Credentials (`user:password@`) dropped.
        if let schemeEnd = u.range(of: "://") {
            let rest = u[schemeEnd.upperBound...]
            let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<hostEnd].lastIndex(of: "@") { u = String(u[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...]) }
        }
        u = u.lowercased()
        while u.hasSuffix("/") { u.removeLast() }
        if u.hasSuffix(".git") { u.removeLast(4) }
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }
}
