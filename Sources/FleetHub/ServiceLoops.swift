import Dispatch
import FleetModel
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle

extension DispatchQueue {
    /// Runs `body` on this queue and waits for its result without holding a thread of Swift's cooperative pool
    /// (the hub's work blocks on SQLite, git and clusters).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// The loop of a service: `body` on `queue` every `interval` seconds of `clock` (the first time after one
/// interval), until a graceful shutdown starts or the task is cancelled. A round that is running when the shutdown
/// starts finishes first. An error `body` throws ends the loop with it — its service ends, and with it the group:
/// rounds catch what they can go on past (a later round retries), and throw only what stops the service.
func repeatEvery(_ interval: Double, clock: any HubClock, on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> Void) async throws {
    try await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do { try await clock.sleep(seconds: interval) } catch is CancellationError { return }
            try await queue.run(body)
        }
    }
}

/// A loop of the hub that belongs to no controller (auto-promotion, compliance snapshots) as a service of its
/// own: it starts once the hub has loaded and ends on the graceful shutdown.
struct PeriodicService: Service {
    let name: String
    let interval: Double
    let context: HubContext
    let queue: DispatchQueue
    let body: @Sendable () throws -> Void

    init(_ name: String, every interval: Double, context: HubContext, body: @escaping @Sendable () throws -> Void) {
        self.name = name
        self.interval = interval
        self.context = context
        queue = DispatchQueue(label: "flotilla.hub.\(name)")
        self.body = body
    }

    func run() async throws {
        guard await context.loaded.wait() else { return }
        try await repeatEvery(interval, clock: context.clock, on: queue, body)
    }
}

/// A gate that opens once: the hub's loops wait at it until the hub has loaded (files, clusters, the first
/// generation), so that a round never runs on a half-loaded hub.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var starting: Set<UInt64> = []
        var cancelled: Set<UInt64> = []
        var next: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    var isOpen: Bool { state.withLockedValue { $0.isOpen } }

    func open() {
        let waiting = state.withLockedValue { s -> [CheckedContinuation<Bool, Never>] in
            s.isOpen = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiting { waiter.resume(returning: true) }
    }

    /// Waits until the gate opens (true), a graceful shutdown starts or the task is cancelled (false).
    func wait() async -> Bool {
        await cancelWhenGracefulShutdown { [self] in await waitOpen() }
    }

    private func waitOpen() async -> Bool {
        let id = state.withLockedValue { s -> UInt64 in
            s.next += 1
            s.starting.insert(s.next)
            return s.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLockedValue { s -> Bool? in
                    s.starting.remove(id)
                    if s.cancelled.remove(id) != nil { return false }
                    if s.isOpen { return true }
                    s.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> CheckedContinuation<Bool, Never>? in
                if let found = s.waiters.removeValue(forKey: id) { return found }
                if s.starting.contains(id) { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: false)
        }
    }
}

/// Wall-clock time and real waits. A wait is a timer on a serial queue of its own (served by libdispatch's
/// overcommit pool), not `Task.sleep`, whose wake-up needs a thread of the global pool: blocked work there (every
/// blocking call of the hub, and of tests) must not stall the loops or their shutdown.
public struct SystemClock: HubClock {
    static let timers = DispatchQueue(label: "flotilla.clock")

    public init() {}

    public func now() -> Date { Date() }

    public func sleep(seconds: Double) async throws {
        let wait = TimerWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard wait.start(continuation) else { return }
                Self.timers.asyncAfter(deadline: .now() + max(0, seconds)) { wait.finish(nil) }
            }
        } onCancel: {
            wait.finish(CancellationError())
        }
    }
}

/// One wait of `SystemClock`: ended once, by its timer or by cancellation (even one that came before it began).
final class TimerWait: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var ended: (any Error)??
    }
    private let state = NIOLockedValueBox(State())

    /// Keeps the continuation; false (and resumed) when the wait already ended.
    func start(_ continuation: CheckedContinuation<Void, any Error>) -> Bool {
        let ended = state.withLockedValue { s -> (any Error)?? in
            if let ended = s.ended { return .some(ended) }
            s.continuation = continuation
            return .none
        }
        guard let ended else { return true }
        if let error = ended { continuation.resume(throwing: error) } else { continuation.resume() }
        return false
    }

    func finish(_ error: (any Error)?) {
        let continuation = state.withLockedValue { s -> CheckedContinuation<Void, any Error>? in
            guard s.ended == nil else { return nil }
            s.ended = .some(error)
            defer { s.continuation = nil }
            return s.continuation
        }
        guard let continuation else { return }
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}

/// Runs the blocking work of a service's shutdown (draining reconciles, flushing notifications, releasing leases)
/// on a serial queue of its own (overcommit), never waiting for a thread of a saturated global pool.
func shutdownWork<T: Sendable>(_ label: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue(label: "flotilla.hub.shutdown.\(label)").async { continuation.resume(returning: body()) }
    }
}
