import FleetModel
import FleetReconcile
import Testing

private func doc(_ text: String) -> JSONValue { try! JSONParser.parse(text) }

private let three = doc(#"""
{"kind": "Promotion", "metadata": {"name": "web"}, "spec": {"applicationSet": "web", "stages": [
  {"name": "dev", "selector": {"matchLabels": {"env": "dev"}}},
  {"name": "staging", "selector": {"matchLabels": {"env": "staging"}}, "healthyFor": "10m"},
  {"name": "prod", "selector": {"matchLabels": {"env": "prod"}}, "approval": "required", "approvers": ["alice", "role:release"]}]}}
"""#)

@Test(arguments: [
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "one", "selector": {"matchLabels": {"e": "1"}}}]}}"#, "spec.stages"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"stages": []}}"#, "spec.applicationSet"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}}, {"name": "b", "selector": {}}]}}"#, "spec.stages[1].selector"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}}, {"name": "b", "selector": {"matchLabels": {"e": "2"}}, "healthyFor": "soon"}]}}"#, "spec.stages[1].healthyFor"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}}, {"name": "b", "selector": {"matchLabels": {"e": "2"}}, "approval": "required"}]}}"#, "spec.stages[1].approvers"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}}, {"name": "a", "selector": {"matchLabels": {"e": "2"}}}]}}"#, "spec.stages[1].name"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}}, {"name": "b", "selector": {"matchLabels": {"e": "2"}}, "window": "Mon 9-17"}]}}"#, "spec.stages[1].window.schedule"),
    (#"{"kind": "Promotion", "metadata": {"name": "p"}, "spec": {"applicationSet": "a", "stages": [{"name": "a", "selector": {"matchLabels": {"e": "1"}}, "auto": true}, {"name": "b", "selector": {"matchLabels": {"e": "2"}}}]}}"#, "spec.stages[0]"),
])
func badPromotionsNameTheField(text: String, field: String) {
    do {
        _ = try Promotion.parse(doc(text), file: "p.yaml")
        Issue.record("accepted \(text)")
    } catch let error as InputError {
        #expect(error.problems.contains { $0.field.hasSuffix(field) }, "\(error)")
    } catch {
        Issue.record("\(error)")
    }
}

@Test func promotionGates() throws {
    let p = try Promotion.parse(three, file: nil)
    #expect(p.stage(of: ["env": "staging"]) == 1 && p.stage(of: ["env": "qa"]) == nil)
    let healthy = [Promotion.Member(name: "web-dev", sync: .synced, health: .healthy, revision: "r1", since: "t")]
    let now = 10_000.0
    // Healthy for 5 minutes of the 10 required.
    var b = p.blocker(promoting: 1, previous: healthy, approved: { _ in false }, now: now, since: { _ in now - 300 })
    #expect(b?.contains("healthy for 300 s of the 600 s required") == true, "\(b ?? "")")
    #expect(p.blocker(promoting: 1, previous: healthy, approved: { _ in false }, now: now, since: { _ in now - 601 }) == nil)
    // Not healthy, or two revisions: refused.
    let degraded = [Promotion.Member(name: "web-dev", sync: .synced, health: .degraded, revision: "r1", since: "t")]
    #expect(p.blocker(promoting: 1, previous: degraded, approved: { _ in true }, now: now, since: { _ in 0 })?.contains("not Synced and Healthy: web-dev") == true)
    let mixed = healthy + [Promotion.Member(name: "web-dev2", sync: .synced, health: .healthy, revision: "r2", since: "t")]
    #expect(p.blocker(promoting: 1, previous: mixed, approved: { _ in true }, now: now, since: { _ in 0 })?.contains("one revision") == true)
    // prod: the approval of that revision is needed.
    b = p.blocker(promoting: 2, previous: healthy, approved: { $0 == "r0" }, now: now, since: { _ in 0 })
    #expect(b?.contains("needs an approval by alice, role:release") == true)
    #expect(p.blocker(promoting: 2, previous: healthy, approved: { $0 == "r1" }, now: now, since: { _ in 0 }) == nil)
    #expect(p.blocker(promoting: 0, previous: healthy, approved: { _ in true }, now: now, since: { _ in 0 }) != nil)
    // A stage with a window: closed outside it.
    var windowed = p
    windowed.stages[2].window = .init(schedule: "0 9 * * 1-5", duration: 8 * 3600)
    #expect(windowed.blocker(promoting: 2, previous: healthy, approved: { _ in true }, now: now, since: { _ in 0 }, windowOpen: { _ in false })?
        .contains("promotion window of prod ('0 9 * * 1-5' for 28800 s) is closed") == true)
    #expect(windowed.blocker(promoting: 2, previous: healthy, approved: { _ in true }, now: now, since: { _ in 0 }, windowOpen: { _ in true }) == nil)
}
