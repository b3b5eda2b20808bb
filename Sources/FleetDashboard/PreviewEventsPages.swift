import FleetAPI
import FleetModel

extension Renderer {
    /// The ApplicationSet preview: the form, and the API's preview of what was posted.
    public func preview(input: String, sets: [PreviewedApplicationSet], problem: String?, viewer: Viewer) -> String {
        struct AppView { let name, change, cluster, sync, message: String, diffs: [DiffView], hasDiffs: Bool }
        struct SetView {
            let name: String, created, updated, deleted, unchanged: Int, problems: [PreviewProblem], applications: [AppView]
        }
        struct View { let chrome: Chrome, csrf, input: String, problem: String?, sets: [SetView] }
        let views = sets.map { set in
            SetView(name: set.name, created: set.plan.created.count, updated: set.plan.updated.count, deleted: set.plan.deleted.count,
                    unchanged: set.plan.unchanged, problems: set.problems, applications: set.applications.map { app in
                        let diffs = (app.resources ?? []).map(DiffView.init)
                        return AppView(name: app.name, change: app.change, cluster: app.cluster ?? "", sync: app.sync ?? "", message: app.message ?? "",
                                       diffs: diffs, hasDiffs: diffs.contains(where: \.hasLines))
                    })
        }
        return render("preview", View(chrome: Chrome(.preview, title: "ApplicationSet preview", viewer: viewer), csrf: viewer.csrf, input: input,
                                      problem: problem, sets: views))
    }

    /// The event log, newest first, with the failover bands it tells of.
    public func events(_ events: [HubEvent], type: String?, cluster: String, application: String, viewer: Viewer) -> String {
        struct Item { let at, type, cluster, application, message, tone: String, href: String? }
        struct BandView { let cluster, down, phase: String, moved, healthy, back: String?, movedCount: Int, open: Bool }
        struct View {
            let chrome: Chrome, typeOptions: [Option], cluster, application: String, bands: [BandView], items: [Item], count: Int
        }
        let bands = Timeline.bands(events).reversed().map { b in
            BandView(cluster: b.cluster, down: b.down, phase: b.phase, moved: b.moved, healthy: b.healthy, back: b.back, movedCount: b.movedCount, open: b.isOpen)
        }
        let items = events.sorted { $0.id > $1.id }.filter { type == nil || $0.type == type }.map { e in
            let tone: Tone = switch e.severity {
            case .warning: .bad
            case .info: .unknown
            case .detail: .muted
            }
            return Item(at: e.at, type: e.type, cluster: e.cluster ?? "", application: e.application ?? "", message: e.message, tone: tone.cssClass,
                        href: e.application.map(applicationPath))
        }
        let view = View(chrome: Chrome(.events, title: "Events", viewer: viewer, live: "/ui/live?events=1"),
                        typeOptions: Option.list(HubEventType.allCases.map(\.rawValue), selected: type, any: "any"),
                        cluster: cluster, application: application, bands: Array(bands), items: items, count: items.count)
        return render("events", view)
    }
}
