import Foundation

/// How the hub authenticates to a cluster's API server and trusts its certificate.
///
/// Values of this type are secrets. Its `description`, `debugDescription` and mirror never show them, so a
/// credential cannot reach a log or an error message through string interpolation or `dump`.
public struct ClusterCredentials: Sendable, Hashable, Codable {
    /// A bearer token (service-account token, OIDC id token, ...).
    public var bearerToken: String?
    /// HTTP basic authentication, as some kubeconfigs and Argo CD cluster secrets still use.
    public var username: String?
    public var password: String?
    /// PEM CA bundle that signs the API server's certificate; nil means the system trust store.
    public var caData: Data?
    /// PEM client certificate and key for mutual TLS.
    public var certData: Data?
    public var keyData: Data?
    /// Skip verification of the server's certificate. For test clusters only.
    public var insecureSkipTLSVerify: Bool
    /// Server name to verify the certificate against, when it differs from the URL's host.
    public var tlsServerName: String?
    /// An HTTP(S) proxy to reach the API server through (Argo CD's `proxyUrl`). Kept with the credentials:
    /// a proxy URL may carry its own user and password.
    public var proxyURL: String?
    /// A credential plugin that gives a token or a client certificate when asked (kubeconfig `exec`, Argo CD
    /// `execProviderConfig`).
    public var exec: ExecCredentialConfig?

    public init(
        bearerToken: String? = nil, username: String? = nil, password: String? = nil,
        caData: Data? = nil, certData: Data? = nil, keyData: Data? = nil,
        insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil, proxyURL: String? = nil, exec: ExecCredentialConfig? = nil
    ) {
        self.exec = exec
        self.proxyURL = proxyURL
        self.bearerToken = bearerToken
        self.username = username
        self.password = password
        self.caData = caData
        self.certData = certData
        self.keyData = keyData
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
    }

    public static let none = ClusterCredentials()

    /// The kind of client authentication, safe to show.
    public var kind: AuthKind {
        if exec != nil { return .exec }
        if bearerToken != nil { return .token }
        if certData != nil && keyData != nil { return .clientCertificate }
        if username != nil { return .basic }
        return .none
    }

    public enum AuthKind: String, Sendable, Codable, CaseIterable {
        case token
        case clientCertificate = "client-cert"
        case basic
        case exec
        case none
    }

    /// Problems with this set of credentials, with field paths under `field`. Never quotes a secret.
    public func problems(field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if let token = bearerToken {
            if token.isEmpty {
                problems.append(.init(field: "\(field).token", message: "bearer token is empty"))
            } else if token.contains(where: { $0.isWhitespace || $0.isNewline }) {
                problems.append(.init(field: "\(field).token", message: "bearer token contains whitespace (check the token file for a trailing line or a pasted prefix)"))
            }
        }
        if (certData == nil) != (keyData == nil) {
            problems.append(.init(field: "\(field).\(certData == nil ? "certFile" : "keyFile")",
                                  message: "a client certificate and a client key must be given together"))
        }
        if let cert = certData, !Self.isPEM(cert, containing: "CERTIFICATE") {
            problems.append(.init(field: "\(field).cert", message: "client certificate is not PEM data (expected '-----BEGIN CERTIFICATE-----')"))
        }
        if let key = keyData, !Self.isPEM(key, containing: "PRIVATE KEY") {
            problems.append(.init(field: "\(field).key", message: "client key is not a PEM private key (expected '-----BEGIN ... PRIVATE KEY-----')"))
        }
        if let ca = caData, !Self.isPEM(ca, containing: "CERTIFICATE") {
            problems.append(.init(field: "\(field).ca", message: "CA data is not a PEM certificate (expected '-----BEGIN CERTIFICATE-----')"))
        }
        if insecureSkipTLSVerify && caData != nil {
            problems.append(.init(field: "\(field).insecure", message: "a CA certificate and insecure-skip-tls-verify cannot be used together"))
        }
        if (username == nil) != (password == nil) {
            problems.append(.init(field: "\(field).\(username == nil ? "username" : "password")",
                                  message: "basic authentication needs both a username and a password"))
        }
        if let exec {
            problems += exec.problems(field: "\(field).exec")
            if bearerToken != nil || username != nil {
                problems.append(.init(field: "\(field).exec", message: "a credential plugin and a bearer token or basic authentication cannot be used together"))
            }
        }
        if let proxy = proxyURL {
            let scheme = proxy.split(separator: ":").first.map { $0.lowercased() } ?? ""
            if !["http", "https", "socks5", "socks5h"].contains(scheme) || !proxy.contains("://") {
                // The URL may hold a password: name the field, not the value.
                problems.append(.init(field: "\(field).proxyUrl", message: "proxy URL must be http://, https:// or socks5:// HOST[:PORT]"))
            }
        }
        return problems
    }

    private static func isPEM(_ data: Data, containing label: String) -> Bool {
        guard let text = String(data: data, encoding: .utf8) else { return false }
        return text.contains("-----BEGIN ") && text.contains("\(label)-----")
    }
}

extension ClusterCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var parts = ["auth: \(kind.rawValue)"]
        if let exec { parts.append("plugin: \(exec.command)") }
        if caData != nil { parts.append("ca: set") }
        if insecureSkipTLSVerify { parts.append("insecure-skip-tls-verify") }
        return "ClusterCredentials(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}
