@testable import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

/// The router and the route table cannot drift apart: every route of the table is reached through the router
/// with its method and path, a path no route has is refused after authentication (401, then 404 or 405), and
/// the dashboard's pages sit in the same router.
@Test func theRouterServesEveryRouteOfTheTable() async throws {
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"],
                                         appSet: perCluster)
    for route in HubRoutes.all {
        var path = "/" + route.pattern.description.split(separator: "/").map { $0 == "*" ? "nothing-here" : String($0) }.joined(separator: "/")
        if route.prefix { path += "/api/v1/namespaces" }
        // Reads and refusals only: bodies that cannot be applied, names that do not exist.
        let answer = try await fixture.call(route.method, path, body: route.method == "GET" || route.method == "DELETE" ? "" : "{not json")
        #expect(!answer.body.contains("no route for") && answer.status != 405, "\(route.method) \(path): \(answer.status) \(answer.body.prefix(200))")
    }

    // Unknown paths: a caller without a token learns nothing; with one, 404, or 405 when the path has other methods.
    #expect(try await fixture.call("GET", "/api/v1/nothing", authorize: false).status == 401)
    let unknown = try await fixture.call("GET", "/api/v1/nothing")
    #expect(unknown.status == 404 && unknown.body.contains("no route for GET /api/v1/nothing"), "\(unknown.body)")
    let wrongMethod = try await fixture.call("PUT", "/api/v1/applications/a-live/sync")
    #expect(wrongMethod.status == 405 && wrongMethod.contentType == "application/json", "\(wrongMethod.body)")
    #expect(try await fixture.call("PATCH", "/api/v1/nothing", authorize: false).status == 401)

    // A refusal of RBAC and a call that could change something are audited with who made them.
    try fixture.hub.createAccount("viewer", role: "role:readonly")
    let token = try fixture.hub.createToken(account: "viewer", seconds: nil, description: "").token
    let refused = try await fixture.call("POST", "/api/v1/applications/a-live/sync", headers: ["authorization": "Bearer \(token)"])
    #expect(refused.status == 403)
    #expect(try await fixture.call("POST", "/api/v1/nothing", authorize: false).status == 401)
    let audit = try fixture.hub.store.events().filter { $0.type == "Audit" }.map(\.message)
    #expect(audit.contains("viewer POST /api/v1/applications/a-live/sync → 403"), "\(audit)")
    #expect(audit.contains("anonymous POST /api/v1/nothing → 401"), "\(audit)")

    // `?pretty=true` indents what the handler answered compactly.
    let pretty = try await fixture.call("GET", "/api/v1/whoami?pretty=true")
    #expect(pretty.status == 200 && pretty.body.contains("\n  \""), "\(pretty.body)")

    // The dashboard in the same router: a page without a session asks to log in, an unknown page is the
    // dashboard's 404, the assets need no session.
    let page = try await fixture.call("GET", "/ui/fleet", authorize: false)
    #expect(page.status == 303 && page.headers.contains { $0.0 == "Location" && $0.1.hasPrefix("/ui/login?next=") })
    let missing = try await fixture.call("GET", "/ui/no-such-page")
    #expect(missing.status == 404 && missing.contentType.hasPrefix("text/html") && missing.body.contains("no page at /ui/no-such-page"))
    #expect(try await fixture.call("GET", "/ui/").headers.contains { $0.0 == "Location" && $0.1 == "/ui/fleet" })
    await fixture.stop()
}
