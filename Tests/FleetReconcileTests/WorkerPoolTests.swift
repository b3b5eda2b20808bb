import FleetReconcile
import Foundation
import Testing

/// Thread-safe record of what ran. `lock` guards `runs`.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var runs: [String] = []
    func add(_ key: String) { lock.withLock { runs.append(key) } }
    var all: [String] { lock.withLock { runs } }
}

func waitUntil(_ timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return true
}

/// A cluster whose reconciles hang never starves the others: all their work finishes while it hangs.
@Test func slowClusterDoesNotStarveOthers() {
    let release = DispatchSemaphore(value: 0)
    let recorder = Recorder()
    let pool = WorkerPool<String>(concurrency: 4, perCluster: 2) { item in
        if item.cluster == "stuck" { release.wait() }
        recorder.add(item.key)
        return .init()
    }
    for i in 0..<10 { pool.add("stuck-\(i)", cluster: "stuck") }
    for c in ["a", "b", "c"] { for i in 0..<20 { pool.add("\(c)-\(i)", cluster: c) } }
    #expect(waitUntil { recorder.all.count == 60 }, "the healthy clusters' 60 reconciles finish")
    // The last healthy reconcile may still be finishing: wait for it, then only the stuck cluster's remain.
    #expect(waitUntil { pool.metrics.running == 2 }, "only perCluster workers are held by the stuck cluster")
    for _ in 0..<10 { release.signal() }
    #expect(waitUntil { recorder.all.count == 70 })
    #expect(pool.shutdown(timeout: 5))
}

/// Adds during a run do not run the key twice at once; it runs again once afterwards.
@Test func noConcurrentRunsOfOneKey() {
    let gate = DispatchSemaphore(value: 0)
    let concurrent = Recorder(), recorder = Recorder()
    let active = Recorder()
    let pool = WorkerPool<String>(concurrency: 8, perCluster: 8) { item in
        active.add("+")
        if active.all.filter({ $0 == "+" }).count - active.all.filter({ $0 == "-" }).count > 1 { concurrent.add(item.key) }
        if recorder.all.isEmpty { gate.wait() }
        recorder.add(item.key)
        active.add("-")
        return .init()
    }
    pool.add("app", cluster: "c")
    #expect(waitUntil { pool.metrics.running == 1 })
    for _ in 0..<50 { pool.add("app", cluster: "c") }
    gate.signal()
    #expect(waitUntil { recorder.all.count == 2 && pool.metrics.running == 0 })
    Thread.sleep(forTimeInterval: 0.05)
    #expect(recorder.all.count == 2, "one run, then exactly one more for the adds made meanwhile")
    #expect(concurrent.all.isEmpty)
    pool.shutdown(timeout: 1)
}

/// Requeue after a run (resync) and delayed adds fire at their time; shutdown stops further runs.
@Test func requeueAndShutdown() {
    let recorder = Recorder()
    let pool = WorkerPool<String>(concurrency: 2, perCluster: 2) { item in
        recorder.add(item.key)
        return .init(requeueAfter: 0.02)
    }
    pool.add("resync", cluster: "c")
    pool.add("delayed", cluster: "c", after: 0.05)
    #expect(waitUntil { recorder.all.filter { $0 == "resync" }.count >= 3 && recorder.all.contains("delayed") })
    #expect(pool.shutdown(timeout: 2))
    let count = recorder.all.count
    Thread.sleep(forTimeInterval: 0.1)
    #expect(recorder.all.count == count, "nothing runs after shutdown")
}
