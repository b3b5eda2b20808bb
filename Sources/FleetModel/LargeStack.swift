import Foundation

/// Runs work that recurses as deep as its limits allow (a chart's `include` chain, 1,000 levels as in Helm;
/// serializers at `maxDataDepth`) on a thread of its own with a stack large enough for those limits, and
/// waits for it. The threads that call it (reconcile workers, HTTP handlers, the main thread) have stacks
/// of 512 KiB to 8 MiB, which a debug build's frames exhaust within a few hundred levels; the large stack is
/// only reserved address space until it is touched.
///
/// ```swift
/// let release = try LargeStack.run { try HelmRenderer.renderOnThisThread(chart, options: options) }
/// ```
public enum LargeStack {
    /// Bytes of stack of the thread `run` uses.
    public static let size = 256 << 20

    /// `body`'s result, computed on a thread with a `size`-byte stack. The calling thread blocks meanwhile.
    public static func run<T>(_ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { escapable in
            let box = Box(escapable)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                box.run()
                done.signal()
            }
            thread.stackSize = size
            thread.name = "flotilla.render"
            thread.start()
            done.wait()
            return try box.take()
        }
    }

    /// The work and its result, handed between two threads: written by the worker before it signals, read
    /// by the caller after the signal, so never touched by both at once.
    /// The work is dropped as soon as it ran, before the caller wakes: the non-escaping closure must not
    /// outlive `run`.
    private final class Box<T>: @unchecked Sendable {
        var body: (() throws -> T)?
        var result: Result<T, any Error>?
        init(_ body: @escaping () throws -> T) { self.body = body }
        func run() {
            result = Result { try body!() }
            body = nil
        }
        func take() throws -> T { try result!.get() }
    }
}
