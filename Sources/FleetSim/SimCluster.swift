import FleetConfig
import FleetModel
import Foundation

/// An HTTP request as the simulator sees it, independent of any server framework.
public typealias SimRequest = ServerRequest

public struct SimResponse: Error, Sendable {
    public var status: Int
    public var contentType: String
    public var body: String
    /// A watch: newline-delimited events, streamed until the watch ends (then `body` is unused).
    public var events: AsyncStream<String>?

    static func json(_ value: JSONValue, status: Int = 200) -> SimResponse {
        SimResponse(status: status, contentType: "application/json", body: value.serialized(pretty: false))
    }

    static func text(_ s: String, status: Int = 200) -> SimResponse {
        SimResponse(status: status, contentType: "text/plain; charset=utf-8", body: s)
    }
}

/// One simulated Kubernetes cluster: an in-memory API server for a subset of the Kubernetes API.
///
/// All state sits behind one lock; every request is handled synchronously under it, so the simulated
/// server is linearizable (what a real API server's etcd gives).
public final class SimCluster: @unchecked Sendable {
    public struct Options: Sendable {
        public var name: String
        /// Required bearer token; nil accepts any request.
        public var token: String?
        /// How long after a change a workload becomes ready (Deployments, StatefulSets, DaemonSets, Jobs, ...).
        public var readyAfter: Double
        /// Pods whose image contains this text never become ready.
        public var failImage: String?
        /// Changes kept per resource type for watches that resume from a resourceVersion; an older one is 410 Expired.
        public var watchHistory: Int
        /// Seconds between BOOKMARK events on a watch that allows them.
        public var bookmarkInterval: Double
        /// A bearer token that may read but not write (as a view-only role binding allows): any other verb is 403
        /// Forbidden, in kube-apiserver's words.
        public var readOnlyToken: String?

        public init(name: String = "sim", token: String? = nil, readyAfter: Double = 1, failImage: String? = nil,
                    watchHistory: Int = 1000, bookmarkInterval: Double = 10) {
            self.name = name
            self.token = token
            self.readyAfter = readyAfter
            self.failImage = failImage
            self.watchHistory = max(1, watchHistory)
            self.bookmarkInterval = bookmarkInterval
        }
    }

    struct Stored {
        var object: JSONValue
        let type: ResourceType
        var changedAt: Date
    }

    public let options: Options
    /// `lock` guards every field below.
    private let lock = NSLock()
    private var objects: [String: Stored] = [:]
    private var types: [ResourceType] = ResourceType.builtIn
    private var revision = 1
    /// Recent changes per resource type (`plural.group`), oldest first, at most `options.watchHistory` each.
    private var history: [String: [Change]] = [:]
    /// Per resource type: the newest revision no longer in `history`; a watch from before it is 410 Expired.
    private var compacted: [String: Int] = [:]
    /// Revision before which no history exists at all (the objects the cluster starts with).
    private var historyStart = 0
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcher = 0
    /// Workloads whose simulated status turns ready (or failed) at `due`, in order of `due`, from `pendingHead`.
    private var pending: [(due: Date, key: String, changedAt: Date)] = []
    private var pendingHead = 0
    /// Runs readiness transitions, watch timeouts and bookmarks.
    private let timers = DispatchQueue(label: "flotilla.sim.timers")
    /// Host and port the server listens on, for discovery answers.
    public var address: String = "127.0.0.1"

