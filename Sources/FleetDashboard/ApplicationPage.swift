import FleetAPI
import FleetModel

/// What the Application page shows, besides the API's detail: the live diff (or why there is none) and which
/// buttons the viewer's role allows (the server checks again on every post).
public struct ApplicationPageInput: Sendable {
    public var detail: ApplicationDetail
    public var diff: DiffInfo?
    public var diffProblem: String?
    public var canSync: Bool
    public var canRollback: Bool

    public init(detail: ApplicationDetail, diff: DiffInfo?, diffProblem: String?, canSync: Bool, canRollback: Bool) {
        self.detail = detail
        self.diff = diff
        self.diffProblem = diffProblem
        self.canSync = canSync
        self.canRollback = canRollback
    }
}

extension Renderer {
    public func application(_ input: ApplicationPageInput, viewer: Viewer, flash: Flash?) -> String {
        struct ResourceView { let kind, namespace, name, sync, syncTone, health, healthTone, message: String }
        struct HistoryView { let id: Int, revision, subject, author, cluster, startedAt, finishedAt, result, tone: String }
        struct ConditionView { let type, message: String }
        struct View {
            let chrome: Chrome, name, base, csrf: String, canSync, canRollback: Bool, pinned: String?
            let sync, syncTone, health, healthTone, operation, revision, target, appSet, owner, source, destination, running: String
            /// The owning ApplicationSet's Applications; nil for an Application written directly.
            let appSetHref: String?
            let placement: String?, project, reconciledAt: String
            let conditions: [ConditionView], hasConditions: Bool, resources: [ResourceView], diffProblem: String?, diffs: [DiffView]
            let history: [HistoryView]
        }
        let s = input.detail.summary
        let object = input.detail.object
        let status = (try? JSONCoding.decode(ApplicationStatus.self, from: input.detail.status)) ?? nil
        let sync = s.sync.rawValue, health = s.health.rawValue
        let source = object.value(at: ["spec", "source"]) ?? object.value(at: ["spec", "sources"])?.arrayValue?.first ?? .null
        let sourceText = [source["repoURL"]?.stringValue, source["path"]?.stringValue ?? source["chart"]?.stringValue,
                          source["targetRevision"]?.stringValue.map { "@ \($0)" }].compactMap { $0 }.joined(separator: " ")
        let destination = [object.value(at: ["spec", "destination", "name"])?.stringValue ?? object.value(at: ["spec", "destination", "server"])?.stringValue,
                           object.value(at: ["spec", "destination", "namespace"])?.stringValue.map { "namespace \($0)" }].compactMap { $0 }.joined(separator: ", ")
        let entry = BoardEntry(name: s.name, appSet: s.appSet, cluster: s.cluster, activeCluster: s.activeCluster)
        let placement = s.placement.map { p in
            "\(p.phase.rawValue): primary \(p.primary), active \(p.active ?? "none")" + (p.reason.isEmpty ? "" : " (\(p.reason))")
        }
        let resources = (status?.resources ?? []).map { r in
            ResourceView(kind: r.kind, namespace: r.namespace ?? "", name: r.name, sync: r.status.rawValue, syncTone: Tone.of(sync: r.status).cssClass,
                         health: r.health.rawValue, healthTone: Tone.of(health: r.health).cssClass, message: r.message)
        }
        let conditions = (status?.conditions ?? []).map { ConditionView(type: $0.type.rawValue, message: $0.message) }
        let history = input.detail.history.reversed().map { h in
            HistoryView(id: h.id, revision: ApplicationRow.short(h.revision), subject: h.subject ?? "", author: h.author ?? "", cluster: h.cluster ?? "",
                        startedAt: h.startedAt, finishedAt: h.finishedAt, result: h.result,
                        tone: h.result == "Succeeded" ? Tone.good.cssClass : Tone.bad.cssClass)
        }
        let view = View(
            chrome: Chrome(.applications, title: s.name, viewer: viewer, flash: flash, live: "/ui/live" + query([("apps", s.name)])),
            name: s.name, base: applicationPath(s.name), csrf: viewer.csrf, canSync: input.canSync, canRollback: input.canRollback,
            pinned: s.pinnedRevision, sync: sync, syncTone: Tone.of(sync: s.sync).cssClass, health: health,
            healthTone: Tone.of(health: s.health).cssClass,
            operation: s.operation.stringValue ?? "", revision: ApplicationRow.short(s.revision.stringValue),
            // What git is followed at (Argo CD's "target"), beside what was deployed: a branch or tag moves, a pin holds.
            target: source["targetRevision"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? (source["chart"] != nil ? "latest" : "HEAD"),
            appSet: s.appSet, owner: s.owner,
            source: sourceText, destination: destination,
            running: ApplicationRow.running(entry), appSetHref: s.appSet.isEmpty ? nil : "/ui/applications" + query([("appSet", s.appSet)]),
            placement: placement, project: object.value(at: ["spec", "project"])?.stringValue ?? "default",
            reconciledAt: s.reconciledAt.stringValue ?? "never", conditions: conditions, hasConditions: !conditions.isEmpty, resources: resources,
            diffProblem: input.diffProblem ?? input.diff.flatMap { $0.message.isEmpty ? nil : $0.message },
            diffs: (input.diff?.resources ?? []).map(DiffView.init), history: Array(history))
        return render("application", view)
    }
}
