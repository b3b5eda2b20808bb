import Foundation

/// Where an Application runs when it is not simply on its primary cluster. Stored with the Application; a
/// missing placement means "on its primary".
///
/// Moves are make-before-break: `pruneAfterHealthy` names the cluster whose copy is pruned once the
/// Application is Synced and Healthy on `active`, never before.
public struct Placement: Sendable, Equatable, Codable {
    public enum Phase: String, Sendable, Codable {
        /// Running on a secondary (`active`).
        case failedOver = "FailedOver"
        /// Being synced back on the primary (`active` is the primary); the secondary's copy stays until the
        /// primary is Healthy.
        case failingBack = "FailingBack"
        /// No healthy cluster to run on: nothing is applied anywhere, nothing is deleted.
        case unplaced = "Unplaced"
    }

    public var primary: String
    /// The cluster the Application is synced to now; nil when Unplaced.
    public var active: String?
    public var phase: Phase
    public var reason: String
    /// RFC 3339 time of the last change.
    public var since: String
    /// The cluster whose copy is pruned once the Application is Healthy on `active`.
    public var pruneAfterHealthy: String?
    /// The sibling Application that already serves these objects on `active` (same kind, namespace, name).
    public var coveredBy: String?

    public init(primary: String, active: String?, phase: Phase, reason: String, since: String, pruneAfterHealthy: String? = nil, coveredBy: String? = nil) {
        self.primary = primary
        self.active = active
        self.phase = phase
        self.reason = reason
        self.since = since
        self.pruneAfterHealthy = pruneAfterHealthy
        self.coveredBy = coveredBy
    }
}

/// A generated Application as the hub stores it.
public struct StoredApplication: Sendable, Equatable {
    public var name: String
    public var appSet: String
    /// Name of the cluster it deploys to, when known.
    public var cluster: String?
    /// The Application object as last generated.
    public var object: JSONValue
    /// Sync, health, revision, conditions, last operation.
    public var status: JSONValue
    /// A rollback pins the Application to a revision until it is unpinned.
    public var pinnedRevision: String?
    /// Where it runs when not on `cluster` (its primary): failed over, failing back, unplaced.
    public var placement: Placement?

    public init(name: String, appSet: String, cluster: String?, object: JSONValue, status: JSONValue = .object([]), pinnedRevision: String? = nil,
                placement: Placement? = nil) {
        self.name = name
        self.appSet = appSet
        self.cluster = cluster
        self.object = object
        self.status = status
        self.pinnedRevision = pinnedRevision
        self.placement = placement
    }

    /// The cluster it is synced to now: its placement's active cluster, else its primary. Nil when unplaced
    /// or without a registered destination.
    public var activeCluster: String? {
        guard let placement else { return cluster }
        return placement.active
    }
}

/// Where an Application runs, without its object and status: what queueing it needs.
public struct ApplicationTarget: Sendable, Equatable {
    public var name: String
    public var cluster: String?
    public var placement: Placement?

    public init(name: String, cluster: String?, placement: Placement?) {
        self.name = name
        self.cluster = cluster
        self.placement = placement
    }

    /// As `StoredApplication.activeCluster`.
    public var activeCluster: String? { placement.map(\.active) ?? cluster }
}

/// The kinds of entries in the hub's event log (the `type` of a `HubEvent`, the `events:` of a notification).
public enum HubEventType: String, Sendable, CaseIterable, Codable {
    case clusterStateChanged = "ClusterStateChanged"
    case cordoned = "Cordoned", uncordoned = "Uncordoned", drained = "Drained"
    case failedOver = "FailedOver", failbackStarted = "FailbackStarted", failedBack = "FailedBack", moveCompleted = "MoveCompleted"
    case unplaced = "Unplaced", placed = "Placed", covered = "Covered"
    case failoverHeld = "FailoverHeld", failoverResumed = "FailoverResumed"
    case rolloutHalted = "RolloutHalted"
    case promoted = "Promoted", promotionApproved = "PromotionApproved"
    case complianceSnapshot = "ComplianceSnapshot"
    case pruned = "Pruned"
    case sync = "Sync"
    case applicationSetProblems = "ApplicationSetProblems"
    /// A watched file (ApplicationSets and Applications, clusters, policies, promotions, repository Secrets) does
    /// not parse: the last good version stays in force.
    case configurationRejected = "ConfigurationRejected"
    case audit = "Audit"

