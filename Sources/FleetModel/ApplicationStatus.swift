/// An Application's status as the hub stores and serves it (Argo CD's `status` shape where Argo CD has one):
/// the comparison with git, health, the last operation, each resource, the hooks of the last sync, and what the hub
/// adds — when it was reconciled, on which cluster, the placement, a rollback pin, and conditions.
///
/// Stored and answered as JSON through `JSONCoding` (fields in this order, absent ones as null).
public struct ApplicationStatus: Codable, Sendable, Equatable {
    public struct Sync: Codable, Sendable, Equatable {
        public var status: SyncStatus
        /// The commit of each source.
        public var revisions: [String]
        public init(status: SyncStatus, revisions: [String] = []) {
            self.status = status
            self.revisions = revisions
        }
    }

    public struct Health: Codable, Sendable, Equatable {
        public var status: HealthStatus
        public var message: String
        /// The revision this health was assessed at by a reconcile that began after the last sync finished
        /// (live objects read after the sync, not the answers of the apply itself, which may still carry the
        /// status of the revision before). Nil in the status a sync writes: its health is not a fact yet. The
        /// gates that trust health (RollingSync steps, promotions, a move's completion) read only this.
        public var revision: String?
        public init(status: HealthStatus, message: String = "", revision: String? = nil) {
            self.status = status
            self.message = message
            self.revision = revision
        }

