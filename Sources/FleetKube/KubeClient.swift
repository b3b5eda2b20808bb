import FleetConfig
import FleetModel
import Foundation

/// A resource the API server serves, from discovery.
public struct APIResource: Sendable, Hashable {
    public let group: String
    public let version: String
    public let kind: String
    public let name: String
    public let namespaced: Bool
    public let verbs: [String]

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var basePath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The URL path of the collection (and of an object, with `name`).
    public func path(namespace: String?, name: String? = nil) -> String {
        var p = basePath
        if namespaced, let namespace { p += "/namespaces/\(Self.escape(namespace))" }
        p += "/\(self.name)"
        if let name { p += "/\(Self.escape(name))" }
        return p
    }

    static let pathSegmentAllowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))

    /// A path segment, percent-encoded. Kubernetes names (lower-case letters, digits, `-` and `.`) need none and
    /// are returned as they are without building a new string.
    static func escape(_ s: String) -> String {
        if s.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x5F }) {
            return s
        }
        return s.addingPercentEncoding(withAllowedCharacters: pathSegmentAllowed) ?? s
    }
}

/// A client for one cluster's Kubernetes API: discovery (cached, refreshed when a kind is unknown),
/// get/list/delete, server-side apply. Thread-safe; requests may run concurrently.
public final class KubeClient: @unchecked Sendable {
    public let cluster: Cluster
    let transport: HTTPTransport

    // `lock` guards `resources`, `managed` and `attachedCache`.
    private let lock = NSLock()
    private var resources: [APIResource]?
    private var managed: (kinds: Set<String>, at: Double)?

    /// How long the set of kinds that hold managed objects is trusted before it is listed again (seconds).
    public var managedKindsMaxAge: Double = 300

    /// Asked before every request that changes the cluster (anything but GET): false refuses it with `.fenced`
    /// (hub replicas: the cluster's lease moved on, possibly while this process was paused mid-sync). Set once,
    /// before the client is shared.
    public var mayWrite: (@Sendable () -> Bool)?

    /// The largest answer read from a cluster. Lists are read in pages (500 objects) and etcd keeps no object
    /// past 1.5 MiB, so a larger answer is a broken or hostile server, refused before it fills the hub's memory.
    public static let maxResponseBytes = 256 << 20

    /// - Parameter execPlugins: the credential plugins this process may run (a cluster whose credentials name
    ///   another one gets `unauthorized` errors naming it).
    public init(cluster: Cluster, timeout: Double = 30, execPlugins: ExecPluginPolicy = .none) {
        self.cluster = cluster
        self.transport = HTTPTransport(server: cluster.server, credentials: cluster.credentials, timeout: timeout,
                                       maxBodyBytes: Self.maxResponseBytes, cluster: cluster.name, execPlugins: execPlugins)
    }

    // MARK: - Raw requests

    func send(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, object: String) throws -> HTTPResponse {
        if method != "GET", let mayWrite, !mayWrite() {
            throw KubeError(code: .fenced, cluster: cluster.name, object: object,
                            message: "not sent: this hub replica no longer holds the lease of cluster \(cluster.name)", causes: [], status: 0)
        }
        do {
            return try transport.request(method, path, body: body, contentType: contentType)
        } catch let e as TransportError {
            throw KubeError.transport(e, cluster: cluster.name, object: object)
        }
    }

    func json(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, object: String) throws -> JSONValue {
        let response = try send(method, path, body: body, contentType: contentType, object: object)
        guard (200..<300).contains(response.status) else { throw KubeError.from(response, cluster: cluster.name, object: object) }
        do { return try JSONParser.parse(response.text) } catch {
            throw KubeError(code: .other, cluster: cluster.name, object: object, message: "the server's answer is not JSON: \(error)", causes: [], status: response.status)
        }
    }

    /// One request passed through as it is (the hub's cluster proxy): the caller decides what the answer means.
    /// Not fenced by `mayWrite`: the lease fences the hub's own syncs, not what an operator sends on purpose.
    public func forward(_ method: String, _ path: String, body: [UInt8]?, contentType: String?, accept: String) throws -> HTTPResponse {
        do {
            return try transport.request(method, path, body: body, contentType: contentType, accept: accept)
        } catch let e as TransportError {
            throw KubeError.transport(e, cluster: cluster.name, object: path)
        }
    }

    /// Ends the requests in flight to this cluster and refuses later ones (a cluster found dead); its cache stops.
    public func abortAll() {
        transport.abortAll()
        cache?.stop()
    }

    private var attachedCache: ClusterCache?
    /// Flotilla's objects on this cluster kept by watches; inventories read it when it is synced.
    public var cache: ClusterCache? {
        get { lock.withLock { attachedCache } }
        set { lock.withLock { attachedCache = newValue } }
    }

    /// `GET /version`.
    public func version() throws -> JSONValue { try json("GET", "/version", object: "") }

    private var cachedServerVersion: String?

