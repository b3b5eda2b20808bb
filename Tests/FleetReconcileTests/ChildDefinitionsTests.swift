import FleetModel
import FleetReconcile
import Testing

private func app(_ name: String, path: String = "a") -> (key: String, object: JSONValue) {
    ("Application/" + name, .object([("kind", .string("Application")), ("metadata", .object([("name", .string(name))])),
                                     ("spec", .object([("source", .object([("path", .string(path))]))]))]))
}

struct ChildCase: Sendable, CustomTestStringConvertible {
    let name: String
    let desired: [String: String], existing: [String: String]
    let create: [String], update: [String], prune: [String], unchanged: [String]
    var testDescription: String { name }
}

private let cases: [ChildCase] = [
    .init(name: "first sync creates all", desired: ["a": "x", "b": "x"], existing: [:], create: ["a", "b"], update: [], prune: [], unchanged: []),
    .init(name: "same render changes nothing", desired: ["a": "x"], existing: ["a": "x"], create: [], update: [], prune: [], unchanged: ["a"]),
    .init(name: "a changed source replaces", desired: ["a": "y"], existing: ["a": "x"], create: [], update: ["a"], prune: [], unchanged: []),
    .init(name: "a child gone from the render is pruned", desired: ["a": "x"], existing: ["a": "x", "b": "x"], create: [], update: [], prune: ["b"], unchanged: ["a"]),
    .init(name: "an empty render prunes every child", desired: [:], existing: ["a": "x", "b": "x"], create: [], update: [], prune: ["a", "b"], unchanged: []),
]

@Test(arguments: cases)
func childDefinitionsArePlanned(_ c: ChildCase) {
    let plan = ChildDefinitionsPlan(desired: c.desired.keys.sorted().map { app($0, path: c.desired[$0]!) },
                                    existing: c.existing.keys.sorted().map { app($0, path: c.existing[$0]!) })
    let strip = { (keys: [String]) in keys.map { String($0.dropFirst("Application/".count)) } }
    #expect(strip(plan.create) == c.create)
    #expect(strip(plan.update) == c.update)
    #expect(strip(plan.prune) == c.prune)
    #expect(strip(plan.unchanged) == c.unchanged)
    #expect(plan.inSync == (c.create.isEmpty && c.update.isEmpty && c.prune.isEmpty))
}

@Test func cyclesAndDuplicatesAreNamed() {
    #expect(ChildDefinitionsPlan.problems(desired: ["Application/a", "Application/b"], lineage: ["Application/root"]).isEmpty)
    #expect(ChildDefinitionsPlan.problems(desired: ["Application/root"], lineage: ["Application/root"]) == ["Application/root renders itself: a cycle"])
    let ancestor = ChildDefinitionsPlan.problems(desired: ["Application/top"], lineage: ["Application/mid", "Application/top"])
    #expect(ancestor == ["Application/top is an ancestor of this Application: a cycle (Application/mid ← Application/top)"])
    #expect(ChildDefinitionsPlan.problems(desired: ["sets", "sets"], lineage: []) == ["ApplicationSet/sets is rendered twice"])
}
