import FleetModel
import FleetReconcile
import Testing

private let settings = LeaseSettings(renew: 2, duration: 10)
private let clusters = (0..<60).map { "cluster-\($0)" }

/// Replicas sharing one lease table on a manual clock: each tick, every running replica heartbeats, reads the
/// table, plans and performs its actions (compare-and-set, as the database does).
private struct Fleet {
    var table = LeaseTable()
    var running: Set<String>
    var now = 0.0
    /// Per key, the times it had no holder able to act.
    var unservedSince: [String: Double] = [:]
    var longestUnserved = 0.0

    init(_ replicas: [String]) { running = Set(replicas) }

    mutating func tick(_ seconds: Double = settings.renew) {
        now += seconds
        for replica in running.sorted() {
            table.heartbeat(replica, at: now)
            let plan = LeasePlanner.plan(me: replica, keys: clusters, leases: table.leases, heartbeats: table.heartbeats, now: now, settings: settings)
            for action in plan { table.perform(action, by: replica, now: now, settings: settings) }
        }
        for key in clusters {
            let served = running.contains { LeasePlanner.mayAct(me: $0, key: key, leases: table.leases, now: now, settings: settings) }
            if served {
                if let since = unservedSince.removeValue(forKey: key) { longestUnserved = max(longestUnserved, now - since) }
            } else if unservedSince[key] == nil {
                unservedSince[key] = now
            }
        }
    }

    func holders() -> [String: String] {
        var out: [String: String] = [:]
        for key in clusters { if let l = table.leases[key], l.isHeld(at: now) { out[key] = l.holder } }
        return out
    }

    func desired(among replicas: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: clusters.map { ($0, LeasePlanner.owner(of: $0, among: replicas)!) })
    }
}

