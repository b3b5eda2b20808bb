import FleetDiff
@testable import FleetKube
import FleetModel
import Foundation
import Testing

/// Apply creates, re-apply changes nothing, prune deletes only what the application applied before.
@Test func applyReapplyAndPrune() async throws {
    let sim = try await SimHarness()
    defer { Task { await sim.stop() } }
    try await ConcurrentRunner.blocking { () throws -> Void in
        let client = sim.client()
        let syncer = Syncer(client: client, application: "shop")
        let objects = [configMap("a", data: ["k": "1"]), configMap("b", data: ["k": "2"]), deployment("web", namespace: "shop")]

        let first = try syncer.sync(objects, defaultNamespace: "shop", createNamespace: true)
        #expect(first.failed.isEmpty)
        #expect(first.created.map(\.name).sorted() == ["a", "b", "web"])

        let second = try syncer.sync(objects, defaultNamespace: "shop")
        #expect(second.unchanged.count == 3 && second.created.isEmpty && second.configured.isEmpty)

        // An object of another application and an unmanaged one in the same namespace must survive prune.
        _ = try Syncer(client: client, application: "other").sync([configMap("theirs", data: [:])], defaultNamespace: "shop")
        _ = try client.apply(configMap("unmanaged", namespace: "shop", data: [:]))

        let changed = [configMap("a", data: ["k": "changed"]), deployment("web", namespace: "shop")]
        let third = try syncer.sync(changed, defaultNamespace: "shop", prune: true)
        #expect(third.configured.map(\.name) == ["a"])
        #expect(third.pruned.map(\.name) == ["b"])
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        #expect(try client.get(cm, namespace: "shop", name: "b") == nil)
        #expect(try client.get(cm, namespace: "shop", name: "theirs") != nil)
        #expect(try client.get(cm, namespace: "shop", name: "unmanaged") != nil)
        let a = try client.get(cm, namespace: "shop", name: "a")
        #expect(a?.value(at: ["metadata", "labels", "app.kubernetes.io/managed-by"]) == "flotilla")
        #expect(a?.value(at: ["metadata", "annotations", "flotilla.io/application"]) == "shop")
    }
}

/// A CustomResourceDefinition applied first makes its kind usable in the same sync (discovery refresh).
/// `CreateNamespace`: one request creates a missing namespace or finds it there; an account that may read but not
/// create namespaces gets an existing one without error and a missing one refused in the server's words.
@Test func ensureNamespaceCreatesOrFinds() async throws {
    let sim = try await SimHarness(token: "admin", readOnlyToken: "viewer")
    let admin = sim.client(token: "admin"), viewer = sim.client(token: "viewer")
    try await ConcurrentRunner.blocking { () throws -> Void in
        try admin.ensureNamespace("shop")
        try admin.ensureNamespace("shop")
        let ns = try admin.resource(apiVersion: "v1", kind: "Namespace")
        #expect(try admin.get(ns, namespace: nil, name: "shop") != nil)
        try viewer.ensureNamespace("shop")
        #expect(throws: KubeError.self) { try viewer.ensureNamespace("other") }
        do { try viewer.ensureNamespace("other") } catch let error as KubeError {
            #expect(error.code == .forbidden && "\(error)".contains("cannot create resource \"namespaces\""), "\(error)")
        }
        #expect(try admin.get(ns, namespace: nil, name: "other") == nil)
    }
    await sim.stop()
}

@Test func crdThenCustomResource() async throws {
    let sim = try await SimHarness()
    defer { Task { await sim.stop() } }
    try await ConcurrentRunner.blocking { () throws -> Void in
        let crd: JSONValue = .object([
            ("apiVersion", "apiextensions.k8s.io/v1"), ("kind", "CustomResourceDefinition"),
            ("metadata", .object([("name", "widgets.example.com")])),
            ("spec", .object([("group", "example.com"), ("scope", "Namespaced"),
                              ("names", .object([("kind", "Widget"), ("plural", "widgets"), ("singular", "widget")])),
                              ("versions", .array([.object([("name", "v1"), ("served", true), ("storage", true)])]))])),
        ])
        let widget: JSONValue = .object([("apiVersion", "example.com/v1"), ("kind", "Widget"), ("metadata", .object([("name", "w1")])), ("spec", .object([("size", 3)]))])
        let client = sim.client()
        _ = try client.discover()  // cache discovery before the CRD exists
        let result = try Syncer(client: client, application: "widgets").sync([widget, crd], defaultNamespace: "default")
        #expect(result.failed.isEmpty, "\(result.failed)")
        #expect(result.created.map(\.kind).sorted() == ["CustomResourceDefinition", "Widget"])
        let resource = try client.resource(apiVersion: "example.com/v1", kind: "Widget")
        #expect(try client.get(resource, namespace: "default", name: "w1")?.value(at: ["spec", "size"]) == 3)
    }
}

