import FleetModel

/// What one cluster runs of Flotilla's objects (those with the managed-by label), per kind, as a list and then a
/// watch report them. Pure state, no I/O: `ClusterCache` feeds it from the API server.
///
/// Objects are stored once, trimmed of the `managedFields` entry of Flotilla's own field manager (diffs only
/// read other managers' entries, for `ignoreDifferences.managedFieldsManagers`). An index by Application
/// answers one Application's inventory without a scan.
public struct CacheIndex: Sendable {
    /// The field manager whose managedFields entries are dropped from cached objects.
    public static let ownManager = "flotilla"

    public enum Change: Sendable { case added, modified, deleted }

    struct Kind: Sendable {
        var objects: [ObjectRef: JSONValue] = [:]
        var resourceVersion = ""
        /// Listed, and the watch has not failed since.
        var synced = false
    }

    private var kinds: [String: Kind] = [:]
    private var byApplication: [String: Set<ObjectRef>] = [:]
    /// Objects Flotilla is writing right now: their events are stored but not news (the write's answer may
    /// arrive after its own watch event).
    private var writing: [ObjectRef: Int] = [:]
    /// Bumped by every change of one of an Application's objects (its own writes included).
    private var versions: [String: UInt64] = [:]
    /// Bumped by every list, lost sync and dropped kind: what a stamp taken before says no longer holds.
    private var epoch: UInt64 = 0

    public init() {}

    /// What an Application's live objects were when a stamp was taken: equal stamps mean no object of the
    /// Application changed in between, and no kind was listed again or lost its sync.
    public struct Stamp: Sendable, Equatable {
        let epoch: UInt64
        let version: UInt64
    }

    /// The Application's stamp, or nil when any of `kinds` is not synced (the cache does not answer for it).
    public func stamp(application: String, kinds wanted: [String]) -> Stamp? {
        guard wanted.allSatisfy(isSynced) else { return nil }
        return Stamp(epoch: epoch, version: versions[application] ?? 0)
    }

    public var objectCount: Int { kinds.values.reduce(0) { $0 + $1.objects.count } }
    public func isSynced(_ kind: String) -> Bool { kinds[kind]?.synced ?? false }
    public func resourceVersion(_ kind: String) -> String? { kinds[kind].map(\.resourceVersion) }
    public var syncedKinds: [String] { kinds.filter(\.value.synced).map(\.key).sorted() }

    static func application(_ object: JSONValue) -> String? {
        object.value(at: ["metadata", "annotations", Syncer.appAnnotation])?.stringValue
    }

    /// The object as cached: Flotilla's own managedFields entry removed.
    static func trimmed(_ object: JSONValue) -> JSONValue {
        guard let entries = object.value(at: ["metadata", "managedFields"])?.arrayValue else { return object }
        var copy = object
        let others = entries.filter { $0["manager"]?.stringValue != ownManager }
        if others.isEmpty, var meta = copy["metadata"] {
            meta.remove("managedFields")
            copy.set("metadata", meta)
        } else {
            copy.set(path: ["metadata", "managedFields"], .array(others))
        }
        return copy
    }

    /// Resource versions are etcd revisions: compared as integers when both are, else the newer is the incoming one.
    static func isNewer(_ incoming: JSONValue, than cached: JSONValue?) -> Bool {
        guard let cached else { return true }
        let a = incoming.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
        let b = cached.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
        if let x = Int(a), let y = Int(b) { return x > y }
        return a != b
    }

    private mutating func put(_ kind: String, _ ref: ObjectRef, _ object: JSONValue?) {
        let old = kinds[kind]?.objects[ref]
        if let app = old.flatMap(Self.application) {
            byApplication[app]?.remove(ref)
            versions[app, default: 0] &+= 1
        }
        kinds[kind, default: Kind()].objects[ref] = object.map(Self.trimmed)
        if let app = object.flatMap(Self.application) {
            byApplication[app, default: []].insert(ref)
            versions[app, default: 0] &+= 1
        }
    }

