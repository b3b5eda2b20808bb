import Crypto
import FleetModel

/// A git push notification, checked and reduced to what the hub needs: which repository moved, and to what.
///
/// GitHub signs the body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`); GitLab sends the secret itself
/// (`X-Gitlab-Token`). Both are compared in constant time. The repository is named by every URL form the
/// payload carries (https, ssh, web), so the hub can match its configured `repoURL` whatever form it uses.
public struct GitWebhook: Sendable, Equatable {
    public enum Provider: String, Sendable { case github, gitlab }

    public let provider: Provider
    /// URLs of the repository, normalized (lower-case host, no `.git`, no trailing `/`).
    public let repositoryURLs: [String]
    /// The ref that moved, e.g. `refs/heads/main`.
    public let ref: String?
    /// The new commit, when the payload says.
    public let after: String?

    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public let status: Int
        public let message: String
        public var description: String { message }
    }

    /// Verifies and parses a webhook request. `headers` use lower-case names. Never echoes the secret.
    public static func parse(headers: [String: String], body: [UInt8], secret: String) throws -> GitWebhook {
        let provider: Provider
        if let signature = headers["x-hub-signature-256"] {
            guard signature.hasPrefix("sha256="), let given = hexBytes(String(signature.dropFirst(7))) else {
                throw Rejection(status: 401, message: "malformed X-Hub-Signature-256 header")
            }
            let key = SymmetricKey(data: Array(secret.utf8))
            guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: key) else { throw Rejection(status: 401, message: "webhook signature does not match") }
            provider = .github
        } else if let token = headers["x-gitlab-token"] {
            guard Bytes.constantTimeEqual(Array(token.utf8), Array(secret.utf8)) else { throw Rejection(status: 401, message: "webhook token does not match") }
            provider = .gitlab
        } else {
            throw Rejection(status: 401, message: "webhook has no X-Hub-Signature-256 or X-Gitlab-Token header")
        }
        let payload: JSONValue
        do { payload = try JSONParser.parse(String(decoding: body, as: UTF8.self), maxDepth: 64) } catch {
            throw Rejection(status: 400, message: "webhook body is not JSON: \(error)")
        }
        var urls: [String] = []
        let repo = provider == .github ? payload["repository"] : (payload["project"] ?? payload["repository"])
        for key in ["clone_url", "ssh_url", "html_url", "git_http_url", "git_ssh_url", "http_url", "web_url", "url"] {
            if let u = repo?[key]?.stringValue, !u.isEmpty, !urls.contains(normalize(u)) { urls.append(normalize(u)) }
        }
        if urls.isEmpty { throw Rejection(status: 400, message: "webhook payload names no repository") }
        return GitWebhook(provider: provider, repositoryURLs: urls, ref: payload["ref"]?.stringValue, after: payload["after"]?.stringValue)
    }

    /// Whether this push concerns `repoURL` (any of its forms).
    public func concerns(_ repoURL: String) -> Bool { repositoryURLs.contains(Self.normalize(repoURL)) }

    /// `https://GitHub.com/Acme/Apps.git/` → `https://github.com/Acme/Apps`; `git@github.com:acme/apps.git` →
    /// `https://github.com/acme/apps`.
    public static func normalize(_ url: String) -> String {
        var u = url.trimmingCharacters(in: .whitespaces)
        if u.hasPrefix("git@"), let colon = u.firstIndex(of: ":") {
            u = "https://" + u[u.index(u.startIndex, offsetBy: 4)..<colon] + "/" + u[u.index(after: colon)...]
        } else if u.hasPrefix("ssh://git@") {
            u = "https://" + u.dropFirst("ssh://git@".count)
        }
        while u.hasSuffix("/") { u.removeLast() }
        if u.hasSuffix(".git") { u.removeLast(4) }
        if let scheme = u.range(of: "://") {
            let rest = u[scheme.upperBound...]
            let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var host = String(rest[..<hostEnd]).lowercased()
            if let at = host.lastIndex(of: "@") { host = String(host[host.index(after: at)...]) }
            u = "https://" + host + rest[hostEnd...]
        }
        return u
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

import Foundation