    public init(options: Options) {
        self.options = options
        let now = Date()
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let type = ResourceType.builtIn[0]
            let obj: JSONValue = .object([("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", .object([("name", .string(ns))])),
                                          ("spec", .object([("finalizers", .array([.string("kubernetes")]))]))])
            objects[key(type, nil, ns)] = Stored(object: stamp(obj, namespace: nil, previous: nil), type: type, changedAt: now)
        }
        let nodeType = ResourceType.builtIn.first { $0.kind == "Node" }!
        let node: JSONValue = .object([("apiVersion", "v1"), ("kind", "Node"), ("metadata", .object([("name", .string("\(options.name)-node-1")), ("labels", .object([("kubernetes.io/hostname", .string("\(options.name)-node-1"))]))])),
                                       ("status", .object([("conditions", .array([.object([("type", "Ready"), ("status", "True")])]))]))])
        objects[key(nodeType, nil, "\(options.name)-node-1")] = Stored(object: stamp(node, namespace: nil, previous: nil), type: nodeType, changedAt: now)
        historyStart = revision
    }

    /// Number of stored objects (tests and benchmarks).
    public var objectCount: Int { lock.withLock { objects.count } }

    // MARK: - Entry point

    private let handled = Counter()
    /// Requests answered so far (tests and benchmarks count what a client asked).
    public var requestCount: Int { handled.value }

    public func handle(_ request: SimRequest) -> SimResponse {
        handled.increment()
        let path = request.path.count > 1 && request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        switch path {
        case "/healthz", "/livez", "/readyz": return .text("ok")
        default: break
        }
        let given = request.headers["authorization"] ?? ""
        let readOnly = options.readOnlyToken.map { given == "Bearer \($0)" } ?? false
        if let token = options.token, !readOnly {
            guard given == "Bearer \(token)" else {
                return status(401, "Unauthorized", "Unauthorized")
            }
        }
        if readOnly && !["GET", "HEAD"].contains(request.method) {
            let parts = path.split(separator: "/").map(String.init)
            // /api/v1/[namespaces/NS/]PLURAL[/NAME] or /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME]
            let rest = Array(parts.dropFirst(parts.first == "api" ? 2 : 3))
            let namespace = rest.count >= 3 && rest[0] == "namespaces" ? rest[1] : nil
            let plural = namespace != nil ? rest[2] : rest.first ?? ""
            let group = parts.first == "apis" && parts.count > 1 ? parts[1] : ""
            let verb = ["POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"][request.method] ?? request.method.lowercased()
            let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
            return status(403, "Forbidden", "\(plural) is forbidden: User \"system:serviceaccount:flotilla:viewer\" cannot \(verb) resource \"\(plural)\" in API group \"\(group)\" \(scope)")
        }
        return lock.withLock {
            settle(Date())
            return route(request, path: path)
        }
    }

    private func route(_ request: SimRequest, path: String) -> SimResponse {
        if path == "/version" {
            return .json(.object([("major", "1"), ("minor", "32"), ("gitVersion", "v1.32.0-flotilla-sim"), ("gitCommit", "flotilla"),
                                  ("gitTreeState", "clean"), ("buildDate", "2026-11-23T00:00:00Z"), ("goVersion", "go1.23"),
                                  ("compiler", "gc"), ("platform", "linux/amd64")]))
        }
        if path == "/api" {
            return .json(.object([("kind", "APIVersions"), ("versions", .array(["v1"])),
                                  ("serverAddressByClientCIDRs", .array([.object([("clientCIDR", "0.0.0.0/0"), ("serverAddress", .string(address))])]))]))
        }
        if path == "/apis" { return .json(Discovery.groupList(types)) }
        if path.hasPrefix("/openapi/v3") { return OpenAPI.answer(path: path, types: types) }
        if path == "/openapi/v2" { return status(404, "NotFound", "the server could not find the requested resource") }

        let parts = path.split(separator: "/").map(String.init)
        // /api/v1[/...] or /apis/GROUP/VERSION[/...]
        let group: String, version: String, rest: ArraySlice<String>
        if parts.first == "api", parts.count >= 2 {
            group = ""; version = parts[1]; rest = parts[2...]
        } else if parts.first == "apis", parts.count >= 3 {
            group = parts[1]; version = parts[2]; rest = parts[3...]
        } else if parts.first == "apis", parts.count == 2 {
            guard let g = Discovery.group(parts[1], types) else { return notFound() }
            return .json(g)
        } else {
            return notFound()
        }
        let gvTypes = types.filter { $0.group == group && $0.version == version }
        if gvTypes.isEmpty { return notFound() }
        if rest.isEmpty { return .json(Discovery.resourceList(group: group, version: version, types: gvTypes)) }

        var namespace: String?
        var tail = Array(rest)
        if tail.first == "namespaces", tail.count >= 3 {
            namespace = tail[1]
            tail = Array(tail.dropFirst(2))
        }
        guard let type = gvTypes.first(where: { $0.plural == tail[0] }) else {
            return status(404, "NotFound", "the server could not find the requested resource")
        }
        let name = tail.count > 1 ? tail[1] : nil
        let subresource = tail.count > 2 ? tail[2] : nil
        if type.kind == "Namespace", tail.count == 1 || (tail.count >= 2) {
            // /api/v1/namespaces/NAME is a namespace object, not a namespaced path.
        }
        if !type.namespaced && namespace != nil {
            return status(404, "NotFound", "the server could not find the requested resource")
        }
        if subresource == "scale", Workloads.scalable(type.kind), let name {
            return scale(type, namespace: namespace, name: name, request: request)
        }
        if let subresource, subresource != "status" {
            return status(404, "NotFound", "the server could not find the requested resource (subresource \(subresource))")
        }
        if request.method == "GET", ["true", "1"].contains(request.query["watch"] ?? "") {
            // The legacy form `GET …/NAME?watch=true` watches one object.
            var query = request.query
            if let name { query["fieldSelector"] = [query["fieldSelector"], "metadata.name=\(name)"].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ",") }
            return watch(type, namespace: namespace, query: query, table: Tables.wanted(request.headers["accept"]))
        }
        switch (request.method, name) {
        case ("GET", nil):
            let answer = list(type, namespace: namespace, query: request.query)
            return Tables.wanted(request.headers["accept"]) ? asTable(answer, kind: type.kind) : answer
        case ("GET", let name?):
            let answer = get(type, namespace: namespace, name: name)
            return Tables.wanted(request.headers["accept"]) ? asTable(answer, kind: type.kind, single: true) : answer
        case ("POST", nil): return create(type, namespace: namespace, body: request.body, query: request.query, contentType: request.headers["content-type"])
        case ("PUT", let name?): return update(type, namespace: namespace, name: name, body: request.body, status: subresource == "status",
                                               contentType: request.headers["content-type"])
        case ("PATCH", let name?): return patch(type, namespace: namespace, name: name, request: request)
        case ("DELETE", let name?): return delete(type, namespace: namespace, name: name)
        case ("DELETE", nil): return deleteCollection(type, namespace: namespace, query: request.query)
        default: return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        }
    }

    // MARK: - Reads

    /// A successful list or get answer as a `Table`.
    private func asTable(_ answer: SimResponse, kind: String, single: Bool = false) -> SimResponse {
        guard answer.status == 200, let value = try? JSONParser.parse(answer.body) else { return answer }
        let items = single ? [value] : (value["items"]?.arrayValue ?? [])
        return .json(Tables.table(kind: kind, items: items, resourceVersion: String(revision), now: Date()))
    }

    private func key(_ type: ResourceType, _ namespace: String?, _ name: String) -> String {
        "\(type.plural).\(type.group)/\(namespace ?? "")/\(name)"
    }

    private func get(_ type: ResourceType, namespace: String?, name: String) -> SimResponse {
        guard let stored = objects[key(type, namespace, name)] else { return notFound(type, name) }
        return .json(Workloads.withStatus(stored, now: Date(), options: options))
    }

    private func list(_ type: ResourceType, namespace: String?, query: [String: String]) -> SimResponse {
        let labels: LabelSelector
        do { labels = try LabelSelector(parsing: query["labelSelector"] ?? "") } catch {
            return status(400, "BadRequest", "unable to parse requirement: \(error)")
        }
        let fields = FieldSelector(query["fieldSelector"] ?? "")
        let prefix = "\(type.plural).\(type.group)/\(namespace.map { $0 + "/" } ?? "")"
        let now = Date()
        var items: [JSONValue] = []
        for (k, stored) in objects where k.hasPrefix(prefix) {
            let meta = stored.object["metadata"]
            let objectLabels = (meta?["labels"]?.objectValue ?? []).reduce(into: [String: String]()) { $0[$1.0] = $1.1.stringValue ?? "" }
            guard labels.matches(objectLabels), fields.matches(stored.object) else { continue }
            items.append(Workloads.withStatus(stored, now: now, options: options))
        }
        func position(_ item: JSONValue) -> ListContinue.Position {
            ListContinue.Position(namespace: item.value(at: ["metadata", "namespace"])?.stringValue ?? "", name: item.value(at: ["metadata", "name"])?.stringValue ?? "")
        }
        items.sort { position($0) < position($1) }
        var metadata: [(String, JSONValue)] = [("resourceVersion", .string(String(revision)))]
        // Chunks (`limit`, `continue`): a token holds the list's resourceVersion and the last item returned. The
        // simulator keeps no history, so a token from before any later write is too old: 410 Expired, as
        // kube-apiserver answers once etcd compacted the revision (clients then list again from the start).
        if let token = query["continue"], !token.isEmpty {
            guard let (listed, after) = ListContinue.decode(token) else {
                return status(400, "BadRequest", "continue key is not valid: \(token.prefix(40))")
            }
            guard listed == revision else {
                return status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
            }
            items.removeAll { position($0) <= after }
        }
        if let limit = query["limit"].flatMap(Int.init), limit > 0, items.count > limit {
            let remaining = items.count - limit
            items = Array(items.prefix(limit))
            metadata.append(("continue", .string(ListContinue.encode(revision: revision, after: position(items[limit - 1])))))
            metadata.append(("remainingItemCount", .int(remaining)))
        }
        return .json(.object([("apiVersion", .string(type.groupVersion)), ("kind", .string(type.kind + "List")),
                              ("metadata", .object(metadata)), ("items", .array(items))]))
    }

    // MARK: - Writes

    private func decode(_ body: [UInt8], yaml: Bool = false, contentType: String? = nil) -> Result<JSONValue, SimResponse> {
        if let contentType, contentType.hasPrefix(KubeProtobuf.contentType) {
            do throws(KubeProtobuf.Failure) {
                return .success(try KubeProtobuf.decode(body))
            } catch {
                switch error {
                case .unsupportedKind(let kind):
                    let known = KubeProtobuf.kinds.keys.map { String($0.split(separator: "/").last ?? "") }.sorted().joined(separator: ", ")
                    return .failure(status(415, "UnsupportedMediaType", "the simulator reads protobuf bodies for \(known); send \(kind) as JSON (kubectl apply does)"))
                case .malformed(let message):
                    return .failure(status(400, "BadRequest", "the protobuf body could not be decoded: \(message)"))
                }
            }
        }
        let text = String(decoding: body, as: UTF8.self)
        do {
            let value = yaml ? try YAMLValue.parse(text, file: nil) : try JSONParser.parse(text)
            guard value.objectValue != nil else { return .failure(status(400, "BadRequest", "the body of the request was not a JSON object")) }
            return .success(value)
        } catch {
            return .failure(status(400, "BadRequest", "the body of the request could not be decoded: \(error)"))
        }
    }

    /// A create or update body without `apiVersion` or `kind` takes them from the URL, as kube-apiserver's decoder
    /// does (the official clients send typed objects whose kind may be unset). Server-side apply still needs them.
    static func defaultingKind(_ object: JSONValue, _ type: ResourceType) -> JSONValue {
        guard case .object = object else { return object }
        var obj = object
        if (obj["kind"]?.stringValue ?? "").isEmpty { obj.set("kind", .string(type.kind)) }
        if (obj["apiVersion"]?.stringValue ?? "").isEmpty { obj.set("apiVersion", .string(type.groupVersion)) }
        return obj
    }

    /// Checks kind, apiVersion, name and namespace of an incoming object.
    private func validate(_ object: JSONValue, _ type: ResourceType, namespace: String?, name: String?) -> SimResponse? {
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            return status(400, "BadRequest", "Object 'Kind' is missing in '\(object.serialized(pretty: false).prefix(200))'")
        }
        if kind != type.kind {
            return status(400, "BadRequest", "the kind in the data (\(kind)) does not match the expected kind (\(type.kind)) for \(type.plural)")
        }
        if let api = object["apiVersion"]?.stringValue, api != type.groupVersion {
            return status(400, "BadRequest", "the API version in the data (\(api)) does not match the expected API version (\(type.groupVersion))")
        }
        let objName = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        if objName.isEmpty {
            return invalid(type, objName, [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
        }
        if let name, name != objName {
            return status(400, "BadRequest", "the name of the object (\(objName)) does not match the name on the URL (\(name))")
        }
        let labelRule = ["Namespace", "Service"].contains(type.kind)
        if let p = labelRule ? KubernetesNames.dns1123LabelProblem(objName) : KubernetesNames.dns1123SubdomainProblem(objName) {
            return invalid(type, objName, [("metadata.name", "FieldValueInvalid", "Invalid value: \"\(objName)\": \(p)")])
        }
        if type.namespaced {
            guard let namespace else { return status(400, "BadRequest", "a namespace is required for \(type.plural)") }
            if let bodyNS = object.value(at: ["metadata", "namespace"])?.stringValue, !bodyNS.isEmpty, bodyNS != namespace {
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            }
            if objects[key(ResourceType.builtIn[0], nil, namespace)] == nil {
                return status(404, "NotFound", "namespaces \"\(namespace)\" not found", details: ("namespaces", namespace))
            }
        }
        var causes: [(String, String, String)] = []
        for (k, v) in object.value(at: ["metadata", "labels"])?.objectValue ?? [] {
            if let p = KubernetesNames.qualifiedNameProblem(k) { causes.append(("metadata.labels", "FieldValueInvalid", "Invalid value: \"\(k)\": \(p)")) }
            if let p = KubernetesNames.labelValueProblem(v.stringValue ?? "") { causes.append(("metadata.labels", "FieldValueInvalid", "Invalid value: \"\(v.stringValue ?? "")\": \(p)")) }
        }
        if ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].contains(type.kind) {
            if (object.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []).isEmpty {
                causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
            }
            if object.value(at: ["spec", "selector"]) == nil {
                causes.append(("spec.selector", "FieldValueRequired", "Required value"))
            }
        }
        if !causes.isEmpty { return invalid(type, objName, causes) }
        return nil
    }

    /// Server-set metadata: uid, resourceVersion, creationTimestamp, generation, namespace.
    private func stamp(_ object: JSONValue, namespace: String?, previous: JSONValue?) -> JSONValue {
        var obj = object
        var meta = obj["metadata"] ?? .object([])
        revision += 1
        if let namespace { meta.set("namespace", .string(namespace)) }
        let prevMeta = previous?["metadata"]
        meta.set("uid", prevMeta?["uid"] ?? .string(UUID().uuidString.lowercased()))
        meta.set("resourceVersion", .string(String(revision)))
        meta.set("creationTimestamp", prevMeta?["creationTimestamp"] ?? .string(Self.timestamp(Date())))
        let prevGeneration = prevMeta?["generation"].flatMap { if case .int(let g) = $0 { return g } else { return nil } } ?? 0
        let specChanged = previous == nil || previous?["spec"] != obj["spec"]
        meta.set("generation", .int(specChanged ? prevGeneration + 1 : max(prevGeneration, 1)))
        obj.set("metadata", meta)
        return obj
    }

    static func timestamp(_ date: Date) -> String { Timestamp.rfc3339(date) }

    private func create(_ type: ResourceType, namespace: String?, body: [UInt8], query: [String: String], contentType: String? = nil) -> SimResponse {
        let object: JSONValue
        switch decode(body, contentType: contentType) {
        case .success(let o): object = o
        case .failure(let r): return r
        }
        var obj = Self.defaultingKind(object, type)
        if obj.value(at: ["metadata", "name"])?.stringValue == nil, let prefix = obj.value(at: ["metadata", "generateName"])?.stringValue {
            obj.set(path: ["metadata", "name"], .string(prefix + String(UUID().uuidString.lowercased().prefix(5))))
        }
        if let problem = validate(obj, type, namespace: namespace, name: nil) { return problem }
        let name = obj.value(at: ["metadata", "name"])!.stringValue!
        let k = key(type, namespace, name)
        if objects[k] != nil {
            return status(409, "AlreadyExists", "\(type.plural)\(type.group.isEmpty ? "" : "." + type.group) \"\(name)\" already exists", details: (type.plural, name))
        }
        if query["dryRun"] == "All" { return .json(obj, status: 201) }
        return store(obj, type: type, namespace: namespace, previous: nil, key: k, code: 201)
    }

    private func store(_ object: JSONValue, type: ResourceType, namespace: String?, previous: Stored?, key k: String, code: Int) -> SimResponse {
        var obj = object
        obj.set("apiVersion", .string(type.groupVersion))
        obj.set("kind", .string(type.kind))
        obj.remove("status") // status is computed by the simulated controllers
        if let prevStatus = previous?.object["status"], !Workloads.computes(type.kind) { obj.set("status", prevStatus) }
        if let original = object["status"], !Workloads.computes(type.kind) { obj.set("status", original) }
        let stamped = stamp(obj, namespace: type.namespaced ? namespace : nil, previous: previous?.object)
        let specChanged = previous == nil || previous!.object["spec"] != stamped["spec"]
        let now = Date()
        let stored = Stored(object: stamped, type: type, changedAt: specChanged ? now : previous!.changedAt)
        objects[k] = stored
        record(previous == nil ? .added : .modified, stored, previous: previous?.object, at: now)
        if specChanged, Workloads.computes(type.kind), options.readyAfter > 0 { scheduleReadiness(k, changedAt: now) }
        if type.kind == "CustomResourceDefinition" { refreshTypes() }
        return .json(Workloads.withStatus(stored, now: Date(), options: options), status: code)
    }

    private func update(_ type: ResourceType, namespace: String?, name: String, body: [UInt8], status isStatus: Bool, contentType: String? = nil) -> SimResponse {
        let k = key(type, namespace, name)
        guard let existing = objects[k] else { return notFound(type, name) }
        let object: JSONValue
        switch decode(body, contentType: contentType) {
        case .success(let o): object = Self.defaultingKind(o, type)
        case .failure(let r): return r
        }
        if let problem = validate(object, type, namespace: namespace, name: name) { return problem }
        if let rv = object.value(at: ["metadata", "resourceVersion"])?.stringValue, !rv.isEmpty,
           rv != existing.object.value(at: ["metadata", "resourceVersion"])?.stringValue {
            return conflict(type, name)
        }
        return store(object, type: type, namespace: namespace, previous: existing, key: k, code: 200)
    }

    private func patch(_ type: ResourceType, namespace: String?, name: String, request: SimRequest) -> SimResponse {
        let k = key(type, namespace, name)
        let contentType = (request.headers["content-type"] ?? "").split(separator: ";").first.map(String.init) ?? ""
        let existing = objects[k]
        var result: JSONValue
        switch contentType {
        case "application/apply-patch+yaml":
            guard let manager = request.query["fieldManager"], !manager.isEmpty else {
                return status(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
            }
            let applied: JSONValue
            switch decode(request.body, yaml: true) {
            case .success(let o): applied = o
            case .failure(let r): return r
            }
            if let problem = validate(applied, type, namespace: namespace, name: name) { return problem }
            if let existing {
                result = Apply.merge(live: existing.object, applied: applied, manager: manager)
                result = ManagedFields.record(result, manager: manager, applied: applied, apiVersion: type.groupVersion)
                if Apply.sameContent(result, existing.object) { return .json(Workloads.withStatus(existing, now: Date(), options: options)) }
            } else {
                result = ManagedFields.record(applied, manager: manager, applied: applied, apiVersion: type.groupVersion)
                if request.query["dryRun"] == "All" { return .json(result, status: 201) }
                return store(result, type: type, namespace: namespace, previous: nil, key: k, code: 201)
            }
        case "application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json":
            guard let existing else { return notFound(type, name) }
            let text = String(decoding: request.body, as: UTF8.self)
            do {
                let patch = try JSONParser.parse(text)
                if contentType == "application/json-patch+json" {
                    result = try JSONPatch.apply(patch, to: existing.object)
                } else {
                    result = existing.object.merging(patch: Apply.stripDirectives(patch))
                }
            } catch let e as JSONPatch.PatchError {
                return status(422, "Invalid", "the JSON patch could not be applied: \(e.message)")
            } catch {
                return status(400, "BadRequest", "the patch could not be decoded: \(error)")
            }
            if let problem = validate(result, type, namespace: namespace, name: name) { return problem }
            if Apply.sameContent(result, existing.object) { return .json(Workloads.withStatus(existing, now: Date(), options: options)) }
        default:
            return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
        if request.query["dryRun"] == "All" { return .json(result) }
        return store(result, type: type, namespace: namespace, previous: existing, key: k, code: 200)
    }

    /// Removes a stored object, as one change (a DELETED event carrying the deletion's resourceVersion).
    @discardableResult
    private func remove(_ k: String) -> Stored? {
        guard var stored = objects.removeValue(forKey: k) else { return nil }
        revision += 1
        stored.object.set(path: ["metadata", "resourceVersion"], .string(String(revision)))
        record(.deleted, stored, previous: stored.object, at: Date())
        return stored
    }

    /// The `/scale` subresource: read, replaced or patched as an `autoscaling/v1` Scale; only `spec.replicas` changes.
    private func scale(_ type: ResourceType, namespace: String?, name: String, request: SimRequest) -> SimResponse {
        let k = key(type, namespace, name)
        guard let existing = objects[k] else { return notFound(type, name) }
        let current = Workloads.scale(of: Workloads.withStatus(existing, now: Date(), options: options))
        let wanted: JSONValue
        switch request.method {
        case "GET": return .json(current)
        case "PUT":
            switch decode(request.body) {
            case .success(let o): wanted = o
            case .failure(let r): return r
            }
            if let rv = wanted.value(at: ["metadata", "resourceVersion"])?.stringValue, !rv.isEmpty,
               rv != existing.object.value(at: ["metadata", "resourceVersion"])?.stringValue {
                return conflict(type, name)
            }
        case "PATCH":
            let contentType = (request.headers["content-type"] ?? "").split(separator: ";").first.map(String.init) ?? ""
            do {
                let patch = try JSONParser.parse(String(decoding: request.body, as: UTF8.self))
                wanted = contentType == "application/json-patch+json" ? try JSONPatch.apply(patch, to: current) : current.merging(patch: Apply.stripDirectives(patch))
            } catch {
                return status(400, "BadRequest", "the patch could not be applied: \(error)")
            }
        default:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        }
        guard let replicas = Workloads.intValue(wanted.value(at: ["spec", "replicas"])), replicas >= 0 else {
            return invalid(type, name, [("spec.replicas", "FieldValueInvalid", "Invalid value: must be greater than or equal to 0")])
        }
        var object = existing.object
        object.set(path: ["spec", "replicas"], .int(replicas))
        let answer = store(object, type: type, namespace: namespace, previous: existing, key: k, code: 200)
        guard answer.status == 200, let stored = objects[k] else { return answer }
        return .json(Workloads.scale(of: Workloads.withStatus(stored, now: Date(), options: options)))
    }

    private func delete(_ type: ResourceType, namespace: String?, name: String) -> SimResponse {
        let k = key(type, namespace, name)
        guard let existing = remove(k) else { return notFound(type, name) }
        if type.kind == "Namespace" {
            // Everything in the namespace goes with it.
            for (other, stored) in objects where stored.type.namespaced && stored.object.value(at: ["metadata", "namespace"])?.stringValue == name {
                remove(other)
            }
        }
        if type.kind == "CustomResourceDefinition" {
            let defined = ResourceType.fromCRD(existing.object)
            for (other, stored) in objects where defined.contains(where: { $0.plural == stored.type.plural && $0.group == stored.type.group }) {
                remove(other)
            }
            refreshTypes()
        }
        return .json(.object([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object([])), ("status", "Success"),
                              ("details", .object([("name", .string(name)), ("kind", .string(type.plural)), ("uid", existing.object.value(at: ["metadata", "uid"]) ?? .null)]))]))
    }

    private func deleteCollection(_ type: ResourceType, namespace: String?, query: [String: String]) -> SimResponse {
        let listed = list(type, namespace: namespace, query: query)
        guard listed.status == 200, let items = (try? JSONParser.parse(listed.body))?["items"]?.arrayValue else { return listed }
        for item in items {
            if let name = item.value(at: ["metadata", "name"])?.stringValue {
                _ = delete(type, namespace: item.value(at: ["metadata", "namespace"])?.stringValue, name: name)
            }
        }
        return listed
    }

    private func refreshTypes() {
        var all = ResourceType.builtIn
        for stored in objects.values where stored.type.kind == "CustomResourceDefinition" {
            all += ResourceType.fromCRD(stored.object)
        }
        types = all
    }

    // MARK: - Watch

    private func typeKey(_ type: ResourceType) -> String { "\(type.plural).\(type.group)" }

    /// Keeps a change in the type's history and sends it to the watches that see it.
    private func record(_ event: WatchEventType, _ stored: Stored, previous: JSONValue?, at: Date) {
        let tk = typeKey(stored.type)
        let change = Change(revision: revision, type: event, resource: stored.type,
                            namespace: stored.type.namespaced ? stored.object.value(at: ["metadata", "namespace"])?.stringValue : nil,
                            object: stored.object, changedAt: stored.changedAt, at: at, previous: previous)
        history[tk, default: []].append(change)
        if let count = history[tk]?.count, count > options.watchHistory {
            let drop = count - options.watchHistory
            compacted[tk] = history[tk]![drop - 1].revision
            history[tk]!.removeFirst(drop)
        }
        for watcher in watchers.values where watcher.typeKey == tk { send(change, to: watcher) }
    }

    private func send(_ change: Change, to watcher: Watcher) {
        guard let (event, _) = watcher.filter.event(for: change) else { return }
        let object = Workloads.withStatus(Stored(object: change.object, type: change.resource, changedAt: change.changedAt), now: change.at, options: options)
        watcher.continuation.yield(WatchEvents.line(event, watcher.table
            ? Tables.table(kind: change.resource.kind, items: [object], resourceVersion: String(change.revision), now: change.at) : object))
    }

    /// A simulated workload's status turns ready (or failed) `readyAfter` seconds after its spec changed: that
    /// is a change of its own (new resourceVersion, MODIFIED event), as a controller's status update would be.
    private func scheduleReadiness(_ k: String, changedAt: Date) {
        pending.append((changedAt.addingTimeInterval(options.readyAfter), k, changedAt))
        timers.asyncAfter(deadline: .now() + options.readyAfter + 0.002) { [weak self] in
            guard let self else { return }
            self.lock.withLock { self.settle(Date()) }
        }
    }

    /// Makes the readiness transitions due by `now`. Called under `lock` before every request and by timers.
    private func settle(_ now: Date) {
        while pendingHead < pending.count, pending[pendingHead].due <= now {
            let due = pending[pendingHead]
            pendingHead += 1
            guard var stored = objects[due.key], stored.changedAt == due.changedAt else { continue }
            let before = stored.object
            revision += 1
            stored.object.set(path: ["metadata", "resourceVersion"], .string(String(revision)))
            objects[due.key] = stored
            record(.modified, stored, previous: before, at: due.due)
        }
        if pendingHead > 1024, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    /// `GET …?watch=true`: newline-delimited JSON watch events, starting as `resourceVersion` says.
    private func watch(_ type: ResourceType, namespace: String?, query: [String: String], table: Bool) -> SimResponse {
        let labels: LabelSelector
        do { labels = try LabelSelector(parsing: query["labelSelector"] ?? "") } catch {
            return status(400, "BadRequest", "unable to parse requirement: \(error)")
        }
        let start: WatchStart
        do { start = try WatchStart.parse(query) } catch {
            return status(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: \(error.message)")
        }
        let filter = WatchFilter(namespace: namespace, labels: labels, fields: FieldSelector(query["fieldSelector"] ?? ""))
        let tk = typeKey(type)
        let bookmarks = ["true", "1"].contains(query["allowWatchBookmarks"] ?? "")
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let answer = SimResponse(status: 200, contentType: "application/json", body: "", events: stream)
        let now = Date()
        func initial(_ item: JSONValue) -> String {
            WatchEvents.line(.added, table ? Tables.table(kind: type.kind, items: [item], resourceVersion: String(revision), now: now) : item)
        }
        switch start {
        case .after(let rv):
            let oldest = max(historyStart, compacted[tk] ?? 0)
            if rv < oldest {
                continuation.yield(WatchEvents.expired(requested: rv, oldest: oldest))
                continuation.finish()
                return answer
            }
            for change in history[tk] ?? [] where change.revision > rv {
                guard let (event, _) = filter.event(for: change) else { continue }
                let object = Workloads.withStatus(Stored(object: change.object, type: change.resource, changedAt: change.changedAt), now: change.at, options: options)
                continuation.yield(WatchEvents.line(event, table ? Tables.table(kind: type.kind, items: [object], resourceVersion: String(change.revision), now: change.at) : object))
            }
        case .currentState(let endBookmark):
            let prefix = "\(tk)/\(namespace.map { $0 + "/" } ?? "")"
            let items = objects.filter { $0.key.hasPrefix(prefix) && filter.matches($0.value.object, namespace: namespace ?? $0.value.object.value(at: ["metadata", "namespace"])?.stringValue) }
                .sorted { $0.key < $1.key }
            for (_, stored) in items { continuation.yield(initial(Workloads.withStatus(stored, now: now, options: options))) }
            if endBookmark { continuation.yield(WatchEvents.bookmark(type, revision: revision, initialEventsEnd: true)) }
        case .now:
            break
        }
        nextWatcher += 1
        let id = nextWatcher
        watchers[id] = Watcher(typeKey: tk, type: type, filter: filter, table: table, bookmarks: bookmarks, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            // Not under `lock`: termination may run inside a call that holds it.
            self?.timers.async { [weak self] in
                guard let self else { return }
                _ = self.lock.withLock { self.watchers.removeValue(forKey: id) }
            }
        }
        if let seconds = query["timeoutSeconds"].flatMap(Double.init), seconds > 0 {
            timers.asyncAfter(deadline: .now() + seconds) { [weak self] in
                guard let self else { return }
                self.lock.withLock {
                    self.settle(Date())
                    guard let watcher = self.watchers.removeValue(forKey: id) else { return }
                    if watcher.bookmarks { watcher.continuation.yield(WatchEvents.bookmark(type, revision: self.revision)) }
                    watcher.continuation.finish()
                }
            }
        }
        if bookmarks { scheduleBookmark(id) }
        return answer
    }

    /// Sends a BOOKMARK (the current resourceVersion) every `bookmarkInterval` while the watch lasts.
    private func scheduleBookmark(_ id: Int) {
        guard options.bookmarkInterval > 0 else { return }
        timers.asyncAfter(deadline: .now() + options.bookmarkInterval) { [weak self] in
            guard let self else { return }
            let open = self.lock.withLock { () -> Bool in
                self.settle(Date())
                guard let watcher = self.watchers[id] else { return false }
                watcher.continuation.yield(WatchEvents.bookmark(watcher.type, revision: self.revision))
                return true
            }
            if open { self.scheduleBookmark(id) }
        }
    }

    /// Ends every open watch (the server is stopping: a connection kept open would hold the shutdown).
    public func endWatches() {
        let open = lock.withLock { () -> [Watcher] in
            defer { watchers.removeAll() }
            return Array(watchers.values)
        }
        for watcher in open { watcher.continuation.finish() }
    }

    /// Number of open watches (tests).
    public var watchCount: Int { lock.withLock { watchers.count } }

    // MARK: - Status errors

    func status(_ code: Int, _ reason: String, _ message: String, details: (String, String)? = nil) -> SimResponse {
        var pairs: [(String, JSONValue)] = [("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object([])), ("status", "Failure"),
                                             ("message", .string(message)), ("reason", .string(reason))]
        if let details { pairs.append(("details", .object([("name", .string(details.1)), ("kind", .string(details.0))]))) }
        pairs.append(("code", .int(code)))
        return .json(.object(pairs), status: code)
    }

    private func notFound(_ type: ResourceType? = nil, _ name: String? = nil) -> SimResponse {
        guard let type, let name else { return status(404, "NotFound", "the server could not find the requested resource") }
        let resource = type.group.isEmpty ? type.plural : "\(type.plural).\(type.group)"
        return status(404, "NotFound", "\(resource) \"\(name)\" not found", details: (type.plural, name))
    }

    private func conflict(_ type: ResourceType, _ name: String) -> SimResponse {
        let resource = type.group.isEmpty ? type.plural : "\(type.plural).\(type.group)"
        return status(409, "Conflict", "Operation cannot be fulfilled on \(resource) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again", details: (type.plural, name))
    }

    private func invalid(_ type: ResourceType, _ name: String, _ causes: [(String, String, String)]) -> SimResponse {
        let message = "\(type.kind) \"\(name)\" is invalid: " + causes.map { "\($0.0): \($0.2)" }.joined(separator: ", ")
        return .json(.object([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object([])), ("status", "Failure"),
                              ("message", .string(message)), ("reason", "Invalid"),
                              ("details", .object([("name", .string(name)), ("group", .string(type.group)), ("kind", .string(type.kind)),
                                                   ("causes", .array(causes.map { .object([("reason", .string($0.1)), ("message", .string($0.2)), ("field", .string($0.0))]) }))])),
                              ("code", 422)]), status: 422)
    }
}


/// `metadata.name=x`, `metadata.namespace!=y`, comma-separated.
struct FieldSelector {
    let requirements: [(path: [String], value: String, equal: Bool)]

    init(_ text: String) {
        requirements = text.split(separator: ",").compactMap { part in
            let s = String(part)
            if let r = s.range(of: "!=") { return (s[..<r.lowerBound].split(separator: ".").map(String.init), String(s[r.upperBound...]), false) }
            if let r = s.range(of: "==") ?? s.range(of: "=") { return (s[..<r.lowerBound].split(separator: ".").map(String.init), String(s[r.upperBound...]), true) }
            return nil
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { r in
            let actual = object.value(at: r.path)?.stringValue ?? ""
            return (actual == r.value) == r.equal
        }
    }
}

/// A list's continue token: the resourceVersion of the first chunk and the last item returned (`namespace/name`).
enum ListContinue {
    /// Where an item sorts in a list: by namespace, then name.
    struct Position: Comparable {
        let namespace: String
        let name: String
        static func < (a: Position, b: Position) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
    }

    static func encode(revision: Int, after: Position) -> String {
        Data("\(revision)\u{0}\(after.namespace)\u{0}\(after.name)".utf8).base64EncodedString()
    }

    static func decode(_ token: String) -> (revision: Int, after: Position)? {
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 3, let revision = Int(parts[0]) else { return nil }
        return (revision, Position(namespace: String(parts[1]), name: String(parts[2])))
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
