import Dispatch

/// A task executor on a concurrent Dispatch queue of its own. Running a server's tasks here keeps it answering
/// even when every thread of Swift's cooperative pool is blocked (tests and tools that wait synchronously).
///
/// ```swift
/// let executor = QueueTaskExecutor(label: "sim")
/// Task(executorPreference: executor) { try await server.run { _, _ in } }
/// ```
public final class QueueTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    /// `concurrent: false` runs the tasks one at a time on a serial queue, which libdispatch serves from its
    /// overcommit pool: it gets a thread even when every thread of the global pool is blocked (loops that must
    /// keep running under load; their tasks only wait and hand blocking work to queues of their own).
    public init(label: String, concurrent: Bool = true) {
        queue = concurrent ? DispatchQueue(label: label, attributes: .concurrent) : DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
