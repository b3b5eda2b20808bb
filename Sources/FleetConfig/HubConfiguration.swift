import FleetModel
import Foundation
import Yams

/// The hub's configuration (`flotilla serve --config FILE`), with documented defaults. Environment variables
/// override the file; every problem is reported at once with its line and field.
///
/// ```yaml
/// listen: 127.0.0.1:8080
/// dataDir: /var/lib/flotilla
/// clusters: [fleet/clusters.yaml]
/// applicationSets: [generators/]
/// git: {pollInterval: 60s, webhookSecret: change-me}
/// reconcile: {concurrency: 32, perCluster: 8, resync: 180s}
/// ```
public struct HubConfiguration: Sendable, Equatable {
    /// Address of the HTTP API. Default `127.0.0.1:8080`.
    public var listen: String = "127.0.0.1:8080"
    /// State directory. Default: `$FLOTILLA_DATA_DIR`, else `~/.flotilla`.
    public var dataDir: String?
    /// Clusters files loaded (and re-applied) at start.
    public var clusters: [String] = []
    /// ApplicationSet files or directories, loaded and watched. They may hold Argo CD Applications too.
    public var applicationSets: [String] = []
    /// The hub's own control plane as Applications name it (`controlPlane: {server, name}`): Applications,
    /// ApplicationSets and AppProjects rendered for it are taken by the hub (app-of-apps). Default
    /// `https://kubernetes.default.svc` / `in-cluster`, as in Argo CD.
    public var controlPlane = ControlPlane()
    /// Argo CD Application files or directories (`kind: Application`), loaded and watched; they may hold
    /// ApplicationSets too (read as `applicationSets` are).
    public var applications: [String] = []
    /// Every file or directory of ApplicationSets and Applications.
    public var definitionPaths: [String] { applicationSets + applications.filter { !applicationSets.contains($0) } }
    /// Policy files and directories (`kind: Policy`, docs/policy.md), checked on rendered manifests before a sync.
    public var policies: [String] = []
    /// Promotion files and directories (`kind: Promotion`, docs/progressive.md).
    public var promotions: [String] = []
    /// Argo CD AppProject files or directories (loaded at start and watched).
    public var projects: [String] = []
    /// Credentials per repository URL prefix.
    public var repositories: [Repository] = []
    /// Files or directories of Argo CD repository Secrets (`secret-type: repository` / `repo-creds`), loaded
    /// and watched; `repositories:` win over them for one URL.
    public var repositorySecrets: [String] = []
    /// Argo CD's Lua resource customizations the hub assesses health with (`resourceCustomizations:`).
    public var resourceCustomizations = ResourceCustomizations()
    /// The credential plugins (client-go `exec`) the hub may run for clusters (`execPlugins:`): absolute
    /// paths; none by default.
    public var execPlugins = ExecPluginPolicy.none
    /// Seconds between polls of each repository. Default 60.
    public var gitPollInterval: Double = 60
    /// Secret for webhook signatures (GitHub HMAC-SHA256, GitLab token). Nil disables the webhook.
    public var webhookSecret: String?
    /// Reconciles at once, in all. Default 32.
    public var concurrency: Int = 32
    /// Reconciles at once per cluster. Default 8.
    public var perCluster: Int = 8
    /// Seconds between full resyncs of an Application (with up to 10 % jitter). Default 180.
    public var resync: Double = 180
    /// Keep each cluster's managed objects in memory, fed by watches: reconciles read live state from it and a
    /// change on a cluster queues its Application at once. False reads the API server on every reconcile and
    /// sees drift only at the next resync. Default true.
    public var watch: Bool = true
    /// trace, debug, info, notice, warning, error or critical. Default info.
    public var logLevel: LogLevel = .info
    /// Cluster health probes, failover and failback.
    public var failover = Failover()
    /// Webhooks told about every event (failovers, failbacks, cluster state changes).
    public var notifications: [Notification] = []
    /// Authentication and RBAC of the API.
    public var auth = Auth()
    /// PEM certificate (chain) and private key: the API is served over HTTPS.
    public var tlsCert: String?
    public var tlsKey: String?
    /// Bounds on the work any one input may cause (docs/security.md, "Limits").
    public var limits = Limits()
    /// Where the hub keeps its state: SQLite in `dataDir` (the default, one replica) or PostgreSQL (several).
    public var store = Store()
    /// This replica's name among several on one PostgreSQL (default: the host name and the listen port).
    public var replicaName: String?
    /// The URL other replicas and tools reach this replica's API at (shown by `flotilla replicas`).
    public var replicaAddress: String?
    /// Lease timing for replicas: renewed every `renew`, lapsing after `duration` without renewal.
    public var lease = LeaseTiming()

