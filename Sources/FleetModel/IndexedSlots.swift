/// One result slot per job index, filled by jobs running on several threads at once. Each index must be written
/// by exactly one job, and every write must finish before `results()` is read (the caller waits for all jobs),
/// so no lock is needed: the storage is raw memory, so distinct elements never share a Swift access.
public final class IndexedSlots<R>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Result<R, any Error>?>

    public init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    public var count: Int { storage.count }

    public func store(_ index: Int, _ result: Result<R, any Error>) { storage[index] = result }

    /// Results in index order; nil where a job never stored one.
    public func results() -> [Result<R, any Error>?] { Array(storage) }
}
