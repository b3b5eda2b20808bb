@testable import FleetStore
import Foundation
import GRDB
import Synchronization
import Testing

/// Writes from 40 threads at once, some of which fail: every good write is committed and returns its own result,
/// every bad one throws to its own caller only, and writes shared transactions.
@Test func groupCommitKeepsEachWriteItsOwn() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-group-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let pool = try DatabasePool(path: dir.appendingPathComponent("db.sqlite").path)
    try pool.write { db in try db.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY)") }
    let group = GroupCommit(pool: pool)
    let outcomes = Mutex<[Int: Bool]>([:])
    let finished = DispatchGroup()
    for thread in 0..<40 {
        finished.enter()
        Thread {
            for n in 0..<10 {
                let i = thread * 10 + n
                let value = try? group.write { db -> Int in
                    // Every tenth write names a table that does not exist.
                    try db.execute(sql: i % 10 == 7 ? "INSERT INTO missing VALUES (?)" : "INSERT INTO item (id) VALUES (?)", arguments: [i])
                    return i * 2
                }
                outcomes.withLock { $0[i] = value == i * 2 }
            }
            finished.leave()
        }.start()
    }
    finished.wait()
    let all = outcomes.withLock { $0 }
    #expect(all.count == 400)
    #expect(all.filter(\.value).keys.sorted() == (0..<400).filter { $0 % 10 != 7 }, "good writes return their own result, bad ones throw")
    let stored = try pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM item ORDER BY id") }
    #expect(stored == (0..<400).filter { $0 % 10 != 7 })
    #expect(group.transactionCount < 400, "writes that arrived together were committed together (\(group.transactionCount) transactions)")
}