    public struct Store: Sendable, Equatable {
        public var postgres: Postgres?
        public init() {}
    }

    /// A PostgreSQL store. The URL holds a password: it is read from a file (`urlFile`) or the environment, and
    /// never printed (`description` redacts it).
    public struct Postgres: Sendable, Equatable, CustomStringConvertible {
        public var url = ""
        /// The key that seals cluster credentials, the same file on every replica (default `DATADIR/secret.key`).
        public var keyFile: String?
        public var maxConnections = 16
        public init(url: String = "") { self.url = url }
        public var description: String { "Postgres(url: redacted, keyFile: \(keyFile ?? "default"), maxConnections: \(maxConnections))" }
    }

    public struct LeaseTiming: Sendable, Equatable {
        public var renew: Double = 2
        public var duration: Double = 10
        public init() {}
    }

    public struct Limits: Sendable, Equatable {
        /// Evaluation steps of one template render. Default 10,000,000.
        public var templateSteps = 10_000_000
        /// Bytes one template render may write, and one string a template function may build. Default 16 MiB.
        public var templateOutputBytes = 16 << 20
        /// Applications one ApplicationSet may generate. Default 10,000.
        public var applicationsPerApplicationSet = 10_000
        /// Seconds a preview, diff or ApplicationSet generation may run before it is stopped. Default 60.
        public var renderTimeout: Double = 60
        /// Seconds a subprocess (`kubectl kustomize`) may run before it is killed. Default 60.
        public var subprocessTimeout: Double = 60
        /// Previews and diffs served at once; more wait in a bounded queue. Default 2.
        public var concurrentRenders = 2
        /// Requests waiting for a render slot; beyond this the API answers 503. Default 32.
        public var renderQueue = 32
        /// Largest manifest (one object) applied to a cluster, in bytes. Default 1 MiB.
        public var manifestBytes = 1 << 20
        /// Hosts kustomize may load remote bases from (`resources: [https://github.com/…]`). Default none.
        public var kustomizeRemoteHosts: [String] = []
        /// Hosts besides `repositories:` that chart repositories, chart archives, chart dependencies and remote
        /// value files may be fetched from, over HTTPS only. Default none.
        public var chartRepositoryHosts: [String] = []
        /// Seconds one fetch of a source (chart index, archive, value file) may take. Default 30.
        public var fetchTimeout: Double = 30
        /// Maximum nesting of lists and maps in a template's values (`dict`, `list`, `toJson`, …). Default 1,000.
        public var templateDataDepth = 1_000
        public init() {}
    }

    public struct Auth: Sendable, Equatable {
        /// Where the first start writes the admin token (mode 0600), besides printing it once.
        public var adminTokenFile: String?
        /// `policy.csv` text (Argo CD format), from `policy` and/or `policyFile`.
        public var policy = ""
        /// The role every authenticated account has (`policy.default`); empty for none.
        public var defaultRole = ""
        public init() {}
    }

    public struct Failover: Sendable, Equatable {
        /// The hub-wide switch. Default on (for clusters that have a secondary).
        public var enabled = true
        /// Seconds between probes of each cluster's `/readyz`. Default 5.
        public var probeInterval: Double = 5
        /// Seconds a probe may take. Default 2.
        public var probeTimeout: Double = 2
        /// Consecutive failed probes that make a cluster Unreachable. Default 3.
        public var failureThreshold = 3
        /// Consecutive answered probes that make it Healthy again. Default 3.
        public var recoveryThreshold = 3
        /// Seconds a recovered cluster must stay Healthy before automatic failback. Default 60.
        public var holdDown: Double = 60
        /// Above this share of Unreachable clusters (percent), no failover starts. Default 50.
        public var maxFailoverPercent: Double = 50
        /// `auto` (default) or `manual`.
        public var failback: FailbackMode = .auto
        public init() {}
    }

    public struct Notification: Sendable, Equatable {
        public var url: String
        /// `json` (the event as JSON) or `slack` (`{"text": …}`).
        public var format: NotificationFormat
        /// Event types sent (`FailedOver`, `Sync`, `Audit`, …); empty: every event.
        public var events: [String]
        public init(url: String, format: NotificationFormat = .json, events: [String] = []) {
            self.url = url
            self.format = format
            self.events = events
        }
    }

