import FleetAPI
import FleetAuth
import FleetModel
import FleetStore
import Foundation
import Logging

/// Who made a request.
public struct Caller: Sendable, Equatable {
    public let account: String
    public let role: String
    public let tokenID: String
}

extension Hub {
    /// On the first start (no account yet): an `admin` account with `role:admin` and a token, written to
    /// `auth.adminTokenFile` (mode 0600) when configured and kept in `bootstrapToken` to be printed once.
    func bootstrapAdmin() throws {
        guard try authStore.accounts().isEmpty else { return }
        let minted = APIToken.mint()
        let token = StoredToken(id: minted.id, account: "admin", hash: minted.hash, description: "created on first start", createdAt: "",
                                expiresAt: nil, revokedAt: nil)
        guard try authStore.bootstrap(account: "admin", role: "role:admin", token: token) else { return }
        if let file = config.auth.adminTokenFile {
            try Self.writeTokenFile(minted.token, to: file, logger: logger)
        }
        bootstrapToken = minted.token
        try store.appendEvent(HubEvent(type: "Audit", message: "account admin (role:admin) and its first token \(minted.id) created on first start"))
    }

    /// Writes a token to `file` (mode 0600). A file already there is not lost: it is kept as `FILE.previous`, with
    /// a warning naming it.
    public static func writeTokenFile(_ token: String, to file: String, logger: Logger) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: file)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if fm.fileExists(atPath: file) {
            let previous = file + ".previous"
            // try? is right here: removing the previous token file; a missing one is the goal.
            try? fm.removeItem(atPath: previous)
            try fm.moveItem(atPath: file, toPath: previous)
            logger.warning("\(file) already existed: it was kept as \(previous) and the new admin token written in its place")
        }
        guard fm.createFile(atPath: file, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw HubError(.internalError, "cannot write the admin token to \(file)")
        }
    }

    /// The caller of a request with `Authorization: Bearer TOKEN`. 401 for a missing, unknown, revoked or expired
    /// token (one message for all, so the answer tells nothing). Past `FailureLimiter`'s limit of failures, a
    /// failing request from the same client address gets 429 instead: guessing is slowed down, while valid
    /// tokens keep working (a flood of bad tokens does not lock anyone out).
    public func authenticate(_ authorization: String?, from client: String? = nil) throws -> Caller {
        let now = Date().timeIntervalSince1970
        let key = client ?? "-"
        func fail() -> HubError {
            let blocked = authFailures.recordFailure(from: key, now: now)
            return blocked ? HubError(.tooManyRequests, "too many failed authentications: try again in a few seconds")
                : HubError(.unauthorized, "authentication required: send Authorization: Bearer TOKEN (a valid, unexpired, unrevoked token)")
        }
        guard let header = authorization, header.hasPrefix("Bearer "), let (id, secret) = APIToken.parse(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)),
              let stored = try authStore.token(id: id), APIToken.verify(secret: secret, hash: stored.hash), stored.revokedAt == nil else {
            throw fail()
        }
        if let expires = stored.expiresAt, expires <= Timestamp.rfc3339() { throw fail() }
        guard let account = try authStore.account(named: stored.account) else { throw fail() }
        return Caller(account: account.name, role: account.role, tokenID: id)
    }

    public func can(_ caller: Caller, _ action: String, _ resource: String, _ object: String) -> Bool {
        policy.allows(caller.account, role: caller.role, action, resource, object)
    }

    /// 403 unless the caller may.
    public func authorize(_ caller: Caller, _ action: String, _ resource: String, _ object: String) throws {
        guard can(caller, action, resource, object) else {
            throw HubError(.forbidden, "permission denied: \(caller.account) may not \(action) \(resource) \(object)")
        }
    }

    /// The RBAC object of an Application: `PROJECT/NAME`, as in Argo CD.
    func rbacObject(application name: String) -> String {
        // An unreadable Application is checked as project "-": only `*` rules can allow it.
        let app = context.attempt(.storeRead, "read Application \(name) for its project", { try store.application(named: name) }) ?? nil
        return "\(app.map(Self.projectName) ?? "-")/\(name)"
    }

    static func projectName(_ app: StoredApplication) -> String { app.object.value(at: ["spec", "project"])?.stringValue ?? "default" }

    // MARK: Accounts and tokens

    public static let roleNames = ["role:admin", "role:readonly"]

    public func createAccount(_ name: String, role: String) throws {
        if let problem = KubernetesNames.dns1123LabelProblem(name) { throw HubError(.invalid, "account name: \(problem)") }
        guard role.hasPrefix("role:"), role.count > 5, role.count <= 63 else { throw HubError(.invalid, "role '\(role)' must be written role:NAME") }
        guard try authStore.createAccount(name, role: role) else { throw HubError(.conflict, "account '\(name)' exists") }
    }

    public func deleteAccount(_ name: String) throws {
        guard try authStore.deleteAccount(name) else { throw HubError(.notFound, "account '\(name)' not found") }
    }

    /// A new token for `account`, valid for `seconds` (nil: no expiry). The token is returned once.
    ///
    /// Made by `caller` for its own account without `update` on accounts, a token cannot outlive the token that
    /// made it: no expiry means the parent's expiry, a later one is refused; it records its parent, and revoking
    /// the parent revokes it.
    public func createToken(account: String, seconds: Double?, description: String, by caller: Caller? = nil) throws -> (token: String, id: String, expiresAt: String?) {
        guard try authStore.account(named: account) != nil else { throw HubError(.notFound, "account '\(account)' not found") }
        if let seconds, seconds <= 0 || seconds > 10 * 365 * 86400 { throw HubError(.invalid, "expiry must be between 1s and 10 years") }
        if description.count > 200 { throw HubError(.invalid, "description is longer than 200 characters") }
        var expires = seconds.map { Timestamp.rfc3339(Date().addingTimeInterval($0)) }
        var parent: String?
        if let caller, caller.account == account {
            parent = caller.tokenID
            if !can(caller, "update", "accounts", account), let parentExpiry = try authStore.token(id: caller.tokenID)?.expiresAt {
                if let wanted = expires, wanted > parentExpiry {
                    throw HubError(.invalid, "a token cannot outlive the token that creates it: this one expires at \(parentExpiry), the new one would at \(wanted)")
                }
                expires = expires ?? parentExpiry
            }
        }
        let minted = APIToken.mint()
        try authStore.addToken(StoredToken(id: minted.id, account: account, hash: minted.hash, description: description, createdAt: "",
                                           expiresAt: expires, revokedAt: nil, parent: parent))
        let by = caller.map { "by \($0.account) with token \($0.tokenID)" } ?? "by the hub"
        try store.appendEvent(HubEvent(type: "Audit", message: "token \(minted.id) for account \(account) created \(by), expires \(expires ?? "never")"))
        return (minted.token, minted.id, expires)
    }

    static func tokenInfo(_ t: StoredToken) -> TokenInfo {
        TokenInfo(id: t.id, account: t.account, description: t.description, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt)
    }
}

/// Failed authentications per client address (`FailureLimiter` each).
final class AuthFailures: @unchecked Sendable {
    // `lock` guards `limiters`.
    private let lock = NSLock()
    private var limiters: [String: FailureLimiter] = [:]

    /// Records a failure from `client`; returns whether the client was already over the limit.
    func recordFailure(from client: String, now: Double) -> Bool {
        lock.withLock {
            var limiter = limiters[client] ?? FailureLimiter()
            defer {
                limiter.recordFailure(now: now)
                limiters[client] = limiter
                // Forget clients that have been quiet for a window, so the table stays small.
                if limiters.count > 10_000 { limiters = limiters.filter { var l = $0.value; return l.isBlocked(now: now) } }
            }
            return limiter.isBlocked(now: now)
        }
    }
}
