import FleetAuth
import FleetConfig
import FleetDiff
import FleetGenerators
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation

/// Routes of ApplicationSets (list, apply, preview) and Applications (list, get, history, diff).
extension HubAPI {
    // MARK: ApplicationSets

    func appSetJSON(_ set: ApplicationSet, full: Bool) -> JSONValue {
        let status = hub.status(ofApplicationSet: set.name)
        var json: JSONValue = .object([
            ("name", .string(set.name)),
            ("source", .string(hub.applicationSetFile(set.name) ?? "api")),
            ("applications", .int(status?.applications ?? 0)),
            ("generatedAt", status?.generatedAt.map { .string(HubContext.timestamp($0)) } ?? .null),
            ("error", status?.error.map(JSONValue.string) ?? .null),
            // Applications skipped at the last generation (Argo CD's ErrorOccurred condition).
            ("problems", .array((status?.problems ?? []).map(JSONValue.string))),
        ])
        if full { json.set("object", set.object) }
        return json
    }

    func listApplicationSets(_ r: APIRequest) throws -> APIResponse {
        let page = try Page(r)
        let sets = page.slice(hub.applicationSets(), name: \.name)
        return .json(page.answer(sets.items.map { appSetJSON($0, full: false) }, next: sets.next))
    }

    func getApplicationSet(_ name: String) throws -> APIResponse {
        guard let set = hub.applicationSet(named: name) else { throw HubError(.notFound, "ApplicationSet '\(name)' not found") }
        return .json(appSetJSON(set, full: true))
    }

    func parseApplicationSets(_ r: APIRequest) throws -> [ApplicationSet] {
        let sets = try ApplicationSet.parse(try text(r), file: "request body")
        if sets.isEmpty { throw HubError(.badRequest, "the body holds no ApplicationSet") }
        return sets
    }

    func planJSON(_ plan: ApplicationsSyncPlan) -> JSONValue {
        .object([("created", .array(plan.create.map { .string($0.name) })), ("updated", .array(plan.update.map { .string($0.name) })),
                 ("deleted", .array(plan.delete.map(JSONValue.string))), ("unchanged", .int(plan.unchanged.count)),
                 ("retained", .array(plan.retained.map(JSONValue.string)))])
    }

    func applyApplicationSets(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        if let caller {
            for set in sets { try hub.authorize(caller, hub.applicationSet(named: set.name) == nil ? "create" : "update", "applicationsets", set.name) }
        }
        var results: [JSONValue] = []
        for set in sets {
            let plan = try hub.putApplicationSet(set, isCancelled: r.isCancelled)
            let problems = hub.status(ofApplicationSet: set.name)?.problems ?? []
            results.append(.object([("name", .string(set.name)), ("plan", planJSON(plan)), ("problems", .array(problems.map(JSONValue.string)))]))
        }
        return .json(.object([("items", .array(results))]))
    }