    public struct Repository: Sendable, Equatable {
        public var url: String
        public var username: String?
        /// Password or token, read from a file at load time; never printed.
        public var password: String?
        /// Fetch this repository from another location (a local path or a mirror URL) while Applications keep
        /// naming `url`. Used by `flotilla up` for its demo repository, and for air-gapped mirrors.
        public var fetchFrom: String?

        public init(url: String, username: String? = nil, password: String? = nil, fetchFrom: String? = nil) {
            self.url = url
            self.username = username
            self.password = password
            self.fetchFrom = fetchFrom
        }
    }

    public init() {}

    static let durationBounds: ClosedRange<Double> = 1...(365 * 24 * 3600)

    /// Environment variables that override the file, and the field each sets.
    public static let environmentVariables: [(String, String)] = [
        ("FLOTILLA_LISTEN", "listen"), ("FLOTILLA_DATA_DIR", "dataDir"), ("FLOTILLA_LOG_LEVEL", "logLevel"),
        ("FLOTILLA_GIT_POLL_INTERVAL", "git.pollInterval"), ("FLOTILLA_WEBHOOK_SECRET", "git.webhookSecret"),
        ("FLOTILLA_RECONCILE_CONCURRENCY", "reconcile.concurrency"), ("FLOTILLA_RECONCILE_PER_CLUSTER", "reconcile.perCluster"),
        ("FLOTILLA_RESYNC", "reconcile.resync"), ("FLOTILLA_POSTGRES_URL", "store.postgres.url"), ("FLOTILLA_REPLICA", "replica.name"),
    ]

    /// Parses a configuration file, applies `environment`, and validates the result.
    public static func load(_ text: String, file: String?, environment: [String: String] = [:],
                            files: any FileSource = LocalFiles()) throws -> HubConfiguration {
        let reader = YAMLReader(file: file)
        let docs = try YAMLReader.documents(text, file: file)
        var config = HubConfiguration()
        let values = ConfigValues(reader: reader, files: files, base: file.flatMap(FilePaths.directory(of:)))
        var locations: [String: SourceLocation] = [:]
        if let root = docs.first, let pairs = reader.mapping(root, field: "") {
            for (key, keyNode, value) in pairs {
                locations[key] = reader.location(value)
                for (k, _, v) in (value.mapping != nil ? reader.mapping(value, field: key) ?? [] : []) { locations["\(key).\(k)"] = reader.location(v) }
                guard let section = Self.sections.first(where: { $0.name == key }) else {
                    reader.report(key, "unknown field '\(key)' (expected \(Self.sections.map(\.name).joined(separator: ", ")))", at: keyNode)
                    continue
                }
                section.load(&config, value, values)
            }
        }
        // Environment overrides.
        for (variable, field) in environmentVariables {
            guard let value = environment[variable], !value.isEmpty else { continue }
            func bad(_ what: String) {
                let shown = field == "git.webhookSecret" || field == "store.postgres.url" ? "…" : value
                reader.problems.append(FieldProblem(field: field, message: "\(variable)='\(shown)' \(what)"))
            }
            switch field {
            case "listen": config.listen = value
            case "dataDir": config.dataDir = value
            case "logLevel": if let level = LogLevel(rawValue: value) { config.logLevel = level } else { bad("is not one of \(LogLevel.allNames)") }
            case "git.webhookSecret": config.webhookSecret = value
            case "git.pollInterval": if let d = Self.parseDuration(value) { config.gitPollInterval = d } else { bad("is not a duration") }
            case "reconcile.resync": if let d = Self.parseDuration(value) { config.resync = d } else { bad("is not a duration") }
            case "reconcile.concurrency": if let i = Int(value) { config.concurrency = i } else { bad("is not an integer") }
            case "reconcile.perCluster": if let i = Int(value) { config.perCluster = i } else { bad("is not an integer") }
            case "store.postgres.url":
                var postgres = config.store.postgres ?? Postgres()
                postgres.url = value
                config.store.postgres = postgres
            case "replica.name": config.replicaName = value
            default: break
            }
        }
        var problems = reader.problems
        // Value checks point at the line of the value in the file, unless the environment set it.
        let fromEnvironment = Set(environmentVariables.filter { environment[$0.0]?.isEmpty == false }.map(\.1))
        problems += config.problems().map { p in
            var p = p
            if !fromEnvironment.contains(p.field) { p.location = locations[p.field] }
            return p
        }
        if !problems.isEmpty { throw InputError(problems) }
        return config
    }

