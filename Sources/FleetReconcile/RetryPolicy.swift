import FleetModel

/// An Application's `syncPolicy.retry`: how many times to retry a failed sync and how long to wait.
///
/// ```yaml
/// retry:
///   limit: 5            # attempts after the first; negative = no limit
///   backoff: {duration: 5s, factor: 2, maxDuration: 3m}
/// ```
/// The delay before retry n (1-based) is `duration × factor^(n-1)`, capped at `maxDuration`, as in Argo CD.
public struct RetryPolicy: Sendable, Equatable {
    public var limit: Int
    public var duration: Double
    public var factor: Double
    public var maxDuration: Double

    public init(limit: Int = 5, duration: Double = 5, factor: Double = 2, maxDuration: Double = 180) {
        self.limit = limit
        self.duration = duration
        self.factor = factor
        self.maxDuration = maxDuration
    }

    /// Argo CD's defaults when `retry` is set without a backoff.
    public static let `default` = RetryPolicy()
    /// No retries: the next attempt waits for a new revision or the periodic resync.
    public static let none = RetryPolicy(limit: 0)

    /// Reads `syncPolicy.retry`; absent means `.none`. Errors name the field.
    public init(retry: JSONValue?) throws {
        guard let retry, !retry.isNull else { self = .none; return }
        var policy = RetryPolicy.default
        if let limit = retry["limit"] {
            guard case .int(let l) = limit else { throw InputError(field: "spec.syncPolicy.retry.limit", message: "must be an integer") }
            policy.limit = l
        }
        if let backoff = retry["backoff"] {
            if let d = backoff["duration"] { policy.duration = try Self.seconds(d, field: "spec.syncPolicy.retry.backoff.duration") }
            if let m = backoff["maxDuration"] { policy.maxDuration = try Self.seconds(m, field: "spec.syncPolicy.retry.backoff.maxDuration") }
            switch backoff["factor"] {
            case .int(let f)?: policy.factor = Double(f)
            case .double(let f)?: policy.factor = f
            case nil: break
            default: throw InputError(field: "spec.syncPolicy.retry.backoff.factor", message: "must be a number")
            }
        }
        if policy.factor < 1 { throw InputError(field: "spec.syncPolicy.retry.backoff.factor", message: "must be at least 1") }
        self = policy
    }

    /// Seconds to wait before retry `attempt` (1-based), or nil when the limit is reached.
    public func delay(beforeRetry attempt: Int) -> Double? {
        guard attempt >= 1, limit < 0 || attempt <= limit else { return nil }
        var d = duration
        for _ in 1..<attempt {
            d *= factor
            if d >= maxDuration { break }
        }
        return min(d, maxDuration)
    }

    /// `5s`, `3m`, `1h`, `500ms`, or a bare number of seconds.
    static func seconds(_ v: JSONValue, field: String) throws -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s):
            for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where s.hasSuffix(suffix) {
                if let n = Double(s.dropLast(suffix.count)), n >= 0 { return n * scale }
            }
            if let n = Double(s), n >= 0 { return n }
            throw InputError(field: field, message: "'\(s)' is not a duration (e.g. 5s, 3m)")
        default:
            throw InputError(field: field, message: "must be a duration such as 5s")
        }
    }
}
