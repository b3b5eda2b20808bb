/// The reconcile queue's decisions as a pure state machine: no threads, no clock of its own. The worker pool
/// calls it under one lock and passes the time in.
///
/// Rules:
/// - a key is queued at most once; adding a queued key only raises its priority or brings its due time forward;
/// - a key being processed is never handed to a second worker; re-adds meanwhile are held and re-queued when it finishes;
/// - at most `concurrency` keys in flight in all, and `perCluster` for any one cluster;
/// - clusters take turns (round robin), so one cluster with a long queue does not starve the rest;
/// - manual syncs (`.high`) go before everything else of their cluster and are served first across clusters;
/// - a blocked cluster (unreachable) hands out no work until it is unblocked, so it holds no worker.
public struct SchedulerState<Key: Hashable & Sendable>: Sendable {
    public enum Priority: Int, Sendable, Comparable {
        case normal = 0
        case high = 1
        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }

    public struct Item: Sendable, Equatable {
        public let key: Key
        public let cluster: String
        public let priority: Priority
    }

    struct Pending {
        var cluster: String
        var priority: Priority
        var due: Double
        var sequence: Int
    }

    /// A FIFO of (key, sequence); entries whose sequence no longer matches `pending` are stale and skipped.
    struct Lane {
        var items: [(Key, Int)] = []
        var head = 0
        var isEmpty: Bool { head >= items.count }
        mutating func push(_ key: Key, _ seq: Int) { items.append((key, seq)) }
        mutating func pop() -> (Key, Int)? {
            guard head < items.count else { return nil }
            defer {
                head += 1
                if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
            }
            return items[head]
        }
        func peek() -> (Key, Int)? { head < items.count ? items[head] : nil }
    }

    public let concurrency: Int
    public let perCluster: Int

    private var pending: [Key: Pending] = [:]
    private var inFlight: [Key: String] = [:]
    private var inFlightPerCluster: [String: Int] = [:]
    /// Re-adds that arrived while the key was in flight: applied when it is done.
    private var held: [Key: Pending] = [:]
    private var blocked: Set<String> = []
    /// Due items, per cluster, in two lanes.
    private var high: [String: Lane] = [:]
    private var normal: [String: Lane] = [:]
    /// Items not yet due, as a min-heap on (due, sequence).
    private var delayed: [(due: Double, seq: Int, key: Key)] = []
    /// The clusters with a lane, sorted (kept as lanes come and go, not sorted on every hand-out).
    private var highOrder: [String] = []
    private var normalOrder: [String] = []
    /// Round-robin position: the cluster served last.
    private var lastCluster: String?
    private var sequence = 0

    public init(concurrency: Int, perCluster: Int) {
        self.concurrency = max(1, concurrency)
        self.perCluster = max(1, perCluster)
    }

    public var queued: Int { pending.count }
    public var running: Int { inFlight.count }
    public func isQueued(_ key: Key) -> Bool { pending[key] != nil }
    public func isRunning(_ key: Key) -> Bool { inFlight[key] != nil }

    /// Queues `key` to run at `due` (now, or later for a retry or resync).
    @_specialize(exported: true, where Key == ReconcileWork)
    public mutating func add(_ key: Key, cluster: String, priority: Priority = .normal, due: Double) {
        let entry = Pending(cluster: cluster, priority: priority, due: due, sequence: 0)
        if inFlight[key] != nil {
            held[key] = merge(held[key], entry)
            return
        }
        enqueue(key, merge(pending[key], entry))
    }

    private func merge(_ old: Pending?, _ new: Pending) -> Pending {
        guard var old else { return new }
        old.priority = max(old.priority, new.priority)
        old.due = min(old.due, new.due)
        old.cluster = new.cluster
        return old
    }

    /// Records `entry` as the key's one pending entry and files it in a lane or the delayed heap.
    private mutating func enqueue(_ key: Key, _ entry: Pending) {
        if let old = pending[key], old.priority == entry.priority, old.due == entry.due, old.cluster == entry.cluster { return }
        sequence += 1
        var e = entry
        e.sequence = sequence
        pending[key] = e
        heapPush((e.due, e.sequence, key))
        // Re-queued keys leave stale entries behind; rebuild the heap when they outnumber the live ones.
        if delayed.count > 2 * pending.count + 1024 { compact() }
    }

    /// Rebuilds the heap from its live entries.
    private mutating func compact() {
        let live = delayed.filter { pending[$0.key]?.sequence == $0.seq }
        delayed = []
        delayed.reserveCapacity(live.count)
        for e in live { heapPush(e) }
    }

    /// Moves due items from the heap into their cluster's lane.
    private mutating func promote(now: Double) {
        while let top = delayed.first, top.due <= now {
            heapPop()
            guard let p = pending[top.key], p.sequence == top.seq else { continue }
            if p.priority == .high {
                if high[p.cluster] == nil { Self.insert(p.cluster, into: &highOrder) }
                high[p.cluster, default: Lane()].push(top.key, top.seq)
            } else {
                if normal[p.cluster] == nil { Self.insert(p.cluster, into: &normalOrder) }
                normal[p.cluster, default: Lane()].push(top.key, top.seq)
            }
        }
    }

