import Crypto
import FleetModel
import Foundation

/// API tokens: `flt_<id>_<secret>`. The id finds the stored record; only SHA-256 of the secret is stored and it
/// is compared in constant time. Secrets are 32 random bytes from the system's CSPRNG.
public enum APIToken {
    public static let prefix = "flt_"

    public struct Minted: Sendable {
        /// The whole token, shown once.
        public let token: String
        public let id: String
        /// SHA-256 of the secret, hex: what is stored.
        public let hash: String
    }

    public static func mint() -> Minted {
        let id = Bytes.randomHex(6)
        let secret = Bytes.randomHex(32)
        return Minted(token: "\(prefix)\(id)_\(secret)", id: id, hash: hash(secret))
    }

    /// The id and secret of a presented token, or nil when it is not one of ours.
    public static func parse(_ token: String) -> (id: String, secret: String)? {
        guard token.hasPrefix(prefix) else { return nil }
        let parts = token.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 12, parts[1].count == 64,
              parts.allSatisfy({ $0.allSatisfy { $0.isHexDigit && ($0.isNumber || $0.isLowercase) } }) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// Whether `secret` hashes to `hash`, in time independent of where they differ.
    public static func verify(secret: String, hash: String) -> Bool {
        Bytes.constantTimeEqual(Array(Self.hash(secret).utf8), Array(hash.utf8))
    }

    /// SHA-256 of a token's secret, hex: what is stored.
    static func hash(_ secret: String) -> String { Bytes.hex(SHA256.hash(data: Array(secret.utf8))) }
}

/// Failed authentications in a sliding window: past `limit` in `window` seconds, further attempts are refused
/// (429) until the window moves on. Pure: the caller passes the time.
public struct FailureLimiter: Sendable {
    public let limit: Int
    public let window: Double
    private var failures: [Double] = []

    public init(limit: Int = 20, window: Double = 10) {
        self.limit = limit
        self.window = window
    }

    public mutating func isBlocked(now: Double) -> Bool {
        failures.removeAll { $0 <= now - window }
        return failures.count >= limit
    }

    public mutating func recordFailure(now: Double) {
        failures.removeAll { $0 <= now - window }
        failures.append(now)
    }
}
