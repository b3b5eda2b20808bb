import FleetAuth
import FleetConfig
import FleetLua
import FleetModel
import FleetPolicy
import FleetPostgres
import FleetStore
import FleetTemplate
import Foundation
import FleetReconcile
import Logging
import NIOConcurrencyHelpers

/// What every controller of the hub shares: the configuration, the stores, metrics, the logger and the clock.
/// Controllers own their state; the context owns only what they all read.
public final class HubContext: Sendable {
    public let config: HubConfiguration
    public let logger: Logger
    public let clusterStore: any ClusterStore
    public let store: any ApplicationStore
    public let authStore: any AuthStore
    /// The PostgreSQL store when the hub runs as one of several replicas (`store.postgres`); nil on SQLite.
    public let postgres: PostgresHubStore?
    /// What this replica holds: every cluster and the generation on SQLite, its leases on PostgreSQL.
    public let shard: Shard
    public let metrics = HubMetrics()
    /// Decoded summaries of Applications for the list route.
    let summaries = SummaryCache()
    /// Every Application's status in memory, for the dashboard.
    let board = LiveBoard()
    /// The ApplicationSets' rollout strategies.
    let rollouts = RolloutBook()
    /// The dashboard's live streams open per account.
    let liveStreams = NIOLockedValueBox<[String: Int]>([:])
    /// The policies of `config.policies` (docs/policy.md): read at start, and again when their files change.
    public var policies: [Policy] { livePolicies.withLockedValue { $0.items } }
    /// The promotions of `config.promotions` (docs/progressive.md): read at start, and again when their files change.
    public var promotions: [Promotion] { livePromotions.withLockedValue { $0.items } }
    /// What was read, with the texts it was read from (a change of the texts reads them again).
    private let livePolicies: NIOLockedValueBox<(items: [Policy], texts: [String: String])>
    private let livePromotions: NIOLockedValueBox<(items: [Promotion], texts: [String: String])>
    private let liveRepositorySecrets: NIOLockedValueBox<(items: [RepositorySecret], texts: [String: String])>
    /// Argo CD repository Secrets in force (`repositorySecrets:`).
    var repositorySecrets: RepositoryCredentialBook { RepositoryCredentialBook(liveRepositorySecrets.withLockedValue { $0.items }) }
    /// Bumped each time the policies are read again (reconciles remembered under the old ones do not hold).
    var policyGeneration: UInt64 { policyGenerationBox.withLockedValue { $0 } }
    private let policyGenerationBox = NIOLockedValueBox<UInt64>(0)
    /// When each Application was last reconciled (its stored status keeps the last time it changed). A lock of
    /// its own: every list of Applications reads it, while reconciles write it.
    let reconciledAt = NIOLockedValueBox<[String: String]>([:])
    /// The clock the loops wait on and every timestamp reads (a manual one in tests).
    public let clock: any HubClock
    /// Now, on `clock`.
    let now: @Sendable () -> Date
    /// Argo CD's Lua health checks of `resourceCustomizations` (nil when none is configured).
    let healthChecks: LuaHealthChecks?
    /// Opens once the hub has loaded: the services' loops wait here.
    let loaded = Gate()
    /// Set when a graceful shutdown begins (read by every render's cancellation check).
    private let stopping = NIOLockedValueBox(false)

    /// Opens the hub's database in `dataDir` once, for every store, on the wall clock unless told otherwise.
    public convenience init(config: HubConfiguration, dataDir: URL, logger: Logger, clock: any HubClock = SystemClock()) throws {
        try self.init(config: config, stores: try HubStores.open(config: config, dataDir: dataDir, logger: logger), clock: clock, logger: logger)
    }