/// Ranks are stable (not Swift's per-process hash) and spread keys evenly.
@Test func rendezvousRanksAreStableAndEven() {
    #expect(LeasePlanner.rank("cluster-1", "hub-a") == LeasePlanner.rank("cluster-1", "hub-a"))
    #expect(LeasePlanner.rank("cluster-1", "hub-a") != LeasePlanner.rank("cluster-1", "hub-b"))
    #expect(LeasePlanner.rank("ab", "c") != LeasePlanner.rank("a", "bc"), "the boundary between replica and key counts")
    let replicas = ["hub-a", "hub-b", "hub-c"]
    var counts: [String: Int] = [:]
    for i in 0..<3000 { counts[LeasePlanner.owner(of: "cluster-\(i)", among: replicas)!, default: 0] += 1 }
    for r in replicas { #expect((800...1200).contains(counts[r] ?? 0), "\(r): \(counts)") }
    #expect(LeasePlanner.owner(of: "x", among: []) == nil)
}

/// Plans from one replica's view, case by case.
@Test func plansFollowTheRules() {
    let a = "hub-a", b = "hub-b"
    // Which of the two ranks first for each of two keys.
    let mine = clusters.first { LeasePlanner.owner(of: $0, among: [a, b]) == a }!
    let theirs = clusters.first { LeasePlanner.owner(of: $0, among: [a, b]) == b }!
    let beats = [a: 100.0, b: 100.0]
    func plan(_ leases: [String: Lease], keys: [String], heartbeats: [String: Double] = beats, now: Double = 100) -> [LeaseAction] {
        LeasePlanner.plan(me: a, keys: keys, leases: leases, heartbeats: heartbeats, now: now, settings: settings)
    }
    let cases: [(String, [String: Lease], [String], [String: Double], [LeaseAction])] = [
        ("a free key it ranks first for is acquired", [:], [mine], beats, [.acquire(key: mine, token: 1)]),
        ("a free key another live replica ranks first for is left", [:], [theirs], beats, []),
        ("with the other replica dead, every key is its own", [:], [theirs], [a: 100, b: 80], [.acquire(key: theirs, token: 1)]),
        ("its own lease is renewed", [mine: Lease(holder: a, token: 4, expiresAt: 105)], [mine], beats, [.renew(key: mine, token: 4)]),
        ("a lapsed lease is taken with the next token", [mine: Lease(holder: b, token: 4, expiresAt: 99)], [mine], beats, [.acquire(key: mine, token: 5)]),
        ("a lease still held by a dead replica waits for it to lapse (a request is all)",
         [mine: Lease(holder: "hub-gone", token: 2, expiresAt: 104)], [mine], beats, [.request(key: mine, token: 2)]),
        ("a lease held by a lower-ranked replica is asked for", [mine: Lease(holder: b, token: 3, expiresAt: 108)], [mine], beats, [.request(key: mine, token: 3)]),
        ("asked once is enough", [mine: Lease(holder: b, token: 3, expiresAt: 108, wantedBy: a)], [mine], beats, []),
        ("a lease a better-ranked replica has not asked for is kept", [theirs: Lease(holder: a, token: 3, expiresAt: 108)], [theirs], beats,
         [.renew(key: theirs, token: 3)]),
        ("one it has asked for is released", [theirs: Lease(holder: a, token: 3, expiresAt: 108, wantedBy: b)], [theirs], beats,
         [.release(key: theirs, token: 3)]),
        ("a released lease is taken with the next token", [mine: Lease(holder: "", token: 3, expiresAt: 100)], [mine], beats, [.acquire(key: mine, token: 4)]),
    ]
    for (what, leases, keys, heartbeats, expected) in cases {
        #expect(plan(leases, keys: keys, heartbeats: heartbeats) == expected, "\(what)")
    }
    // Acting needs more than one renewal interval left.
    let held = [mine: Lease(holder: a, token: 1, expiresAt: 110)]
    #expect(LeasePlanner.mayAct(me: a, key: mine, leases: held, now: 100, settings: settings))
    #expect(!LeasePlanner.mayAct(me: a, key: mine, leases: held, now: 108.5, settings: settings))
    #expect(!LeasePlanner.mayAct(me: b, key: mine, leases: held, now: 100, settings: settings))
}

/// Three replicas settle on the rendezvous owners; one dies and its keys are taken over within one lease duration
/// and a renewal, with new tokens; no key ever has two holders, and a write of the dead replica's is refused.
@Test func replicaDeathHandsItsKeysOver() {
    var fleet = Fleet(["hub-a", "hub-b", "hub-c"])
    fleet.tick(); fleet.tick()
    // The first replica to start takes every key, then hands each to its owner as the others appear.
    #expect(fleet.holders() == fleet.desired(among: ["hub-a", "hub-b", "hub-c"]))
    let lost = clusters.filter { fleet.holders()[$0] == "hub-b" }
    let before = fleet.table
    fleet.running.remove("hub-b")
    fleet.longestUnserved = 0
    for _ in 0..<8 { fleet.tick() }
    #expect(fleet.holders() == fleet.desired(among: ["hub-a", "hub-c"]), "every key on a live replica")
    #expect(lost.allSatisfy { fleet.table.leases[$0]!.token == before.leases[$0]!.token + 1 }, "taken over with the next token")
    #expect(fleet.longestUnserved <= settings.duration + settings.renew, "unserved at most one lease and a renewal: \(fleet.longestUnserved) s")
    // A write hub-b decided before it died carries its old token: refused.
    let key = lost[0], token = before.leases[key]!.token
    #expect(before.admits(key: key, token: token, by: "hub-b", now: 4))
    #expect(!fleet.table.admits(key: key, token: token, by: "hub-b", now: fleet.now))
}

/// A replica paused (SIGSTOP) for 30 s: its leases lapse and are taken; when it wakes, its old view lets it do
/// nothing, its old tokens are refused, and once it has read the table again it gets back what it ranks first for.
@Test func pausedReplicaCannotWriteWhenItWakes() {
    var fleet = Fleet(["hub-a", "hub-b"])
    fleet.tick(); fleet.tick()
    let view = fleet.table.leases   // hub-a's last read before the pause
    let its = clusters.filter { view[$0]?.holder == "hub-a" }
    fleet.running.remove("hub-a")
    for _ in 0..<15 { fleet.tick() }
    #expect(its.allSatisfy { fleet.holders()[$0] == "hub-b" })
    // Waking up: by its own last view it may not act (the lease lapsed by the clock), and the table refuses its tokens.
    #expect(its.allSatisfy { !LeasePlanner.mayAct(me: "hub-a", key: $0, leases: view, now: fleet.now, settings: settings) })
    #expect(its.allSatisfy { !fleet.table.admits(key: $0, token: view[$0]!.token, by: "hub-a", now: fleet.now) })
    var stale = fleet.table
    let renewed = stale.perform(.renew(key: its[0], token: view[its[0]]!.token), by: "hub-a", now: fleet.now, settings: settings)
    #expect(!renewed, "a renewal of a lost lease is refused")
    fleet.running.insert("hub-a")
    for _ in 0..<4 { fleet.tick() }
    #expect(fleet.holders() == fleet.desired(among: ["hub-a", "hub-b"]))
}

/// A replica joining takes only the keys it ranks first for (about a fair share), each handed over
/// make-before-break: the holder serves it until asked, the gap is at most two renewals.
@Test func joiningReplicaTakesItsFairShare() {
    var fleet = Fleet(["hub-a", "hub-b"])
    fleet.tick(); fleet.tick()
    let before = fleet.holders()
    fleet.running.insert("hub-c")
    fleet.longestUnserved = 0
    for _ in 0..<4 { fleet.tick() }
    let after = fleet.holders()
    #expect(after == fleet.desired(among: ["hub-a", "hub-b", "hub-c"]))
    let moved = clusters.filter { before[$0] != after[$0] }
    #expect(moved.allSatisfy { after[$0] == "hub-c" }, "keys move only to the new replica")
    #expect(moved.count <= clusters.count / 3 + 8 && moved.count >= clusters.count / 3 - 8, "about a fair share: \(moved.count) of \(clusters.count)")
    #expect(fleet.longestUnserved <= 2 * settings.renew, "hand-over gap \(fleet.longestUnserved) s")
}