    /// How an event is logged: what needs a person's attention is a warning, the audit trail is detail.
    public enum Severity: String, Sendable, Comparable {
        case detail, info, warning
        public static func < (a: Severity, b: Severity) -> Bool {
            let order: [Severity] = [.detail, .info, .warning]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    public var severity: Severity {
        switch self {
        case .failedOver, .unplaced, .failoverHeld, .applicationSetProblems, .rolloutHalted, .configurationRejected: .warning
        case .sync, .audit, .complianceSnapshot: .detail
        default: .info
        }
    }
}

/// One entry of the hub's append-only event log.
public struct HubEvent: Sendable, Equatable, Codable {
    public var id: Int
    public var at: String
    /// `ClusterStateChanged`, `FailedOver`, `FailbackStarted`, `FailedBack`, `Unplaced`, `Pruned`, `Cordoned`,
    /// `Uncordoned`, `Drained`, `FailoverHeld`, …
    public var type: String
    public var cluster: String?
    public var application: String?
    public var message: String
    /// What the event records, typed (`PromotionApproval`, `ClusterStateChange`, …): decisions read this, never
    /// the message, which is for people.
    public var data: JSONValue?

    public init(_ type: HubEventType, cluster: String? = nil, application: String? = nil, message: String, data: JSONValue? = nil) {
        self.init(type: type.rawValue, cluster: cluster, application: application, message: message, data: data)
    }

    /// An event whose payload is `payload`.
    public init<Payload: Encodable>(_ type: HubEventType, cluster: String? = nil, application: String? = nil, message: String, payload: Payload) {
        self.init(type, cluster: cluster, application: application, message: message, data: JSONCoding.value(payload))
    }

    /// Its payload as `T`, when it has one of that shape.
    public func payload<T: Decodable>(_ type: T.Type) -> T? { data.flatMap { try? JSONCoding.decode(type, from: $0) } }

    /// Its type, when it is one this version knows (an older or newer hub may have written others).
    public var kind: HubEventType? { HubEventType(rawValue: type) }

    /// How it is logged. A cluster state change is a warning unless the cluster is Healthy again.
    public var severity: HubEventType.Severity {
        guard let kind else { return .info }
        if kind == .clusterStateChanged {
            // Events written before payloads existed say the state only at the end of their message.
            let state = payload(ClusterStateChange.self)?.state ?? (message.hasSuffix("Healthy") ? .healthy : .unreachable)
            return state == .healthy ? .info : .warning
        }
        return kind.severity
    }

    public init(id: Int = 0, at: String = "", type: String, cluster: String? = nil, application: String? = nil, message: String, data: JSONValue? = nil) {
        self.data = data
        self.id = id
        self.at = at
        self.type = type
        self.cluster = cluster
        self.application = application
        self.message = message
    }
}

/// The payload of a `ClusterStateChanged` event.
public struct ClusterStateChange: Codable, Sendable, Equatable {
    public var state: ClusterState
    public init(state: ClusterState) { self.state = state }
}

/// The payload of a `PromotionApproved` event: which revision, approved by whom.
public struct PromotionApproval: Codable, Sendable, Equatable {
    public var revision: String
    public var by: String
    public init(revision: String, by: String) {
        self.revision = revision
        self.by = by
    }
}

/// What the hub keeps of a cluster besides its registration: probe state and operator flags.
public struct ClusterOperationalState: Sendable, Equatable {
    public var health: ClusterHealth
    public var cordoned: Bool
    public var drained: Bool
    public var failbackRequested: Bool

    public init(health: ClusterHealth = ClusterHealth(), cordoned: Bool = false, drained: Bool = false, failbackRequested: Bool = false) {
        self.health = health
        self.cordoned = cordoned
        self.drained = drained
        self.failbackRequested = failbackRequested
    }
}

/// One sync of an Application.
public struct SyncRecord: Sendable, Equatable, Codable {
    public var id: Int
    public var revision: String
    public var startedAt: String
    public var finishedAt: String
    /// `Succeeded`, `Failed`, `Error`.
    public var result: String
    /// Per-resource results (`Resource` each).
    public var resources: JSONValue
    /// The cluster it ran on (absent in records older than this field).
    public var cluster: String?
    /// The first line of the commit's message, and its author (`Name <email>`), when the source is a git
    /// repository the hub reads.
    public var subject: String?
    public var author: String?

    /// What a sync did to one object.
    public struct Resource: Codable, Sendable, Equatable {
        public var kind: String
        public var namespace: String?
        public var name: String
        public var action: String
        public var message: String
        public init(kind: String, namespace: String?, name: String, action: String, message: String) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.action = action
            self.message = message
        }
    }

    public init(id: Int, revision: String, startedAt: String, finishedAt: String, result: String, resources: JSONValue, cluster: String? = nil,
                subject: String? = nil, author: String? = nil) {
        self.cluster = cluster
        self.subject = subject
        self.author = author
        self.id = id
        self.revision = revision
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.result = result
        self.resources = resources
    }
}

extension Placement {
    /// A placement as the stores keep it in a text column (JSON), or nil when `text` is nil or unreadable.
    public init?(storedText text: String?) {
        guard let text, let value = try? JSONDecoder().decode(Placement.self, from: Data(text.utf8)) else { return nil }
        self = value
    }

    /// The text the stores keep (nil for no placement).
    public static func storedText(_ placement: Placement?) -> String? {
        placement.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
    }
}