    /// A fresh list of a kind: replaces what was cached. Returns the Applications whose objects differ from what
    /// was cached (none on a kind's first list: whoever asked for it is about to read it).
    public mutating func replace(kind: String, items: [(ObjectRef, JSONValue)], resourceVersion: String) -> Set<String> {
        let first = kinds[kind] == nil
        var touched = Set<String>()
        let before = kinds[kind]?.objects ?? [:]
        let fresh = Dictionary(items, uniquingKeysWith: { _, last in last })
        for (ref, old) in before where fresh[ref] == nil {
            if let app = Self.application(old) { touched.insert(app) }
            put(kind, ref, nil)
        }
        for (ref, object) in fresh {
            let old = before[ref]
            if old?.value(at: ["metadata", "resourceVersion"]) != object.value(at: ["metadata", "resourceVersion"]) {
                if let app = Self.application(object) { touched.insert(app) }
                if let app = old.flatMap(Self.application) { touched.insert(app) }
            }
            put(kind, ref, object)
        }
        kinds[kind, default: Kind()].resourceVersion = resourceVersion
        kinds[kind]!.synced = true
        epoch &+= 1
        return first ? [] : touched
    }

    /// One watch event. Returns the Application to look at again, or nil when the event is not news (an object
    /// already cached at this resourceVersion, e.g. Flotilla's own write recorded by `observeWrite`).
    public mutating func apply(_ change: Change, kind: String, ref: ObjectRef, object: JSONValue) -> String? {
        let rv = object.value(at: ["metadata", "resourceVersion"])?.stringValue
        if let rv { kinds[kind, default: Kind()].resourceVersion = rv }
        let old = kinds[kind]?.objects[ref]
        let own = writing[ref, default: 0] > 0
        switch change {
        case .added, .modified:
            if let old, old.value(at: ["metadata", "resourceVersion"])?.stringValue == rv { return nil }
            put(kind, ref, object)
            return own ? nil : Self.application(object) ?? old.flatMap(Self.application)
        case .deleted:
            // Gone already: Flotilla deleted it and recorded that.
            guard let old else { return nil }
            put(kind, ref, nil)
            return own ? nil : Self.application(old) ?? Self.application(object)
        }
    }

    /// Flotilla is about to write this object: until `observeWrite`, its events are not news.
    public mutating func willWrite(_ ref: ObjectRef) { writing[ref, default: 0] += 1 }

    /// A BOOKMARK: the kind is current up to this resourceVersion.
    public mutating func bookmark(kind: String, resourceVersion: String) {
        kinds[kind, default: Kind()].resourceVersion = resourceVersion
    }

    /// How a write of Flotilla's ended.
    public enum Write: Sendable {
        /// Applied: the server's answer.
        case applied(JSONValue)
        case deleted
        /// Refused or not sent: the cache keeps what it had.
        case failed
    }

    /// What Flotilla just applied or deleted, so that reads see their writes before the watch event arrives.
    /// Ends a `willWrite`.
    public mutating func observeWrite(kind: String, ref: ObjectRef, _ write: Write) {
        if let n = writing[ref] { writing[ref] = n > 1 ? n - 1 : nil }
        guard kinds[kind] != nil else { return }
        switch write {
        case .applied(let object): if Self.isNewer(object, than: kinds[kind]?.objects[ref]) { put(kind, ref, object) }
        case .deleted: put(kind, ref, nil)
        case .failed: break
        }
    }

    /// The kind's watch failed or the cluster stopped answering: its objects are no longer served as truth.
    public mutating func markUnsynced(_ kind: String) {
        kinds[kind]?.synced = false
        epoch &+= 1
    }
    public mutating func markAllUnsynced() {
        for key in kinds.keys { kinds[key]!.synced = false }
        epoch &+= 1
    }

    /// Drops a kind (no longer watched).
    public mutating func remove(kind: String) {
        for ref in kinds[kind]?.objects.keys.map({ $0 }) ?? [] { put(kind, ref, nil) }
        kinds.removeValue(forKey: kind)
        epoch &+= 1
    }

    /// Any cached object (whichever Application it belongs to): `.some(nil)` when its kind is synced and no
    /// managed object of that name exists, nil when the kind is not synced (the cache cannot say).
    public func object(_ ref: ObjectRef) -> JSONValue?? {
        let kind = KubeClient.kindKey(group: ref.group, kind: ref.kind)
        guard isSynced(kind) else { return nil }
        return .some(kinds[kind]?.objects[ref])
    }

    /// One Application's live objects among `kinds`, or nil when any of those kinds is not synced.
    public func inventory(application: String, kinds wanted: [String]) -> [ObjectRef: JSONValue]? {
        guard wanted.allSatisfy(isSynced) else { return nil }
        let keys = Set(wanted)
        var live: [ObjectRef: JSONValue] = [:]
        for ref in byApplication[application] ?? [] {
            let kind = KubeClient.kindKey(group: ref.group, kind: ref.kind)
            guard keys.contains(kind), let object = kinds[kind]?.objects[ref] else { continue }
            live[ref] = object
        }
        return live
    }
}
