import Foundation

/// A clock that moves only when told: for controllers whose behaviour depends on time (probe thresholds,
/// hold-down before failback, retry backoff) tested without sleeping.
public final class ManualClock: @unchecked Sendable {
    // `lock` guards `current`.
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = start
    }

    public var now: Date { lock.withLock { current } }

    /// Seconds since 1970.
    public var seconds: Double { now.timeIntervalSince1970 }

    public func advance(by seconds: Double) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }

    /// The clock as the closure the hub's context takes.
    public var function: @Sendable () -> Date { { [self] in now } }
}
