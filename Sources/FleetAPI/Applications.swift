import FleetModel

// MARK: - ApplicationSets

public struct ApplicationSetInfo: Codable, Sendable {
    public var name: String
    /// The file it was read from, or `api`.
    public var source: String
    public var applications: Int
    public var generatedAt: String?
    public var error: String?
    /// Applications skipped at the last generation (Argo CD's ErrorOccurred condition).
    public var problems: [String]
    /// The ApplicationSet itself (on `GET /api/v1/applicationsets/NAME` only).
    public var object: JSONValue?

    public init(name: String, source: String, applications: Int, generatedAt: String?, error: String?, problems: [String], object: JSONValue? = nil) {
        self.name = name
        self.source = source
        self.applications = applications
        self.generatedAt = generatedAt
        self.error = error
        self.problems = problems
        self.object = object
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(source, forKey: .source)
        try c.encode(applications, forKey: .applications)
        try c.encodeIfPresent(generatedAt, forKey: .generatedAt)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(problems, forKey: .problems)
        // Only the single-ApplicationSet answer carries the object.
        if let object { try c.encode(object, forKey: .object) }
    }
}

/// What a generation does to the stored Applications.
public struct PlanInfo: Codable, Sendable {
    public var created: [String]
    public var updated: [String]
    public var deleted: [String]
    public var unchanged: Int
    /// Applications `applicationsSync` kept although the generation no longer makes them.
    public var retained: [String]

    public init(created: [String], updated: [String], deleted: [String], unchanged: Int, retained: [String]) {
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.unchanged = unchanged
        self.retained = retained
    }
}

/// One ApplicationSet of `POST /api/v1/applicationsets`.
public struct AppliedApplicationSet: Codable, Sendable {
    public var name: String
    public var plan: PlanInfo
    public var problems: [String]
    public init(name: String, plan: PlanInfo, problems: [String]) {
        self.name = name
        self.plan = plan
        self.problems = problems
    }
}

/// One object of a diff: its state against git, and the unified diff when it differs.
public struct ResourceDiff: Codable, Sendable {
    public var kind: String
    public var namespace: String?
    public var name: String
    /// Synced or OutOfSync.
    public var status: String
    public var diff: String?
    public init(kind: String, namespace: String?, name: String, status: String, diff: String?) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.status = status
        self.diff = diff
    }
}

/// An Application a preview would create, update or delete.
public struct PreviewApplication: Codable, Sendable {
    public var name: String
    /// create, update or delete.
    public var change: String
    public var cluster: String?
    /// create and update: the Application, its sync status against the live cluster, and each object's diff.
    public var application: JSONValue?
    public var sync: String?
    public var resources: [ResourceDiff]?
    public var message: String?
    /// update: how the Application object itself changes.
    public var applicationDiff: String?
    /// delete: whether its resources would be pruned.
    public var prune: Bool?

    public init(name: String, change: String, cluster: String?, application: JSONValue? = nil, sync: String? = nil, resources: [ResourceDiff]? = nil,
                message: String? = nil, applicationDiff: String? = nil, prune: Bool? = nil) {
        self.name = name
        self.change = change
        self.cluster = cluster
        self.application = application
        self.sync = sync
        self.resources = resources
        self.message = message
        self.applicationDiff = applicationDiff
        self.prune = prune
    }

    /// Only the fields of its kind of change are written.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(change, forKey: .change)
        try c.encodeIfPresent(cluster, forKey: .cluster)
        if let application { try c.encode(application, forKey: .application) }
        if let sync { try c.encode(sync, forKey: .sync) }
        if let resources { try c.encode(resources, forKey: .resources) }
        if let message { try c.encode(message, forKey: .message) }
        if let applicationDiff { try c.encode(applicationDiff, forKey: .applicationDiff) }
        if let prune { try c.encode(prune, forKey: .prune) }
    }
}

public struct PreviewProblem: Codable, Sendable {
    public var application: String
    public var reason: String
    public var message: String
    public init(application: String, reason: String, message: String) {
        self.application = application
        self.reason = reason
        self.message = message
    }
}

