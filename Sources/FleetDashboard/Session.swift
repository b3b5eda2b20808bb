import Crypto
import FleetModel
import Foundation

/// The dashboard's browser session: a session token the hub mints when a person logs in with an API token
/// (derived from it, expiring with the session or sooner with its parent, revoked by logout — never the token
/// typed), kept in an HttpOnly, SameSite=Strict cookie (Secure when served over HTTPS), and the CSRF token every
/// form carries.
///
/// The CSRF token is an HMAC of a fixed label keyed by the session's token: a page from another origin can neither
/// read the cookie nor compute the token, and every replica of the hub computes the same one without shared state.
/// Requests authenticated by an `Authorization: Bearer` header (tools, tests) need no CSRF token: a browser never
/// adds that header on its own.
public enum Session {
    public static let cookie = "flotilla_session"
    /// The login form's own double-submit cookie (there is no session yet to derive a token from).
    public static let loginCookie = "flotilla_login"
    /// The name of the CSRF field of every form.
    public static let csrfField = "csrf"
    /// How long a login lasts in the browser (the token's own expiry still applies).
    public static let maxAge = 12 * 3600

    /// The cookies of a `Cookie` header, by name (the first of a repeated name wins).
    public static func cookies(_ header: String?) -> [String: String] {
        var out: [String: String] = [:]
        for part in (header ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            if out[name] == nil { out[name] = pair[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// `Set-Cookie` for a session holding `token`.
    public static func setCookie(_ token: String, secure: Bool) -> String {
        "\(cookie)=\(token); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that ends the session.
    public static func clearCookie(secure: Bool) -> String {
        "\(cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` for the login form's nonce.
    public static func loginNonceCookie(_ nonce: String, secure: Bool) -> String {
        "\(loginCookie)=\(nonce); Path=/ui/login; Max-Age=3600; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// A fresh random nonce (hex).
    public static func nonce() -> String {
        Bytes.randomHex(16)
    }

    /// The CSRF token of a session.
    public static func csrfToken(session token: String) -> String {
        Bytes.hex(HMAC<SHA256>.authenticationCode(for: Array("flotilla dashboard csrf v1".utf8), using: SymmetricKey(data: Array(token.utf8))))
    }

    /// Whether a form's CSRF field is the session's token, compared in constant time.
    public static func verify(csrf given: String?, session token: String) -> Bool {
        guard let given else { return false }
        return Bytes.constantTimeEqual(Array(given.utf8), Array(csrfToken(session: token).utf8))
    }

    /// Whether the login form's field equals its cookie (both present), in constant time.
    public static func verify(loginNonce given: String?, cookie: String?) -> Bool {
        guard let given, let cookie, !given.isEmpty else { return false }
        return Bytes.constantTimeEqual(Array(given.utf8), Array(cookie.utf8))
    }

    /// The headers every page is served with: a Content-Security-Policy that allows scripts, styles and live
    /// updates only from the hub itself (no inline script, no framing), and no caching of pages with fleet data.
    public static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]
}
