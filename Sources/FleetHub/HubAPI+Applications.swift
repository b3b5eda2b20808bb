import FleetAPI
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

    func appSetInfo(_ set: ApplicationSet, full: Bool) -> ApplicationSetInfo {
        let status = hub.status(ofApplicationSet: set.name)
        return ApplicationSetInfo(name: set.name, source: hub.applicationSetFile(set.name) ?? "api", applications: status?.applications ?? 0,
                                  generatedAt: status?.generatedAt.map(HubContext.timestamp), error: status?.error, problems: status?.problems ?? [],
                                  object: full ? set.object : nil)
    }

    func listApplicationSets(_ r: APIRequest) throws -> APIResponse {
        let page = try Page(r)
        let sets = page.slice(hub.applicationSets(), name: \.name)
        return .json(page.answer(sets.items.map { appSetInfo($0, full: false) }, next: sets.next))
    }

    func getApplicationSet(_ name: String) throws -> APIResponse {
        guard let set = hub.applicationSet(named: name) else { throw HubError(.notFound, "ApplicationSet '\(name)' not found") }
        return .json(appSetInfo(set, full: true))
    }

    func parseApplicationSets(_ r: APIRequest) throws -> [ApplicationSet] {
        let sets = try ApplicationSet.parse(try text(r), file: "request body")
        if sets.isEmpty { throw HubError(.badRequest, "the body holds no ApplicationSet") }
        return sets
    }

    func planInfo(_ plan: ApplicationsSyncPlan) -> PlanInfo {
        PlanInfo(created: plan.create.map(\.name), updated: plan.update.map(\.name), deleted: plan.delete, unchanged: plan.unchanged.count,
                 retained: plan.retained)
    }

    func applyApplicationSets(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        if let caller {
            for set in sets { try hub.authorize(caller, hub.applicationSet(named: set.name) == nil ? "create" : "update", "applicationsets", set.name) }
        }
        var results: [AppliedApplicationSet] = []
        for set in sets {
            let plan = try hub.putApplicationSet(set, isCancelled: r.isCancelled)
            results.append(AppliedApplicationSet(name: set.name, plan: planInfo(plan), problems: hub.status(ofApplicationSet: set.name)?.problems ?? []))
        }
        return .json(Items(results))
    }

    /// What applying the body would do: Applications created, updated and deleted, each created or updated
    /// one with its rendered manifests and its diff against the live cluster. Changes nothing.
    func preview(_ r: APIRequest) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        var results: [PreviewedApplicationSet] = []
        for set in sets {
            let limits = hub.renderLimits(isCancelled: r.isCancelled)
            let (plan, _, problems) = try hub.plan(set, isCancelled: r.isCancelled, fromAPI: true)
            let existing = Dictionary(try hub.store.applications(appSet: set.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            // For naming each Application's cluster in the preview; unnamed when unreadable.
            let clusters = hub.context.attempt(.registryRead, "read the registry for a preview", { try hub.clusterStore.clusters() }) ?? []
            func detail(_ app: Application, change: String) throws -> PreviewApplication {
                // One cluster round trip per Application: stop between them once the deadline passes or the client leaves.
                do { try limits.checkpoint() } catch { throw HubError(.unavailable, "preview stopped: \(error) (limits.renderTimeout)") }
                let result = hub.preview(app, isCancelled: r.isCancelled)
                var preview = PreviewApplication(name: app.name, change: change, cluster: HubContext.cluster(of: app.object, in: clusters),
                                                 application: app.object, sync: result.syncStatus.rawValue, resources: result.resources.map(Self.resourceDiff),
                                                 message: result.message.isEmpty ? nil : result.message)
                if change == "update", let old = existing[app.name]?.object {
                    preview.applicationDiff = Differ.compare(desired: app.object, live: old).unified(label: "Application \(app.name)")
                }
                return preview
            }
            let details = try plan.create.map { try detail($0, change: "create") } + plan.update.map { try detail($0, change: "update") }
            let deletes = plan.delete.map { PreviewApplication(name: $0, change: "delete", cluster: existing[$0]?.cluster, prune: plan.pruneOnDelete) }
            results.append(PreviewedApplicationSet(name: set.name, plan: planInfo(plan), applications: details + deletes,
                                                   problems: problems.map { PreviewProblem(application: $0.application, reason: $0.reason.rawValue, message: $0.message) }))
        }
        return .json(Items(results))
    }

    static func resourceDiff(_ res: ReconcileResult.Resource) -> ResourceDiff {
        ResourceDiff(kind: res.ref.kind, namespace: res.ref.namespace, name: res.ref.name, status: res.inSync ? "Synced" : "OutOfSync", diff: res.diff)
    }

    // MARK: Applications

    static func summary(_ app: StoredApplication) -> JSONValue { APIJSON.value(ApplicationSummary(app)) }

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
        // `cluster=` means where an Application runs: during a failover, the cluster it moved to (not the one it
        // left). While some Applications are moved, every row is read and filtered on where it runs.
        let clusterFilter = r.query["cluster"]
        let moved = try clusterFilter != nil && !hub.store.placedApplications().isEmpty
        let filtered = moved || !selector.isEmpty || r.query["sync"] != nil || r.query["health"] != nil || caller.map { !hub.can($0, "get", "applications", "*/*") } ?? false
        // Unfiltered, a page reads one row more than it shows (to know whether more follow); filtered, more.
        let batch = filtered ? min(5000, max(page.limit * 2, 100)) : page.limit + 1
        scan: while more {
            // `appSet` (this API's name) or `appset` (Argo CD's CLI flag).
            let rows = try hub.store.applicationVersions(appSet: r.query["appSet"] ?? r.query["appset"], cluster: moved ? nil : clusterFilter, after: cursor, limit: batch)
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
                if moved, let clusterFilter, entry.runningOn != clusterFilter { continue }
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
        var summary = ApplicationSummary(app)
        if let at = hub.lastReconciled(name) { summary.reconciledAt = .string(at) }
        return .json(ApplicationDetail(summary: summary, object: app.object, status: app.status, history: try hub.store.history(name)))
    }

    func history(_ name: String) throws -> APIResponse {
        _ = try stored(name)
        return .json(Items(try hub.store.history(name)))
    }

    func diff(_ name: String) throws -> APIResponse {
        let result = try hub.diff(name)
        return .json(DiffInfo(name: name, sync: result.syncStatus.rawValue, message: result.message, resources: result.resources.map(Self.resourceDiff)))
    }
}
