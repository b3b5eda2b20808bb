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

    public init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
