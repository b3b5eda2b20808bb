import FleetModel
import Foundation

/// Runs blocking jobs (HTTP requests) `width` at a time: `concurrentPerform` would run only as many at once as
/// there are cores, which is wrong for I/O, and a thread per job (or per call) costs a thread start and a
/// malloc arena each time. Each runner is a serial Dispatch queue: serial queues run on Dispatch's overcommit
/// pool, which adds threads while others block and keeps them for reuse (a concurrent queue would be limited
/// to about one thread per core on Linux). Results keep the input order.
public enum ConcurrentRunner {
    public static func map<T: Sendable, R: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) throws -> R) -> [Result<R, any Error>] {
        if items.count == 1 { return [Result { try body(items[0]) }] }
        let slots = IndexedSlots<R>(count: items.count)
        let next = Counter()
        let runners = max(1, min(width, items.count))
        let group = DispatchGroup()
        for _ in 0..<runners {
            DispatchQueue(label: "flotilla.io").async(group: group) {
                while let i = next.take(limit: items.count) {
                    slots.store(i, Result { try body(items[i]) })
                }
            }
        }
        group.wait()
        return slots.results().map { $0! }
    }

    /// Hands out indexes once each. `lock` guards `value`.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(limit: Int) -> Int? {
            lock.withLock {
                guard value < limit else { return nil }
                defer { value += 1 }
                return value
            }
        }
    }

    /// Runs blocking work (libcurl, libgit2, SQLite, subprocesses) on a Dispatch queue and awaits it, so Swift's
    /// cooperative threads stay free for servers and other tasks.
    public static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The same for work that cannot fail.
    public static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}