    /// Checks that hold whatever the source of the values.
    public func problems() -> [FieldProblem] {
        var problems: [FieldProblem] = []
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count != 2 || parts[0].isEmpty || Int(parts[1]).map({ !(0...65535).contains($0) }) ?? true {
            problems.append(.init(field: "listen", message: "'\(listen)' must be HOST:PORT, e.g. 127.0.0.1:8080"))
        }
        problems += execPlugins.problems(field: "execPlugins")
        if execPlugins.timeout <= 0 { problems.append(.init(field: "execPlugins.timeout", message: "must be positive")) }
        if concurrency < 1 { problems.append(.init(field: "reconcile.concurrency", message: "must be at least 1 (got \(concurrency))")) }
        if perCluster < 1 { problems.append(.init(field: "reconcile.perCluster", message: "must be at least 1 (got \(perCluster))")) }
        if perCluster > concurrency { problems.append(.init(field: "reconcile.perCluster", message: "must not exceed reconcile.concurrency (\(perCluster) > \(concurrency))")) }
        for (field, value) in [("git.pollInterval", gitPollInterval), ("reconcile.resync", resync)] where !Self.durationBounds.contains(value) {
            problems.append(.init(field: field, message: "must be between 1s and 365 days (got \(value)s)"))
        }
        for (field, value) in [("failover.probeInterval", failover.probeInterval), ("failover.probeTimeout", failover.probeTimeout)] where !(0.05...3600).contains(value) {
            problems.append(.init(field: field, message: "must be between 50ms and 1h (got \(value)s)"))
        }
        if failover.holdDown < 0 || failover.holdDown > 86400 { problems.append(.init(field: "failover.holdDown", message: "must be between 0s and 24h")) }
        for (field, value) in [("failover.failureThreshold", failover.failureThreshold), ("failover.recoveryThreshold", failover.recoveryThreshold)] where value < 1 {
            problems.append(.init(field: field, message: "must be at least 1 (got \(value))"))
        }
        if !(0...100).contains(failover.maxFailoverPercent) {
            problems.append(.init(field: "failover.maxFailoverPercent", message: "must be between 0 and 100 (got \(Int(failover.maxFailoverPercent)))"))
        }
        for (i, n) in notifications.enumerated() {
            if let url = URLComponents(string: n.url), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false {} else if !n.url.isEmpty {
                problems.append(.init(field: "notifications[\(i)].url", message: "'\(n.url)' must be an http or https URL"))
            }
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            problems.append(.init(field: tlsCert == nil ? "tls.certFile" : "tls.keyFile", message: "give tls.certFile and tls.keyFile together"))
        }
        for (field, value) in [("limits.templateSteps", limits.templateSteps), ("limits.templateOutputBytes", limits.templateOutputBytes),
                               ("limits.applicationsPerApplicationSet", limits.applicationsPerApplicationSet),
                               ("limits.concurrentRenders", limits.concurrentRenders), ("limits.manifestBytes", limits.manifestBytes)] where value < 1 {
            problems.append(.init(field: field, message: "must be at least 1 (got \(value))"))
        }
        if limits.renderQueue < 0 { problems.append(.init(field: "limits.renderQueue", message: "must be 0 or more (got \(limits.renderQueue))")) }
        for (field, value) in [("limits.renderTimeout", limits.renderTimeout), ("limits.subprocessTimeout", limits.subprocessTimeout)]
            where !(0.1...86400).contains(value) {
            problems.append(.init(field: field, message: "must be between 100ms and 24h (got \(value)s)"))
        }
        if let postgres = store.postgres {
            if !(postgres.url.hasPrefix("postgres://") || postgres.url.hasPrefix("postgresql://")) {
                problems.append(.init(field: "store.postgres.url", message: "must be a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL (give url or urlFile)"))
            }
            if !(1...1000).contains(postgres.maxConnections) {
                problems.append(.init(field: "store.postgres.maxConnections", message: "must be between 1 and 1000 (got \(postgres.maxConnections))"))
            }
        }
        if let name = replicaName, name.isEmpty || name.count > 63 || name.contains(where: { $0.isWhitespace || $0 == "\n" }) {
            problems.append(.init(field: "replica.name", message: "must be 1 to 63 characters without spaces"))
        }
        if !(0.1...60).contains(lease.renew) { problems.append(.init(field: "lease.renew", message: "must be between 100ms and 60s (got \(lease.renew)s)")) }
        if lease.duration < 2 * lease.renew || lease.duration > 600 {
            problems.append(.init(field: "lease.duration", message: "must be at least twice lease.renew and at most 10m (got \(lease.duration)s)"))
        }
        if let secret = webhookSecret, secret.count < 8 {
            problems.append(.init(field: "git.webhookSecret", message: "is too short: use at least 8 characters"))
        }
        return problems
    }

