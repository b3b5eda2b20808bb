import FleetModel
import FleetReconcile
import Testing

private typealias State = SchedulerState<String>

private func drain(_ s: inout State, now: Double = 0) -> [String] {
    var out: [String] = []
    while let item = s.next(now: now) { out.append(item.key) }
    return out
}

/// A key is queued once; adding it again changes nothing.
@Test func dedupe() {
    var s = State(concurrency: 10, perCluster: 10)
    for _ in 0..<5 { s.add("a", cluster: "c1", due: 0) }
    #expect(s.queued == 1)
    #expect(drain(&s) == ["a"])
}

/// A key in flight is not handed out again; a re-add meanwhile runs once after it finishes.
@Test func inFlightReAddIsHeld() {
    var s = State(concurrency: 10, perCluster: 10)
    s.add("a", cluster: "c1", due: 0)
    #expect(s.next(now: 0)?.key == "a")
    s.add("a", cluster: "c1", due: 0)
    s.add("a", cluster: "c1", due: 0)
    #expect(s.next(now: 0) == nil)
    s.done("a")
    #expect(drain(&s) == ["a"])
    s.done("a")
    #expect(s.next(now: 0) == nil)
}

/// Global and per-cluster limits; a full cluster does not stop others.
@Test func limits() {
    var s = State(concurrency: 3, perCluster: 2)
    for i in 0..<5 { s.add("slow-\(i)", cluster: "slow", due: 0) }
    for i in 0..<5 { s.add("fast-\(i)", cluster: "fast", due: 0) }
    let first = drain(&s)
    #expect(first.count == 3)
    #expect(first.filter { $0.hasPrefix("slow") }.count <= 2)
    // Finish the fast ones only: the slow cluster's two never free up, yet fast work keeps flowing.
    var fastDone = 0
    var running = first
    while let fast = running.first(where: { $0.hasPrefix("fast") }) {
        s.done(fast)
        fastDone += 1
        running.removeAll { $0 == fast }
        running += drain(&s)
    }
    #expect(fastDone == 5)
    #expect(running.filter { $0.hasPrefix("slow") }.count == 2)
}

/// Clusters take turns: a long queue on one cluster does not delay the others.
@Test func roundRobin() {
    var s = State(concurrency: 1, perCluster: 1)
    for i in 0..<3 { s.add("big-\(i)", cluster: "a", due: 0) }
    s.add("small-0", cluster: "b", due: 0)
    s.add("small-1", cluster: "c", due: 0)
    var order: [String] = []
    while let item = s.next(now: 0) { order.append(item.key); s.done(item.key) }
    #expect(order == ["big-0", "small-0", "small-1", "big-1", "big-2"])
}

/// A manual sync jumps the queue, across clusters too.
@Test func manualSyncFirst() {
    var s = State(concurrency: 1, perCluster: 1)
    for i in 0..<3 { s.add("n-\(i)", cluster: "a", due: 0) }
    s.add("manual", cluster: "b", priority: .high, due: 0)
    s.add("n-2", cluster: "a", priority: .high, due: 0)
    var order: [String] = []
    while let item = s.next(now: 0) { order.append(item.key); s.done(item.key) }
    #expect(order.prefix(2).sorted() == ["manual", "n-2"])
    #expect(Array(order.suffix(2)) == ["n-0", "n-1"])
}

/// Delayed work waits for its time; the earliest due time is reported for the timer.
@Test func delayedWork() {
    var s = State(concurrency: 5, perCluster: 5)
    s.add("later", cluster: "a", due: 10)
    s.add("soon", cluster: "a", due: 5)
    #expect(s.next(now: 0) == nil)
    #expect(s.nextDue() == 5)
    #expect(s.next(now: 6)?.key == "soon")
    #expect(s.next(now: 6) == nil)
    #expect(s.next(now: 10)?.key == "later")
    // Adding a delayed key again with an earlier time brings it forward.
    s.add("x", cluster: "a", due: 100)
    s.add("x", cluster: "a", due: 1)
    #expect(s.next(now: 2)?.key == "x")
}

/// Re-queuing a key many times (a resync of everything) leaves no stale due time behind: the timer sees
/// the live entry's time, and the work still runs exactly once per key.
@Test func staleEntriesDoNotCount() {
    var s = State(concurrency: 5, perCluster: 5)
    for round in 0..<5 {
        for i in 0..<1000 { s.add("k\(i)", cluster: "a", due: Double(100 - round * 10)) }
    }
    #expect(s.queued == 1000)
    #expect(s.nextDue() == 60)
    s.remove("k0")
    var ran = Set<String>()
    while let item = s.next(now: 60) { #expect(ran.insert(item.key).inserted); s.done(item.key) }
    #expect(ran.count == 999)
    #expect(s.nextDue() == nil)
}

/// A key re-added for another cluster while it runs (it failed over) is queued on the new cluster, even
/// when the run asks for a retry on the old one (which may be blocked).
@Test func readdOnAnotherClusterWins() {
    var s = State(concurrency: 5, perCluster: 5)
    s.add("app", cluster: "dr", due: 0)
    _ = s.next(now: 0)
    s.add("app", cluster: "us", priority: .high, due: 0)
    s.block(cluster: "dr")
    s.done("app", requeueAt: 0.5)
    let item = s.next(now: 1)
    #expect(item?.key == "app" && item?.cluster == "us")
}

/// A requeue after done (retry or resync) is scheduled at that time.
@Test func requeueAfterDone() {
    var s = State(concurrency: 5, perCluster: 5)
    s.add("a", cluster: "c", due: 0)
    _ = s.next(now: 0)
    s.done("a", requeueAt: 30)
    #expect(s.next(now: 29) == nil)
    #expect(s.next(now: 30)?.key == "a")
}

/// A blocked (unreachable) cluster hands out nothing and holds no worker; unblocked, its work resumes.
@Test func blockedCluster() {
    var s = State(concurrency: 1, perCluster: 1)
    s.add("dead-0", cluster: "dead", due: 0)
    s.add("live-0", cluster: "live", due: 0)
    s.block(cluster: "dead")
    #expect(s.next(now: 0)?.key == "live-0")
    s.done("live-0")
    #expect(s.next(now: 0) == nil)
    s.unblock(cluster: "dead")
    #expect(s.next(now: 0)?.key == "dead-0")
}

/// Removing a queued key drops it.
@Test func removeQueued() {
    var s = State(concurrency: 5, perCluster: 5)
    s.add("a", cluster: "c", due: 0)
    s.add("b", cluster: "c", due: 0)
    s.remove("a")
    #expect(drain(&s) == ["b"])
}

/// Argo CD's backoff: duration × factor^(n-1), capped, up to the limit.
@Test func retryPolicy() throws {
    let policy = try RetryPolicy(retry: .object([("limit", 4), ("backoff", .object([("duration", "5s"), ("factor", 2), ("maxDuration", "30s")]))]))
    #expect((1...5).map { policy.delay(beforeRetry: $0) } == [5, 10, 20, 30, nil])
    #expect(try RetryPolicy(retry: nil).delay(beforeRetry: 1) == nil)
    let unlimited = try RetryPolicy(retry: .object([("limit", -1)]))
    #expect(unlimited.delay(beforeRetry: 1000) == 180)
    #expect { try RetryPolicy(retry: .object([("backoff", .object([("duration", "soon")]))])) } throws: {
        "\($0)".contains("spec.syncPolicy.retry.backoff.duration: 'soon' is not a duration")
    }
}
