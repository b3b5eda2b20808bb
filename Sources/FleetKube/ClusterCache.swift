import FleetModel
import Foundation

/// Flotilla's objects on one cluster (those with the managed-by label), kept current by list-then-watch of each
/// kind they are of, so that a reconcile reads live state from memory and only writes go to the API server.
///
/// A kind is listed (in pages) the first time an inventory needs it, then watched from the list's
/// resourceVersion; a watch that ends is resumed from the last resourceVersion seen, one whose history expired
/// (410) is listed again, and a failing one is retried with backoff while its kind is not served as truth. Each
/// change of an object reports its Application (`onChange`), so drift and health changes are seen at once.
/// The watches run on `WatchDriver` (one thread for the process); lists run on a utility queue or the caller's.
public final class ClusterCache: @unchecked Sendable {
    public struct Options: Sendable {
        /// Seconds a watch asks the server to keep it open (`timeoutSeconds`), spread so watches do not end together.
        public var watchSeconds: ClosedRange<Int>
        /// Objects per list page.
        public var pageSize: Int
        /// First and longest wait before listing again after a failure (doubling in between).
        public var backoff: ClosedRange<Double>

        public init(watchSeconds: ClosedRange<Int> = 300...600, pageSize: Int = 500, backoff: ClosedRange<Double> = 0.5...30) {
            self.watchSeconds = watchSeconds
            self.pageSize = pageSize
            self.backoff = backoff
        }
    }

    /// The label every Flotilla-applied object carries: what the cache lists and watches.
    public static let selector = "\(Syncer.managedByLabel)=\(Syncer.managedByValue)"

    let client: KubeClient
    let options: Options
    let onChange: @Sendable (String) -> Void
    let onConnectionLost: @Sendable () -> Void

    private struct Feed {
        let resource: APIResource
        var watch: WatchDriver.Handle?
        var failures = 0
    }

    // `lock` guards everything below.
    private let lock = NSLock()
    private var index = CacheIndex()
    private var feeds: [String: Feed] = [:]
    private var stopped = false
    private let relists = DispatchQueue(label: "flotilla.cache.relist", qos: .utility)
    /// Tells this cache's stamps from another's (a cluster's cache is replaced when it comes back).
    private let serial: UInt64 = ClusterCache.nextSerial()

    private static let serials = NSLock()
    nonisolated(unsafe) private static var lastSerial: UInt64 = 0
    private static func nextSerial() -> UInt64 { serials.withLock { lastSerial += 1; return lastSerial } }

    /// What one Application's live objects were at some moment, in this cache: an equal stamp later means
    /// nothing of the Application changed, no kind was listed again, and the cache is the same one and served.
    public struct Stamp: Sendable, Equatable {
        let cache: UInt64
        let index: CacheIndex.Stamp
    }

    /// `onChange` gets the Application of every object that changed (not Flotilla's own writes);
    /// `onConnectionLost` is called when a watch's connection fails (refused, reset, timed out): a sign the
    /// cluster may be down, sooner than a probe. Both run on the watch thread and must not block.
    public init(client: KubeClient, options: Options = Options(), onChange: @escaping @Sendable (String) -> Void,
                onConnectionLost: @escaping @Sendable () -> Void = {}) {
        self.client = client
        self.options = options
        self.onChange = onChange
        self.onConnectionLost = onConnectionLost
    }

    /// Objects held, and kinds followed and synced (metrics, tests).
    public var objectCount: Int { lock.withLock { index.objectCount } }
    public var syncedKinds: [String] { lock.withLock { index.syncedKinds } }
    public var isStopped: Bool { lock.withLock { stopped } }

    /// Starts following the kinds among `resources` not followed yet: each is listed now, on the caller's thread
    /// (an inventory is about to read it), then watched.
    public func follow(_ resources: [APIResource]) {
        let new: [APIResource] = lock.withLock {
            guard !stopped else { return [] }
            let fresh = resources.filter { feeds[KubeClient.kindKey(group: $0.group, kind: $0.kind)] == nil }
            for r in fresh { feeds[KubeClient.kindKey(group: r.group, kind: r.kind)] = Feed(resource: r) }
            return fresh
        }
        _ = ConcurrentRunner.map(new, width: 8) { [self] resource in relist(resource) }
    }

    /// One Application's live objects among `kinds` (`group/kind` keys), or nil when the cache cannot answer
    /// (a kind not followed or not synced, or the cache stopped): the caller reads the API server instead.
    public func inventory(application: String, kinds: [String]) -> [ObjectRef: JSONValue]? {
        lock.withLock { stopped ? nil : index.inventory(application: application, kinds: kinds) }
    }

    /// A managed object, whichever Application it belongs to: `.some(nil)` when none of that name exists among
    /// Flotilla's objects, nil when the cache cannot say (see `CacheIndex.object`). An object without the
    /// managed-by label is not held: a nil here does not mean the cluster has no such object.
    public func object(_ ref: ObjectRef) -> JSONValue?? {
        lock.withLock { stopped ? nil : index.object(ref) }
    }

    /// The Application's stamp over `kinds`, or nil when the cache does not answer for them (see `inventory`).
    public func stamp(application: String, kinds: [String]) -> Stamp? {
        lock.withLock { stopped ? nil : index.stamp(application: application, kinds: kinds).map { Stamp(cache: serial, index: $0) } }
    }

