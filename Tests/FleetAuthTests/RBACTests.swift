import FleetAuth
import Testing

private let csv = """
# team A deploys its apps, nothing else
p, role:dev, applications, sync, team-a/*, allow
p, role:dev, applications, get, *, allow
p, role:dev, applications, sync, team-a/payments-*, deny
g, alice, role:dev
g, bob, role:lead
g, role:lead, role:dev
p, role:lead, clusters, update, prod-*, allow
"""

@Test func allowDenyAndGroups() throws {
    let policy = try RBACPolicy.parse(csv)
    #expect(policy.allows("alice", "sync", "applications", "team-a/web-prod"))
    #expect(!policy.allows("alice", "sync", "applications", "team-b/web-prod"))
    #expect(!policy.allows("alice", "sync", "applications", "team-a/payments-api"), "deny wins")
    #expect(!policy.allows("alice", "delete", "applications", "team-a/web-prod"))
    #expect(policy.allows("bob", "sync", "applications", "team-a/x"), "roles are transitive")
    #expect(policy.allows("bob", "update", "clusters", "prod-eu") && !policy.allows("alice", "update", "clusters", "prod-eu"))
    #expect(!policy.allows("mallory", "get", "applications", "team-a/web"), "no role, no access")
    // An account's own role, and the built-ins.
    #expect(policy.allows("ops", role: "role:admin", "delete", "clusters", "prod-eu"))
    #expect(policy.allows("viewer", role: "role:readonly", "get", "events", "x") && !policy.allows("viewer", role: "role:readonly", "sync", "applications", "a/b"))
}

@Test func defaultRoleAndDenyOverAdmin() throws {
    let policy = try RBACPolicy.parse("p, role:admin, clusters, delete, prod-*, deny", defaultRole: "role:readonly")
    #expect(policy.allows("anyone", "get", "clusters", "prod-eu"))
    #expect(!policy.allows("root", role: "role:admin", "delete", "clusters", "prod-eu"))
    #expect(policy.allows("root", role: "role:admin", "delete", "clusters", "dev-eu"))
}

@Test func badPolicyNamesTheLine() {
    #expect { try RBACPolicy.parse("p, role:x, applications, sync, *, allow\np, role:x, planets, get, *, allow\ng, alice") } throws: {
        let text = "\($0)"
        return text.contains("policy.csv:2") && text.contains("planets") && text.contains("policy.csv:3")
    }
}

@Test func globs() {
    #expect(RBACPolicy.glob("team-a/*", matches: "team-a/web/x"))
    #expect(RBACPolicy.glob("*-prod", matches: "web-prod") && !RBACPolicy.glob("*-prod", matches: "web-prod-2"))
    #expect(RBACPolicy.glob("*", matches: "") && !RBACPolicy.glob("a", matches: "ab"))
}

@Test func tokensVerifyOnlyTheirSecret() throws {
    let minted = APIToken.mint()
    let parsed = try #require(APIToken.parse(minted.token))
    #expect(parsed.id == minted.id)
    #expect(APIToken.verify(secret: parsed.secret, hash: minted.hash))
    #expect(!APIToken.verify(secret: String(parsed.secret.reversed()), hash: minted.hash))
    #expect(APIToken.parse("flt_zz_" + String(repeating: "a", count: 64)) == nil)
    #expect(APIToken.parse("Bearer x") == nil)
    #expect(APIToken.mint().token != minted.token)
}

@Test func failuresAreRateLimited() {
    var limiter = FailureLimiter(limit: 3, window: 10)
    for t in 0..<3 {
        let blocked = limiter.isBlocked(now: Double(t))
        #expect(!blocked)
        limiter.recordFailure(now: Double(t))
    }
    let atFive = limiter.isBlocked(now: 5), later = limiter.isBlocked(now: 10.5)
    #expect(atFive && !later)
}
