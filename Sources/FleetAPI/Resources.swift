import FleetModel

// The hub API's answers and request bodies (docs/api.md), shared by the server and the CLI. Fields are written in
// declaration order, an absent optional as null.

/// A string map written with sorted keys (labels, annotations).
public struct SortedMap: Codable, Sendable, Equatable {
    public var values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for key in values.keys.sorted() { try container.encode(values[key]!, forKey: Key(stringValue: key)) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var values: [String: String] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(String.self, forKey: key) }
        self.values = values
    }
}

/// `{"items": [...], "continue": TOKEN}`: one page of a list; `continue` names the next page.
public struct ListPage<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var `continue`: String?

    public init(items: [Item], continue next: String? = nil) {
        self.items = items
        self.continue = next
    }

    /// `continue` only when more follow, as Kubernetes lists do.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        if let next = self.continue { try c.encode(next, forKey: .continue) }
    }
}

/// `{"items": [...]}`: a whole list.
public struct Items<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public init(_ items: [Item]) { self.items = items }
}

// MARK: - Clusters

/// A registered cluster as users see it. Credentials are described, never shown.
public struct ClusterInfo: Codable, Sendable {
    public struct TLS: Codable, Sendable {
        public var caData: Bool
        public var insecureSkipTLSVerify: Bool
        public var serverName: String?
    }

    public var name: String
    public var server: String
    public var labels: SortedMap
    public var annotations: SortedMap
    public var secondary: String?
    /// The kind of credentials (`token`, `clientCertificate`, …), never their values.
    public var auth: String
    public var tls: TLS
    public var nameNormalized: String
    public var project: String?
    public var namespaces: [String]?
    public var clusterResources: Bool
    /// Whether a proxy is used, never its URL (it may carry a password).
    public var proxy: Bool

    public init(_ c: Cluster) {
        name = c.name
        server = c.server
        labels = SortedMap(c.labels)
        annotations = SortedMap(c.annotations)
        secondary = c.secondary
        auth = c.credentials.kind.rawValue
        tls = TLS(caData: c.credentials.caData != nil, insecureSkipTLSVerify: c.credentials.insecureSkipTLSVerify, serverName: c.credentials.tlsServerName)
        nameNormalized = c.normalizedName
        project = c.project
        namespaces = c.namespaces
        clusterResources = c.clusterResources
        proxy = c.credentials.proxyURL != nil
    }
}

/// What the hub knows of a cluster besides its registration.
public struct ClusterStatusInfo: Codable, Sendable {
    /// Healthy, Suspect or Unreachable (probes).
    public var state: String
    public var stateSince: String?
    public var lastError: String?
    public var cordoned: Bool
    public var drained: Bool
    /// False while its work is held because it does not answer.
    public var reachable: Bool
    public var unreachableSince: String?

    public init(state: String, stateSince: String?, lastError: String?, cordoned: Bool, drained: Bool, reachable: Bool, unreachableSince: String?) {
        self.state = state
        self.stateSince = stateSince
        self.lastError = lastError
        self.cordoned = cordoned
        self.drained = drained
        self.reachable = reachable
        self.unreachableSince = unreachableSince
    }
}

/// A cluster in the hub's answers: its registration and, on the same level, its status.
public struct HubCluster: Codable, Sendable {
    public var cluster: ClusterInfo
    public var status: ClusterStatusInfo

    public init(cluster: ClusterInfo, status: ClusterStatusInfo) {
        self.cluster = cluster
        self.status = status
    }

    public func encode(to encoder: any Encoder) throws {
        try cluster.encode(to: encoder)
        try status.encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        cluster = try ClusterInfo(from: decoder)
        status = try ClusterStatusInfo(from: decoder)
    }
}

/// What a change to the registry did, by cluster name.
public struct RegistryChanges: Codable, Sendable {
    public var created: [String]
    public var updated: [String]
    public var unchanged: [String]
    public var deleted: [String]

    public init(created: [String], updated: [String], unchanged: [String], deleted: [String]) {
        self.created = created
        self.updated = updated
        self.unchanged = unchanged
        self.deleted = deleted
    }
}

