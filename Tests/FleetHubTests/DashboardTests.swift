import FleetConfig
import FleetHub
import FleetKube
import FleetModel
import FleetReconcile
import FleetSim
import Foundation
import Testing

private let secretApp = """
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: hunter2-secret-value}
"""

private func header(_ r: APIResponse, _ name: String) -> String? { r.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

private func form(_ pairs: [(String, String)]) -> String {
    pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }.joined(separator: "&")
}

/// Logs in through the form as a browser does: the login page's nonce cookie, then the token. Returns the session cookie's value.
private func login(_ fixture: InProcessHub, token: String) async throws -> String {
    let page = try await fixture.call("GET", "/ui/login", authorize: false)
    let nonceCookie = try #require(header(page, "Set-Cookie"))
    let nonce = String(nonceCookie.dropFirst("flotilla_login=".count).prefix { $0 != ";" })
    #expect(page.body.contains(#"name="nonce" value="\#(nonce)""#))
    let answer = try await fixture.call("POST", "/ui/login", body: form([("nonce", nonce), ("token", token), ("next", "/ui/applications")]),
                                        headers: ["cookie": "flotilla_login=\(nonce)"], authorize: false)
    #expect(answer.status == 303, "\(answer.body)")
    #expect(header(answer, "Location") == "/ui/applications")
    let cookie = try #require(header(answer, "Set-Cookie"))
    #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"), "\(cookie)")
    return String(cookie.dropFirst("flotilla_session=".count).prefix { $0 != ";" })
}

