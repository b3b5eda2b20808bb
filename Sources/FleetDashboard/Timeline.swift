import FleetModel

/// One outage of a cluster as the event log tells it: down → Applications moved → cluster healthy → moved back.
public struct FailoverBand: Sendable, Equatable {
    public var cluster: String
    /// When the cluster became Unreachable (or, when the log starts later, its first failover).
    public var down: String
    /// The first Application moved to another cluster, and how many moved.
    public var moved: String?
    public var movedCount = 0
    /// When the cluster answered again.
    public var healthy: String?
    /// When the last moved Application was back on it.
    public var back: String?
    public var backCount = 0

    public init(cluster: String, down: String) {
        self.cluster = cluster
        self.down = down
    }

    /// Still going: the cluster is down, or Applications have not all come back.
    public var isOpen: Bool { back == nil && (healthy == nil || backCount < movedCount) }

    /// Where the outage stands, in words.
    public var phase: String {
        if back != nil { return "back" }
        if healthy != nil { return movedCount > backCount ? "failing back" : "recovered" }
        return movedCount > 0 ? "moved" : "down"
    }
}

/// Failover bands per cluster from the event log (pure).
public enum Timeline {
    /// The cluster state a `ClusterStateChanged` event announces (`cluster NAME is STATE…`).
    public static func state(of event: HubEvent) -> ClusterState? {
        guard event.kind == .clusterStateChanged, let cluster = event.cluster else { return nil }
        let prefix = "cluster \(cluster) is "
        guard event.message.hasPrefix(prefix) else { return nil }
        let word = event.message.dropFirst(prefix.count).prefix { $0.isLetter }
        return ClusterState(rawValue: String(word))
    }

    /// The bands of `events` (any order; read in id order), oldest first. A band ends when every moved Application
    /// is back, or when the cluster is healthy again and none had moved.
    public static func bands(_ events: [HubEvent]) -> [FailoverBand] {
        var open: [String: FailoverBand] = [:]
        var closed: [FailoverBand] = []
        func close(_ cluster: String) {
            if let band = open.removeValue(forKey: cluster) { closed.append(band) }
        }
        for e in events.sorted(by: { $0.id < $1.id }) {
            guard let cluster = e.cluster else { continue }
            switch e.kind {
            case .clusterStateChanged:
                switch state(of: e) {
                case .unreachable?:
                    if open[cluster] == nil { open[cluster] = FailoverBand(cluster: cluster, down: e.at) }
                case .healthy?:
                    guard var band = open[cluster] else { break }
                    band.healthy = band.healthy ?? e.at
                    open[cluster] = band
                    if band.movedCount == 0 { close(cluster) }
                default:
                    break
                }
            case .failedOver?:
                var band = open[cluster] ?? FailoverBand(cluster: cluster, down: e.at)
                band.moved = band.moved ?? e.at
                band.movedCount += 1
                open[cluster] = band
            case .failedBack?:
                guard var band = open[cluster] else { break }
                band.backCount += 1
                if band.backCount >= band.movedCount {
                    band.back = e.at
                    open[cluster] = band
                    close(cluster)
                } else {
                    open[cluster] = band
                }
            default:
                break
            }
        }
        return (closed + open.values).sorted { ($0.down, $0.cluster) < ($1.down, $1.cluster) }
    }
}