    /// A context over stores and a clock of the caller's (tests run the hub on in-memory stores and a manual clock).
    public init(config: HubConfiguration, stores: HubStores, clock: any HubClock, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.clock = clock
        now = { clock.now() }
        let policies = try Self.loadPolicies(config.policies)
        livePolicies = NIOLockedValueBox((policies, Self.texts(config.policies)))
        livePromotions = NIOLockedValueBox((try Self.loadPromotions(config.promotions), Self.texts(config.promotions)))
        liveRepositorySecrets = NIOLockedValueBox((try Self.loadRepositorySecrets(config.repositorySecrets), Self.texts(config.repositorySecrets)))
        if !policies.isEmpty { logger.info("policies: \(policies.map { "\($0.name) (\($0.enforcement.rawValue))" }.joined(separator: ", "))") }
        let customizations = config.resourceCustomizations
        do {
            let checks = try LuaHealthChecks(inline: customizations.health, directories: customizations.directories)
            healthChecks = checks.isEmpty ? nil : checks
        } catch {
            throw HubError(.invalid, "resourceCustomizations: \(error)")
        }
        if let healthChecks { logger.info("Lua health checks: \(healthChecks.exact.count) kinds, \(healthChecks.wildcards.count) wildcard patterns") }
        clusterStore = stores.clusters
        store = stores.applications
        authStore = stores.auth
        postgres = stores.postgres
        if stores.postgres != nil {
            shard = Shard(replica: Self.replicaName(config), settings: LeaseSettings(renew: config.lease.renew, duration: config.lease.duration))
        } else {
            shard = Shard()
        }
    }

    /// `replica.name`, else the host name and the listen port (unique per machine, stable across restarts).
    static func replicaName(_ config: HubConfiguration) -> String {
        if let name = config.replicaName { return name }
        let port = config.listen.split(separator: ":").last.map(String.init) ?? "0"
        return ProcessInfo.processInfo.hostName + ":" + port
    }

    /// Seconds since 1970 on the context's clock (cluster health and placement ages).
    var seconds: Double { now().timeIntervalSince1970 }

    var isStopping: Bool { stopping.withLockedValue { $0 } }

    /// A graceful shutdown started: previews, diffs and generations stop at their next checkpoint.
    func beginStopping() { stopping.withLockedValue { $0 = true } }

    /// The template limits of one generation or preview: the configured bounds, the render timeout from now,
    /// and cancellation when the hub stops or `isCancelled` says so (the client left).
    func renderLimits(isCancelled: (@Sendable () -> Bool)? = nil) -> TemplateLimits {
        let stopping = self.stopping
        return TemplateLimits(maxSteps: config.limits.templateSteps, maxOutputBytes: config.limits.templateOutputBytes,
                              maxValueBytes: config.limits.templateOutputBytes, maxDataDepth: config.limits.templateDataDepth,
                              deadline: .now + .milliseconds(Int(config.limits.renderTimeout * 1000)),
                              isCancelled: { stopping.withLockedValue { $0 } || (isCancelled?() ?? false) })
    }

    /// Forgets what is kept in memory of a deleted Application.
    func forget(application name: String) {
        metrics.forget(app: name)
        reconciledAt.withLockedValue { _ = $0.removeValue(forKey: name) }
    }

    static func timestamp(_ date: Date) -> String { Timestamp.rfc3339(date, milliseconds: true) }

    /// The sources of an Application object (`spec.sources`, else `spec.source`).
    static func sources(of object: JSONValue) -> [JSONValue] {
        let spec = object["spec"] ?? .object([])
        return spec["sources"]?.arrayValue ?? spec["source"].map { [$0] } ?? []
    }

    /// The registered cluster an Application deploys to (by destination name, else server).
    static func cluster(of object: JSONValue, in clusters: [Cluster], controlPlane: ControlPlane? = nil) -> String? {
        if let name = object.value(at: ["spec", "destination", "name"])?.stringValue, clusters.contains(where: { $0.name == name }) { return name }
        if let server = object.value(at: ["spec", "destination", "server"])?.stringValue.map(Cluster.normalizeServer),
           let hit = clusters.first(where: { $0.server == server }) {
            return hit.name
        }
        if let controlPlane, controlPlane.isDestination(object) { return controlPlane.name }
        return nil
    }