    /// The server's version as `1.29.3` (from `gitVersion`), asked once per client; nil when it does not answer.
    public func serverVersion() -> String? {
        if let v = lock.withLock({ cachedServerVersion }) { return v }
        guard let v = try? version()["gitVersion"]?.stringValue else { return nil }
        var text = v.hasPrefix("v") ? String(v.dropFirst()) : v
        if let plus = text.firstIndex(where: { $0 == "+" || $0 == "-" }) { text = String(text[..<plus]) }
        lock.withLock { cachedServerVersion = text }
        return text
    }

    /// `GET /readyz`, falling back to `/version`; true when the API server answers 200.
    public func ready() throws -> Bool {
        let response = try send("GET", "/readyz", object: "")
        if response.status == 404 { return (try? version()) != nil }
        if response.status == 401 || response.status == 403 { throw KubeError.from(response, cluster: cluster.name, object: "/readyz") }
        return response.status == 200
    }

    // MARK: - Discovery

    /// Every resource the server serves (subresources excluded). Cached; `refresh` asks again.
    public func discover(refresh: Bool = false) throws -> [APIResource] {
        if !refresh, let cached = lock.withLock({ resources }) { return cached }
        var found: [APIResource] = []
        let groups = try json("GET", "/apis", object: "discovery")
        for (group, version) in KubeDecoding.groupVersions(groups) {
            let path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
            found += KubeDecoding.resources(try json("GET", path, object: "discovery \(path)"), group: group, version: version)
        }
        lock.withLock { resources = found }
        return found
    }

