import Foundation

/// Runs a program to completion with a time limit. Output is read while the program runs (a full pipe would
/// block it); past the limit the program is killed and the caller gets `.timedOut`.
enum Subprocess {
    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: Data
    }

    enum Failure: Error {
        case timedOut(Double)
        case cannotStart(String)
        /// `isCancelled` said stop (the hub stops, the preview's client left).
        case cancelled
    }

    /// Output beyond this is dropped (a renderer printing without end cannot fill the hub's memory).
    static let maxOutput = 256 << 20

    /// - Parameter isCancelled: polled while the program runs (every 0.2 s): true kills it.
    static func run(_ executable: String, _ arguments: [String], timeout: Double, isCancelled: (@Sendable () -> Bool)? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch { throw Failure.cannotStart("\(error)") }
        let stdout = Collector(), stderr = Collector()
        let readers = DispatchGroup()
        for (pipe, sink) in [(out, stdout), (err, stderr)] {
            DispatchQueue.global().async(group: readers) {
                let handle = pipe.fileHandleForReading
                while let chunk = try? handle.read(upToCount: 65536), !chunk.isEmpty { sink.append(chunk) }
            }
        }
        let deadline = DispatchTime.now() + timeout
        while exited.wait(timeout: isCancelled == nil ? deadline : min(deadline, .now() + 0.2)) == .timedOut {
            let cancelled = isCancelled?() ?? false
            guard cancelled || DispatchTime.now() >= deadline else { continue }
            process.terminate()
            if exited.wait(timeout: .now() + 2) == .timedOut { kill(process.processIdentifier, SIGKILL) }
            throw cancelled ? Failure.cancelled : Failure.timedOut(timeout)
        }
        // A child of the program may still hold the pipes: give the readers a moment, not forever.
        _ = readers.wait(timeout: .now() + 5)
        return Result(status: process.terminationStatus, stdout: stdout.data, stderr: stderr.data)
    }

    /// Bytes read from a pipe. `lock` guards `buffer`.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var buffer = Data()
        func append(_ chunk: Data) { lock.withLock { if buffer.count < Subprocess.maxOutput { buffer.append(chunk) } } }
        var data: Data { lock.withLock { buffer } }
    }
}