    /// The control plane as a destination of its own: when no cluster is registered at its server or under its
    /// name, Applications sent there are the hub's alone (app-of-apps parents). Nil when a cluster is registered
    /// there (Applications for it are that cluster's, and the hub still takes their argoproj.io objects).
    func hubOnlyControlPlane(_ clusters: [Cluster]) -> ControlPlane? {
        let plane = config.controlPlane
        let server = Cluster.normalizeServer(plane.server)
        return clusters.contains { $0.server == server || $0.name == plane.name } ? nil : plane
    }

    /// `.yaml`/`.yml` files of the given files and directories (not hidden ones), directories' entries sorted.
    static func yamlFiles(_ paths: [String]) -> [String] { yamlFileList(paths).files }

    /// The YAML files of `paths` (files, or directories listed one level deep), and the directories that exist but
    /// could not be listed (out of file descriptors, an I/O error): what they hold is unknown, not gone.
    /// The texts of the YAML files in `paths` (files, or directories of *.yaml), for `what` (its configuration
    /// field): a path that does not exist or cannot be read stops the start, named.
    static func yamlTexts(_ paths: [String], what: String) throws -> [(file: String, text: String)] {
        let (files, unlisted) = yamlFileList(paths)
        if let dir = unlisted.first { throw HubError(.invalid, "\(what): cannot list \(dir)") }
        for path in paths where !FileManager.default.fileExists(atPath: path) { throw HubError(.invalid, "\(what): \(path) does not exist") }
        return try files.map { file in
            do { return (file, try String(contentsOfFile: file, encoding: .utf8)) } catch {
                throw HubError(.invalid, "\(what): cannot read \(file): \(error.localizedDescription)")
            }
        }
    }

    /// The texts of the YAML files of `paths` as they are now (unreadable ones left out: a change is then a change).
    static func texts(_ paths: [String]) -> [String: String] {
        var texts: [String: String] = [:]
        // try? is right here: an unreadable file has no text, which differs from the one read before; reading the
        // files again then reports the error.
        for file in yamlFileList(paths).files { texts[file] = try? String(contentsOfFile: file, encoding: .utf8) }
        return texts
    }

    /// Reads the policy and promotion files again when their texts changed. A file that no longer parses keeps
    /// what was read before, and the error names it (logged, counted); returns whether the policies changed (every
    /// Application is then checked against them again).
    func reloadPoliciesAndPromotions() -> Bool {
        var policiesChanged = false
        if let read = reread(livePolicies, config.policies, "policies", Self.loadPolicies) {
            policyGenerationBox.withLockedValue { $0 &+= 1 }
            policiesChanged = true
            logger.info("policies read again: \(read.map { "\($0.name) (\($0.enforcement.rawValue))" }.joined(separator: ", "))")
        }
        if let read = reread(livePromotions, config.promotions, "promotions", Self.loadPromotions) {
            logger.info("promotions read again: \(read.map(\.name).joined(separator: ", "))")
        }
        return policiesChanged
    }

    /// The repository Secrets again when their files changed and parse; nil otherwise (a file that no longer
    /// parses is reported once, and the Secrets read before stay in force).
    func reloadRepositorySecrets() -> RepositoryCredentialBook? {
        guard let read = reread(liveRepositorySecrets, config.repositorySecrets, "repository Secrets", Self.loadRepositorySecrets) else { return nil }
        logger.info("repository Secrets read again: \(read.map(\.description).joined(separator: ", "))")
        return RepositoryCredentialBook(read)
    }

