import FleetAPI
import FleetModel
import Foundation

/// Who may call a route.
enum RouteAccess: Sendable {
    /// No token: liveness, readiness, and the git webhook (its own signature).
    case open
    /// Any authenticated caller; the handler narrows what it answers (a list filtered per item, the caller's
    /// own tokens).
    case authenticated
    /// RBAC `action` on `resource`, for the object the path names.
    case rbac(String, String, RBACObject)
    /// At least one of the actions (an upsert: which one applies is checked per object in the handler).
    case anyOf([String], String, RBACObject)
    /// The caller's own account, or RBAC `action` on `resource` for the account the path names.
    case ownAccountOr(String, String)
}

/// The RBAC object a route acts on.
enum RBACObject: Sendable {
    /// `*`: the route names no object.
    case all
    /// The path's `*` segment at this index.
    case segment(Int)
    /// `PROJECT/NAME` of the Application named by the path's `*` segment at this index.
    case application(Int)
}

/// One route of the API: method, path pattern (`*` for a name), who may call it, whether it runs behind the
/// admission gate for expensive work, and its handler.
struct Route: Sendable {
    let method: String
    let pattern: StaticString
    let access: RouteAccess
    /// Bounded only by its input (templates, git, clusters): a deadline, the admission gate, stopped when the
    /// client leaves.
    var expensive = false
    /// The pattern is a prefix: any path below it matches, and what follows it is the last of `values`.
    var prefix = false
    let handle: @Sendable (HubAPI, RouteCall) throws -> APIResponse
}

/// A matched request: the request, the values of the pattern's `*` segments, the authenticated caller.
struct RouteCall {
    let request: APIRequest
    let values: [String]
    let caller: Caller?

    var name: String { values[0] }
}