@Test func dashboardPagesSessionsAndCSRF() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                                                                        "apps/db/secret.yaml": secretApp], appSet: perCluster)
    defer { Task { await fixture.stop() } }
    try await eventually("web-a and db-a synced") {
        try ["web-a", "db-a"].allSatisfy { try fixture.hub.store.application(named: $0)?.status.value(at: ["sync", "status"]) == "Synced" }
    }
    let admin = try #require(fixture.hub.bootstrapToken)

    // With the API's Bearer header every page answers, with the security headers.
    for path in ["/ui/fleet", "/ui/applications", "/ui/applications/web-a", "/ui/events", "/ui/preview", "/ui/fleet?group=region&selector=env%3Dprod"] {
        let r = try await fixture.call("GET", path)
        #expect(r.status == 200, "\(path): \(r.status) \(r.body.prefix(300))")
        #expect(r.contentType.hasPrefix("text/html"))
        #expect(header(r, "Content-Security-Policy")?.contains("script-src 'self'") == true)
        #expect(header(r, "X-Frame-Options") == "DENY" && header(r, "Cache-Control") == "no-store")
    }
    let list = try await fixture.call("GET", "/ui/applications?q=WEB")
    #expect(list.body.contains(#"data-app="web-a""#) && !list.body.contains(#"data-app="db-a""#))
    #expect(list.body.contains("1–1 of 1"))

    // Secrets are redacted in the page's diff and resources, as the API redacts them.
    let secretPage = try await fixture.call("GET", "/ui/applications/db-a")
    #expect(secretPage.status == 200)
    #expect(!secretPage.body.contains("hunter2"))

    // Bad input: a selector that does not parse lists nothing and says why; an unknown page or Application is a 404.
    let bad = try await fixture.call("GET", "/ui/applications?selector=env%20in%20(")
    #expect(bad.status == 400 && bad.body.contains("label selector") && !bad.body.contains(#"data-app="web-a""#))
    #expect(try await fixture.call("GET", "/ui/applications/nope").status == 404)
    #expect(try await fixture.call("GET", "/ui/nowhere").status == 404)
    #expect(try await fixture.call("GET", "/ui/static/app.js").contentType.hasPrefix("text/javascript"))
    #expect(try await fixture.call("GET", "/ui/static/other.js").status == 404)

    // Without a session: pages lead to the login form (coming back after it), the live stream and posts are refused.
    func bare(_ method: String, _ path: String, body: String = "", cookie: String? = nil) async throws -> APIResponse {
        var headers: [String: String] = [:]
        if let cookie { headers["cookie"] = cookie }
        return try await fixture.call(method, path, body: body, headers: headers, authorize: false)
    }
    let redirect = try await bare("GET", "/ui/applications/web-a")
    #expect(redirect.status == 303 && header(redirect, "Location") == "/ui/login?next=%2Fui%2Fapplications%2Fweb-a")
    #expect(try await bare("GET", "/ui/live?clusters=1").status == 401)
    #expect(try await bare("POST", "/ui/applications/web-a/sync").status == 401)
    #expect(try await bare("GET", "/").status == 303)

    // Logging in: a wrong nonce or token is refused; an outside `next` is ignored.
    let loginPage = try await bare("GET", "/ui/login")
    let nonce = String((header(loginPage, "Set-Cookie") ?? "").dropFirst("flotilla_login=".count).prefix { $0 != ";" })
    let wrongNonce = try await bare("POST", "/ui/login", body: form([("nonce", "x"), ("token", admin)]), cookie: "flotilla_login=\(nonce)")
    #expect(wrongNonce.status == 403 && header(wrongNonce, "Set-Cookie")?.hasPrefix("flotilla_session") != true)
    let wrongToken = try await bare("POST", "/ui/login", body: form([("nonce", nonce), ("token", "flt_nope")]), cookie: "flotilla_login=\(nonce)")
    #expect(wrongToken.status == 401 && wrongToken.body.contains("not valid"))
    let outside = try await bare("POST", "/ui/login", body: form([("nonce", nonce), ("token", admin), ("next", "//evil.example/x")]),
                                 cookie: "flotilla_login=\(nonce)")
    #expect(outside.status == 303 && header(outside, "Location") == "/ui/fleet")
    let session = String((header(outside, "Set-Cookie") ?? "").dropFirst("flotilla_session=".count).prefix { $0 != ";" })
    // The cookie holds a session token of its own, never the token typed.
    #expect(!session.isEmpty && session != admin)
    let cookie = "flotilla_session=\(session)"

    // A cookie session's posts need its CSRF token and the hub's own origin.
    let page = try await bare("GET", "/ui/applications/web-a", cookie: cookie)
    #expect(page.status == 200 && page.body.contains(#"id="sync""#))
    let csrf = try #require(page.body.range(of: #"name="csrf" value=""#).map { String(page.body[$0.upperBound...].prefix { $0 != "\"" }) })
    let manualSyncs = { @Sendable in try fixture.hub.store.events(cluster: nil, application: "web-a", after: 0, limit: 100).filter { $0.message.hasPrefix("manual sync by") }.count }
    let noToken = try await bare("POST", "/ui/applications/web-a/sync", body: "", cookie: cookie)
    #expect(noToken.status == 403 && noToken.body.contains("CSRF"))
    let wrong = try await bare("POST", "/ui/applications/web-a/sync", body: form([("csrf", String(repeating: "0", count: 64))]), cookie: cookie)
    #expect(wrong.status == 403)
    let crossSite = try await fixture.call("POST", "/ui/applications/web-a/sync", body: form([("csrf", csrf)]),
                                           headers: ["cookie": cookie, "origin": "https://evil.example", "host": "127.0.0.1:8080"], authorize: false)
    #expect(crossSite.status == 403)
    // An Origin with nothing to compare it with, or `null`, is refused too.
    let noHost = try await fixture.call("POST", "/ui/applications/web-a/sync", body: form([("csrf", csrf)]),
                                        headers: ["cookie": cookie, "origin": "https://evil.example"], authorize: false)
    #expect(noHost.status == 403)
    let nullOrigin = try await fixture.call("POST", "/ui/applications/web-a/sync", body: form([("csrf", csrf)]),
                                            headers: ["cookie": cookie, "origin": "null", "host": "127.0.0.1:8080"], authorize: false)
    #expect(nullOrigin.status == 403)
    let sameSite = try await fixture.call("GET", "/ui/applications/web-a", headers: ["cookie": cookie, "origin": "http://127.0.0.1:8080", "host": "127.0.0.1:8080"],
                                          authorize: false)
    #expect(sameSite.status == 200)
    // Refused before anything is queued (the answers above came after the decision).
    #expect(try manualSyncs() == 0, "nothing was synced by refused posts")
    let synced = try await bare("POST", "/ui/applications/web-a/sync", body: form([("csrf", csrf)]), cookie: cookie)
    #expect(synced.status == 303 && header(synced, "Location") == "/ui/applications/web-a?done=sync")
    try await eventually("the manual sync ran") { try manualSyncs() == 1 }
    let audit = try fixture.hub.store.events(cluster: nil, application: nil, after: 0, limit: 50).map(\.message)
    #expect(audit.contains("admin POST /ui/applications/web-a/sync → 303"))
    #expect(audit.contains("admin POST /ui/applications/web-a/sync → 403"))

    // A read-only account sees no button and is refused when it posts anyway, with a cookie or a Bearer header.
    try fixture.hub.createAccount("viewer", role: "role:readonly")
    let viewer = try fixture.hub.createToken(account: "viewer", seconds: nil, description: "").token
    let viewerSession = try await login(fixture, token: viewer)
    let viewerPage = try await bare("GET", "/ui/applications/web-a", cookie: "flotilla_session=\(viewerSession)")
    #expect(viewerPage.status == 200 && !viewerPage.body.contains(#"id="sync""#) && !viewerPage.body.contains("/rollback"))
    let viewerCSRF = try #require(viewerPage.body.range(of: #"name="csrf" value=""#).map { String(viewerPage.body[$0.upperBound...].prefix { $0 != "\"" }) })
    #expect(try await bare("POST", "/ui/applications/web-a/sync", body: form([("csrf", viewerCSRF)]), cookie: "flotilla_session=\(viewerSession)").status == 403)
    #expect(try await fixture.call("POST", "/ui/applications/web-a/rollback", body: "id=1", headers: ["authorization": "Bearer \(viewer)"]).status == 403)

    // Logging out ends the cookie and the session itself: the same cookie, replayed, opens nothing; the token
    // typed at login still works.
    let out = try await bare("POST", "/ui/logout", body: form([("csrf", csrf)]), cookie: cookie)
    #expect(out.status == 303 && header(out, "Set-Cookie")?.contains("Max-Age=0") == true)
    let replayed = try await bare("GET", "/ui/applications/web-a", cookie: cookie)
    #expect(replayed.status == 303 && header(replayed, "Location")?.hasPrefix("/ui/login") == true)
    #expect(try await fixture.call("GET", "/ui/applications/web-a", headers: ["authorization": "Bearer \(admin)"]).status == 200)
}

