import Foundation

/// Runs a program to completion with a time limit. Output is read while the program runs (a full pipe would
/// block it); past the limit the program is killed and the caller gets `.timedOut`.
package enum Subprocess {
    package struct Result {
        package let status: Int32
        package let stdout: Data
        package let stderr: Data
    }

    package enum Failure: Error {
        case timedOut(Double)
        case cannotStart(String)
        /// `isCancelled` said stop (the hub stops, the preview's client left).
        case cancelled
    }

    private static let launchLock = NSLock()

    /// Output beyond this is dropped (a renderer printing without end cannot fill the hub's memory).
    package static let maxOutput = 256 << 20

    /// - Parameters:
    ///   - isCancelled: polled while the program runs (every 0.2 s): true kills it.
    ///   - environment: the program's environment; nil inherits the hub's.
    ///   - maxOutput: bytes kept of each of standard output and error; more is dropped.
    ///   - noInput: standard input is /dev/null (the program cannot wait for a person).
    package static func run(_ executable: String, _ arguments: [String], timeout: Double, isCancelled: (@Sendable () -> Bool)? = nil,
                            environment: [String: String]? = nil, maxOutput: Int = Subprocess.maxOutput, noInput: Bool = false) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if noInput { process.standardInput = FileHandle.nullDevice }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        // One launch at a time: Foundation's `Process.run` crashed (a bad read copying the launch's arguments and
        // environment) while other threads launched programs at the same moment.
        do { try launchLock.withLock { try process.run() } } catch { throw Failure.cannotStart("\(error)") }
        let stdout = Collector(limit: maxOutput), stderr = Collector(limit: maxOutput)
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
        private let limit: Int
        init(limit: Int) { self.limit = limit }
        func append(_ chunk: Data) { lock.withLock { if buffer.count < limit { buffer.append(chunk.prefix(limit - buffer.count)) } } }
        var data: Data { lock.withLock { buffer } }
    }
}
