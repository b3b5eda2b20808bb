import Foundation

/// Runs reconciles on worker queues of its own (reconciles wait on the network, so `concurrentPerform`,
/// which runs as many at once as there are cores, is the wrong tool), with the decisions of `SchedulerState`:
/// each key at most once at a time, global and per-cluster limits, round robin across clusters, manual syncs
/// first, retries and resyncs at their due time, blocked clusters holding no worker.
///
/// ```swift
/// let pool = WorkerPool<String>(concurrency: 32, perCluster: 8) { item in
///     let ok = reconcile(item.key)
///     return .init(requeueAfter: ok ? resync : backoff)
/// }
/// pool.add("payments-api-prod-eu", cluster: "prod-eu")
/// ```
public final class WorkerPool<Key: Hashable & Sendable>: @unchecked Sendable {
    public typealias Item = SchedulerState<Key>.Item

    public struct Outcome: Sendable {
        /// Run the key again after this many seconds (retry or resync); nil: only when added again.
        public var requeueAfter: Double?
        public init(requeueAfter: Double? = nil) { self.requeueAfter = requeueAfter }
    }

    public struct Metrics: Sendable, Equatable {
        public var queued: Int
        public var running: Int
        public var completed: Int
        /// Seconds spent in handlers, summed, and the longest one.
        public var busySeconds: Double
        public var longestSeconds: Double
    }

    // `lock` guards `state`, `accepting`, `completed`, `busy`, `longest`, `freeWorkers`, `timer`.
    private let lock = NSLock()
    private var state: SchedulerState<Key>
    private var accepting = true
    private var completed = 0
    private var busy = 0.0
    private var longest = 0.0
    private var freeWorkers: [Int]
    private var timer: DispatchWorkItem?
    /// When the armed timer fires (monotonic seconds), if one is armed.
    private var timerDue: Double?

    private let workers: [DispatchQueue]
    private let timerQueue = DispatchQueue(label: "flotilla.reconcile.timer")
    private let handler: @Sendable (Item) -> Outcome
    private let clock: @Sendable () -> Double
    private let drained = NSCondition()

    /// - Parameter clock: seconds on a monotonic clock; tests may pass their own.
    @_specialize(exported: true, where Key == ReconcileWork)
    public init(concurrency: Int, perCluster: Int, clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
                handler: @escaping @Sendable (Item) -> Outcome) {
        state = SchedulerState(concurrency: concurrency, perCluster: perCluster)
        workers = (0..<max(1, concurrency)).map { DispatchQueue(label: "flotilla.reconcile.worker-\($0)") }
        freeWorkers = Array((0..<max(1, concurrency)).reversed())
        self.handler = handler
        self.clock = clock
    }

    /// Queues `key`; `after` delays it (seconds). Ignored once shutdown has begun.
    @_specialize(exported: true, where Key == ReconcileWork)
    public func add(_ key: Key, cluster: String, priority: SchedulerState<Key>.Priority = .normal, after: Double = 0) {
        lock.withLock {
            guard accepting else { return }
            state.add(key, cluster: cluster, priority: priority, due: clock() + after)
        }
        pump()
    }

    @_specialize(exported: true, where Key == ReconcileWork)
    public func remove(_ key: Key) { lock.withLock { state.remove(key) } }

    /// An unreachable cluster: its queued work waits without holding a worker.
    @_specialize(exported: true, where Key == ReconcileWork)
    public func block(cluster: String) { lock.withLock { state.block(cluster: cluster) } }

    @_specialize(exported: true, where Key == ReconcileWork)
    public func unblock(cluster: String) {
        lock.withLock { state.unblock(cluster: cluster) }
        pump()
    }

    public var metrics: Metrics {
        lock.withLock { Metrics(queued: state.queued, running: state.running, completed: completed, busySeconds: busy, longestSeconds: longest) }
    }

    /// Hands out every item that may run now; arms the timer for the next due one.
    private func pump() {
        var starts: [(Item, Int)] = []
        lock.withLock {
            let now = clock()
            while accepting, let worker = freeWorkers.last, let item = state.next(now: now) {
                freeWorkers.removeLast()
                starts.append((item, worker))
            }
            armTimer(now: now)
        }
        for (item, worker) in starts {
            workers[worker].async { [self] in run(item, worker: worker) }
        }
    }

    /// Called with `lock` held. A timer already armed for the next due item, or earlier, is kept: when it fires,
    /// it hands out what is due and arms the next one (re-arming on every hand-out costs more than the work of a
    /// quick reconcile).
    private func armTimer(now: Double) {
        let due = accepting ? state.nextDue().flatMap { $0 > now ? $0 : nil } : nil
        if let armed = timerDue, let due, armed <= due, armed > now { return }
        timer?.cancel()
        timer = nil
        timerDue = nil
        guard let due else { return }
        let work = DispatchWorkItem { [weak self] in
            guard let self else { return }
            self.lock.withLock { self.timerDue = nil }
            self.pump()
        }
        timer = work
        timerDue = due
        timerQueue.asyncAfter(deadline: .now() + (due - now), execute: work)
    }

    /// Runs `item`, then whatever may run next, on this worker's thread: one hand-off per busy period, not per item.
    private func run(_ item: Item, worker: Int) {
        var current = item
        while true {
            let start = clock()
            let outcome = handler(current)
            let end = clock()
            let next: Item? = lock.withLock {
                completed += 1
                busy += end - start
                longest = max(longest, end - start)
                state.done(current.key, requeueAt: accepting ? outcome.requeueAfter.map { end + $0 } : nil)
                armTimer(now: end)
                if accepting, let next = state.next(now: end) { return next }
                freeWorkers.append(worker)
                return nil
            }
            drained.lock()
            drained.broadcast()
            drained.unlock()
            guard let next else { break }
            current = next
        }
        pump()
    }

    /// Stops handing out work and waits up to `timeout` seconds for running reconciles to finish.
    /// Returns true when everything finished. Queued work is dropped (it is re-derived on the next start).
    @discardableResult
    @_specialize(exported: true, where Key == ReconcileWork)
    public func shutdown(timeout: Double) -> Bool {
        lock.withLock {
            accepting = false
            timer?.cancel()
        }
        let deadline = Date().addingTimeInterval(timeout)
        drained.lock()
        defer { drained.unlock() }
        while lock.withLock({ state.running }) > 0 {
            if !drained.wait(until: deadline) { return lock.withLock { state.running } == 0 }
        }
        return true
    }
}
