import Foundation

/// The time the hub's loops run on: probes, git polls, file watches, lease rounds and promotions wait on it, and
/// cluster health ages and hold-downs read it. The hub runs on `SystemClock`; tests inject a clock that moves
/// only when told, and drive the loops by moving it.
public protocol HubClock: Sendable {
    /// Now, on this clock.
    func now() -> Date
    /// Suspends for `seconds` of this clock's time. Throws `CancellationError` when the waiting task is cancelled.
    func sleep(seconds: Double) async throws
}

extension HubClock {
    /// Seconds since 1970 on this clock.
    public var seconds: Double { now().timeIntervalSince1970 }
}

