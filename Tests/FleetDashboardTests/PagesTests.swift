import FleetAPI
import FleetDashboard
import FleetModel
import Testing

private func ev(_ id: Int, _ type: HubEventType, _ cluster: String, _ message: String = "", app: String? = nil) -> HubEvent {
    HubEvent(id: id, at: "t\(id)", type: type.rawValue, cluster: cluster, application: app, message: message)
}

@Test func failoverBandsFromTheEventLog() {
    let events = [
        ev(1, .clusterStateChanged, "eu", "cluster eu is Suspect: timeout"),
        ev(2, .clusterStateChanged, "eu", "cluster eu is Unreachable after 2 failed probes: timeout"),
        ev(3, .failedOver, "eu", app: "a"), ev(4, .failedOver, "eu", app: "b"),
        ev(5, .clusterStateChanged, "us", "cluster us is Unreachable after 2 failed probes: x"),
        ev(6, .clusterStateChanged, "us", "cluster us is Healthy"),           // nothing moved: the band ends here
        ev(7, .clusterStateChanged, "eu", "cluster eu is Healthy"),
        ev(8, .failedBack, "eu", app: "a"),
        ev(9, .clusterStateChanged, "ap", "cluster ap is Unreachable after 2 failed probes: x"),
    ]
    let bands = Timeline.bands(events.reversed())   // any order in: read by id
    #expect(bands.map(\.cluster) == ["eu", "us", "ap"])
    let eu = bands[0]
    #expect(eu.down == "t2" && eu.moved == "t3" && eu.movedCount == 2 && eu.healthy == "t7" && eu.back == nil)
    #expect(eu.isOpen && eu.phase == "failing back")
    #expect(!bands[1].isOpen && bands[1].phase == "recovered")
    #expect(bands[2].isOpen && bands[2].phase == "down")
    let done = Timeline.bands(events + [ev(10, .failedBack, "eu", app: "b")])[0]
    #expect(done.back == "t10" && !done.isOpen && done.phase == "back")
    #expect(Timeline.state(of: ev(1, .clusterStateChanged, "eu", "cluster eu is Suspect: x")) == .suspect)
    #expect(Timeline.state(of: ev(1, .clusterStateChanged, "eu", "something else")) == nil)
}

@Test(arguments: [
    ("a=1; flotilla_session=flt_x; b=2", "flotilla_session", "flt_x" as String?),
    ("flotilla_session=one; flotilla_session=two", "flotilla_session", "one"),
    ("  flotilla_login = n1 ", "flotilla_login", "n1"),
    ("novalue; =x", "novalue", nil),
    ("", "flotilla_session", nil),
])
func cookieHeaders(header: String, name: String, value: String?) {
    #expect(Session.cookies(header)[name] == value)
}

@Test func sessionCookiesAndCSRFTokens() {
    let cookie = Session.setCookie("flt_abc", secure: false)
    #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/") && !cookie.contains("Secure"))
    #expect(Session.setCookie("flt_abc", secure: true).hasSuffix("; Secure"))
    #expect(Session.clearCookie(secure: false).contains("Max-Age=0"))
    let token = Session.csrfToken(session: "flt_abc")
    #expect(token.count == 64 && token != Session.csrfToken(session: "flt_abd"))
    #expect(Session.verify(csrf: token, session: "flt_abc"))
    #expect(!Session.verify(csrf: token, session: "flt_abd"))
    #expect(!Session.verify(csrf: nil, session: "flt_abc"))
    #expect(!Session.verify(csrf: "", session: "flt_abc"))
    #expect(Session.verify(loginNonce: "n", cookie: "n"))
    #expect(!Session.verify(loginNonce: "n", cookie: nil) && !Session.verify(loginNonce: "", cookie: "") && !Session.verify(loginNonce: "n", cookie: "m"))
    let csp = Session.securityHeaders.first { $0.0 == "Content-Security-Policy" }?.1 ?? ""
    #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
}

private let viewer = Viewer(account: "ops", role: "role:admin", csrf: "c5rf")

