import FleetAPI
import FleetAuth
import FleetConfig
import FleetDiff
import FleetGenerators
import FleetKube
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation

/// Routes of clusters, accounts, tokens and the event log.
extension HubAPI {
    // MARK: Accounts, tokens, can-i, projects

    func whoami(_ c: RouteCall) throws -> APIResponse {
        let caller = try authenticated(c)
        return .json(WhoAmI(account: caller.account, role: caller.role, token: caller.tokenID))
    }

    func canI(_ c: RouteCall) throws -> APIResponse {
        let caller = try authenticated(c)
        guard let action = c.request.query["action"], let resource = c.request.query["resource"] else { throw HubError(.badRequest, "query needs action, resource and object") }
        let object = c.request.query["object"] ?? "*"
        return .json(CanI(allowed: hub.can(caller, action, resource, object)))
    }

    func listAccounts(_ c: RouteCall) throws -> APIResponse {
        let page = try Page(c.request)
        let accounts = page.slice(try hub.authStore.accounts(), name: \.name)
        return .json(page.answer(accounts.items.map { AccountInfo(name: $0.name, role: $0.role, createdAt: $0.createdAt) }, next: accounts.next))
    }

    func createAccount(_ c: RouteCall) throws -> APIResponse {
        guard let body = try jsonBody(c.request), let name = body["name"]?.stringValue, let role = body["role"]?.stringValue else {
            throw HubError(.badRequest, "body must be {\"name\": NAME, \"role\": \"role:…\"}")
        }
        try hub.createAccount(name, role: role)
        return .json(AccountInfo(name: name, role: role, createdAt: nil), status: 201)
    }

    func createToken(_ c: RouteCall) throws -> APIResponse {
        let caller = try authenticated(c)
        let body = try self.body(TokenRequest.self, c.request)
        let expiresIn: Double?
        if let text = body?.expiresIn {
            guard let seconds = HubConfiguration.parseDuration(text) else { throw HubError(.invalid, "expiresIn '\(text)' is not a duration (e.g. 24h)") }
            expiresIn = seconds
        } else { expiresIn = nil }
        let made = try hub.createToken(account: c.name, seconds: expiresIn, description: body?.description ?? "", by: caller)
        return .json(TokenCreated(id: made.id, account: c.name, token: made.token, expiresAt: made.expiresAt), status: 201)
    }

    /// Every token for a caller who may read accounts (optionally of `?account=`), else the caller's own.
    func listTokens(_ c: RouteCall) throws -> APIResponse {
        let caller = try authenticated(c)
        let all = hub.can(caller, "get", "accounts", "*")
        let page = try Page(c.request)
        let tokens = page.slice(try hub.authStore.tokens(account: all ? c.request.query["account"] : caller.account).sorted { $0.id < $1.id }, name: \.id)
        return .json(page.answer(tokens.items.map(Hub.tokenInfo), next: tokens.next))
    }

    /// One's own token, or any token of an account the caller may update; others are "not found".
    func revokeToken(_ c: RouteCall) throws -> APIResponse {
        let caller = try authenticated(c)
        guard let token = try hub.authStore.token(id: c.name),
              token.account == caller.account || hub.can(caller, "update", "accounts", token.account) else {
            throw HubError(.notFound, "token '\(c.name)' not found")
        }
        guard try hub.authStore.revoke(id: c.name) else { throw HubError(.conflict, "token '\(c.name)' is already revoked") }
        return .json(Revoked(c.name))
    }

    func projects() -> APIResponse {
        .json(Items(hub.projectList().map { p in
            ProjectInfo(name: p.name, sourceRepos: p.sourceRepos,
                        destinations: p.destinations.map { .init(server: $0.server, name: $0.name, namespace: $0.namespace) }, syncWindows: p.syncWindows.count)
        }))
    }

    /// The caller of a route that needs one (every route but the open ones).
    func authenticated(_ c: RouteCall) throws -> Caller {
        guard let caller = c.caller else { throw HubError(.unauthorized, "authentication required") }
        return caller
    }