/// 401, 404, 409 and 422 map to clear errors naming the cluster and the object.
@Test func errorPaths() async throws {
    let sim = try await SimHarness(token: "right")
    defer { Task { await sim.stop() } }
    try await ConcurrentRunner.blocking { () throws -> Void in
        #expect { try sim.client(token: "wrong").discover() } throws: { ($0 as? KubeError)?.code == .unauthorized && "\($0)".contains("cluster test") }

        let client = sim.client(token: "right")
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        #expect(try client.get(cm, namespace: "default", name: "missing") == nil)
        try client.delete(cm, namespace: "default", name: "missing")  // deleting what is gone is fine

        _ = try client.apply(configMap("c", namespace: "default", data: ["a": "1"]))
        var stale = try #require(try client.get(cm, namespace: "default", name: "c"))
        _ = try client.apply(configMap("c", namespace: "default", data: ["a": "2"]))
        stale.set("data", .object([("a", "3")]))
        #expect { try client.json("PUT", cm.path(namespace: "default", name: "c"), body: Array(stale.serialized().utf8), contentType: "application/json", object: "ConfigMap default/c") } throws: {
            ($0 as? KubeError)?.code == .conflict && "\($0)".contains("ConfigMap default/c")
        }

        var broken = deployment("bad", namespace: "default")
        broken.set(path: ["spec", "template", "spec", "containers"], .array([]))
        #expect { try client.apply(broken) } throws: { error in
            guard let e = error as? KubeError else { return false }
            return e.code == .invalid && e.causes.contains { $0.field == "spec.template.spec.containers" } && "\(e)".contains("Deployment.apps default/bad")
        }
        #expect { try client.apply(configMap("x", namespace: "nope", data: [:])) } throws: { ($0 as? KubeError)?.code == .notFound && "\($0)".contains("namespaces \"nope\" not found") }
    }
}

/// A cluster that does not answer fails fast with the cluster named.
@Test func unreachableCluster() {
    let client = KubeClient(cluster: Cluster(name: "gone", server: "http://127.0.0.1:1"), timeout: 2)
    #expect { try client.discover() } throws: { ($0 as? KubeError)?.code == .unreachable && "\($0)".contains("cluster gone") }
}

/// Workloads become Healthy after the simulated delay; a failing image makes them Degraded.
@Test func healthFollowsSimulatedWorkloads() async throws {
    let sim = try await SimHarness(readyAfter: 5, failImage: "broken")
    defer { Task { await sim.stop() } }
    try await ConcurrentRunner.blocking { () throws -> Void in
        let client = sim.client()
        _ = try client.apply(deployment("good", namespace: "default"))
        _ = try client.apply(deployment("bad", namespace: "default", image: "registry/broken:1"))
        let deploy = try client.resource(apiVersion: "apps/v1", kind: "Deployment")
        #expect(HealthRules.assess(try client.get(deploy, namespace: "default", name: "good")).status == .progressing)
        Thread.sleep(forTimeInterval: 5.2)
        #expect(HealthRules.assess(try client.get(deploy, namespace: "default", name: "good")).status == .healthy)
        let bad = HealthRules.assess(try client.get(deploy, namespace: "default", name: "bad"))
        #expect(bad.status == .degraded && bad.message.contains("exceeded its progress deadline"))
    }
}

/// Many concurrent requests through one client all succeed (handles are pooled per thread).
@Test func concurrentApplies() async throws {
    let sim = try await SimHarness()
    defer { Task { await sim.stop() } }
    try await ConcurrentRunner.blocking { () throws -> Void in
        let client = sim.client()
        let objects = (0..<200).map { configMap("cm-\($0)", namespace: "default", data: ["i": "\($0)"]) }
        let results = ConcurrentRunner.map(objects, width: 24) { try client.apply($0).created }
        #expect(results.allSatisfy { (try? $0.get()) == true })
        #expect(try client.list(try client.resource(apiVersion: "v1", kind: "ConfigMap"), namespace: "default").count == 200)
    }
}
