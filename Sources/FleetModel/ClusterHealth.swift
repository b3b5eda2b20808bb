/// How a cluster answers the hub's probes.
public enum ClusterState: String, Sendable, Codable, CaseIterable {
    /// Answering (or not yet failing enough to count).
    case healthy = "Healthy"
    /// Failing, but fewer consecutive failures than the threshold.
    case suspect = "Suspect"
    /// At or over the failure threshold: its Applications fail over.
    case unreachable = "Unreachable"
}

/// Thresholds of the cluster health monitor.
public struct ProbePolicy: Sendable, Equatable {
    /// Consecutive failed probes that make a cluster Unreachable.
    public var failureThreshold: Int
    /// Consecutive successful probes that make an Unreachable cluster Healthy again.
    public var recoveryThreshold: Int

    public init(failureThreshold: Int = 3, recoveryThreshold: Int = 3) {
        self.failureThreshold = max(1, failureThreshold)
        self.recoveryThreshold = max(1, recoveryThreshold)
    }
}

/// One cluster's probe record, as a pure state machine: feed it probe outcomes, it says when the state
/// changes. A Suspect cluster that answers once is Healthy again; an Unreachable one needs
/// `recoveryThreshold` answers in a row, so a flapping cluster does not bounce its Applications.
public struct ClusterHealth: Sendable, Equatable, Codable {
    public var state: ClusterState
    /// When `state` last changed (seconds, the caller's clock).
    public var since: Double
    public var consecutiveFailures: Int
    public var consecutiveSuccesses: Int
    /// The last probe's error, kept after recovery for the record.
    public var lastError: String?

    public init(state: ClusterState = .healthy, since: Double = 0) {
        self.state = state
        self.since = since
        consecutiveFailures = 0
        consecutiveSuccesses = 0
    }

    /// Records one probe; returns the new state when it changed.
    @discardableResult
    public mutating func record(success: Bool, error: String? = nil, at now: Double, policy: ProbePolicy) -> ClusterState? {
        let before = state
        if success {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            switch state {
            case .healthy: break
            case .suspect: state = .healthy
            case .unreachable: if consecutiveSuccesses >= policy.recoveryThreshold { state = .healthy }
            }
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            lastError = error
            if state != .unreachable { state = consecutiveFailures >= policy.failureThreshold ? .unreachable : .suspect }
        }
        guard state != before else { return nil }
        since = now
        return state
    }
}
