import Foundation
import GRDB

/// Group commit: writes that arrive while another is being committed wait, then go together in one transaction
/// (one WAL append instead of one per write). Each caller returns only after the transaction that holds its
/// write committed, so nothing is acknowledged before it is in the database. If the shared transaction fails,
/// each write of it is tried again alone, so one bad write fails only its own caller.
final class GroupCommit: @unchecked Sendable {
    private final class Pending {
        let body: (Database) throws -> Void
        var error: (any Error)?
        var done = false
        init(_ body: @escaping (Database) throws -> Void) { self.body = body }
    }

    private let pool: DatabasePool
    /// Guards `queue` and `leading`, and each pending write's `error` and `done`.
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var leading = false
    private var transactions = 0

    /// Shared transactions committed (or tried) so far.
    var transactionCount: Int { condition.withLock { transactions } }
    /// Most writes in one transaction.
    let limit: Int

    init(pool: DatabasePool, limit: Int = 256) {
        self.pool = pool
        self.limit = max(1, limit)
    }

    /// Runs `body` in a write transaction, possibly shared with other callers' writes; returns its result once
    /// committed.
    func write<T>(_ body: @escaping (Database) throws -> T) throws -> T {
        var result: T?
        let pending = Pending { db in result = try body(db) }
        condition.lock()
        queue.append(pending)
        while !pending.done {
            if leading {
                condition.wait()
                continue
            }
            // Lead: take what is queued (this write included) and commit it.
            leading = true
            transactions += 1
            let batch = Array(queue.prefix(limit))
            queue.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
            condition.lock()
            for item in batch { item.done = true }
            leading = false
            condition.broadcast()
        }
        let error = pending.error
        condition.unlock()
        if let error { throw error }
        return result!
    }

    /// Called without the lock; each item's `error` is set before it is marked done (under the lock).
    private func commit(_ batch: [Pending]) {
        do {
            try pool.write { db in for item in batch { try item.body(db) } }
        } catch {
            guard batch.count > 1 else {
                batch[0].error = error
                return
            }
            for item in batch {
                do { try pool.write { db in try item.body(db) } } catch { item.error = error }
            }
        }
    }
}