/// Whatever users write — names, labels, messages, pasted YAML — is text on the page, never markup.
@Test(arguments: ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' onmouseover='alert(1)", "a&b"])
func userTextIsEscaped(evil: String) {
    let renderer = Renderer()
    let board = Board([BoardEntry(name: "web", appSet: evil, cluster: evil, labels: ["team": evil], sync: .synced, health: .healthy)])
    let cards = [ClusterCard(name: evil, labels: ["env": evil], secondary: evil, state: "Healthy", cordoned: false)]
    var pages = [
        renderer.fleet(cards: cards, counts: board.countsByCluster(), moved: board.moved(), groupBy: "env", selector: evil, problem: evil, viewer: viewer),
        renderer.applications(board: board, grid: board.grid(rows: .appSet), request: ApplicationsQuery(), problem: evil, viewer: viewer, visible: nil),
        renderer.preview(input: evil, sets: [], problem: evil, viewer: viewer),
        renderer.events([HubEvent(id: 1, at: "t", type: "Audit", cluster: evil, application: evil, message: evil)], type: nil, cluster: evil,
                        application: evil, viewer: viewer),
        renderer.login(nonce: "n", next: evil, problem: evil),
        renderer.error(status: 404, message: evil, viewer: viewer),
    ]
    var q = ApplicationsQuery()
    q.filter.search = evil
    pages.append(renderer.applications(board: board, grid: board.grid(rows: .label("team")), request: q, problem: nil, viewer: viewer, visible: nil))
    for page in pages {
        #expect(!page.contains(evil) || evil == "a&b" && !page.contains("a&b"), "the raw text appears in the page")
        #expect(!page.contains("<script>alert") && !page.contains("<img"))
    }
}

@Test func fleetGroupsTilesByLabel() {
    let cards = [ClusterCard(name: "b", labels: ["env": "prod"], secondary: nil, state: "Healthy", cordoned: false),
                 ClusterCard(name: "a", labels: ["env": "prod"], secondary: "dr", state: "Unreachable", cordoned: false),
                 ClusterCard(name: "dr", labels: ["env": "dr"], secondary: nil, state: "Healthy", cordoned: true),
                 ClusterCard(name: "x", labels: [:], secondary: nil, state: "Suspect", cordoned: false)]
    let board = Board([BoardEntry(name: "w", appSet: "s", cluster: "a", activeCluster: "dr")])
    let tiles = Renderer.tiles(cards: cards, counts: board.countsByCluster(), moved: board.moved())
    let groups = FleetLayout.groups(tiles, cards: cards, by: "env")
    #expect(groups.map(\.name) == ["dr", "prod", "(no env)"])
    #expect(groups[1].tiles.map(\.name) == ["a", "b"])
    let a = tiles[1]
    #expect(a.state == .failedOver && a.movedText == "moved to dr (1)")
    #expect(tiles.first { $0.name == "dr" }?.counts.total == 1)
    #expect(tiles.first { $0.name == "dr" }?.state == .cordoned)
    #expect(a.live["state"]?.stringValue == "FailedOver")
    #expect(FleetLayout.labelKeys(cards) == ["env"])
    let html = Renderer().fleet(cards: cards, counts: board.countsByCluster(), moved: board.moved(), groupBy: "env", selector: "", problem: nil, viewer: viewer)
    #expect(html.contains(#"data-cluster="a" data-state="FailedOver""#))
    #expect(html.contains(#"data-live="/ui/live?clusters=1""#))
    #expect(html.contains(#"name="csrf" value="c5rf""#), "the logout form carries the CSRF token")
}

@Test func applicationPageShowsButtonsByRole() throws {
    var summary = ApplicationSummary(StoredApplication(name: "web", appSet: "s", cluster: "eu", object: .object([]), status: .object([])))
    summary.pinnedRevision = "abc"
    let detail = ApplicationDetail(summary: summary, object: .object([]), status: .object([]),
                                   history: [SyncRecord(id: 3, revision: "abc", startedAt: "s", finishedAt: "f", result: "Succeeded", resources: .array([]))])
    let renderer = Renderer()
    let full = renderer.application(ApplicationPageInput(detail: detail, diff: nil, diffProblem: "no live diff", canSync: true, canRollback: true),
                                    viewer: viewer, flash: nil)
    #expect(full.contains(#"id="sync""#) && full.contains(#"id="unpin""#) && full.contains(#"action="/ui/applications/web/rollback""#))
    let readOnly = renderer.application(ApplicationPageInput(detail: detail, diff: nil, diffProblem: nil, canSync: false, canRollback: false),
                                        viewer: viewer, flash: nil)
    #expect(!readOnly.contains(#"id="sync""#) && !readOnly.contains(#"id="unpin""#) && !readOnly.contains("/rollback"))
    // The target beside the deployed revision: HEAD when the source names none, else what it names.
    #expect(full.contains(#"data-field="target">HEAD<"#), "\(full)")
    let tagged = ApplicationDetail(summary: summary, object: .object([("spec", .object([("source", .object([("repoURL", "r"), ("targetRevision", "v1.2")]))]))]),
                                   status: .object([]), history: [])
    #expect(renderer.application(ApplicationPageInput(detail: tagged, diff: nil, diffProblem: nil, canSync: true, canRollback: true), viewer: viewer, flash: nil)
        .contains(#"data-field="target">v1.2<"#))
    // The owner: its ApplicationSet, linked to its Applications; or the Application itself, written directly.
    #expect(full.contains(#"<a href="/ui/applications?appSet=s">ApplicationSet s</a>"#), "\(full)")
    let direct = ApplicationDetail(summary: ApplicationSummary(StoredApplication(name: "solo", appSet: "Application/solo", cluster: "eu", object: .object([]), status: .object([]))),
                                   object: .object([]), status: .object([]), history: [])
    let page = renderer.application(ApplicationPageInput(detail: direct, diff: nil, diffProblem: nil, canSync: true, canRollback: true), viewer: viewer, flash: nil)
    #expect(page.contains("Application/solo (written directly)") && !page.contains("?appSet="), "\(page)")
}

/// An OutOfSync object's diff shows on the Application page (open, `-` and `+` lines classed) and in the
/// ApplicationSet preview; a Synced one is closed and has no body.
@Test func diffsRenderOnTheApplicationPageAndThePreview() throws {
    let summary = ApplicationSummary(StoredApplication(name: "web", appSet: "s", cluster: "eu", object: .object([]), status: .object([])))
    let detail = ApplicationDetail(summary: summary, object: .object([]), status: .object([]), history: [])
    let changed = ResourceDiff(kind: "Deployment", namespace: "shop", name: "web", status: "OutOfSync",
                               diff: "--- live\n+++ git\n@@ -1 +1 @@\n-image: web:1\n+image: web:2")
    let same = ResourceDiff(kind: "Service", namespace: "shop", name: "web", status: "Synced", diff: nil)
    let diff = DiffInfo(name: "web", sync: "OutOfSync", message: "", resources: [changed, same])
    let page = Renderer().application(ApplicationPageInput(detail: detail, diff: diff, diffProblem: nil, canSync: true, canRollback: true),
                                      viewer: viewer, flash: nil)
    #expect(page.contains(#"<pre class="diff">"#), "\(page)")
    #expect(page.contains(#"<span class="del">-image: web:1</span>"#) && page.contains(#"<span class="add">+image: web:2</span>"#))
    #expect(page.components(separatedBy: "<details open>").count == 2, "only the OutOfSync object is open")
    let preview = Renderer().preview(input: "", sets: [PreviewedApplicationSet(
        name: "s", plan: PlanInfo(created: [], updated: ["web"], deleted: [], unchanged: 0, retained: []),
        applications: [PreviewApplication(name: "web", change: "update", cluster: "eu", sync: "OutOfSync", resources: [changed, same])],
        problems: [])], problem: nil, viewer: viewer)
    #expect(preview.contains("web: rendered diff") && preview.contains(#"<span class="add">+image: web:2</span>"#), "\(preview)")
}