    /// What applying the body would do: Applications created, updated and deleted, each created or updated
    /// one with its rendered manifests and its diff against the live cluster. Changes nothing.
    func preview(_ r: APIRequest) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        var results: [JSONValue] = []
        for set in sets {
            let limits = hub.renderLimits(isCancelled: r.isCancelled)
            let (plan, _, problems) = try hub.plan(set, isCancelled: r.isCancelled, fromAPI: true)
            let existing = Dictionary(try hub.store.applications(appSet: set.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            func detail(_ app: Application, change: String) throws -> JSONValue {
                // One cluster round trip per Application: stop between them once the deadline passes or the client leaves.
                do { try limits.checkpoint() } catch { throw HubError(.unavailable, "preview stopped: \(error) (limits.renderTimeout)") }
                let result = hub.preview(app)
                var json: JSONValue = .object([
                    ("name", .string(app.name)), ("change", .string(change)),
                    ("cluster", HubContext.cluster(of: app.object, in: (try? hub.clusterStore.clusters()) ?? []).map(JSONValue.string) ?? .null),
                    ("application", app.object),
                    ("sync", .string(result.syncStatus.rawValue)),
                    ("resources", .array(result.resources.map { res in
                        .object([("kind", .string(res.ref.kind)), ("namespace", res.ref.namespace.map(JSONValue.string) ?? .null),
                                 ("name", .string(res.ref.name)), ("status", .string(res.inSync ? "Synced" : "OutOfSync")),
                                 ("diff", res.diff.map(JSONValue.string) ?? .null)])
                    })),
                ])
                if !result.message.isEmpty { json.set("message", .string(result.message)) }
                if change == "update", let old = existing[app.name]?.object {
                    json.set("applicationDiff", .string(Differ.compare(desired: app.object, live: old).unified(label: "Application \(app.name)")))
                }
                return json
            }
            let details = try plan.create.map { try detail($0, change: "create") } + plan.update.map { try detail($0, change: "update") }
            let deletes = plan.delete.map { name in
                JSONValue.object([("name", .string(name)), ("change", "delete"), ("cluster", existing[name]?.cluster.map(JSONValue.string) ?? .null),
                                  ("prune", .bool(plan.pruneOnDelete))])
            }
            results.append(.object([("name", .string(set.name)), ("plan", planJSON(plan)), ("applications", .array(details + deletes)),
                                    ("problems", .array(problems.map { .object([("application", .string($0.application)),
                                                                                 ("reason", .string($0.reason.rawValue)),
                                                                                 ("message", .string($0.message))]) }))]))
        }
        return .json(.object([("items", .array(results))]))
    }

    // MARK: Applications

    static func summary(_ app: StoredApplication) -> JSONValue {
        let s = app.status
        return .object([
            ("name", .string(app.name)), ("appSet", .string(app.appSet)), ("cluster", app.cluster.map(JSONValue.string) ?? .null),
            ("namespace", app.object.value(at: ["spec", "destination", "namespace"]) ?? .null),
            ("sync", s.value(at: ["sync", "status"]) ?? "Unknown"), ("health", s.value(at: ["health", "status"]) ?? "Unknown"),
            ("revision", s.value(at: ["sync", "revisions"])?.arrayValue?.first ?? .null),
            ("pinnedRevision", app.pinnedRevision.map(JSONValue.string) ?? .null),
            ("operation", s.value(at: ["operationState", "phase"]) ?? .null),
            ("reconciledAt", s["reconciledAt"] ?? .null),
            ("conditions", s["conditions"] ?? .array([])),
            ("activeCluster", app.activeCluster.map(JSONValue.string) ?? .null),
            ("placement", PlacementWriter.json(app.placement)),
        ])
    }

    func listApplications(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        let selector = try r.query["selector"].map { text -> LabelSelector in
            do { return try LabelSelector(parsing: text) } catch { throw HubError(.badRequest, "selector: \(error)") }
        } ?? .everything
        let page = try Page(r)
        // Rows are read in batches after the cursor and filtered until the page is full: a page costs about its
        // size, whatever the number of Applications.
        var body: [UInt8] = []
        var shown = 0
        var cursor = page.after
        var more = true
        // The caller's roles, once for every item's RBAC check.
        let roles = caller.map { hub.policy.roles(of: $0.account, extra: [$0.role]) }
        let filtered = !selector.isEmpty || r.query["sync"] != nil || r.query["health"] != nil || caller.map { !hub.can($0, "get", "applications", "*/*") } ?? false
        // Unfiltered, a page reads one row more than it shows (to know whether more follow); filtered, more.
        let batch = filtered ? min(5000, max(page.limit * 2, 100)) : page.limit + 1
        scan: while more {
            let rows = try hub.store.applicationVersions(appSet: r.query["appSet"], cluster: r.query["cluster"], after: cursor, limit: batch)
            more = rows.count == batch
            // Decode only what changed since it was last listed.
            let readAt = hub.summaries.tick
            var entries = rows.map { hub.summaries.get($0.name, updatedAt: $0.updatedAt) }
            let missing = rows.indices.filter { entries[$0] == nil }
            if !missing.isEmpty {
                var position: [String: Int] = [:]
                for i in missing { position[rows[i].name] = i }
                for app in try hub.store.applications(named: missing.map { rows[$0].name }) {
                    guard let i = position[app.name] else { continue }
                    let entry = SummaryCache.entry(app, updatedAt: rows[i].updatedAt, summary: Self.summary(app))
                    hub.summaries.put(app.name, entry, readAt: readAt)
                    entries[i] = entry
                }
            }
            for (index, row) in rows.enumerated() {
                cursor = row.name
                guard let entry = entries[index] else { continue }   // deleted meanwhile
                if !selector.isEmpty && !selector.matches(entry.labels) { continue }
                if let roles, !hub.policy.allows(roles: roles, "get", "applications", "\(entry.project)/\(row.name)") { continue }
                if let sync = r.query["sync"], entry.sync != sync { continue }
                if let health = r.query["health"], entry.health != health { continue }
                if !body.isEmpty { body.append(UInt8(ascii: ",")) }
                hub.summaries.write(entry, reconciledAt: hub.lastReconciled(row.name), into: &body)
                shown += 1
                if shown == page.limit {
                    // More follow if this batch has rows left or another batch may: the next page starts after
                    // this one's last name.
                    more = more || index < rows.count - 1
                    break scan
                }
            }
        }
        // The items are written from cached bytes: `{"items":[…],"continue":…}`.
        var out = Array(#"{"items":["#.utf8)
        out.append(contentsOf: body)
        out.append(UInt8(ascii: "]"))
        if more, let cursor { out.append(contentsOf: (#","continue":"# + JSONValue.string(Page.encode(cursor)).serialized(pretty: false)).utf8) }
        out.append(contentsOf: "}\n".utf8)
        return APIResponse(status: 200, contentType: "application/json", body: String(decoding: out, as: UTF8.self))
    }

    func stored(_ name: String) throws -> StoredApplication {
        guard let app = try hub.store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        return app
    }

    func getApplication(_ name: String) throws -> APIResponse {
        let app = try stored(name)
        var json = Self.summary(app)
        if let at = hub.lastReconciled(name) { json.set("reconciledAt", .string(at)) }
        json.set("object", app.object)
        json.set("status", app.status)
        json.set("history", historyJSON(try hub.store.history(name)))
        return .json(json)
    }

    func historyJSON(_ records: [SyncRecord]) -> JSONValue {
        .array(records.map { h in
            .object([("id", .int(h.id)), ("revision", .string(h.revision)), ("startedAt", .string(h.startedAt)),
                     ("finishedAt", .string(h.finishedAt)), ("result", .string(h.result)), ("resources", h.resources)])
        })
    }

    func history(_ name: String) throws -> APIResponse {
        _ = try stored(name)
        return .json(.object([("items", historyJSON(try hub.store.history(name)))]))
    }

    func diff(_ name: String) throws -> APIResponse {
        let result = try hub.diff(name)
        return .json(.object([
            ("name", .string(name)), ("sync", .string(result.syncStatus.rawValue)), ("message", .string(result.message)),
            ("resources", .array(result.resources.map { res in
                .object([("kind", .string(res.ref.kind)), ("namespace", res.ref.namespace.map(JSONValue.string) ?? .null),
                         ("name", .string(res.ref.name)), ("status", .string(res.inSync ? "Synced" : "OutOfSync")),
                         ("diff", res.diff.map(JSONValue.string) ?? .null)])
            })),
        ]))
    }
}