    /// The resource for an apiVersion and kind; discovery is refreshed once when the kind is unknown
    /// (a CustomResourceDefinition applied since).
    public func resource(apiVersion: String, kind: String) throws -> APIResource {
        let parts = apiVersion.split(separator: "/").map(String.init)
        let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts.first ?? "")
        func find(_ list: [APIResource]) -> APIResource? { list.first { $0.group == group && $0.version == version && $0.kind == kind } }
        if let hit = find(try discover()) { return hit }
        if let hit = find(try discover(refresh: true)) { return hit }
        throw KubeError(code: .unknownKind, cluster: cluster.name, object: "\(kind) (\(apiVersion))",
                        message: "the server does not serve kind \(kind) in \(apiVersion) (is its CustomResourceDefinition applied?)", causes: [], status: 0)
    }

    // MARK: - Kinds that hold managed objects

    /// `group/kind` of a resource, the key of `managedKinds`.
    public static func kindKey(group: String, kind: String) -> String { "\(group)/\(kind)" }

    /// The kinds, among `candidates`, that hold at least one object matching `selector` (the label every
    /// Flotilla-applied object carries). Listed across all kinds once, then kept up to date by `noteManaged`
    /// and listed again after `managedKindsMaxAge`, so that one Application's inventory reads a handful of
    /// kinds instead of every kind the server serves.
    public func managedKinds(among candidates: [APIResource], selector: String) throws -> Set<String> {
        let now = Date().timeIntervalSinceReferenceDate
        if let cached = lock.withLock({ managed }), now - cached.at < managedKindsMaxAge { return cached.kinds }
        let results = ConcurrentRunner.map(candidates, width: 16) { [self] resource in
            try json("GET", resource.path(namespace: nil) + "?limit=1&labelSelector=" + Self.queryValue(selector),
                     object: resource.name)["items"]?.arrayValue?.isEmpty == false
        }
        var kinds = Set<String>()
        for (resource, result) in zip(candidates, results) where try result.get() {
            kinds.insert(Self.kindKey(group: resource.group, kind: resource.kind))
        }
        lock.withLock {
            // Kinds noted while the list ran stay.
            managed = (kinds.union(managed?.kinds ?? []), now)
        }
        return kinds.union(lock.withLock { managed?.kinds ?? [] })
    }

    /// Records that an object of this kind was applied with the managed label.
    public func noteManaged(group: String, kind: String) {
        let key = Self.kindKey(group: group, kind: kind)
        lock.withLock {
            if managed != nil { managed!.kinds.insert(key) }
        }
    }

    /// Forgets the kinds that hold managed objects: the next inventory lists every kind.
    public func forgetManagedKinds() { lock.withLock { managed = nil } }

    // MARK: - Objects

    public func get(_ resource: APIResource, namespace: String?, name: String) throws -> JSONValue? {
        do {
            return try json("GET", resource.path(namespace: namespace, name: name), object: describe(resource, namespace, name))
        } catch let e as KubeError where e.code == .notFound {
            return nil
        }
    }

    /// Lists a resource in one namespace, or across all when `namespace` is nil.
    public func list(_ resource: APIResource, namespace: String? = nil, labelSelector: String? = nil) throws -> [JSONValue] {
        try listAll(resource, namespace: namespace, labelSelector: labelSelector).items
    }

    /// A query value or path segment percent-encoded (unreserved characters kept).
    public static func queryValue(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// Every object of a resource (in chunks of `pageSize` when given, following `continue`), with the list's
    /// resourceVersion (where a watch starts).
    public func listAll(_ resource: APIResource, namespace: String? = nil, labelSelector: String? = nil,
                        pageSize: Int? = nil) throws -> (items: [JSONValue], resourceVersion: String) {
        var items: [JSONValue] = []
        var token: String?
        var seen = Set<String>()
        var resourceVersion = ""
        repeat {
            var query: [String] = []
            if let labelSelector { query.append("labelSelector=" + Self.queryValue(labelSelector)) }
            if let pageSize { query.append("limit=\(pageSize)") }
            if let token { query.append("continue=" + Self.queryValue(token)) }
            let path = resource.path(namespace: namespace) + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let page = KubeDecoding.ListPage(try json("GET", path, object: resource.name))
            items += page.items
            if resourceVersion.isEmpty { resourceVersion = page.resourceVersion }
            token = page.continueToken
            // A server that hands back a token it gave before would be followed round in a circle for ever.
            if let token, !seen.insert(token).inserted {
                throw KubeError(code: .other, cluster: cluster.name, object: resource.name,
                                message: "the server answered a continue token it had already given: the list does not end", causes: [], status: 0)
            }
        } while token != nil
        return (items, resourceVersion)
    }

    /// Server-side apply: `PATCH …?fieldManager=MANAGER&force=true` with `application/apply-patch+yaml`.
    public func apply(_ object: JSONValue, fieldManager: String = "flotilla", force: Bool = true) throws -> (object: JSONValue, created: Bool) {
        let (resource, namespace, name) = try locate(object)
        let path = resource.path(namespace: namespace, name: name) + "?fieldManager=\(fieldManager)&force=\(force)"
        let response = try send("PATCH", path, body: Array(object.serialized(pretty: false).utf8), contentType: "application/apply-patch+yaml",
                                object: describe(resource, namespace, name))
        guard (200..<300).contains(response.status) else { throw KubeError.from(response, cluster: cluster.name, object: describe(resource, namespace, name)) }
        return ((try? JSONParser.parse(response.text)) ?? .null, response.status == 201)
    }

    public enum Propagation: String, Sendable { case background = "Background", foreground = "Foreground", orphan = "Orphan" }

    /// Deletes an object; a missing object is not an error.
    public func delete(_ resource: APIResource, namespace: String?, name: String, propagation: Propagation = .background) throws {
        let body = Array(#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"\#(propagation.rawValue)"}"#.utf8)
        let response = try send("DELETE", resource.path(namespace: namespace, name: name), body: body, contentType: "application/json",
                                object: describe(resource, namespace, name))
        if response.status == 404 { return }
        guard (200..<300).contains(response.status) else { throw KubeError.from(response, cluster: cluster.name, object: describe(resource, namespace, name)) }
    }

    /// Creates the namespace if it does not exist.
    /// One request when it can: a create that finds it already there (409 AlreadyExists) is as good as a read that
    /// finds it. A create refused otherwise (an account that may not create namespaces) falls back to a read, so an
    /// existing namespace is never an error.
    public func ensureNamespace(_ name: String) throws {
        let ns = try resource(apiVersion: "v1", kind: "Namespace")
        let body = Array(JSONValue.object([("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", .object([("name", .string(name))]))]).serialized(pretty: false).utf8)
        let response = try send("POST", ns.path(namespace: nil) + "?fieldManager=flotilla", body: body, contentType: "application/json",
                                object: describe(ns, nil, name))
        if (200..<300).contains(response.status) { return }
        let refusal = KubeError.from(response, cluster: cluster.name, object: describe(ns, nil, name))
        if refusal.code == .alreadyExists { return }
        if try get(ns, namespace: nil, name: name) != nil { return }
        throw refusal
    }

    /// Resource, namespace and name of a manifest.
    public func locate(_ object: JSONValue) throws -> (APIResource, String?, String) {
        guard let apiVersion = object["apiVersion"]?.stringValue, let kind = object["kind"]?.stringValue else {
            throw KubeError(code: .badRequest, cluster: cluster.name, object: "", message: "manifest has no apiVersion or kind", causes: [], status: 0)
        }
        guard let name = object.value(at: ["metadata", "name"])?.stringValue, !name.isEmpty else {
            throw KubeError(code: .badRequest, cluster: cluster.name, object: kind, message: "manifest has no metadata.name", causes: [], status: 0)
        }
        let resource = try resource(apiVersion: apiVersion, kind: kind)
        let namespace = resource.namespaced ? (object.value(at: ["metadata", "namespace"])?.stringValue ?? "default") : nil
        return (resource, namespace, name)
    }

    func describe(_ r: APIResource, _ namespace: String?, _ name: String) -> String {
        let kind = r.group.isEmpty ? r.kind : "\(r.kind).\(r.group)"
        return namespace.map { "\(kind) \($0)/\(name)" } ?? "\(kind) \(name)"
    }
}