        private enum CodingKeys: String, CodingKey { case status, message, revision }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(message, forKey: .message)
            if let revision { try c.encode(revision, forKey: .revision) }
        }
    }

    public struct Operation: Codable, Sendable, Equatable {
        /// Nil when no sync ran (stored and answered as an empty phase, with the comparison's message).
        public var phase: OperationPhase?
        public var message: String
        /// Set while Running (a sync the hub began): its start.
        public var startedAt: String?
        /// While Running and waiting on a wave: where the sync stands, so that the next reconcile (on this hub or
        /// after a restart) goes on from there instead of holding a worker while it waits.
        public var progress: SyncProgress?
        /// The revisions of a sync stopped by `terminate-op`: automated sync does not start them again (a manual
        /// sync or a new revision does), as Argo CD does not retry a failed revision on its own.
        public var terminated: [String]?
        public init(phase: OperationPhase?, message: String, startedAt: String? = nil, progress: SyncProgress? = nil, terminated: [String]? = nil) {
            self.phase = phase
            self.message = message
            self.startedAt = startedAt
            self.progress = progress
            self.terminated = terminated
        }

        private enum CodingKeys: String, CodingKey { case phase, message, startedAt, progress, terminated }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let text = try c.decodeIfPresent(String.self, forKey: .phase) ?? ""
            phase = text.isEmpty ? nil : OperationPhase(rawValue: text) ?? .error
            message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
            startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
            progress = try c.decodeIfPresent(SyncProgress.self, forKey: .progress)
            terminated = try c.decodeIfPresent([String].self, forKey: .terminated)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(phase?.rawValue ?? "", forKey: .phase)
            try c.encode(message, forKey: .message)
            if let startedAt { try c.encode(startedAt, forKey: .startedAt) }
            if let progress { try c.encode(progress, forKey: .progress) }
            if let terminated { try c.encode(terminated, forKey: .terminated) }
        }
    }

    public struct Resource: Codable, Sendable, Equatable {
        public var kind: String
        public var group: String
        public var namespace: String?
        public var name: String
        public var status: SyncStatus
        public var health: HealthStatus
        /// What the last sync did to it.
        public var action: ResourceAction
        public var message: String
        public init(kind: String, group: String, namespace: String?, name: String, status: SyncStatus, health: HealthStatus, action: ResourceAction,
                    message: String) {
            self.kind = kind
            self.group = group
            self.namespace = namespace
            self.name = name
            self.status = status
            self.health = health
            self.action = action
            self.message = message
        }
    }

    public struct Hook: Codable, Sendable, Equatable {
        public var kind: String
        public var group: String
        public var namespace: String?
        public var name: String
        /// PreSync, Sync, PostSync, SyncFail.
        public var phase: String
        public var status: String
        public var message: String
        /// Deleted by its delete policy.
        public var deleted: Bool
        public init(kind: String, group: String, namespace: String?, name: String, phase: String, status: String, message: String, deleted: Bool) {
            self.kind = kind
            self.group = group
            self.namespace = namespace
            self.name = name
            self.phase = phase
            self.status = status
            self.message = message
            self.deleted = deleted
        }
    }

    /// Why the Application is not simply Synced and Healthy: ComparisonError, SyncError, ProjectViolation,
    /// SyncWindow, Pinned, CoveredBy, MoveWaiting, InvalidDestination, …
    public struct Condition: Codable, Sendable, Equatable {
        public var type: ConditionType
        public var message: String
        public init(_ type: ConditionType, _ message: String) {
            self.type = type
            self.message = message
        }
    }

    public var sync: Sync?
    public var health: Health?
    public var operationState: Operation?
    public var resources: [Resource]?
    /// The hooks of the last sync (kept until the next sync runs).
    public var hooks: [Hook]?
    public var reconciledAt: String?
    /// The cluster it was last reconciled on (its primary, or where a failover put it).
    public var cluster: String?
    public var placement: Placement?
    /// Set while a rollback pins it.
    public var pinnedRevision: String?
    public var conditions: [Condition]?
    /// What the policies said of its rendered objects at the last reconcile (nil without policies).
    public var policy: PolicyResult?

    /// The policies' verdict on an Application's objects, kept for the compliance report.
    public struct PolicyResult: Codable, Sendable, Equatable {
        /// Objects checked.
        public var checked: Int
        /// Objects that break at least one policy.
        public var failing: Int
        /// Per policy that applied (sorted by name), how many objects break it (0: all pass).
        public var violating: [Count]
        /// The first findings (`policy/rule: object field`), at most 20.
        public var findings: [String]

        public struct Count: Codable, Sendable, Equatable {
            public var policy: String
            public var objects: Int
            public init(policy: String, objects: Int) {
                self.policy = policy
                self.objects = objects
            }
        }

        public init(checked: Int, failing: Int, violating: [Count], findings: [String]) {
            self.checked = checked
            self.failing = failing
            self.violating = violating
            self.findings = findings
        }
    }

    public init(sync: Sync? = nil, health: Health? = nil, operationState: Operation? = nil, resources: [Resource]? = nil, hooks: [Hook]? = nil) {
        self.sync = sync
        self.health = health
        self.operationState = operationState
        self.resources = resources
        self.hooks = hooks
    }

    /// A stored status; what cannot be read (an older or damaged status) is left empty, never a failure.
    public init(_ json: JSONValue) {
        self = (try? JSONCoding.decode(ApplicationStatus.self, from: json)) ?? ApplicationStatus()
    }

    /// As stored and answered.
    public var json: JSONValue { JSONCoding.value(self) }

    /// The sync status of a stored status, read without decoding the rest (lists of many Applications).
    public static func syncStatus(of json: JSONValue) -> SyncStatus { SyncStatus(text: json.value(at: ["sync", "status"])?.stringValue ?? "") }
    /// Its health status, the same way.
    public static func healthStatus(of json: JSONValue) -> HealthStatus { HealthStatus(text: json.value(at: ["health", "status"])?.stringValue ?? "") }
    /// Its operation's phase, the same way (nil when no sync ran).
    public static func operationPhase(of json: JSONValue) -> OperationPhase? {
        json.value(at: ["operationState", "phase"])?.stringValue.flatMap(OperationPhase.init(rawValue:))
    }

    private enum CodingKeys: String, CodingKey {
        case sync, health, operationState, resources, hooks, reconciledAt, cluster, placement, pinnedRevision, conditions, policy
    }

    /// Each field on its own: a field an older hub wrote differently is left empty, the others are kept.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sync = try? c.decodeIfPresent(Sync.self, forKey: .sync)
        health = try? c.decodeIfPresent(Health.self, forKey: .health)
        operationState = try? c.decodeIfPresent(Operation.self, forKey: .operationState)
        resources = try? c.decodeIfPresent([Resource].self, forKey: .resources)
        hooks = try? c.decodeIfPresent([Hook].self, forKey: .hooks)
        reconciledAt = try? c.decodeIfPresent(String.self, forKey: .reconciledAt)
        cluster = try? c.decodeIfPresent(String.self, forKey: .cluster)
        placement = try? c.decodeIfPresent(Placement.self, forKey: .placement)
        pinnedRevision = try? c.decodeIfPresent(String.self, forKey: .pinnedRevision)
        conditions = try? c.decodeIfPresent([Condition].self, forKey: .conditions)
        policy = try? c.decodeIfPresent(PolicyResult.self, forKey: .policy)
    }

    /// Only what is set is written (a status grows as the hub learns; it is not padded with nulls).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let sync { try c.encode(sync, forKey: .sync) }
        if let health { try c.encode(health, forKey: .health) }
        if let operationState { try c.encode(operationState, forKey: .operationState) }
        if let resources { try c.encode(resources, forKey: .resources) }
        if let hooks { try c.encode(hooks, forKey: .hooks) }
        if let reconciledAt { try c.encode(reconciledAt, forKey: .reconciledAt) }
        if let cluster { try c.encode(cluster, forKey: .cluster) }
        if let placement { try c.encode(placement, forKey: .placement) }
        if let pinnedRevision { try c.encode(pinnedRevision, forKey: .pinnedRevision) }
        if let conditions { try c.encode(conditions, forKey: .conditions) }
        if let policy { try c.encode(policy, forKey: .policy) }
    }
}
