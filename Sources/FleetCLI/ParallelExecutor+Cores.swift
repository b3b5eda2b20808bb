import FleetGenerators
import Foundation

extension ParallelExecutor {
    /// CPU-bound work spread over the machine's cores with `concurrentPerform` (rendering is pure CPU work).
    static let cores = ParallelExecutor(width: ProcessInfo.processInfo.activeProcessorCount) { count, body in
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}
