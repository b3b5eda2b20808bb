import FleetModel

/// Discovery documents: APIGroupList, APIGroup and APIResourceList, as kubectl and clients read them.
enum Discovery {
    static func groupList(_ types: [ResourceType]) -> JSONValue {
        var groups: [String] = []
        for t in types where !t.group.isEmpty && !groups.contains(t.group) { groups.append(t.group) }
        return .object([("kind", "APIGroupList"), ("apiVersion", "v1"), ("groups", .array(groups.compactMap { group($0, types) }))])
    }

    static func group(_ name: String, _ types: [ResourceType]) -> JSONValue? {
        var versions: [String] = []
        for t in types where t.group == name && !versions.contains(t.version) { versions.append(t.version) }
        guard let preferred = versions.first else { return nil }
        let entries = versions.map { JSONValue.object([("groupVersion", .string("\(name)/\($0)")), ("version", .string($0))]) }
        return .object([("kind", "APIGroup"), ("apiVersion", "v1"), ("name", .string(name)), ("versions", .array(entries)),
                        ("preferredVersion", .object([("groupVersion", .string("\(name)/\(preferred)")), ("version", .string(preferred))]))])
    }

    static func resourceList(group: String, version: String, types: [ResourceType]) -> JSONValue {
        var resources: [JSONValue] = []
        for t in types {
            var entry: [(String, JSONValue)] = [
                ("name", .string(t.plural)), ("singularName", .string(t.singular)), ("namespaced", .bool(t.namespaced)),
                ("kind", .string(t.kind)), ("verbs", .array(ResourceType.verbs)),
            ]
            if !t.shortNames.isEmpty { entry.append(("shortNames", .array(t.shortNames.map(JSONValue.string)))) }
            if !t.categories.isEmpty { entry.append(("categories", .array(t.categories.map(JSONValue.string)))) }
            resources.append(.object(entry))
            if Workloads.computes(t.kind) {
                resources.append(.object([("name", .string(t.plural + "/status")), ("singularName", ""), ("namespaced", .bool(t.namespaced)),
                                          ("kind", .string(t.kind)), ("verbs", .array(["get", "patch", "update"]))]))
            }
            if Workloads.scalable(t.kind) {
                resources.append(.object([("name", .string(t.plural + "/scale")), ("singularName", ""), ("namespaced", .bool(t.namespaced)),
                                          ("group", "autoscaling"), ("version", "v1"), ("kind", "Scale"), ("verbs", .array(["get", "patch", "update"]))]))
            }
        }
        return .object([("kind", "APIResourceList"), ("apiVersion", "v1"), ("groupVersion", .string(group.isEmpty ? version : "\(group)/\(version)")),
                        ("resources", .array(resources))])
    }
}

/// Just enough OpenAPI v3 for `kubectl apply` validation: every kind has a schema that accepts any field,
/// and PATCH operations tagged with their group-version-kind and the `fieldValidation` parameter, so kubectl
/// delegates field validation to the server.
enum OpenAPI {
    static func answer(path: String, types: [ResourceType]) -> SimResponse {
        var gvs: [String] = []
        for t in types where !gvs.contains(t.basePath) { gvs.append(t.basePath) }
        if path == "/openapi/v3" {
            let paths = gvs.map { gv -> (String, JSONValue) in
                let rel = String(gv.dropFirst())
                return (rel, .object([("serverRelativeURL", .string("/openapi/v3/\(rel)?hash=\(hash(types.filter { $0.basePath == gv }))"))]))
            }
            return .json(.object([("paths", .object(paths))]))
        }
        let gv = "/" + path.dropFirst("/openapi/v3/".count)
        let selected = types.filter { $0.basePath == gv }
        guard !selected.isEmpty else { return SimResponse(status: 404, contentType: "text/plain", body: "not found") }
        var paths: [(String, JSONValue)] = []
        var schemas: [(String, JSONValue)] = []
        for t in selected {
            let gvk: JSONValue = .object([("group", .string(t.group)), ("version", .string(t.version)), ("kind", .string(t.kind))])
            let itemPath = t.namespaced ? "\(t.basePath)/namespaces/{namespace}/\(t.plural)/{name}" : "\(t.basePath)/\(t.plural)/{name}"
            let params: JSONValue = .array([
                .object([("name", "fieldValidation"), ("in", "query"), ("schema", .object([("type", "string")]))]),
                .object([("name", "fieldManager"), ("in", "query"), ("schema", .object([("type", "string")]))]),
                .object([("name", "dryRun"), ("in", "query"), ("schema", .object([("type", "string")]))]),
            ])
            let op: JSONValue = .object([("x-kubernetes-action", "patch"), ("x-kubernetes-group-version-kind", gvk), ("parameters", params),
                                         ("responses", .object([("200", .object([("description", "OK")]))]))])
            paths.append((itemPath, .object([("patch", op), ("put", op), ("get", op), ("delete", op)])))
            let schemaName = "io.flotilla.sim.\(t.group.isEmpty ? "core" : t.group).\(t.version).\(t.kind)"
            schemas.append((schemaName, .object([
                ("type", "object"), ("x-kubernetes-preserve-unknown-fields", true),
                ("x-kubernetes-group-version-kind", .array([gvk])),
                ("properties", .object([("apiVersion", .object([("type", "string")])), ("kind", .object([("type", "string")])),
                                        ("metadata", .object([("type", "object"), ("x-kubernetes-preserve-unknown-fields", true)]))])),
            ])))
        }
        return .json(.object([("openapi", "3.0.0"), ("info", .object([("title", "Kubernetes"), ("version", "v1.32.0")])),
                              ("paths", .object(paths)), ("components", .object([("schemas", .object(schemas))]))]))
    }

    static func hash(_ types: [ResourceType]) -> String {
        var h: UInt64 = 1469598103934665603
        for t in types { for b in (t.kind + t.plural).utf8 { h = (h ^ UInt64(b)) &* 1099511628211 } }
        return String(h, radix: 16).uppercased()
    }
}
