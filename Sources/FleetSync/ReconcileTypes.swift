import FleetModel
import FleetKube

/// Why a reconcile did not sync: decides the Application's condition, never read back from a message.
public enum ReconcileFailure: String, Sendable {
    /// A source did not render (the comparison could not be made).
    case comparisonError = "ComparisonError"
    /// An object is outside what the project or the cluster's scope allows.
    case projectViolation = "ProjectViolation"
    /// A policy with `enforcement: deny` refuses an object (docs/policy.md).
    case policyViolation = "PolicyViolation"
    /// The cluster could not be read.
    case clusterUnreadable = "ClusterUnreadable"
    /// Applying, a hook or a wave failed.
    case syncError = "SyncError"
}

/// The live state a comparison was made against, as the cluster's cache stamps it: while the cache gives an equal
/// stamp for the same kinds, none of the Application's objects changed and the comparison would come out the same.
public struct LiveStamp: Sendable, Equatable {
    /// The kinds the Application's objects are of (`group/kind` keys).
    public let kinds: [String]
    public let stamp: ClusterCache.Stamp

    public init(kinds: [String], stamp: ClusterCache.Stamp) {
        self.kinds = kinds
        self.stamp = stamp
    }
}

/// What policies say of an Application's rendered objects, as the sync engine needs it.
public struct PolicyVerdict: Sendable, Equatable {
    /// Why the sync is refused (the `deny` violations, named), nil when it may run.
    public var denied: String?
    /// The `warn` violations, named; empty when none.
    public var warnings: String

    public init(denied: String? = nil, warnings: String = "") {
        self.denied = denied
        self.warnings = warnings
    }
}
