import FleetModel

/// A request one replica forwards to the replica that holds an Application's cluster, sent through the database
/// as JSON (a typed record, never fields split out of a line).
enum ReplicaRequest: Codable, Equatable, Sendable {
    /// A manual sync, asked by `by`.
    case sync(application: String, prune: Bool, by: String)
    /// `terminate-op` of the running sync.
    case terminate(application: String, by: String)
    /// A hard refresh.
    case refresh(application: String)

    var application: String {
        switch self {
        case .sync(let application, _, _), .terminate(let application, _), .refresh(let application): application
        }
    }

    /// As sent: one line of JSON.
    var encoded: String { JSONCoding.value(self).serialized(pretty: false) }

    /// A received line; nil when it is not a request this version knows (a newer replica's), which is dropped.
    init?(encoded text: String) {
        // try? is right here: a line that does not parse or decode is exactly the unknown request the caller drops (and logs).
        guard let value = try? JSONParser.parse(text), let request = try? JSONCoding.decode(ReplicaRequest.self, from: value) else { return nil }
        self = request
    }
}