/// Body of `POST /api/v1/clusters/NAME/labels`.
public struct LabelChange: Codable, Sendable {
    public var set: [String: String]?
    public var remove: [String]?
    public var overwrite: Bool?

    public init(set: [String: String]?, remove: [String]?, overwrite: Bool?) {
        self.set = set
        self.remove = remove
        self.overwrite = overwrite
    }
}

public struct FailbackStarted: Codable, Sendable {
    public var cluster: String
    public var failingBack: Int
    public init(cluster: String, failingBack: Int) {
        self.cluster = cluster
        self.failingBack = failingBack
    }
}

// MARK: - Projects (events are `HubEvent`s as they are)

public struct ProjectInfo: Codable, Sendable {
    public struct Destination: Codable, Sendable {
        public var server: String?
        public var name: String?
        public var namespace: String
        public init(server: String?, name: String?, namespace: String) {
            self.server = server
            self.name = name
            self.namespace = namespace
        }
    }

    public var name: String
    public var sourceRepos: [String]
    public var destinations: [Destination]
    public var syncWindows: Int

    public init(name: String, sourceRepos: [String], destinations: [Destination], syncWindows: Int) {
        self.name = name
        self.sourceRepos = sourceRepos
        self.destinations = destinations
        self.syncWindows = syncWindows
    }
}

// MARK: - Accounts and tokens

public struct AccountInfo: Codable, Sendable {
    public var name: String
    public var role: String
    public var createdAt: String?
    public init(name: String, role: String, createdAt: String?) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}

public struct TokenInfo: Codable, Sendable {
    public var id: String
    public var account: String
    public var description: String
    public var createdAt: String
    public var expiresAt: String?
    public var revokedAt: String?
    public init(id: String, account: String, description: String, createdAt: String, expiresAt: String?, revokedAt: String?) {
        self.id = id
        self.account = account
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// Body of `POST /api/v1/accounts/NAME/tokens`.
public struct TokenRequest: Codable, Sendable {
    /// A duration (`24h`); none: the token does not expire.
    public var expiresIn: String?
    public var description: String?
    public init(expiresIn: String?, description: String?) {
        self.expiresIn = expiresIn
        self.description = description
    }
}

/// A new token: the only answer that holds its secret.
public struct TokenCreated: Codable, Sendable {
    public var id: String
    public var account: String
    public var token: String
    public var expiresAt: String?
    public init(id: String, account: String, token: String, expiresAt: String?) {
        self.id = id
        self.account = account
        self.token = token
        self.expiresAt = expiresAt
    }
}

public struct WhoAmI: Codable, Sendable {
    public var account: String
    public var role: String
    public var token: String
    public init(account: String, role: String, token: String) {
        self.account = account
        self.role = role
        self.token = token
    }
}

public struct CanI: Codable, Sendable {
    public var allowed: Bool
    public init(allowed: Bool) { self.allowed = allowed }
}

/// What a DELETE removed (`{"deleted": NAME}`) or a revoke revoked (`{"revoked": ID}`).
public struct Deleted: Codable, Sendable {
    public var deleted: String
    public init(_ name: String) { deleted = name }
}

public struct Revoked: Codable, Sendable {
    public var revoked: String
    public init(_ id: String) { revoked = id }
}

// MARK: - Replicas

/// One hub replica on a shared PostgreSQL store, as `GET /api/v1/replicas` lists it.
public struct ReplicaInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Where its API answers.
    public var address: String
    /// Seconds since its last heartbeat, on the database's clock.
    public var heartbeatAge: Double
    /// Its heartbeat is younger than the lease duration.
    public var live: Bool
    /// The leases it holds (`generation`, `cluster/NAME`), unexpired.
    public var leases: [String]
    /// The replica that answered.
    public var isSelf: Bool

    public init(name: String, address: String, heartbeatAge: Double, live: Bool, leases: [String], isSelf: Bool) {
        self.name = name
        self.address = address
        self.heartbeatAge = heartbeatAge
        self.live = live
        self.leases = leases
        self.isSelf = isSelf
    }
}