/// One ApplicationSet of `POST /api/v1/applicationsets/preview`.
public struct PreviewedApplicationSet: Codable, Sendable {
    public var name: String
    public var plan: PlanInfo
    public var applications: [PreviewApplication]
    public var problems: [PreviewProblem]
    public init(name: String, plan: PlanInfo, applications: [PreviewApplication], problems: [PreviewProblem]) {
        self.name = name
        self.plan = plan
        self.applications = applications
        self.problems = problems
    }
}

// MARK: - Applications

/// An Application in lists: where it runs and how it is.
public struct ApplicationSummary: Codable, Sendable {
    public var name: String
    /// The ApplicationSet that generates it; empty for an Application written directly.
    public var appSet: String
    /// What defines it: `ApplicationSet/NAME`, or `Application/NAME` (its own definition, written directly).
    public var owner: String
    public var cluster: String?
    public var namespace: JSONValue
    public var sync: SyncStatus
    public var health: HealthStatus
    public var revision: JSONValue
    public var pinnedRevision: String?
    public var operation: JSONValue
    public var reconciledAt: JSONValue
    public var conditions: JSONValue
    public var activeCluster: String?
    public var placement: Placement?

    public init(_ app: StoredApplication) {
        let s = app.status
        name = app.name
        let standalone = app.appSet.hasPrefix("Application/")
        appSet = standalone ? "" : app.appSet
        owner = standalone ? app.appSet : "ApplicationSet/" + app.appSet
        cluster = app.cluster
        namespace = app.object.value(at: ["spec", "destination", "namespace"]) ?? .null
        sync = ApplicationStatus.syncStatus(of: s)
        health = ApplicationStatus.healthStatus(of: s)
        revision = s.value(at: ["sync", "revisions"])?.arrayValue?.first ?? .null
        pinnedRevision = app.pinnedRevision
        operation = s.value(at: ["operationState", "phase"]) ?? .null
        reconciledAt = s["reconciledAt"] ?? .null
        conditions = s["conditions"] ?? .array([])
        activeCluster = app.activeCluster
        placement = app.placement
    }
}

/// `GET /api/v1/applications/NAME`: the summary, then the object, its status and its history.
public struct ApplicationDetail: Codable, Sendable {
    public var summary: ApplicationSummary
    public var object: JSONValue
    public var status: JSONValue
    public var history: [SyncRecord]

    public init(summary: ApplicationSummary, object: JSONValue, status: JSONValue, history: [SyncRecord]) {
        self.summary = summary
        self.object = object
        self.status = status
        self.history = history
    }

    private enum Keys: String, CodingKey { case object, status, history }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(object, forKey: .object)
        try c.encode(status, forKey: .status)
        try c.encode(history, forKey: .history)
    }

    public init(from decoder: any Decoder) throws {
        summary = try ApplicationSummary(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        object = try c.decode(JSONValue.self, forKey: .object)
        status = try c.decode(JSONValue.self, forKey: .status)
        history = try c.decode([SyncRecord].self, forKey: .history)
    }
}

/// `GET /api/v1/applications/NAME/diff`.
public struct DiffInfo: Codable, Sendable {
    public var name: String
    public var sync: String
    public var message: String
    public var resources: [ResourceDiff]
    public init(name: String, sync: String, message: String, resources: [ResourceDiff]) {
        self.name = name
        self.sync = sync
        self.message = message
        self.resources = resources
    }
}

/// Body of `POST /api/v1/applications/NAME/sync`.
public struct SyncRequest: Codable, Sendable {
    public var prune: Bool?
    public init(prune: Bool?) { self.prune = prune }
}

/// Body of `POST /api/v1/applications/NAME/rollback`: a history entry id.
public struct RollbackRequest: Codable, Sendable {
    public var id: Int
    public init(id: Int) { self.id = id }
}

/// A sync, refresh, rollback or unpin was queued.
public struct Queued: Codable, Sendable {
    public var application: String
    /// rollback: the revision pinned; unpin: null.
    public var pinnedRevision: String?
    public var queued: Bool
    private var pinChange: Bool

    public init(application: String) {
        self.application = application
        pinnedRevision = nil
        queued = true
        pinChange = false
    }

    public init(application: String, pinnedRevision: String?) {
        self.application = application
        self.pinnedRevision = pinnedRevision
        queued = true
        pinChange = true
    }

