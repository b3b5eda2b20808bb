import FleetModel
import Foundation

/// A clock that moves only when told: for controllers whose behaviour depends on time (probe thresholds,
/// hold-down before failback, retry backoff) and for the hub's loops, tested without sleeping. A loop waiting on
/// it wakes when `advance` moves the clock past its deadline.
public final class ManualClock: HubClock, @unchecked Sendable {
    private struct Sleeper {
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    // `lock` guards everything below.
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [UInt64: Sleeper] = [:]
    /// Waits begun but not yet registered, and those of them cancelled meanwhile.
    private var starting: Set<UInt64> = []
    private var cancelled: Set<UInt64> = []
    private var nextID: UInt64 = 0

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = start
    }

    public func now() -> Date { lock.withLock { current } }

    public func sleep(seconds: Double) async throws {
        let id = lock.withLock { () -> UInt64 in
            nextID += 1
            starting.insert(nextID)
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = lock.withLock { () -> Result<Void, any Error>? in
                    starting.remove(id)
                    if cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if seconds <= 0 { return .success(()) }
                    sleepers[id] = Sleeper(deadline: current.addingTimeInterval(seconds), continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = lock.withLock { () -> Sleeper? in
                if let found = sleepers.removeValue(forKey: id) { return found }
                if starting.contains(id) { cancelled.insert(id) }   // cancelled before it started to wait
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock; every wait whose deadline has come ends (in deadline order).
    public func advance(by seconds: Double) {
        let due = lock.withLock { () -> [Sleeper] in
            current = current.addingTimeInterval(seconds)
            let due = sleepers.filter { $0.value.deadline <= current }
            for id in due.keys { sleepers.removeValue(forKey: id) }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Tasks waiting on the clock now.
    public var sleeping: Int { lock.withLock { sleepers.count } }

    /// Waits (in real time, up to `timeout` seconds) until at least `count` tasks wait on the clock: the loops
    /// woken by an `advance` have done their round and wait again. Returns whether they did.
    @discardableResult
    public func untilSleeping(_ count: Int, timeout: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while sleeping < count {
            if Date() > deadline { return false }
            // try? is right here: a cancelled wait ends the loop at the next check of the deadline.
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return true
    }
}