    /// Flotilla is about to apply or delete this object: its watch events are not news until `observeWrite`.
    public func willWrite(_ ref: ObjectRef) { lock.withLock { index.willWrite(ref) } }

    /// How Flotilla's write of this object ended, so the next read sees it.
    public func observeWrite(_ ref: ObjectRef, _ write: CacheIndex.Write) {
        lock.withLock { index.observeWrite(kind: KubeClient.kindKey(group: ref.group, kind: ref.kind), ref: ref, write) }
    }

    /// Ends every watch; nothing is served any more. For a cluster found dead or removed (a new client starts a
    /// new cache).
    public func stop() {
        let watches: [WatchDriver.Handle] = lock.withLock {
            stopped = true
            index.markAllUnsynced()
            return feeds.values.compactMap(\.watch)
        }
        for w in watches { w.cancel() }
    }

    // MARK: - List, then watch

    private func key(_ r: APIResource) -> String { KubeClient.kindKey(group: r.group, kind: r.kind) }

    /// Lists the kind and starts its watch; on failure, marks it unsynced and tries again after a backoff.
    private func relist(_ resource: APIResource) {
        let kind = key(resource)
        if lock.withLock({ stopped }) { return }
        do {
            let (items, rv) = try client.listAll(resource, labelSelector: Self.selector, pageSize: options.pageSize)
            let refs = items.map { (ref(resource, $0), $0) }
            let touched: Set<String>? = lock.withLock {
                guard !stopped else { return nil }
                feeds[kind]?.failures = 0
                return index.replace(kind: kind, items: refs, resourceVersion: rv)
            }
            guard let touched else { return }
            for app in touched.sorted() { onChange(app) }
            watch(resource, from: rv)
        } catch {
            retryLater(resource)
        }
    }

    private func retryLater(_ resource: APIResource) {
        let kind = key(resource)
        let delay: Double? = lock.withLock {
            guard !stopped else { return nil }
            index.markUnsynced(kind)
            feeds[kind]?.watch = nil
            let n = feeds[kind]?.failures ?? 0
            feeds[kind]?.failures = n + 1
            return min(options.backoff.upperBound, options.backoff.lowerBound * Double(1 << min(n, 16)))
        }
        guard let delay else { return }
        relists.asyncAfter(deadline: .now() + delay) { [weak self] in self?.relist(resource) }
    }

    private func ref(_ resource: APIResource, _ object: JSONValue) -> ObjectRef {
        ObjectRef(group: resource.group, kind: resource.kind,
                  namespace: resource.namespaced ? object.value(at: ["metadata", "namespace"])?.stringValue : nil,
                  name: object.value(at: ["metadata", "name"])?.stringValue ?? "")
    }

    private func watch(_ resource: APIResource, from resourceVersion: String) {
        let kind = key(resource)
        let seconds = Int.random(in: options.watchSeconds)
        let path = resource.path(namespace: nil) + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=\(seconds)"
            + "&resourceVersion=" + KubeClient.queryValue(resourceVersion) + "&labelSelector=" + KubeClient.queryValue(Self.selector)
        // What the stream's end means, decided by its lines: a 410 asks for a new list.
        final class Outcome: @unchecked Sendable { var expired = false; var failed: String? }
        let outcome = Outcome()
        let handle = WatchDriver.shared.open(client.transport, path: path, timeout: Double(seconds) + 30, onLine: { [weak self] line, status in
            guard let self else { return }
            guard status == 200 else {
                outcome.failed = "HTTP \(status): " + String(decoding: line.prefix(300), as: UTF8.self)
                return
            }
            switch Result(catching: { try KubeDecoding.WatchEvent.parse(line) }) {
            case .failure:
                outcome.failed = "the watch sent a line that is not JSON: " + String(decoding: line.prefix(300), as: UTF8.self)
            case .success(.expired?): outcome.expired = true
            case .success(.failed(let message)?): outcome.failed = message
            case .success(let event?): self.received(event, resource: resource)
            case .success(nil): break
            }
        }, onEnd: { [weak self] end in
            guard let self else { return }
            switch end {
            case .cancelled: return
            case .closed(200) where outcome.failed == nil && !outcome.expired:
                // The server ended the watch (its timeout): go on from the last resourceVersion seen.
                let rv = self.lock.withLock { self.stopped ? nil : self.index.resourceVersion(kind) }
                if let rv { self.relists.async { self.watch(resource, from: rv) } }
            case .closed where outcome.expired:
                self.relists.async { self.relist(resource) }
            case .failed:
                if !self.isStopped { self.onConnectionLost() }
                self.retryLater(resource)
            default:
                self.retryLater(resource)
            }
        })
        let keep = lock.withLock { () -> Bool in
            guard !stopped, feeds[kind] != nil else { return false }
            feeds[kind]!.watch = handle
            return true
        }
        if !keep { handle.cancel() }
    }

    /// One watch change or bookmark: into the index, and its Application reported when it is news.
    private func received(_ event: KubeDecoding.WatchEvent, resource: APIResource) {
        let kind = key(resource)
        switch event {
        case .bookmark(let rv):
            lock.withLock { index.bookmark(kind: kind, resourceVersion: rv) }
        case .change(let change, let object):
            let app = lock.withLock { stopped ? nil : index.apply(change, kind: kind, ref: ref(resource, object), object: object) }
            if let app { onChange(app) }
        case .expired, .failed:
            break
        }
    }
}