@Test func dashboardLiveStreamSendsChanges() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    try await eventually("web-a synced") { try fixture.hub.store.application(named: "web-a")?.status.value(at: ["sync", "status"]) == "Synced" }
    #expect(try await fixture.call("GET", "/ui/live?clusters=1", authorize: false).status == 401)
    let live = try await fixture.call("GET", "/ui/live?clusters=1&apps=web-a&events=1")
    #expect(live.status == 200 && live.contentType.hasPrefix("text/event-stream"))
    let stream = try #require(live.stream)
    // The first look sends every tile and watched Application; then each change as it happens.
    let hub = fixture.hub
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }
    let firstLookSent = Flag()
    let received = await withTaskGroup(of: String.self) { group in
        group.addTask {
            var text = ""
            for await chunk in stream {
                text += chunk
                if text.contains(#""name":"web-a","sync":"Synced""#) { firstLookSent.set() }
                if text.contains("Degraded") && text.contains("hello, live") { break }
            }
            return text
        }
        group.addTask {
            // The change is made once the stream has sent its first look (it then sends only changes).
            let deadline = Date().addingTimeInterval(15)
            while !firstLookSent.isSet && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            _ = try? await ConcurrentRunner.blocking {
                try hub.store.setStatus("web-a", .object([("sync", .object([("status", "Synced")])), ("health", .object([("status", "Degraded")]))]))
                try hub.store.appendEvent(HubEvent(.audit, message: "hello, live"))
            }
            try? await Task.sleep(for: .seconds(15))   // the bound on the wait for the change to arrive
            return "timed out"
        }
        let first = await group.next() ?? ""
        group.cancelAll()
        return first
    }
    #expect(received.hasPrefix("retry: 2000"))
    #expect(received.contains(#"event: cluster\#ndata: {"name":"a","state":"Healthy""#), "\(received.prefix(600))")
    #expect(received.contains(#"event: app\#ndata: {"name":"web-a","sync":"Synced","syncTone":"tone-good","health":"Healthy""#), "\(received.prefix(900))")
    #expect(received.contains(#""health":"Degraded","healthTone":"tone-bad""#), "\(received.prefix(900))")
    #expect(received.contains("event: event\ndata: ") && received.contains("hello, live"))
}

/// One account holds at most a few live streams at once: more are refused with 429, and a closed one frees
/// its place.
@Test func liveStreamsAreCappedPerAccount() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    var open: [APIResponse] = []
    for _ in 0..<HubAPI.maxLiveStreamsPerAccount {
        let r = try await fixture.call("GET", "/ui/live?clusters=1")
        #expect(r.status == 200)
        open.append(r)
    }
    let over = try await fixture.call("GET", "/ui/live?clusters=1")
    #expect(over.status == 429 && over.body.contains("live pages open"), "\(over.body)")
    // Another account is not affected.
    try fixture.hub.createAccount("viewer", role: "role:readonly")
    let viewer = try fixture.hub.createToken(account: "viewer", seconds: nil, description: "").token
    #expect(try await fixture.call("GET", "/ui/live?clusters=1", headers: ["authorization": "Bearer \(viewer)"]).status == 200)
    // A page closed (its stream ended) frees a place.
    for task in open.compactMap(\.stream).prefix(1).map({ stream in Task { for await _ in stream { break } } }) { _ = await task.value }
    open.removeAll()
    try await eventuallyAsync("a place freed") { await fixture.api.handle(APIRequest(method: "GET", path: "/ui/live", query: ["clusters": "1"],
        headers: ["authorization": "Bearer \(fixture.hub.bootstrapToken ?? "")"], body: [])).status == 200 }
}