    /// The Argo CD repository Secrets in `paths`; a file that does not parse stops the start, named with the
    /// Secret and field. One URL in two Secrets of one kind is refused.
    public static func loadRepositorySecrets(_ paths: [String]) throws -> [RepositorySecret] {
        let secrets = try yamlTexts(paths, what: "repositorySecrets").flatMap { try RepositorySecret.parse($0.text, file: $0.file) }
        for (i, s) in secrets.enumerated() {
            if let other = secrets[..<i].first(where: { $0.kind == s.kind && RepositoryURL.matchKey($0.url) == RepositoryURL.matchKey(s.url) }) {
                throw HubError(.invalid, "repositorySecrets: \(s.url) is the url of Secret \(other.secretName) and of Secret \(s.secretName)")
            }
        }
        return secrets
    }

    /// What `paths` hold now when their texts changed since `live` was read and they parse (then kept in `live`);
    /// nil otherwise — a file that no longer parses is reported once and `live` keeps what it had.
    private func reread<Item>(_ live: NIOLockedValueBox<(items: [Item], texts: [String: String])>, _ paths: [String], _ what: String,
                              _ load: ([String]) throws -> [Item]) -> [Item]? {
        guard !paths.isEmpty else { return nil }
        let now = Self.texts(paths)
        guard now != live.withLockedValue({ $0.texts }) else { return nil }
        let read: [Item]
        do { read = try load(paths) } catch {
            logger.error("cannot read the \(what) again (the ones read before stay): \(error)")
            metrics.observeError(.file)
            live.withLockedValue { $0.texts = now }   // reported once, not every 2 s
            do { try store.appendEvent(HubEvent(.configurationRejected, message: "\(what) not applied; the ones read before stay in force: \(error)")) } catch {
                logger.error("cannot record a ConfigurationRejected event: \(error)")
            }
            return nil
        }
        live.withLockedValue { $0 = (read, now) }
        return read
    }

    /// The policies in `paths`. A file that does not parse stops the start, named with the field; two policies of
    /// one name are refused.
    public static func loadPolicies(_ paths: [String]) throws -> [Policy] {
        let policies = try yamlTexts(paths, what: "policies").flatMap { try Policy.parse($0.text, file: $0.file) }
        for (i, p) in policies.enumerated() {
            if let other = policies[..<i].first(where: { $0.name == p.name }) {
                throw HubError(.invalid, "policies: \(p.name) is defined in \(other.file ?? "?") and in \(p.file ?? "?")")
            }
        }
        return policies
    }

    /// The promotions in `paths`, read as policies are; an ApplicationSet is in one promotion at most.
    public static func loadPromotions(_ paths: [String]) throws -> [Promotion] {
        var promotions: [Promotion] = []
        for (file, text) in try yamlTexts(paths, what: "promotions") {
            for doc in try YAMLValue.documents(text, file: file) where doc != .null {
                let promotion: Promotion
                do { promotion = try Promotion.parse(doc, file: file) } catch let error as InputError { throw HubError(.invalid, "\(file): \(error)") }
                for (i, stage) in promotion.stages.enumerated() {
                    guard let window = stage.window else { continue }
                    do { _ = try CronSchedule(window.schedule) } catch {
                        throw HubError(.invalid, "\(file): Promotion \(promotion.name): spec.stages[\(i)].window.schedule: \(error)")
                    }
                }
                promotions.append(promotion)
            }
        }
        for (i, p) in promotions.enumerated() {
            if promotions[..<i].contains(where: { $0.name == p.name }) { throw HubError(.invalid, "promotions: \(p.name) is defined twice") }
            if promotions[..<i].contains(where: { $0.applicationSet == p.applicationSet }) {
                throw HubError(.invalid, "promotions: ApplicationSet \(p.applicationSet) is in two promotions")
            }
        }
        return promotions
    }

    static func yamlFileList(_ paths: [String]) -> (files: [String], unlisted: [String]) {
        var files: [String] = []
        var unlisted: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue { files.append(path); continue }
            let names: [String]
            do { names = try fm.contentsOfDirectory(atPath: path) } catch {
                unlisted.append(path)   // named by the caller
                continue
            }
            for name in names.sorted() where (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !name.hasPrefix(".") {
                files.append(path.hasSuffix("/") ? path + name : path + "/" + name)
            }
        }
        return (files, unlisted)
    }
}