    /// Drops a queued key (an Application that was deleted).
    @_specialize(exported: true, where Key == ReconcileWork)
    public mutating func remove(_ key: Key) {
        pending.removeValue(forKey: key)
        held.removeValue(forKey: key)
    }

    public mutating func block(cluster: String) { blocked.insert(cluster) }
    public mutating func unblock(cluster: String) { blocked.remove(cluster) }
    public func isBlocked(_ cluster: String) -> Bool { blocked.contains(cluster) }

    /// The first live entry of a lane, dropping stale ones.
    private static func head(_ lanes: inout [String: Lane], _ cluster: String, _ pending: [Key: Pending]) -> (Key, Int)? {
        while let entry = lanes[cluster]?.peek() {
            if let p = pending[entry.0], p.sequence == entry.1 { return entry }
            _ = lanes[cluster]!.pop()
        }
        return nil
    }

    /// Index of the first element of sorted `order` greater than `value`.
    private static func upperBound(_ value: String, in order: [String]) -> Int {
        var low = 0, high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private static func insert(_ cluster: String, into order: inout [String]) {
        let i = upperBound(cluster, in: order)
        if i > 0 && order[i - 1] == cluster { return }
        order.insert(cluster, at: i)
    }

    private static func remove(_ cluster: String, from order: inout [String]) {
        let i = upperBound(cluster, in: order)
        if i > 0 && order[i - 1] == cluster { order.remove(at: i - 1) }
    }

    /// The next item a worker may run now, or nil. Marks it in flight.
    @_specialize(exported: true, where Key == ReconcileWork)
    public mutating func next(now: Double) -> Item? {
        guard inFlight.count < concurrency else { return nil }
        promote(now: now)
        for useHigh in [true, false] {
            let clusters = useHigh ? highOrder : normalOrder
            guard !clusters.isEmpty else { continue }
            // Round robin: start after the cluster served last.
            let start = lastCluster.map { Self.upperBound($0, in: clusters) % clusters.count } ?? 0
            var emptied: [String] = []
            defer {
                for cluster in emptied {
                    if useHigh { high.removeValue(forKey: cluster); Self.remove(cluster, from: &highOrder) }
                    else { normal.removeValue(forKey: cluster); Self.remove(cluster, from: &normalOrder) }
                }
            }
            for offset in 0..<clusters.count {
                let cluster = clusters[(start + offset) % clusters.count]
                guard !blocked.contains(cluster), (inFlightPerCluster[cluster] ?? 0) < perCluster else { continue }
                let found = useHigh ? Self.head(&high, cluster, pending) : Self.head(&normal, cluster, pending)
                guard let (key, _) = found else {
                    emptied.append(cluster)
                    continue
                }
                if useHigh { _ = high[cluster]?.pop() } else { _ = normal[cluster]?.pop() }
                if (useHigh ? high[cluster]?.isEmpty : normal[cluster]?.isEmpty) == true { emptied.append(cluster) }
                let p = pending.removeValue(forKey: key)!
                inFlight[key] = cluster
                inFlightPerCluster[cluster, default: 0] += 1
                lastCluster = cluster
                return Item(key: key, cluster: cluster, priority: p.priority)
            }
        }
        return nil
    }

    /// Marks `key` finished; `requeueAt` schedules it again (retry or resync). A re-add held during the run
    /// is queued too (the earlier of the two times wins).
    @_specialize(exported: true, where Key == ReconcileWork)
    public mutating func done(_ key: Key, requeueAt: Double? = nil) {
        guard let cluster = inFlight.removeValue(forKey: key) else { return }
        inFlightPerCluster[cluster, default: 1] -= 1
        if inFlightPerCluster[cluster] == 0 { inFlightPerCluster.removeValue(forKey: cluster) }
        var next = requeueAt.map { Pending(cluster: cluster, priority: .normal, due: $0, sequence: 0) }
        // A re-add held during the run comes last so its cluster wins: the key may have moved to another
        // cluster (a failover) while it ran on this one.
        if let h = held.removeValue(forKey: key) { next = merge(next, h) }
        if let next { enqueue(key, merge(pending[key], next)) }
    }

    // MARK: heap

    private mutating func heapPush(_ e: (due: Double, seq: Int, key: Key)) {
        delayed.append(e)
        var i = delayed.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(delayed[i], delayed[parent]) else { break }
            delayed.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func heapPop() {
        delayed.swapAt(0, delayed.count - 1)
        delayed.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < delayed.count && Self.less(delayed[l], delayed[m]) { m = l }
            if r < delayed.count && Self.less(delayed[r], delayed[m]) { m = r }
            if m == i { break }
            delayed.swapAt(i, m)
            i = m
        }
    }

    private static func less(_ a: (due: Double, seq: Int, key: Key), _ b: (due: Double, seq: Int, key: Key)) -> Bool {
        a.due < b.due || (a.due == b.due && a.seq < b.seq)
    }

    /// The earliest time a queued item becomes due (for the pool's timer). Stale heap entries on top are
    /// dropped on the way, so this is O(log n) amortised, not a scan.
    @_specialize(exported: true, where Key == ReconcileWork)
    public mutating func nextDue() -> Double? {
        while let top = delayed.first {
            if let p = pending[top.key], p.sequence == top.seq { return top.due }
            heapPop()
        }
        return nil
    }
}
