import FleetModel

/// How a status is coloured, from best to worst. The pages name it as a CSS class (`tone-good`, …) and always
/// print the status as text beside the colour, so colour is never the only sign.
public enum Tone: String, Sendable, Comparable, CaseIterable {
    case good, unknown, progressing, muted, warning, bad

    public static func < (a: Tone, b: Tone) -> Bool { a.rank < b.rank }

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    public var cssClass: String { "tone-\(rawValue)" }

    /// An Application: Degraded or Missing is bad, OutOfSync a warning, Progressing progressing, Synced and
    /// Healthy good.
    public static func of(sync: SyncStatus, health: HealthStatus) -> Tone {
        switch health {
        case .degraded, .missing: return .bad
        case .suspended: return .muted
        default: break
        }
        if sync == .outOfSync { return .warning }
        if health == .progressing { return .progressing }
        if sync == .synced && health == .healthy { return .good }
        return .unknown
    }

    /// A sync status alone.
    public static func of(sync: SyncStatus) -> Tone {
        switch sync {
        case .synced: .good
        case .outOfSync: .warning
        case .unknown: .unknown
        }
    }

    /// A health status alone.
    public static func of(health: HealthStatus) -> Tone {
        switch health {
        case .healthy: .good
        case .progressing: .progressing
        case .degraded, .missing: .bad
        case .suspended: .muted
        case .unknown: .unknown
        }
    }
}

/// What a cluster tile says: its probe state, or that it is cordoned, or that its Applications failed over.
public enum TileState: String, Sendable, Equatable, CaseIterable {
    case healthy = "Healthy"
    case suspect = "Suspect"
    case unreachable = "Unreachable"
    case cordoned = "Cordoned"
    case failedOver = "FailedOver"

    /// From the cluster's probe state (`Healthy`, `Suspect`, `Unreachable`), whether it is cordoned and how many of
    /// its Applications run elsewhere. A cluster that is down and has moved Applications is `FailedOver`; one that
    /// answers again is `Healthy`, its tile saying that its Applications are still away and when they come back.
    public static func of(state: String, cordoned: Bool, movedAway: Int) -> TileState {
        if state == "Unreachable" { return movedAway > 0 ? .failedOver : .unreachable }
        if cordoned { return .cordoned }
        if state == "Suspect" { return .suspect }
        return .healthy
    }

    public var tone: Tone {
        switch self {
        case .healthy: .good
        case .suspect: .warning
        case .unreachable, .failedOver: .bad
        case .cordoned: .muted
        }
    }
}