    private enum CodingKeys: String, CodingKey { case application, pinnedRevision, queued }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(application, forKey: .application)
        if pinChange { try c.encodeIfPresent(pinnedRevision, forKey: .pinnedRevision) }
        try c.encode(queued, forKey: .queued)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        application = try c.decode(String.self, forKey: .application)
        pinChange = c.contains(.pinnedRevision)
        pinnedRevision = try c.decodeIfPresent(String.self, forKey: .pinnedRevision)
        queued = try c.decode(Bool.self, forKey: .queued)
    }
}

/// The body of every error answer.
public struct APIErrorBody: Codable, Sendable {
    public struct Problem: Codable, Sendable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var error: String
    /// The HTTP status.
    public var code: Int
    /// Kubernetes' name for it (NotFound, Conflict, …).
    public var reason: String
    /// Validation errors (422): every problem with its field.
    public var problems: [Problem]?

    public init(error: String, code: Int, reason: String, problems: [Problem]? = nil) {
        self.error = error
        self.code = code
        self.reason = reason
        self.problems = problems
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(error, forKey: .error)
        try c.encode(code, forKey: .code)
        try c.encode(reason, forKey: .reason)
        if let problems { try c.encode(problems, forKey: .problems) }
    }
}

/// `GET /api/v1/applicationsets/NAME/rollout`: where an ApplicationSet's progressive rollout stands.
public struct RolloutInfo: Codable, Sendable {
    public struct Member: Codable, Sendable {
        public var name: String
        /// `Waiting`, `Pending`, `Progressing`, `Healthy` (Argo CD's names).
        public var status: String

        public init(name: String, status: String) {
            self.name = name
            self.status = status
        }
    }

    public struct Step: Codable, Sendable {
        public var step: Int
        public var selector: String
        public var maxUpdate: String
        public var applications: [Member]

        public init(step: Int, selector: String, maxUpdate: String, applications: [Member]) {
            self.step = step
            self.selector = selector
            self.maxUpdate = maxUpdate
            self.applications = applications
        }
    }

    public var name: String
    /// `RollingSync` or `AllAtOnce`.
    public var strategy: String
    /// The first step not yet Synced and Healthy (1-based; nil when done).
    public var activeStep: Int?
    /// `Progressing`, `Halted` or `Complete`.
    public var phase: String
    public var haltedBy: [String]
    public var steps: [Step]
    /// Applications no step selects: the rollout never syncs them.
    public var excluded: [String]

    public init(name: String, strategy: String, activeStep: Int?, phase: String, haltedBy: [String], steps: [Step], excluded: [String]) {
        self.name = name
        self.strategy = strategy
        self.activeStep = activeStep
        self.phase = phase
        self.haltedBy = haltedBy
        self.steps = steps
        self.excluded = excluded
    }
}

/// `GET /api/v1/promotions/NAME`: each stage of a promotion, the revision it runs and what blocks promoting to it.
public struct PromotionInfo: Codable, Sendable {
    public struct Stage: Codable, Sendable {
        public var name: String
        public var applications: [String]
        /// The revision its Applications run (when they run one).
        public var revision: String?
        /// All Synced and Healthy at that revision.
        public var healthy: Bool
        /// When the last of them got there.
        public var since: String?
        /// The revisions its Applications are pinned to (a promotion, a rollback).
        public var pinned: [String]
        /// The gate into it: `follows git`, `healthy for 600 s, approval by alice`.
        public var gate: String
        /// Why promoting to it is refused now; nil when it may be promoted (or it is the first stage).
        public var blockedBy: String?

        public init(name: String, applications: [String], revision: String?, healthy: Bool, since: String?, pinned: [String], gate: String, blockedBy: String?) {
            self.name = name
            self.applications = applications
            self.revision = revision
            self.healthy = healthy
            self.since = since
            self.pinned = pinned
            self.gate = gate
            self.blockedBy = blockedBy
        }
    }

    public var name: String
    public var applicationSet: String
    public var stages: [Stage]

    public init(name: String, applicationSet: String, stages: [Stage]) {
        self.name = name
        self.applicationSet = applicationSet
        self.stages = stages
    }
}
