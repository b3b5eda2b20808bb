import FleetModel
import Foundation

/// The kinds of watch event, as kube-apiserver names them.
public enum WatchEventType: String, Sendable {
    case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
}

/// One change to a stored object, kept in a bounded history per resource type so that a watch can resume from
/// a `resourceVersion`.
struct Change {
    let revision: Int
    /// `.added`, `.modified` or `.deleted`.
    let type: WatchEventType
    let resource: ResourceType
    let namespace: String?
    /// The stored object after the change; for a deletion, the object as it was, carrying the deletion's
    /// resourceVersion. Simulated status is computed when the event is sent, as of `at`.
    let object: JSONValue
    /// When the object's spec last changed (the simulated controllers' clock).
    let changedAt: Date
    /// When the change happened.
    let at: Date
    /// The object before the change (nil when it was added): selectors compare both.
    let previous: JSONValue?
}

/// What a watch follows: a namespace (or all), label and field selectors.
struct WatchFilter {
    let namespace: String?
    let labels: LabelSelector
    let fields: FieldSelector

    func matches(_ object: JSONValue, namespace objectNamespace: String?) -> Bool {
        if let namespace, namespace != objectNamespace { return false }
        return labels.matches(Self.labels(object)) && fields.matches(object)
    }

    static func labels(_ object: JSONValue) -> [String: String] {
        (object.value(at: ["metadata", "labels"])?.objectValue ?? []).reduce(into: [String: String]()) { $0[$1.0] = $1.1.stringValue ?? "" }
    }

    /// What this watch sees of a change. Selectors move objects in and out of view, as kube-apiserver reports it:
    /// a modification that makes an object match is ADDED, one that makes it stop matching is DELETED.
    func event(for change: Change) -> (WatchEventType, JSONValue)? {
        let now = matches(change.object, namespace: change.namespace)
        let before = change.previous.map { matches($0, namespace: change.namespace) } ?? false
        switch change.type {
        case .added: return now ? (.added, change.object) : nil
        case .deleted: return now || before ? (.deleted, change.object) : nil
        default:
            switch (before, now) {
            case (true, true): return (.modified, change.object)
            case (false, true): return (.added, change.object)
            case (true, false): return (.deleted, change.object)
            case (false, false): return nil
            }
        }
    }
}

/// Where a watch starts, from its `resourceVersion`, `resourceVersionMatch` and `sendInitialEvents` parameters
/// (Kubernetes' "resource versions" semantics for watch).
enum WatchStart: Equatable {
    /// Synthetic ADDED events for the current state, then changes; with `endBookmark`, a BOOKMARK annotated
    /// `k8s.io/initial-events-end` after the initial events.
    case currentState(endBookmark: Bool)
    /// Only changes after the current revision.
    case now
    /// Changes after this revision, from the history.
    case after(Int)

    struct Invalid: Error, Equatable { let message: String }

    static func parse(_ query: [String: String]) throws(Invalid) -> WatchStart {
        let rv = query["resourceVersion"] ?? ""
        let match = query["resourceVersionMatch"] ?? ""
        let bookmarks = ["true", "1"].contains(query["allowWatchBookmarks"] ?? "")
        switch match {
        case "", "NotOlderThan": break
        case "Exact": throw Invalid(message: "resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"")
        default: throw Invalid(message: "resourceVersionMatch: Unsupported value: \"\(match)\": supported values: \"NotOlderThan\"")
        }
        if !rv.isEmpty, rv != "0", Int(rv) == nil {
            throw Invalid(message: "resourceVersion: Invalid value: \"\(rv)\": must be an integer")
        }
        if let send = query["sendInitialEvents"] {
            guard send == "true" || send == "false" else { throw Invalid(message: "sendInitialEvents: Invalid value: \"\(send)\"") }
            if send == "true" {
                guard match == "NotOlderThan" else {
                    throw Invalid(message: "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
                }
                guard bookmarks else { throw Invalid(message: "allowWatchBookmarks: Required value: sendInitialEvents requires allowWatchBookmarks") }
                return .currentState(endBookmark: true)
            }
            if !match.isEmpty, rv.isEmpty {
                throw Invalid(message: "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
            }
            return rv.isEmpty || rv == "0" ? .now : .after(Int(rv)!)
        }
        if !match.isEmpty { throw Invalid(message: "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided") }
        return rv.isEmpty || rv == "0" ? .currentState(endBookmark: false) : .after(Int(rv)!)
    }
}

/// A watch in progress: its filter, output format and where its events go.
struct Watcher {
    let typeKey: String
    let type: ResourceType
    let filter: WatchFilter
    /// Events as server-side tables (`kubectl get -w`).
    let table: Bool
    let bookmarks: Bool
    let continuation: AsyncStream<String>.Continuation
}

enum WatchEvents {
    static func line(_ type: WatchEventType, _ object: JSONValue) -> String {
        JSONValue.object([("type", .string(type.rawValue)), ("object", object)]).serialized(pretty: false) + "\n"
    }

    static func bookmark(_ type: ResourceType, revision: Int, initialEventsEnd: Bool = false) -> String {
        var meta: [(String, JSONValue)] = [("resourceVersion", .string(String(revision))), ("creationTimestamp", .null)]
        if initialEventsEnd { meta.append(("annotations", .object([("k8s.io/initial-events-end", "true")]))) }
        return line(.bookmark, .object([("kind", .string(type.kind)), ("apiVersion", .string(type.groupVersion)), ("metadata", .object(meta))]))
    }

    static func expired(requested: Int, oldest: Int) -> String {
        line(.error, .object([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object([])), ("status", "Failure"),
                              ("message", .string("too old resource version: \(requested) (\(oldest))")), ("reason", "Expired"), ("code", 410)]))
    }
}