    /// `500ms`, `30s`, `5m`, `1h`, `2d`, or a number of seconds.
    public static func parseDuration(_ text: String) -> Double? {
        for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0)] where text.hasSuffix(suffix) {
            if let n = Double(text.dropLast(suffix.count)), n >= 0 { return n * scale }
        }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }
}

extension HubConfiguration.Repository: CustomStringConvertible {
    public var description: String { "Repository(\(url), username: \(username ?? "none"), password: \(password == nil ? "none" : "redacted"))" }
}

/// A setting with a fixed set of values, read from YAML by name.
public protocol ConfigurationChoice: RawRepresentable<String>, CaseIterable, Sendable {}

extension ConfigurationChoice {
    /// The accepted names, for messages: `a, b or c`.
    public static var allNames: String {
        let names = allCases.map(\.rawValue)
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// The hub's log level (`logLevel`, `FLOTILLA_LOG_LEVEL`).
public enum LogLevel: String, ConfigurationChoice {
    case trace, debug, info, notice, warning, error, critical
}

/// Whether Applications fail back by themselves once their primary is Healthy again (`failover.failback`).
public enum FailbackMode: String, ConfigurationChoice {
    case auto, manual
}

/// The body a notification webhook receives (`notifications[].format`).
public enum NotificationFormat: String, ConfigurationChoice {
    /// The event as JSON.
    case json
    /// `{"text": "*Type* message"}`, for Slack incoming webhooks.
    case slack
}

// MARK: - One loader per section

/// Reads one value of the configuration, reporting a bad one with its field and line.
struct ConfigValues {
    let reader: YAMLReader
    let files: any FileSource
    /// The configuration file's directory: relative paths are relative to it.
    let base: String?

    func path(_ p: String) -> String { FilePaths.resolve(p, relativeTo: base) }

    func string(_ node: Node, _ field: String) -> String? { reader.string(node, field: field) }

    func duration(_ node: Node, _ field: String) -> Double? {
        guard let text = reader.string(node, field: field) else { return nil }
        guard let d = HubConfiguration.parseDuration(text) else { reader.report(field, "'\(text)' is not a duration (e.g. 30s, 5m, 1h)", at: node); return nil }
        return d
    }

    func int(_ node: Node, _ field: String) -> Int? {
        guard let text = reader.string(node, field: field) else { return nil }
        guard let i = Int(text) else { reader.report(field, "'\(text)' is not an integer", at: node); return nil }
        return i
    }

    func bool(_ node: Node, _ field: String) -> Bool? {
        switch reader.string(node, field: field) {
        case "true": return true
        case "false": return false
        case let other: reader.report(field, "'\(other ?? "")' is not true or false", at: node); return nil
        }
    }

    func choice<C: ConfigurationChoice>(_ node: Node, _ field: String) -> C? {
        guard let text = reader.string(node, field: field) else { return nil }
        guard let value = C(rawValue: text) else { reader.report(field, "'\(text)' is not one of \(C.allNames)", at: node); return nil }
        return value
    }

    /// One path or a list of paths, resolved against the configuration's directory.
    func paths(_ node: Node, _ field: String) -> [String] {
        if case .scalar = node, let one = reader.string(node, field: field) { return [path(one)] }
        return strings(node, field).map(path)
    }

    func strings(_ node: Node, _ field: String) -> [String] {
        (reader.sequence(node, field: field) ?? []).enumerated().compactMap { reader.string($0.element, field: "\(field)[\($0.offset)]") }
    }

    /// The text of a file the configuration names (secrets kept out of the configuration itself).
    func fileText(_ node: Node, _ field: String) -> String? {
        guard let p = reader.string(node, field: field) else { return nil }
        do { return String(decoding: try files.read(p, relativeTo: base), as: UTF8.self) } catch {
            reader.report(field, "\(error)", at: node)
            return nil
        }
    }

    /// A mapping read field by field through `fields` (its table); an unknown field is reported with the known ones.
    func fields<T>(_ node: Node, _ section: String, into value: inout T, _ fields: [(name: String, load: (inout T, Node, String) -> Void)]) {
        for (k, kn, v) in reader.mapping(node, field: section) ?? [] {
            let field = "\(section).\(k)"
            guard let entry = fields.first(where: { $0.name == k }) else {
                reader.report(field, "unknown field '\(k)' (expected \(fields.map(\.name).joined(separator: ", ")))", at: kn)
                continue
            }
            entry.load(&value, v, field)
        }
    }

    /// A list of mappings, each read through `fields`; `required` fields must be present.
    func list<T>(_ node: Node, _ section: String, make: () -> T, required: [(String, (T) -> Bool)],
                 _ fields: [(name: String, load: (inout T, Node, String) -> Void)]) -> [T] {
        (reader.sequence(node, field: section) ?? []).enumerated().map { i, item in
            let field = "\(section)[\(i)]"
            var value = make()
            self.fields(item, field, into: &value, fields)
            for (name, present) in required where !present(value) { reader.report("\(field).\(name)", "required field is missing", at: item) }
            return value
        }
    }
}

extension HubConfiguration {
    typealias Loader<T> = (name: String, load: (inout T, Node, String) -> Void)

    /// The configuration's sections, in the order the documentation lists them, each with its own loader.
    static let sections: [(name: String, load: @Sendable (inout HubConfiguration, Node, ConfigValues) -> Void)] = [
        ("listen", { c, v, r in c.listen = r.string(v, "listen") ?? c.listen }),
        ("dataDir", { c, v, r in c.dataDir = r.string(v, "dataDir").map(r.path) }),
        ("clusters", { c, v, r in c.clusters = r.paths(v, "clusters") }),
        ("applicationSets", { c, v, r in c.applicationSets = r.paths(v, "applicationSets") }),
        ("applications", { c, v, r in c.applications = r.paths(v, "applications") }),
        ("controlPlane", { c, v, r in r.fields(v, "controlPlane", into: &c.controlPlane, controlPlaneFields(r)) }),
        ("policies", { c, v, r in c.policies = r.paths(v, "policies") }),
        ("promotions", { c, v, r in c.promotions = r.paths(v, "promotions") }),
        ("projects", { c, v, r in c.projects = r.paths(v, "projects") }),
        ("repositories", { c, v, r in c.repositories = repositories(v, r) }),
        ("repositorySecrets", { c, v, r in c.repositorySecrets = r.paths(v, "repositorySecrets") }),
        ("resourceCustomizations", { c, v, r in r.fields(v, "resourceCustomizations", into: &c.resourceCustomizations, resourceCustomizationFields(r)) }),
        ("execPlugins", { c, v, r in r.fields(v, "execPlugins", into: &c.execPlugins, execPluginFields(r)) }),
        ("git", { c, v, r in r.fields(v, "git", into: &c, gitFields(r)) }),
        ("reconcile", { c, v, r in r.fields(v, "reconcile", into: &c, reconcileFields(r)) }),
        ("failover", { c, v, r in r.fields(v, "failover", into: &c.failover, failoverFields(r)) }),
        ("notifications", { c, v, r in c.notifications = notifications(v, r) }),
        ("auth", { c, v, r in r.fields(v, "auth", into: &c.auth, authFields(r)) }),
        ("tls", { c, v, r in r.fields(v, "tls", into: &c, tlsFields(r)) }),
        ("limits", { c, v, r in r.fields(v, "limits", into: &c.limits, limitsFields(r)) }),
        ("logLevel", { c, v, r in c.logLevel = r.choice(v, "logLevel") ?? c.logLevel }),
        ("store", { c, v, r in r.fields(v, "store", into: &c.store, storeFields(r)) }),
        ("replica", { c, v, r in r.fields(v, "replica", into: &c, replicaFields(r)) }),
        ("lease", { c, v, r in r.fields(v, "lease", into: &c.lease, leaseFields(r)) }),
    ]

    static func storeFields(_ r: ConfigValues) -> [Loader<Store>] {
        [
            ("postgres", { c, v, f in
                var postgres = c.postgres ?? Postgres()
                r.fields(v, f, into: &postgres, [
                    ("url", { p, v, f in p.url = r.string(v, f) ?? "" }),
                    ("urlFile", { p, v, f in if let text = r.fileText(v, f) { p.url = text.trimmingCharacters(in: .whitespacesAndNewlines) } }),
                    ("keyFile", { p, v, f in p.keyFile = r.string(v, f).map(r.path) }),
                    ("maxConnections", { p, v, f in p.maxConnections = r.int(v, f) ?? p.maxConnections }),
                ])
                c.postgres = postgres
            }),
        ]
    }

    static func replicaFields(_ r: ConfigValues) -> [Loader<HubConfiguration>] {
        [
            ("name", { c, v, f in c.replicaName = r.string(v, f) }),
            ("address", { c, v, f in c.replicaAddress = r.string(v, f) }),
        ]
    }

    static func leaseFields(_ r: ConfigValues) -> [Loader<LeaseTiming>] {
        [
            ("renew", { c, v, f in c.renew = r.duration(v, f) ?? c.renew }),
            ("duration", { c, v, f in c.duration = r.duration(v, f) ?? c.duration }),
        ]
    }

    static func gitFields(_ r: ConfigValues) -> [Loader<HubConfiguration>] {
        [
            ("pollInterval", { c, v, f in c.gitPollInterval = r.duration(v, f) ?? c.gitPollInterval }),
            ("webhookSecret", { c, v, f in c.webhookSecret = r.string(v, f) }),
            ("webhookSecretFile", { c, v, f in if let text = r.fileText(v, f) { c.webhookSecret = text.trimmingCharacters(in: .whitespacesAndNewlines) } }),
        ]
    }

    static func reconcileFields(_ r: ConfigValues) -> [Loader<HubConfiguration>] {
        [
            ("concurrency", { c, v, f in c.concurrency = r.int(v, f) ?? c.concurrency }),
            ("perCluster", { c, v, f in c.perCluster = r.int(v, f) ?? c.perCluster }),
            ("resync", { c, v, f in c.resync = r.duration(v, f) ?? c.resync }),
            ("watch", { c, v, f in c.watch = r.bool(v, f) ?? c.watch }),
        ]
    }

    static func resourceCustomizationFields(_ r: ConfigValues) -> [Loader<ResourceCustomizations>] {
        [
            ("directories", { c, v, f in c.directories = r.paths(v, f) }),
            ("health", { c, v, f in c.health = r.reader.stringMap(v, field: f) }),
        ]
    }

    static func execPluginFields(_ r: ConfigValues) -> [Loader<ExecPluginPolicy>] {
        [
            ("allowed", { c, v, f in c.allowed = r.strings(v, f) }),
            ("timeout", { c, v, f in c.timeout = r.duration(v, f) ?? c.timeout }),
        ]
    }

    static func controlPlaneFields(_ r: ConfigValues) -> [Loader<ControlPlane>] {
        [
            ("server", { c, v, f in c.server = r.string(v, f) ?? c.server }),
            ("name", { c, v, f in c.name = r.string(v, f) ?? c.name }),
        ]
    }

    static func failoverFields(_ r: ConfigValues) -> [Loader<Failover>] {
        [
            ("enabled", { c, v, f in c.enabled = r.bool(v, f) ?? c.enabled }),
            ("probeInterval", { c, v, f in c.probeInterval = r.duration(v, f) ?? c.probeInterval }),
            ("probeTimeout", { c, v, f in c.probeTimeout = r.duration(v, f) ?? c.probeTimeout }),
            ("failureThreshold", { c, v, f in c.failureThreshold = r.int(v, f) ?? c.failureThreshold }),
            ("recoveryThreshold", { c, v, f in c.recoveryThreshold = r.int(v, f) ?? c.recoveryThreshold }),
            ("holdDown", { c, v, f in c.holdDown = r.duration(v, f) ?? c.holdDown }),
            ("maxFailoverPercent", { c, v, f in c.maxFailoverPercent = r.int(v, f).map(Double.init) ?? c.maxFailoverPercent }),
            ("failback", { c, v, f in c.failback = r.choice(v, f) ?? c.failback }),
        ]
    }

    static func limitsFields(_ r: ConfigValues) -> [Loader<Limits>] {
        [
            ("templateSteps", { c, v, f in c.templateSteps = r.int(v, f) ?? c.templateSteps }),
            ("templateOutputBytes", { c, v, f in c.templateOutputBytes = r.int(v, f) ?? c.templateOutputBytes }),
            ("applicationsPerApplicationSet", { c, v, f in c.applicationsPerApplicationSet = r.int(v, f) ?? c.applicationsPerApplicationSet }),
            ("renderTimeout", { c, v, f in c.renderTimeout = r.duration(v, f) ?? c.renderTimeout }),
            ("subprocessTimeout", { c, v, f in c.subprocessTimeout = r.duration(v, f) ?? c.subprocessTimeout }),
            ("concurrentRenders", { c, v, f in c.concurrentRenders = r.int(v, f) ?? c.concurrentRenders }),
            ("renderQueue", { c, v, f in c.renderQueue = r.int(v, f) ?? c.renderQueue }),
            ("manifestBytes", { c, v, f in c.manifestBytes = r.int(v, f) ?? c.manifestBytes }),
            ("kustomizeRemoteHosts", { c, v, f in c.kustomizeRemoteHosts = r.strings(v, f) }),
            ("chartRepositoryHosts", { c, v, f in c.chartRepositoryHosts = r.strings(v, f) }),
            ("fetchTimeout", { c, v, f in c.fetchTimeout = r.duration(v, f) ?? c.fetchTimeout }),
            ("templateDataDepth", { c, v, f in c.templateDataDepth = r.int(v, f) ?? c.templateDataDepth }),
        ]
    }

    static func tlsFields(_ r: ConfigValues) -> [Loader<HubConfiguration>] {
        [
            ("certFile", { c, v, f in c.tlsCert = r.string(v, f).map(r.path) }),
            ("keyFile", { c, v, f in c.tlsKey = r.string(v, f).map(r.path) }),
        ]
    }

    static func authFields(_ r: ConfigValues) -> [Loader<Auth>] {
        [
            ("adminTokenFile", { c, v, f in c.adminTokenFile = r.string(v, f).map(r.path) }),
            ("policy", { c, v, f in c.policy += (r.string(v, f) ?? "") + "\n" }),
            ("policyFile", { c, v, f in if let text = r.fileText(v, f) { c.policy += text + "\n" } }),
            ("defaultRole", { c, v, f in c.defaultRole = r.string(v, f) ?? "" }),
        ]
    }

    static func notifications(_ node: Node, _ r: ConfigValues) -> [Notification] {
        r.list(node, "notifications", make: { Notification(url: "") }, required: [("url", { !$0.url.isEmpty })], [
            ("url", { n, v, f in n.url = r.string(v, f) ?? "" }),
            ("format", { n, v, f in n.format = r.choice(v, f) ?? n.format }),
            ("events", { n, v, f in n.events = r.strings(v, f) }),
        ])
    }

    static func repositories(_ node: Node, _ r: ConfigValues) -> [Repository] {
        r.list(node, "repositories", make: { Repository(url: "") }, required: [("url", { !$0.url.isEmpty })], [
            ("url", { repo, v, f in repo.url = r.string(v, f) ?? "" }),
            ("username", { repo, v, f in repo.username = r.string(v, f) }),
            ("passwordFile", { repo, v, f in if let text = r.fileText(v, f) { repo.password = text.trimmingCharacters(in: .whitespacesAndNewlines) } }),
            ("tokenFile", { repo, v, f in
                if let text = r.fileText(v, f) { repo.password = text.trimmingCharacters(in: .whitespacesAndNewlines) }
                if repo.username == nil { repo.username = "x-access-token" }
            }),
            ("fetchFrom", { repo, v, f in if let from = r.string(v, f) { repo.fetchFrom = from.contains("://") ? from : r.path(from) } }),
        ])
    }
}

/// Argo CD's Lua resource customizations for health: directories in Argo CD's `resource_customizations` layout
/// (`GROUP/KIND/health.lua`, `_` a wildcard — Argo CD's own collection can be named here) and scripts by
/// `GROUP/KIND` (as `resource.customizations.health.<group>_<kind>` in `argocd-cm`), which win.
public struct ResourceCustomizations: Sendable, Equatable {
    public var directories: [String] = []
    /// `GROUP/KIND` (`cert-manager.io/Certificate`; the core group empty: `/Pod`) → the health.lua script.
    public var health: [String: String] = [:]
    public init() {}
}
