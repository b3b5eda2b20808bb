/// Whether what runs matches git (Argo CD's sync status).
public enum SyncStatus: String, Sendable, Codable, CaseIterable {
    case synced = "Synced"
    case outOfSync = "OutOfSync"
    /// The comparison could not be made (a source did not render).
    case unknown = "Unknown"

    /// A stored or received text; one this version does not know is Unknown.
    public init(text: String) { self = SyncStatus(rawValue: text) ?? .unknown }

    public init(from decoder: any Decoder) throws { self.init(text: try decoder.singleValueContainer().decode(String.self)) }
}

/// Argo CD's health statuses, in order from best to worst.
public enum HealthStatus: String, Sendable, Codable, Comparable, CaseIterable {
    case healthy = "Healthy"
    case suspended = "Suspended"
    case progressing = "Progressing"
    case missing = "Missing"
    case degraded = "Degraded"
    case unknown = "Unknown"

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a.rank < b.rank }

    /// A stored or received text; one this version does not know is Unknown.
    public init(text: String) { self = HealthStatus(rawValue: text) ?? .unknown }

    public init(from decoder: any Decoder) throws { self.init(text: try decoder.singleValueContainer().decode(String.self)) }
}

/// The phase of a sync operation (Argo CD's `operationState.phase`).
public enum OperationPhase: String, Sendable, Codable, CaseIterable {
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
    /// The operation could not run at all (Argo CD's Error).
    case error = "Error"
    /// A terminate-op was asked and the operation is stopping.
    case terminating = "Terminating"

    /// Whether the operation has ended.
    public var isCompleted: Bool { self == .succeeded || self == .failed || self == .error }
}

/// What a sync did to one resource.
public enum ResourceAction: String, Sendable, Codable, CaseIterable {
    case none = ""
    case created, configured, unchanged, pruned, failed
}

/// Why an Application is not simply Synced and Healthy: the type of a condition on its status. Decisions read
/// the type, never the message.
public enum ConditionType: String, Sendable, Codable, CaseIterable {
    /// A source did not render: the comparison could not be made.
    case comparisonError = "ComparisonError"
    /// Applying, a hook or a wave failed.
    case syncError = "SyncError"
    /// An object is outside what the project or the cluster's scope allows.
    case projectViolation = "ProjectViolation"
    /// A policy with `enforcement: deny` refuses an object.
    case policyViolation = "PolicyViolation"
    /// A policy with `enforcement: warn` found something.
    case policyWarning = "PolicyWarning"
    /// A sync window closed: compared only.
    case syncWindow = "SyncWindow"
    /// A rollback pins the Application to a revision.
    case pinned = "Pinned"
    /// On a failover cluster, the same objects belong to a sibling Application that serves them.
    case coveredBy = "CoveredBy"
    /// On a failover cluster, some objects belong to other Applications.
    case ownershipClash = "OwnershipClash"
    /// A move waits for a manual sync (automated sync is off).
    case moveWaiting = "MoveWaiting"
    /// The destination is not a registered cluster, or cannot be reached.
    case invalidDestination = "InvalidDestination"
    /// Its ApplicationSet's rollout or a promotion holds it back.
    case rolloutWaiting = "RolloutWaiting"
    /// Its last sync was terminated: automated sync does not start that revision again.
    case syncTerminated = "SyncTerminated"
    /// Hooks of a type no sync phase runs.
    case syncHooksNotRun = "SyncHooksNotRun"
    /// `syncOptions` Flotilla does not carry out, each named.
    case syncOptionNotSupported = "SyncOptionNotSupported"
    /// A condition type this version does not know (written by a newer hub).
    case unknown = "Unknown"

    public init(from decoder: any Decoder) throws {
        self = ConditionType(rawValue: try decoder.singleValueContainer().decode(String.self)) ?? .unknown
    }
}
