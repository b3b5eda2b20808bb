import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

private func token(_ fixture: InProcessHub, account: String, role: String, body: String = "{}") async throws -> String {
    let made = try await fixture.call("POST", "/api/v1/accounts", body: #"{"name": "\#(account)", "role": "\#(role)"}"#)
    #expect(made.status == 201, "\(made.body)")
    let answer = try await fixture.call("POST", "/api/v1/accounts/\(account)/tokens", body: body)
    return try #require(try JSONParser.parse(answer.body)["token"]?.stringValue, "\(answer.body)")
}

private func call(_ fixture: InProcessHub, _ method: String, _ path: String, body: String = "", as token: String) async throws -> APIResponse {
    try await fixture.call(method, path, body: body, headers: ["authorization": "Bearer \(token)"])
}

/// Everything the API could change, as one comparable value.
private func state(_ fixture: InProcessHub) async throws -> String {
    try await ConcurrentRunner.blocking { [hub = fixture.hub] in
        let clusters = try hub.clusterStore.clusters().map { "\($0.name) \($0.labels.sorted { $0.key < $1.key }) \(hub.clusterState($0.name).cordoned)" }
        let apps = try hub.store.applications().map { "\($0.name) \($0.pinnedRevision ?? "")" }
        return "\(clusters)|\(apps)|\(hub.applicationSets().map(\.name))|\(try hub.authStore.accounts().map(\.name))|\(try hub.authStore.tokens().map { "\($0.id) \($0.revokedAt ?? "")" })"
    }
}

/// A token cannot mint a token that outlives it, and revoking it revokes what it minted; the audit log names the parent.
@Test func tokensDoNotOutliveTheirParent() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    let parent = try await token(fixture, account: "dev", role: "role:readonly", body: #"{"expiresIn": "2m"}"#)
    let parentInfo = try JSONParser.parse(try await call(fixture, "GET", "/api/v1/whoami", as: parent).body)
    let parentExpiry = try #require(try fixture.hub.authStore.token(id: parentInfo["token"]!.stringValue!)?.expiresAt)

    let forever = try await call(fixture, "POST", "/api/v1/accounts/dev/tokens", body: "{}", as: parent)
    #expect(forever.status == 201)
    let child = try JSONParser.parse(forever.body)
    #expect(child["expiresAt"]?.stringValue == parentExpiry, "no expiry asked: the parent's expiry")
    let longer = try await call(fixture, "POST", "/api/v1/accounts/dev/tokens", body: #"{"expiresIn": "1h"}"#, as: parent)
    #expect(longer.status == 422 && longer.body.contains("cannot outlive"), "\(longer.status) \(longer.body)")
    let shorter = try await call(fixture, "POST", "/api/v1/accounts/dev/tokens", body: #"{"expiresIn": "30s"}"#, as: parent)
    #expect(shorter.status == 201)

    let childToken = try #require(child["token"]?.stringValue)
    let grandchild = try #require(try JSONParser.parse(try await call(fixture, "POST", "/api/v1/accounts/dev/tokens", body: "{}", as: childToken).body)["token"]?.stringValue)
    #expect(try await call(fixture, "GET", "/api/v1/clusters", as: grandchild).status == 200)

    // Revoking the parent revokes its descendants at once.
    #expect(try await fixture.call("DELETE", "/api/v1/tokens/\(parentInfo["token"]!.stringValue!)").status == 200)
    for t in [parent, childToken, grandchild] { #expect(try await call(fixture, "GET", "/api/v1/clusters", as: t).status == 401) }

    let audit = try fixture.hub.store.events().filter { $0.type == "Audit" }.map(\.message)
    #expect(audit.contains { $0.contains("token \(child["id"]!.stringValue!) for account dev created by dev with token \(parentInfo["token"]!.stringValue!)") }, "\(audit)")
}

/// One row per route and the RBAC action it needs. For each, an account allowed exactly that action gets past
/// authorization, and an account allowed everything on the resource except that action (a deny rule) gets 403
/// and changes nothing.
private struct Route: Sendable, CustomStringConvertible {
    let method: String
    let path: String
    var body: String = ""
    let action: String
    let resource: String
    var description: String { "\(method) \(path) needs \(action) \(resource)" }
}

@Test func everyRouteChecksItsActionAndDenyRulesWin() async throws {
    let clusters: [String: Bool] = ["a": true, "b": false]
    // Policies are written before the hub starts: one allow-only role and one deny role per (action, resource).
    let pairs = [("get", "clusters"), ("create", "clusters"), ("update", "clusters"), ("delete", "clusters"),
                 ("get", "applicationsets"), ("create", "applicationsets"), ("update", "applicationsets"), ("delete", "applicationsets"),
                 ("get", "applications"), ("sync", "applications"), ("rollback", "applications"),
                 ("get", "events"), ("get", "projects"), ("get", "accounts"), ("create", "accounts"), ("update", "accounts"), ("delete", "accounts")]
    var policy = ""
    for (action, resource) in pairs {
        policy += "p, role:only-\(action)-\(resource), \(resource), \(action), *, allow\n"
        policy += "p, role:not-\(action)-\(resource), \(resource), *, *, allow\n"
        policy += "p, role:not-\(action)-\(resource), \(resource), \(action), *, deny\n"
    }
    let fixture = try await InProcessHub(clusters: clusters, files: ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster) { $0.auth.policy = policy }
    defer { Task { await fixture.stop() } }
    var only: [String: String] = [:], not: [String: String] = [:]
    for (action, resource) in pairs {
        only["\(action) \(resource)"] = try await token(fixture, account: "o-\(action)-\(resource)", role: "role:only-\(action)-\(resource)")
        not["\(action) \(resource)"] = try await token(fixture, account: "n-\(action)-\(resource)", role: "role:not-\(action)-\(resource)")
    }
    _ = try await fixture.call("POST", "/api/v1/accounts", body: #"{"name": "target", "role": "role:readonly"}"#)
    let aServer = try #require(try fixture.hub.clusterStore.cluster(named: "a")?.server)
    let bServer = try #require(try fixture.hub.clusterStore.cluster(named: "b")?.server)
    let extra = perCluster.replacingOccurrences(of: "metadata: {name: apps}", with: "metadata: {name: extra}")
        .replacingOccurrences(of: "name: '{{path.basename}}-{{name}}'", with: "name: 'x-{{path.basename}}-{{name}}'")
    let routes: [Route] = [
        Route(method: "GET", path: "/api/v1/clusters", action: "get", resource: "clusters"),
        Route(method: "GET", path: "/api/v1/clusters/a", action: "get", resource: "clusters"),
        Route(method: "POST", path: "/api/v1/clusters", body: "name: new\nserver: 'https://10.9.9.9'\n", action: "create", resource: "clusters"),
        Route(method: "POST", path: "/api/v1/clusters", body: "name: a\nserver: '\(aServer)'\nlabels: {env: prod, tier: gold}\n", action: "update", resource: "clusters"),
        Route(method: "PUT", path: "/api/v1/clusters/a", body: "name: a\nserver: '\(aServer)'\nlabels: {env: prod, tier: silver}\n", action: "update", resource: "clusters"),
        Route(method: "POST", path: "/api/v1/clusters/a/labels", body: #"{"set": {"x": "y"}}"#, action: "update", resource: "clusters"),
        Route(method: "POST", path: "/api/v1/clusters/a/cordon", action: "update", resource: "clusters"),
        Route(method: "POST", path: "/api/v1/clusters/a/uncordon", action: "update", resource: "clusters"),
        Route(method: "GET", path: "/api/v1/applicationsets", action: "get", resource: "applicationsets"),
        Route(method: "GET", path: "/api/v1/applicationsets/apps", action: "get", resource: "applicationsets"),
        Route(method: "POST", path: "/api/v1/applicationsets/preview", body: extra, action: "get", resource: "applicationsets"),
        Route(method: "POST", path: "/api/v1/applicationsets", body: extra, action: "create", resource: "applicationsets"),
        Route(method: "POST", path: "/api/v1/applicationsets", body: extra, action: "update", resource: "applicationsets"),
        Route(method: "DELETE", path: "/api/v1/applicationsets/extra", action: "delete", resource: "applicationsets"),
        Route(method: "GET", path: "/api/v1/applications/web-a-a", action: "get", resource: "applications"),
        Route(method: "GET", path: "/api/v1/applications/web-a-a/history", action: "get", resource: "applications"),
        Route(method: "GET", path: "/api/v1/applications/web-a-a/diff", action: "get", resource: "applications"),
        Route(method: "POST", path: "/api/v1/applications/web-a-a/sync", action: "sync", resource: "applications"),
        Route(method: "POST", path: "/api/v1/applications/web-a-a/refresh", action: "sync", resource: "applications"),
        Route(method: "POST", path: "/api/v1/applications/web-a-a/rollback", body: #"{"id": 1}"#, action: "rollback", resource: "applications"),
        Route(method: "POST", path: "/api/v1/applications/web-a-a/unpin", action: "rollback", resource: "applications"),
        Route(method: "GET", path: "/api/v1/events", action: "get", resource: "events"),
        Route(method: "GET", path: "/api/v1/projects", action: "get", resource: "projects"),
        Route(method: "GET", path: "/api/v1/accounts", action: "get", resource: "accounts"),
        Route(method: "POST", path: "/api/v1/accounts", body: #"{"name": "made", "role": "role:readonly"}"#, action: "create", resource: "accounts"),
        Route(method: "POST", path: "/api/v1/accounts/target/tokens", body: "{}", action: "update", resource: "accounts"),
        Route(method: "DELETE", path: "/api/v1/accounts/made", action: "delete", resource: "accounts"),
        Route(method: "POST", path: "/api/v1/clusters?prune=true", body: "CURRENT-A", action: "delete", resource: "clusters"),
        Route(method: "DELETE", path: "/api/v1/clusters/new", action: "delete", resource: "clusters"),
    ]
    _ = bServer
    for route in routes {
        let key = "\(route.action) \(route.resource)"
        var body = route.body
        if body == "CURRENT-A" {
            // Cluster a exactly as it is (no update), so that only the prune of the others is asked for.
            let a = try #require(try fixture.hub.clusterStore.cluster(named: "a"))
            body = "name: a\nserver: '\(a.server)'\nlabels: {\(a.labels.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}\n"
        }
        let before = try await state(fixture)
        let denied = try await call(fixture, route.method, route.path, body: body, as: not[key]!)
        #expect(denied.status == 403, "\(route) with a deny rule: \(denied.status) \(denied.body.prefix(200))")
        #expect(try await state(fixture) == before, "\(route) with a deny rule changed something")
        let allowed = try await call(fixture, route.method, route.path, body: body, as: only[key]!)
        #expect(allowed.status != 403 && allowed.status != 401, "\(route) allowed: \(allowed.status) \(allowed.body.prefix(300))")
        // What the allowed call set off (generation after a cluster change) settles before the next row.
        try await ConcurrentRunner.blocking { [hub = fixture.hub] in hub.regenerateAll(wait: true) }
    }
}

/// A preview shows live content only of objects the Application would own; another object of the same name
/// (a ConfigMap with a password, made by someone else) is reported as existing, its content never shown.
/// An ApplicationSet sent through the API may not read repositories on the hub's filesystem.
@Test func previewsShowOnlyWhatTheApplicationWouldOwn() async throws {
    let files = ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                 "other/db/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, namespace: shop}\ndata: {dsn: placeholder}\n"]
    let fixture = try await InProcessHub(clusters: ["a": true], files: files, appSet: perCluster)
    defer { Task { await fixture.stop() } }
    let server = try #require(try fixture.hub.clusterStore.cluster(named: "a")?.server)
    let kube = KubeClient(cluster: Cluster(name: "a", server: server), timeout: 5)
    _ = try await ConcurrentRunner.blocking {
        try kube.ensureNamespace("shop")
        return try kube.apply(try JSONParser.parse(#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db", "namespace": "shop"}, "data": {"dsn": "postgres://app:hunter2-secret@db/app"}}"#))
    }
    let viewer = try await token(fixture, account: "viewer", role: "role:readonly")
    let preview = """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: peek}
    spec:
      generators: [{list: {elements: [{server: '\(server)'}]}}]
      template:
        metadata: {name: peek}
        spec:
          project: default
          source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: other/db}
          destination: {server: '{{server}}', namespace: shop}
    """
    let answer = try await call(fixture, "POST", "/api/v1/applicationsets/preview", body: preview, as: viewer)
    #expect(answer.status == 200, "\(answer.body)")
    #expect(!answer.body.contains("hunter2"), "the unmanaged object's content leaked")
    #expect(answer.body.contains("not managed by this Application"), "\(answer.body.prefix(800))")

    // A repository named by a path on the hub is refused; the configured one is read.
    let repoOnDisk = fixture.dir.appendingPathComponent("repo.git").path
    for url in [repoOnDisk, "file://\(repoOnDisk)", "/etc"] {
        let local = preview.replacingOccurrences(of: "repoURL: '\(InProcessHub.repoURL)'", with: "repoURL: '\(url)'")
        let refused = try await call(fixture, "POST", "/api/v1/applicationsets/preview", body: local, as: viewer)
        #expect(refused.status == 422 && refused.body.contains("is a path on the hub"), "\(url): \(refused.status) \(refused.body.prefix(300))")
        let viaGit = local.replacingOccurrences(of: "generators: [{list: {elements: [{server: '\(server)'}]}}]",
                                                with: "generators: [{git: {repoURL: '\(url)', revision: HEAD, directories: [{path: '*'}]}}]")
        let refusedGit = try await fixture.call("POST", "/api/v1/applicationsets", body: viaGit)
        #expect(refusedGit.status == 422 && refusedGit.body.contains("is a path on the hub"), "\(url): \(refusedGit.status) \(refusedGit.body.prefix(300))")
    }
}

/// One ApplicationSet cannot generate more than the configured number of Applications: refused with the limit
/// named, nothing stored.
@Test func applicationSetsAreCappedInSize() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster) { $0.limits.applicationsPerApplicationSet = 50 }
    defer { Task { await fixture.stop() } }
    let server = try #require(try fixture.hub.clusterStore.cluster(named: "a")?.server)
    let elements = (0..<51).map { "{n: '\($0)'}" }.joined(separator: ", ")
    let big = listAppSet("big", elements: elements, server: server)
    let before = try await state(fixture)
    let answer = try await fixture.call("POST", "/api/v1/applicationsets", body: big)
    #expect(answer.status == 422 && answer.body.contains("over the limit of 50 Applications"), "\(answer.status) \(answer.body.prefix(300))")
    #expect(try await state(fixture) == before)
    // A matrix whose product is over the limit is refused before the product is built.
    let matrix = big.replacingOccurrences(of: "generators: [{list: {elements: [\(elements)]}}]",
                                          with: "generators: [{matrix: {generators: [{list: {elements: [\(elements)]}}, {list: {elements: [\(elements)]}}]}}]")
    let product = try await fixture.call("POST", "/api/v1/applicationsets/preview", body: matrix)
    #expect(product.status == 422 && product.body.contains("over the limit of 50"), "\(product.status) \(product.body.prefix(300))")
}

/// An ApplicationSet of a list generator over `elements`, one Application `PREFIX-{{n}}` each on `server`.
private func listAppSet(_ name: String, elements: String, server: String, labels: String = "{}", namespace: String = "big",
                        prefix: String? = nil) -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: \(name)}
    spec:
      generators: [{list: {elements: [\(elements)]}}]
      template:
        metadata: {name: '\(prefix ?? name)-{{n}}', labels: \(labels)}
        spec:
          project: default
          source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: apps/web-a}
          destination: {server: '\(server)', namespace: \(namespace)}
    """
}

/// Every list route pages: `limit` items, then a `continue` token for the rest; filters apply before paging.
@Test func listsArePaged() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    let server = try #require(try fixture.hub.clusterStore.cluster(named: "a")?.server)
    let elements = (0..<25).map { "{n: '\(String(format: "%02d", $0))', team: '\($0 % 2 == 0 ? "even" : "odd")'}" }.joined(separator: ", ")
    let many = listAppSet("many", elements: elements, server: server, labels: "{team: '{{team}}'}", namespace: "'m-{{n}}'", prefix: "m")
    #expect(try await fixture.call("POST", "/api/v1/applicationsets", body: many).status == 200)
    func pages(_ query: String) async throws -> [[String]] {
        var result: [[String]] = []
        var next: String?
        repeat {
            let path = "/api/v1/applications?\(query)" + (next.map { "&continue=\($0)" } ?? "")
            let page = try JSONParser.parse(try await fixture.call("GET", path).body)
            result.append(page["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            next = page["continue"]?.stringValue
        } while next != nil && result.count < 20
        return result
    }
    let all = try await pages("limit=10&appSet=many")
    #expect(all.map(\.count) == [10, 10, 5])
    #expect(all.flatMap { $0 } == (0..<25).map { "m-" + String(format: "%02d", $0) })
    let odd = try await pages("limit=4&selector=team%3Dodd")
    #expect(odd.flatMap { $0 } == stride(from: 1, to: 25, by: 2).map { "m-" + String(format: "%02d", $0) })
    #expect(odd.dropLast().allSatisfy { $0.count == 4 })
    #expect(try await fixture.call("GET", "/api/v1/applications?continue=%%%").status == 400)
    #expect(try await fixture.call("GET", "/api/v1/applications?limit=0").status == 400)
    let clusters = try JSONParser.parse(try await fixture.call("GET", "/api/v1/clusters?limit=1").body)
    #expect(clusters["items"]?.arrayValue?.count == 1 && clusters["continue"] == nil)
}

/// A sync records that it runs before it changes the cluster; a hub killed after applying finds that mark on its
/// next reconcile and writes the Sync event then, so no applied change goes without one. History, event and
/// status are written in one transaction.
@Test func anInterruptedSyncStillGetsItsSyncEvent() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    func syncEvents() throws -> [String] { try fixture.hub.store.events(application: "web-a-a").filter { $0.type == "Sync" }.map(\.message) }
    let deadline = Date().addingTimeInterval(15)
    while try syncEvents().isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
    let first = try syncEvents()
    #expect(first.count == 1 && first[0].contains("Succeeded (1 created)"), "\(first)")
    let history = try fixture.hub.store.history("web-a-a")
    #expect(history.count == 1, "the history entry was written with the event")

    // The re-check after the sync has run and nothing is running: from here on, no reconcile in flight can
    // overwrite the mark below.
    let afterSync = fixture.hub.lastReconciled("web-a-a")
    let settle = Date().addingTimeInterval(20)
    while (fixture.hub.lastReconciled("web-a-a") == afterSync || fixture.hub.queueMetrics.running > 0) && Date() < settle {
        try await Task.sleep(for: .milliseconds(50))
    }
    // What a hub killed between applying and recording leaves: the Running mark, objects on the cluster.
    var status = try #require(try fixture.hub.store.application(named: "web-a-a")).status
    status.set("operationState", .object([("phase", "Running"), ("message", "syncing to abc")]))
    try fixture.hub.store.setStatus("web-a-a", status)
    #expect(try await fixture.call("POST", "/api/v1/applications/web-a-a/refresh").status == 202)
    let second = Date().addingTimeInterval(20)
    while try syncEvents().count < 2 && Date() < second { try await Task.sleep(for: .milliseconds(50)) }
    let events = try syncEvents()
    #expect(events.count == 2 && events[1].contains("found applied (the sync was interrupted by a stop of the hub)"), "\(events)")
    let after = try #require(try fixture.hub.store.application(named: "web-a-a"))
    #expect(after.status.value(at: ["operationState", "phase"]) != "Running")
}

/// An ApplicationSet file that exists but cannot be read (here a directory where the file was; in production, a
/// hub out of file descriptors or an I/O error) keeps its ApplicationSet and Applications: only a file that is
/// gone removes them.
@Test func unreadableApplicationSetFileRemovesNothing() async throws {
    let files = ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: perCluster)
    let hub = fixture.hub
    let count = { @Sendable () throws -> Int in try hub.store.applications(appSet: "apps").count }
    #expect(try count() == 1)
    let file = fixture.dir.appendingPathComponent("appsets/set.yaml")
    try FileManager.default.removeItem(at: file)
    try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
    let seen = hub.context.metrics.errorCount(.file)
    try await eventually("two polls of the watched files met the unreadable file", timeout: 20) { hub.context.metrics.errorCount(.file) >= seen + 2 }
    #expect(try count() == 1, "an unreadable file is not a deleted one")
    #expect(hub.applicationSet(named: "apps") != nil)
    try FileManager.default.removeItem(at: file)
    let deadline = Date().addingTimeInterval(15)
    while try count() > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
    #expect(try count() == 0, "a file that is gone removes its Applications")
    await fixture.stop()
}

/// A project file that exists but cannot be read keeps the projects as they were (their Applications are not
/// suddenly in an unknown project).
@Test func unreadableProjectFileKeepsProjects() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("projects-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("team.yaml")
    try "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: team}\nspec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}\n"
        .write(to: file, atomically: true, encoding: .utf8)
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster) { config in config.projects = [directory.path] }
    #expect(fixture.hub.projectList().map(\.name).contains("team"))
    try FileManager.default.removeItem(at: file)
    try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
    let seen = fixture.hub.context.metrics.errorCount(.file)
    try await eventually("two polls of the watched files met the unreadable file", timeout: 20) { fixture.hub.context.metrics.errorCount(.file) >= seen + 2 }
    #expect(fixture.hub.projectList().map(\.name).contains("team"), "an unreadable file is not a deleted one")
    await fixture.stop()
}