    func events(_ r: APIRequest) throws -> APIResponse {
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let text = r.query[key] else { return fallback }
            guard let n = Int(text), n >= 0 else { throw HubError(.badRequest, "\(key) must be a non-negative integer, not '\(text)'") }
            return n
        }
        let items = try hub.store.events(cluster: r.query["cluster"], application: r.query["application"] ?? r.query["app"],
                                         after: try int("after", 0), limit: min(10_000, try int("limit", 1000)))
        return .json(Items(items))
    }

    func clusterInfo(_ c: Cluster) -> HubCluster {
        let state = hub.clusterState(c.name)
        let down = hub.unreachableClusters()[c.name]
        return HubCluster(cluster: ClusterInfo(c), status: ClusterStatusInfo(
            state: state.health.state.rawValue,
            stateSince: state.health.since > 0 ? HubContext.timestamp(Date(timeIntervalSince1970: state.health.since)) : nil,
            lastError: down?.error ?? state.health.lastError, cordoned: state.cordoned, drained: state.drained,
            reachable: down == nil, unreachableSince: down.map { HubContext.timestamp($0.since) }))
    }

    func listClusters(_ r: APIRequest) throws -> APIResponse {
        let selector = try r.query["selector"].map { text -> LabelSelector in
            do { return try LabelSelector(parsing: text) } catch { throw HubError(.badRequest, "selector: \(error)") }
        } ?? .everything
        let page = try Page(r)
        let clusters = page.slice(try hub.clusterStore.clusters().filter { selector.matches($0.labels) }, name: \.name)
        return .json(page.answer(clusters.items.map(clusterInfo), next: clusters.next))
    }

    /// One request to a cluster's Kubernetes API on the caller's behalf (`/api/v1/clusters/NAME/proxy/PATH`):
    /// the path, query and body go on unchanged with the hub's credentials for that cluster, the answer comes
    /// back as the cluster gave it. Only what a request needs is passed on: the caller's headers (its hub
    /// token among them) never reach the cluster. Watches stay out: a proxied request is one answer.
    func proxy(cluster name: String, path: String, _ request: APIRequest) throws -> APIResponse {
        guard path.hasPrefix("/api") || path == "/version" || path.hasPrefix("/openapi") else {
            throw HubError(.notFound, "the proxy serves the Kubernetes API of cluster '\(name)' (/api, /apis, /version, /openapi), not \(path)")
        }
        if request.query["watch"].map({ $0 == "true" || $0 == "1" }) == true || path.contains("/watch/") {
            throw HubError(.badRequest, "watches are not served through the hub's proxy; list instead")
        }
        let client = try hub.client(for: name)
        let query = request.query.sorted { $0.key < $1.key }
            .map { KubeClient.queryValue($0.key) + "=" + KubeClient.queryValue($0.value) }.joined(separator: "&")
        // JSON only: the hub answers text. A client asking for protobuf first gets JSON, which it also reads.
        let accept = request.headers["accept"].flatMap { $0.contains("protobuf") ? nil : $0 } ?? "application/json"
        let answer: HTTPResponse
        do {
            answer = try client.forward(request.method, path + (query.isEmpty ? "" : "?" + query),
                                        body: request.body.isEmpty ? nil : request.body, contentType: request.headers["content-type"], accept: accept)
        } catch let error as KubeError {
            // As the API server words a failure, so that kubectl prints it.
            let status: JSONValue = .object([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object([])), ("status", "Failure"),
                                             ("message", .string("cluster \(name) did not answer: \(error.message)")),
                                             ("reason", "ServiceUnavailable"), ("code", 503)])
            return .json(status, status: 503)
        }
        let text = answer.text
        let json = text.first.map { $0 == "{" || $0 == "[" } ?? false
        return APIResponse(status: answer.status, contentType: json ? "application/json" : "text/plain; charset=utf-8", body: text)
    }

    func getCluster(_ name: String) throws -> APIResponse {
        guard let c = try hub.clusterStore.cluster(named: name) else { throw HubError(.notFound, "cluster '\(name)' not found") }
        return .json(clusterInfo(c))
    }

    /// POST: a clusters file body (Flotilla format or Argo CD Secrets), or one cluster; upserts them.
    /// Query: `prune=true` removes clusters the body does not list, `dryRun=true` only reports,
    /// `mode=create` refuses a name that exists. PUT /clusters/NAME: one cluster, whose name must match.
    func putClusters(_ r: APIRequest, name: String?, caller: Caller?) throws -> APIResponse {
        var body = try text(r)
        let parsed = try YAMLValue.parse(body, file: "request body")
        if parsed["clusters"] == nil && parsed["kind"] == nil {
            // One cluster: wrap it as a clusters file.
            body = "clusters:\n" + body.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { $0.offset == 0 ? "  - " + $0.element : "    " + $0.element }.joined(separator: "\n")
        }
        // Credentials only by value: `tokenFile: /any/path` would make the hub read its own files for the caller.
        let entries = try ClustersFile.parse(body, file: "request body", files: NoFiles())
        try hub.context.checkExecPlugins(entries)
        if let name, entries.map(\.cluster.name) != [name] {
            throw HubError(.badRequest, "the body must describe exactly the cluster '\(name)' (got \(entries.map(\.cluster.name)))")
        }
        let prune = r.query["prune"] == "true", dryRun = r.query["dryRun"] == "true", create = r.query["mode"] == "create"
        let apply: (inout ClusterRegistry) throws -> Void = { registry in
            if create, let taken = entries.first(where: { registry[$0.cluster.name] != nil }) {
                throw HubError(.conflict, "cluster '\(taken.cluster.name)' already exists")
            }
            if prune {
                let listed = Set(entries.map(\.cluster.name))
                for name in registry.names where !listed.contains(name) {
                    if let caller { try hub.authorize(caller, "delete", "clusters", name) }
                    registry.remove(name)
                }
            }
            for entry in entries {
                let existing = registry[entry.cluster.name]
                if let caller, existing != entry.cluster {
                    try hub.authorize(caller, existing == nil ? "create" : "update", "clusters", entry.cluster.name)
                }
                registry.upsert(entry.cluster)
            }
        }
        let changes: ClusterChanges
        if dryRun {
            let before = ClusterRegistry(try hub.clusterStore.clusters())
            var after = before
            try apply(&after)
            try after.validate()
            changes = after.changes(from: before)
        } else {
            changes = try hub.clusterStore.update(apply)
            if !changes.isEmpty { hub.clustersChanged() }
        }
        return .json(Self.changes(changes), status: changes.created.isEmpty || dryRun ? 200 : 201)
    }

    static func changes(_ c: ClusterChanges) -> RegistryChanges {
        RegistryChanges(created: c.created, updated: c.updated, unchanged: c.unchanged, deleted: c.deleted)
    }

    func deleteCluster(_ name: String) throws -> APIResponse {
        guard try hub.clusterStore.cluster(named: name) != nil else { throw HubError(.notFound, "cluster '\(name)' not found") }
        let changes = try hub.clusterStore.update { registry in _ = registry.remove(name) }
        hub.clustersChanged()
        return .json(Self.changes(changes))
    }

    /// Body: `{"set": {"k": "v"}, "remove": ["k2"], "overwrite": false}`. Changing an existing label's value
    /// needs `overwrite` (409 otherwise); removing a label the cluster lacks is a 400.
    func labelCluster(_ name: String, _ r: APIRequest) throws -> APIResponse {
        guard let body = try body(LabelChange.self, r) else { throw HubError(.badRequest, "body must be {\"set\": {...}, \"remove\": [...]}") }
        guard try hub.clusterStore.cluster(named: name) != nil else { throw HubError(.notFound, "cluster '\(name)' not found") }
        let set = (body.set ?? [:]).sorted { $0.key < $1.key }
        let remove = body.remove ?? []
        let overwrite = body.overwrite ?? true
        let changes = try hub.clusterStore.update { registry in
            guard var cluster = registry[name] else { return }
            for k in remove where cluster.labels.removeValue(forKey: k) == nil {
                throw HubError(.badRequest, "cluster '\(name)' has no label '\(k)' to remove")
            }
            for (k, value) in set {
                if let old = cluster.labels[k], old != value, !overwrite {
                    throw HubError(.conflict, "cluster '\(name)' already has label \(k)=\(old); use --overwrite to change it")
                }
                cluster.labels[k] = value
            }
            registry.upsert(cluster)
        }
        if !changes.isEmpty { hub.clustersChanged() }
        return try getCluster(name)
    }
}