/// The stores a hub works on: the cluster registry, Applications (with their history, events and cluster
/// states) and accounts. `open` opens the configured database; tests pass in-memory ones.
public struct HubStores: Sendable {
    public let clusters: any ClusterStore
    public let applications: any ApplicationStore
    public let auth: any AuthStore
    /// The PostgreSQL store when the hub runs as one of several replicas (`store.postgres`); nil otherwise.
    public let postgres: PostgresHubStore?

    public init(clusters: any ClusterStore, applications: any ApplicationStore, auth: any AuthStore) {
        self.init(clusters: clusters, applications: applications, auth: auth, postgres: nil)
    }

    private init(clusters: any ClusterStore, applications: any ApplicationStore, auth: any AuthStore, postgres: PostgresHubStore?) {
        self.clusters = clusters
        self.applications = applications
        self.auth = auth
        self.postgres = postgres
    }

    /// The configured database: PostgreSQL (`store.postgres`), else SQLite in `dataDir`, opened once for every store.
    public static func open(config: HubConfiguration, dataDir: URL, logger: Logger) throws -> HubStores {
        guard let settings = config.store.postgres else {
            let sqlite = try SQLiteClusterStore(directory: dataDir)
            return HubStores(clusters: sqlite, applications: SQLiteApplicationStore(sharing: sqlite), auth: SQLiteAuthStore(sharing: sqlite))
        }
        let url: PostgresURL
        do { url = try PostgresURL(parsing: settings.url) } catch { throw HubError(.invalid, "store.postgres.url: \(error)") }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let replica = HubContext.replicaName(config)
        let postgres = try PostgresHubStore(url: url, keyFile: settings.keyFile ?? dataDir.appendingPathComponent("secret.key").path, replica: replica,
                                            maxConnections: settings.maxConnections,
                                            idleInTransaction: max(1, config.lease.duration / 2), logger: logger)
        logger.info("store: PostgreSQL at \(url.redacted), replica \(replica)")
        return HubStores(clusters: postgres.clusters, applications: postgres.applications, auth: postgres.auth, postgres: postgres)
    }
}

/// An error of the hub, by kind: the API maps the kind to an HTTP status (and a Kubernetes-style reason) at the
/// edge, and callers decide by `code`, never by the words of the message.
public struct HubError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case badRequest = "BadRequest"
        case unauthorized = "Unauthorized"
        case forbidden = "Forbidden"
        case notFound = "NotFound"
        case conflict = "Conflict"
        case invalid = "Invalid"
        case tooManyRequests = "TooManyRequests"
        case internalError = "InternalError"
        case unavailable = "ServiceUnavailable"

        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .invalid: 422
            case .tooManyRequests: 429
            case .internalError: 500
            case .unavailable: 503
            }
        }
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    /// The HTTP status the API answers with.
    public var status: Int { code.httpStatus }
    public var description: String { message }
}

/// A value a closure sets and its caller reads afterwards. `lock` guards `value`.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ new: Value) { lock.withLock { value = new } }
    func get() -> Value { lock.withLock { value } }
}

extension HubContext {
    /// A cluster whose credential plugin the hub's operator did not allow (`execPlugins.allowed`) is refused,
    /// naming the command: a cluster Secret or an API body cannot make the hub run a program of its choosing.
    func checkExecPlugins(_ entries: [ClusterEntry]) throws {
        let problems = entries.compactMap { entry -> FieldProblem? in
            guard let exec = entry.cluster.credentials.exec else { return nil }
            do { _ = try config.execPlugins.resolve(exec.command) } catch {
                return FieldProblem(field: "\(entry.cluster.name).exec.command", message: "\(error)", location: entry.location)
            }
            return nil
        }
        if !problems.isEmpty { throw InputError(problems) }
    }
}
