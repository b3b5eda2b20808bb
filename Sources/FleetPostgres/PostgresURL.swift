import FleetModel
import FleetStore
import Foundation

/// Where a PostgreSQL database is, read from a `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE` URL
/// (libpq's URI form; `postgresql://` too). The password is never printed: `redacted` shows the URL without it.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode`, as far as the hub implements it: `disable` (plain), `require` (TLS, any certificate),
    /// `verify-full` (TLS, certificate checked against the system's CAs and the host name). `prefer` is read as
    /// `disable` would be wrong (it may silently send the password in the clear), so it is refused.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String, tls: TLSMode = .disable) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses a URL; errors name what is wrong, never the password.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError(message: "the PostgreSQL URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE (scheme postgres or postgresql)")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreError(message: "the PostgreSQL URL has no host") }
        guard let user = components.user, !user.isEmpty else { throw StoreError(message: "the PostgreSQL URL has no user (postgres://USER@HOST/DATABASE)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError(message: "the PostgreSQL URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        var mode = TLSMode.disable
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = TLSMode(rawValue: value) else {
                    throw StoreError(message: "the PostgreSQL URL's sslmode '\(item.value ?? "")' is not supported: use one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                mode = parsed
            case "application_name", "connect_timeout":
                continue
            default:
                throw StoreError(message: "the PostgreSQL URL's parameter '\(item.name)' is not supported (sslmode, application_name and connect_timeout are)")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  database: database.removingPercentEncoding ?? database, tls: mode)
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String {
        let credentials = password == nil ? user : user + ":***"
        return "postgres://\(credentials)@\(host):\(port)/\(database)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
    }

    public var description: String { redacted }
}