/// The API's one route table: the hub's router (`HubAPI.makeRouter`) registers each route with its `AuthorizeRoute`
/// middleware, its handler and the admission gate when it is expensive; 405 answers read it too.
enum HubRoutes {
    static let all: [Route] = [
        Route(method: "GET", pattern: "healthz", access: .open) { _, _ in APIResponse(status: 200, contentType: "text/plain", body: "ok\n") },
        Route(method: "GET", pattern: "readyz", access: .open) { api, _ in
            api.hub.isReady ? APIResponse(status: 200, contentType: "text/plain", body: "ok\n")
                : APIResponse(status: 503, contentType: "text/plain", body: "loading\n")
        },
        Route(method: "GET", pattern: "metrics", access: .authenticated) { api, _ in
            APIResponse(status: 200, contentType: "text/plain; version=0.0.4", body: api.hub.prometheus())
        },
        Route(method: "POST", pattern: "api/v1/webhook/git", access: .open) { api, c in api.webhook(c.request) },
        Route(method: "GET", pattern: "api/v1/replicas", access: .rbac("get", "clusters", .all)) { api, _ in .json(Items(try api.hub.replicaList())) },

        // Clusters. Upserts check per cluster in the handler: create for a new one, update for one that exists,
        // delete for each one a prune removes.
        Route(method: "GET", pattern: "api/v1/clusters", access: .rbac("get", "clusters", .all)) { api, c in try api.listClusters(c.request) },
        Route(method: "POST", pattern: "api/v1/clusters", access: .anyOf(["create", "update", "delete"], "clusters", .all)) { api, c in
            try api.putClusters(c.request, name: nil, caller: c.caller)
        },
        Route(method: "GET", pattern: "api/v1/clusters/*", access: .rbac("get", "clusters", .segment(0))) { api, c in try api.getCluster(c.name) },
        Route(method: "PUT", pattern: "api/v1/clusters/*", access: .anyOf(["create", "update", "delete"], "clusters", .segment(0))) { api, c in
            try api.putClusters(c.request, name: c.name, caller: c.caller)
        },
        Route(method: "DELETE", pattern: "api/v1/clusters/*", access: .rbac("delete", "clusters", .segment(0))) { api, c in try api.deleteCluster(c.name) },
        Route(method: "POST", pattern: "api/v1/clusters/*/labels", access: .rbac("update", "clusters", .segment(0))) { api, c in
            try api.labelCluster(c.name, c.request)
        },
        Route(method: "POST", pattern: "api/v1/clusters/*/cordon", access: .rbac("update", "clusters", .segment(0))) { api, c in
            try api.hub.cordon(c.name)
            return try api.getCluster(c.name)
        },
        Route(method: "POST", pattern: "api/v1/clusters/*/uncordon", access: .rbac("update", "clusters", .segment(0))) { api, c in
            try api.hub.uncordon(c.name)
            return try api.getCluster(c.name)
        },
        Route(method: "POST", pattern: "api/v1/clusters/*/drain", access: .rbac("update", "clusters", .segment(0))) { api, c in
            try api.hub.drain(c.name)
            return try api.getCluster(c.name)
        },
        Route(method: "POST", pattern: "api/v1/clusters/*/failback", access: .rbac("update", "clusters", .segment(0))) { api, c in
            let n = try api.hub.failback(c.name)
            return .json(FailbackStarted(cluster: c.name, failingBack: n), status: 202)
        },

        // A cluster's Kubernetes API through the hub (the hub's credentials, the caller's RBAC): what `flotilla
        // apply/diff/get --cluster` and kubectl use. RBAC `proxy` on the cluster, for reads and writes alike.
    ] + ["GET", "POST", "PUT", "PATCH", "DELETE"].map { method in
        Route(method: method, pattern: "api/v1/clusters/*/proxy", access: .rbac("proxy", "clusters", .segment(0)), expensive: true, prefix: true) { api, c in
            try api.proxy(cluster: c.values[0], path: c.values[1], c.request)
        }
    } + [
        Route(method: "GET", pattern: "api/v1/events", access: .rbac("get", "events", .all)) { api, c in try api.events(c.request) },
        Route(method: "GET", pattern: "api/v1/projects", access: .rbac("get", "projects", .all)) { api, _ in api.projects() },

        // Accounts and tokens. Tokens of one's own account need no more than authentication.
        Route(method: "GET", pattern: "api/v1/whoami", access: .authenticated) { api, c in try api.whoami(c) },
        Route(method: "GET", pattern: "api/v1/can-i", access: .authenticated) { api, c in try api.canI(c) },
        Route(method: "GET", pattern: "api/v1/accounts", access: .rbac("get", "accounts", .all)) { api, c in try api.listAccounts(c) },
        Route(method: "POST", pattern: "api/v1/accounts", access: .rbac("create", "accounts", .all)) { api, c in try api.createAccount(c) },
        Route(method: "DELETE", pattern: "api/v1/accounts/*", access: .rbac("delete", "accounts", .segment(0))) { api, c in
            try api.hub.deleteAccount(c.name)
            return .json(Deleted(c.name))
        },
        Route(method: "POST", pattern: "api/v1/accounts/*/tokens", access: .ownAccountOr("update", "accounts")) { api, c in try api.createToken(c) },
        Route(method: "GET", pattern: "api/v1/tokens", access: .authenticated) { api, c in try api.listTokens(c) },
        Route(method: "DELETE", pattern: "api/v1/tokens/*", access: .authenticated) { api, c in try api.revokeToken(c) },

        // ApplicationSets. Writes check per ApplicationSet in the handler: create for a new one, update for one that exists.
        Route(method: "GET", pattern: "api/v1/applicationsets", access: .rbac("get", "applicationsets", .all)) { api, c in
            try api.listApplicationSets(c.request)
        },
        Route(method: "POST", pattern: "api/v1/applicationsets", access: .anyOf(["create", "update"], "applicationsets", .all), expensive: true) { api, c in
            try api.applyApplicationSets(c.request, caller: c.caller)
        },
        Route(method: "POST", pattern: "api/v1/applicationsets/preview", access: .rbac("get", "applicationsets", .all), expensive: true) { api, c in
            try api.preview(c.request)
        },
        Route(method: "GET", pattern: "api/v1/applicationsets/*", access: .rbac("get", "applicationsets", .segment(0))) { api, c in
            try api.getApplicationSet(c.name)
        },
        Route(method: "GET", pattern: "api/v1/applicationsets/*/rollout", access: .rbac("get", "applicationsets", .segment(0))) { api, c in
            try api.rollout(c.name)
        },
        Route(method: "DELETE", pattern: "api/v1/applicationsets/*", access: .rbac("delete", "applicationsets", .segment(0))) { api, c in
            // An Application written directly is deleted as an Application (its own RBAC), never from here.
            guard !c.name.contains("/") else { throw HubError(.notFound, "ApplicationSet '\(c.name)' not found") }
            try api.hub.deleteApplicationSet(c.name)
            return .json(Deleted(c.name))
        },

        Route(method: "GET", pattern: "api/v1/reports/compliance", access: .rbac("get", "applications", .all)) { api, c in try api.compliance(c.request) },

        // Promotions: RBAC in the handler (get on the promotion's ApplicationSet; sync to promote; approvers to approve).
        Route(method: "GET", pattern: "api/v1/promotions", access: .authenticated) { api, c in
            .json(Items(try api.hub.context.promotions.map { try api.hub.promotionStatus($0.name) }))
        },
        Route(method: "GET", pattern: "api/v1/promotions/*", access: .authenticated) { api, c in try api.promotionCall(c, action: nil) },
        Route(method: "POST", pattern: "api/v1/promotions/*/promote", access: .authenticated) { api, c in try api.promotionCall(c, action: "promote") },
        Route(method: "POST", pattern: "api/v1/promotions/*/approve", access: .authenticated) { api, c in try api.promotionCall(c, action: "approve") },

        // Applications. The list is filtered per item.
        Route(method: "GET", pattern: "api/v1/applications", access: .authenticated) { api, c in try api.listApplications(c.request, caller: c.caller) },
        // Applications written directly: RBAC per Application in the handler (create or update on PROJECT/NAME).
        Route(method: "POST", pattern: "api/v1/applications", access: .authenticated, expensive: true) { api, c in
            try api.applyApplicationSets(c.request, caller: c.caller, onlyApplications: true)
        },
        Route(method: "DELETE", pattern: "api/v1/applications/*", access: .rbac("delete", "applications", .application(0))) { api, c in
            try api.deleteApplication(c.name)
        },
        Route(method: "GET", pattern: "api/v1/applications/*", access: .rbac("get", "applications", .application(0))) { api, c in
            try api.getApplication(c.name)
        },
        Route(method: "GET", pattern: "api/v1/applications/*/diff", access: .rbac("get", "applications", .application(0)), expensive: true) { api, c in
            try api.diff(c.name)
        },
        Route(method: "GET", pattern: "api/v1/applications/*/history", access: .rbac("get", "applications", .application(0))) { api, c in
            try api.history(c.name)
        },
        Route(method: "POST", pattern: "api/v1/applications/*/terminate-op", access: .rbac("sync", "applications", .application(0))) { api, c in
            try api.hub.terminateOperation(c.name, by: c.caller?.account ?? "api")
            return .json(Queued(application: c.name), status: 202)
        },
        Route(method: "POST", pattern: "api/v1/applications/*/sync", access: .rbac("sync", "applications", .application(0))) { api, c in
            let body = try api.body(SyncRequest.self, c.request)
            try api.hub.sync(c.name, prune: body?.prune ?? true, by: c.caller?.account ?? "api")
            return .json(Queued(application: c.name), status: 202)
        },
        Route(method: "POST", pattern: "api/v1/applications/*/refresh", access: .rbac("sync", "applications", .application(0))) { api, c in
            try api.hub.refresh(c.name)
            return .json(Queued(application: c.name), status: 202)
        },
        Route(method: "POST", pattern: "api/v1/applications/*/rollback", access: .rbac("rollback", "applications", .application(0))) { api, c in
            let given: RollbackRequest?
            do { given = try api.body(RollbackRequest.self, c.request) } catch {
                throw HubError(.badRequest, "body must be {\"id\": N}: a history entry id (\(error))")
            }
            guard let body = given else { throw HubError(.badRequest, "body must be {\"id\": N}: a history entry id") }
            let revision = try api.hub.rollback(c.name, to: body.id)
            return .json(Queued(application: c.name, pinnedRevision: revision), status: 202)
        },
        Route(method: "POST", pattern: "api/v1/applications/*/unpin", access: .rbac("rollback", "applications", .application(0))) { api, c in
            try api.hub.unpin(c.name)
            return .json(Queued(application: c.name, pinnedRevision: nil), status: 202)
        },
    ]

    /// Route patterns split once: the router's paths and the 405 check are made from them.
    static let segments: [[Substring]] = all.map { $0.pattern.description.split(separator: "/") }

    /// Whether some route has this path with another method (405, not 404).
    static func knowsPath(_ request: APIRequest) -> Bool {
        zip(all, segments).contains { match(request.segments, $1, prefix: $0.prefix) != nil }
    }

    private static func match(_ parts: [Substring], _ want: [Substring], prefix: Bool = false) -> [String]? {
        guard parts.count == want.count || (prefix && parts.count > want.count) else { return nil }
        var values: [String] = []
        for (part, w) in zip(parts, want) {
            // Names arrive percent-encoded: cluster names are free text (`arn:aws:eks:…:cluster/prod`).
            if w == "*" { values.append(String(part).removingPercentEncoding ?? String(part)) } else if part != w { return nil }
        }
        // A prefix route's rest is passed on as it came (still percent-encoded), with a leading slash.
        if prefix { values.append("/" + parts[want.count...].joined(separator: "/")) }
        return values
    }
}
