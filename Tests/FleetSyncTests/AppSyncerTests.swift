import FleetDiff
import FleetGit
import FleetKube
import FleetLua
import FleetManifests
import FleetModel
import FleetSim
import FleetSync
import Foundation
import Testing

/// An in-process simulator and a working-tree "repository" for one test.
final class World: @unchecked Sendable {
    let sim: SimCluster
    let port: Int
    let repo: URL
    private let running: SimServer.Running

    init(readyAfter: Double = 0.1, failImage: String? = nil) async throws {
        sim = SimCluster(options: .init(name: "w", readyAfter: readyAfter, failImage: failImage))
        repo = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        running = try await SimServer(listeners: [.init(host: "127.0.0.1", port: 0, cluster: sim)], logLevel: .critical).start()
        port = running.ports["w"]!
    }

    func write(_ path: String, _ text: String) throws {
        let url = repo.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    var syncer: AppSyncer {
        AppSyncer(client: KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(port)"), timeout: 5),
                  manifests: ManifestLoader(git: WorkingTreeGitSource(root: repo)), waveTimeout: 20, pollInterval: 0.05)
    }

    /// A syncer whose client reads live state from a watch-fed cache, as the hub's do (one cache, kept).
    lazy var cachedSyncer: AppSyncer = {
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(port)"), timeout: 5)
        client.cache = ClusterCache(client: client, onChange: { _ in })
        return AppSyncer(client: client, manifests: ManifestLoader(git: WorkingTreeGitSource(root: repo)), waveTimeout: 20, pollInterval: 0.05)
    }()

    func stop() async {
        await running.stop()
        try? FileManager.default.removeItem(at: repo)
    }
}

func application(_ name: String, path: String, automated: String? = nil, options: [String] = ["CreateNamespace=true"]) -> JSONValue {
    var syncPolicy: [(String, JSONValue)] = [("syncOptions", .array(options.map(JSONValue.string)))]
    if let automated { syncPolicy.append(("automated", automated == "prune" ? .object([("prune", true)]) : .object([]))) }
    return .object([("apiVersion", "argoproj.io/v1alpha1"), ("kind", "Application"), ("metadata", .object([("name", .string(name))])),
                    ("spec", .object([("project", "default"), ("source", .object([("repoURL", "local"), ("path", .string(path)), ("targetRevision", "HEAD")])),
                                      ("destination", .object([("server", "sim"), ("namespace", "shop")])), ("syncPolicy", .object(syncPolicy))]))])
}


private let web = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: 'nginx:1.27'}]}
"""

/// Automated: the first reconcile applies and reports Synced; later Healthy; a second reconcile does nothing.
/// Removing a file prunes its object (prune: true).
@Test func automatedSyncAndPrune() async throws {
    let world = try await World()
    try world.write("app/web.yaml", web)
    try world.write("app/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n")
    let app = application("shop", path: "app", automated: "prune")
    try await ConcurrentRunner.blocking { () throws -> Void in
        let first = world.syncer.reconcileToEnd(app)
        #expect(first.operation == .succeeded, "\(first.message)")
        #expect(first.syncStatus == .synced)
        #expect(Set(first.resources.map(\.action)) == [.created])
        #expect(first.revisions == [WorkingTreeGitSource.commit])
        Thread.sleep(forTimeInterval: 0.2)
        let second = world.syncer.reconcileToEnd(app)
        #expect(second.operation == nil && second.syncStatus == .synced && second.health.status == .healthy, "\(second.health)")
        try FileManager.default.removeItem(at: world.repo.appendingPathComponent("app/config.yaml"))
        let third = world.syncer.reconcileToEnd(app)
        #expect(third.operation == .succeeded && third.resources.contains { $0.ref.name == "settings" && $0.action == .pruned })
        #expect(third.syncStatus == .synced)
    }
    await world.stop()
}

/// Without automation the app only reports OutOfSync; a manual sync applies it.
@Test func manualPolicyReportsOnly() async throws {
    let world = try await World()
    try world.write("app/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n")
    let app = application("shop", path: "app")
    try await ConcurrentRunner.blocking { () throws -> Void in
        let report = world.syncer.reconcileToEnd(app)
        #expect(report.operation == nil && report.syncStatus == .outOfSync && report.health.status == .missing)
        #expect(world.sim.objectCount == 5, "nothing was applied")
        let manual = world.syncer.reconcileToEnd(app, force: true)
        #expect(manual.operation == .succeeded && manual.syncStatus == .synced)
    }
    await world.stop()
}

/// A sync option Flotilla does not carry out is named in a warning (the Application's condition); the sync goes
/// on with the options it does carry out.
@Test func unsupportedSyncOptionsAreNamed() async throws {
    let world = try await World()
    try world.write("app/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n")
    let app = application("shop", path: "app", automated: "prune", options: ["CreateNamespace=true", "Replace=true"])
    try await ConcurrentRunner.blocking { () throws -> Void in
        let result = world.syncer.reconcileToEnd(app)
        #expect(result.operation == .succeeded && result.syncStatus == .synced, "\(result.message)")
        let warning = result.warnings.first { $0.type == .syncOptionNotSupported }
        #expect(warning?.message == "syncOptions not carried out: Replace=true (not implemented); the sync goes on without them", "\(result.warnings)")
    }
    await world.stop()
}

/// Waves: lower waves are applied first (their objects get lower resourceVersions).
@Test func syncWavesInOrder() async throws {
    let world = try await World()
    try world.write("app/late.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, annotations: {argocd.argoproj.io/sync-wave: '2'}}\n")
    try world.write("app/early.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: early, annotations: {argocd.argoproj.io/sync-wave: '-1'}}\n")
    try world.write("app/middle.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: middle}\n")
    try await ConcurrentRunner.blocking { () throws -> Void in
        let r = world.syncer.reconcileToEnd(application("waves", path: "app", automated: ""))
        #expect(r.operation == .succeeded, "\(r.message)")
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        func rv(_ name: String) throws -> Int {
            let object = try #require(try client.get(cm, namespace: "shop", name: name), "ConfigMap \(name) exists")
            return try #require(object.value(at: ["metadata", "resourceVersion"])?.stringValue.flatMap { Int($0) }, "resourceVersion of \(name)")
        }
        #expect(try rv("early") < rv("middle") && rv("middle") < rv("late"))
    }
    await world.stop()
}

/// A broken manifest fails the comparison with a clear message; nothing is applied.
@Test func brokenManifest() async throws {
    let world = try await World()
    try world.write("app/ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
    try world.write("app/bad.yaml", "kind: ConfigMap\nmetadata: [oops\n")
    try await ConcurrentRunner.blocking { () throws -> Void in
        let r = world.syncer.reconcileToEnd(application("broken", path: "app", automated: "prune"))
        #expect(r.operation == .failed && r.message.contains("ComparisonError") && r.message.contains("bad.yaml:"), "\(r.message)")
        #expect(world.sim.objectCount == 5)
    }
    await world.stop()
}

/// Drift made on the cluster is healed by the next automated reconcile.
@Test func selfHealsDrift() async throws {
    let world = try await World()
    try world.write("app/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n")
    let app = application("heal", path: "app", automated: "")
    try await ConcurrentRunner.blocking { () throws -> Void in
        _ = world.syncer.reconcileToEnd(app)
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        _ = try client.apply(.object([("apiVersion", "v1"), ("kind", "ConfigMap"), ("metadata", .object([("name", "settings"), ("namespace", "shop")])), ("data", .object([("a", "drifted")]))]), fieldManager: "kubectl")
        let r = world.syncer.reconcileToEnd(app)
        #expect(r.operation == .succeeded && r.resources.first?.action == .configured)
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        #expect(try client.get(cm, namespace: "shop", name: "settings")?.value(at: ["data", "a"]) == "1")
    }
    await world.stop()
}

/// An object another Application manages is not taken over: the second Application fails with a message
/// naming the owner, and the object keeps its owner and content — whether the owner is found by reading the API
/// server or in the cluster's cache.
@Test(arguments: [false, true])
func sharedResourceIsNotTakenOver(cached: Bool) async throws {
    let world = try await World()
    try world.write("one/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {from: one}\n")
    try world.write("two/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {from: two}\n")
    let syncer = cached ? world.cachedSyncer : world.syncer
    try await ConcurrentRunner.blocking { () throws -> Void in
        let first = syncer.reconcileToEnd(application("one", path: "one", automated: "prune"))
        #expect(first.operation == .succeeded)
        let second = syncer.reconcileToEnd(application("two", path: "two", automated: "prune"))
        #expect(second.operation == .failed && second.syncStatus == .outOfSync)
        #expect(second.message.contains("managed by Application one"), "\(second.message)")
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let cm = try #require(try client.get(try client.resource(apiVersion: "v1", kind: "ConfigMap"), namespace: "shop", name: "shared"))
        #expect(cm.value(at: ["data", "from"]) == "one")
        #expect(cm.value(at: ["metadata", "annotations", "flotilla.io/application"]) == "one")
    }
    if cached { syncer.client.cache?.stop() }
    await world.stop()
}

/// A failed-over copy that created an object first on an empty cluster yields it to the Application native there
/// (`mayTakeOver`); the copy then finds the object owned by the native one. An owner that does not yield keeps it.
@Test func aFailedOverCopyYieldsItsObjectsToTheNativeApplication() async throws {
    let world = try await World()
    try world.write("copy/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {from: copy}\n")
    try world.write("native/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {from: native}\n")
    try await ConcurrentRunner.blocking { () throws -> Void in
        #expect(world.syncer.reconcileToEnd(application("copy-prod-us", path: "copy", automated: "prune")).operation == .succeeded)
        var refusing = world.syncer
        refusing.mayTakeOver = { _ in false }
        #expect(refusing.reconcileToEnd(application("native-prod-ap", path: "native", automated: "prune")).operation == .failed)
        var native = world.syncer
        native.mayTakeOver = { owner in owner == "copy-prod-us" }
        let taken = native.reconcileToEnd(application("native-prod-ap", path: "native", automated: "prune"))
        #expect(taken.operation == .succeeded && taken.syncStatus == .synced, "\(taken.message)")
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let cm = try #require(try client.get(try client.resource(apiVersion: "v1", kind: "ConfigMap"), namespace: "shop", name: "shared"))
        #expect(cm.value(at: ["metadata", "annotations", "flotilla.io/application"]) == "native-prod-ap")
        #expect(cm.value(at: ["data", "from"]) == "native")
        // The copy now finds its object owned by the native Application: reported, not taken back.
        let copy = world.syncer.reconcileToEnd(application("copy-prod-us", path: "copy", automated: "prune"))
        #expect(copy.foreignOwners.values.contains("native-prod-ap"))
    }
    await world.stop()
}

/// An object that says `Prune=false` (`argocd.argoproj.io/sync-options`) stays when git no longer has it: the
/// Application is OutOfSync and says why; the others are pruned, with the propagation the options name.
@Test func objectsThatSayPruneFalseStay() async throws {
    let world = try await World()
    try world.write("app/keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, annotations: {argocd.argoproj.io/sync-options: Prune=false}}\ndata: {a: b}\n")
    try world.write("app/drop.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: drop}\ndata: {a: b}\n")
    let app = application("keeper", path: "app", automated: "prune", options: ["CreateNamespace=true", "PrunePropagationPolicy=foreground"])
    try await ConcurrentRunner.blocking { () throws -> Void in
        #expect(world.syncer.reconcileToEnd(app).operation == .succeeded)
        try FileManager.default.removeItem(at: world.repo.appendingPathComponent("app/keep.yaml"))
        try FileManager.default.removeItem(at: world.repo.appendingPathComponent("app/drop.yaml"))
        try world.write("app/other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {a: b}\n")
        let after = world.syncer.reconcileToEnd(app)
        #expect(!after.warnings.contains { $0.type == .syncOptionNotSupported }, "\(after.warnings)")
        let keep = try #require(after.resources.first { $0.ref.name == "keep" })
        #expect(!keep.inSync && keep.message.contains("Prune=false"), "\(keep.message)")
        #expect(after.resources.first { $0.ref.name == "drop" }?.action == .pruned)
        #expect(after.syncStatus == .outOfSync)
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let configMaps = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        #expect(try client.get(configMaps, namespace: "shop", name: "keep") != nil)
        #expect(try client.get(configMaps, namespace: "shop", name: "drop") == nil)
    }
    await world.stop()
}

/// A kustomization that names a directory outside the repository is refused before kustomize runs, with the
/// file and the path in the message; one that stays inside renders.
@Test func kustomizationsMayNotLeaveTheRepository() async throws {
    let world = try await World()
    try world.write("base/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n")
    try world.write("base/kustomization.yaml", "resources: [config.yaml]\n")
    try world.write("ok/kustomization.yaml", "resources: [../base]\n")
    try world.write("evil/kustomization.yaml", "resources: [../../../../etc/flotilla-secrets]\n")
    try world.write("abs/kustomization.yaml", "configMapGenerator: [{name: x, files: [/etc/passwd]}]\n")
    try await ConcurrentRunner.blocking { () throws -> Void in
        let evil = world.syncer.reconcileToEnd(application("evil", path: "evil", automated: "prune"))
        #expect(evil.message.contains("evil/kustomization.yaml names '../../../../etc/flotilla-secrets', which leaves the repository"), "\(evil.message)")
        #expect(evil.operation == .failed && world.sim.objectCount == 5)
        let abs = world.syncer.reconcileToEnd(application("abs", path: "abs", automated: "prune"))
        #expect(abs.message.contains("absolute path leaves the repository"), "\(abs.message)")
    }
    await world.stop()
}

extension AppSyncer {
    /// Reconciles until the sync is no longer Running, as the hub does (reconcile after reconcile, the sync going
    /// on from its progress), waiting `pollInterval` between them.
    func reconcileToEnd(_ app: JSONValue, force: Bool = false) -> ReconcileResult {
        var result = reconcile(app, force: force)
        while result.operation == .running {
            Thread.sleep(forTimeInterval: pollInterval)
            result = reconcile(app, force: force, resume: result.progress)
        }
        return result
    }
}

/// Sources that come to render nothing do not make automated sync delete everything: an empty render is an
/// error naming the source; with Argo CD's `allowEmpty: true` it is what the Application asks for, and synced.
@Test func automatedSyncDoesNotEmptyAnApplicationWithoutAllowEmpty() async throws {
    let world = try await World()
    try world.write("app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
    try world.write("app/values.yaml", "enabled: true\n")
    try world.write("app/templates/a.yaml", "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: b}\n{{- end }}\n")
    let app = application("emptied", path: "app", automated: "prune")
    try await ConcurrentRunner.blocking { () throws -> Void in
        #expect(world.syncer.reconcileToEnd(app).operation == .succeeded)
        // The chart's one object switched off: it renders nothing.
        try world.write("app/values.yaml", "enabled: false\n")
        let refused = world.syncer.reconcileToEnd(app)
        #expect(refused.failure == .comparisonError && refused.message.contains("rendered no objects"), "\(refused.message)")
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let configMaps = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        #expect(try client.get(configMaps, namespace: "shop", name: "a") != nil)
        var allowed = app
        allowed.set(path: ["spec", "syncPolicy", "automated", "allowEmpty"], true)
        #expect(world.syncer.reconcileToEnd(allowed).operation == .succeeded)
        #expect(try client.get(configMaps, namespace: "shop", name: "a") == nil)
    }
    await world.stop()
}

/// `RespectIgnoreDifferences=true`: a field `ignoreDifferences` ignores keeps what another controller set there
/// when a sync applies the object's other changes; without the option the sync puts git's value back.
@Test(arguments: [true, false])
func ignoredFieldsKeepTheirLiveValueWithRespectIgnoreDifferences(_ respect: Bool) async throws {
    let world = try await World()
    try world.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tuned}\ndata: {level: low, note: one}\n")
    var tuned = application("tuned", path: "app", automated: "prune", options: ["CreateNamespace=true"] + (respect ? ["RespectIgnoreDifferences=true"] : []))
    tuned.set(path: ["spec", "ignoreDifferences"], .array([.object([("kind", "ConfigMap"), ("jsonPointers", .array(["/data/level"]))])]))
    let app = tuned
    try await ConcurrentRunner.blocking { () throws -> Void in
        #expect(world.syncer.reconcileToEnd(app).operation == .succeeded)
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let configMaps = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        // Another controller turns the level up.
        _ = try client.apply(try JSONParser.parse(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tuned","namespace":"shop"},"data":{"level":"high"}}"#),
                             fieldManager: "tuner")
        try world.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tuned}\ndata: {level: low, note: two}\n")
        let result = world.syncer.reconcileToEnd(app)
        #expect(result.operation == .succeeded)
        #expect(!result.warnings.contains { $0.type == .syncOptionNotSupported }, "\(result.warnings)")
        let live = try #require(try client.get(configMaps, namespace: "shop", name: "tuned"))
        #expect(live.value(at: ["data", "note"])?.stringValue == "two")
        #expect(live.value(at: ["data", "level"])?.stringValue == (respect ? "high" : "low"))
    }
    await world.stop()
}

/// A kind without a built-in health rule, assessed by a Lua health check of the hub's configuration (Argo CD's
/// resource customizations): its wave waits until the script says Healthy, and the next wave follows then.
@Test func aLuaHealthCheckHoldsItsWaveUntilHealthy() async throws {
    let world = try await World()
    try world.write("app/crd.yaml", """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com, annotations: {argocd.argoproj.io/sync-wave: '-1'}}
        spec:
          group: example.com
          scope: Namespaced
          names: {kind: Widget, plural: widgets}
          versions: [{name: v1, served: true, storage: true}]
        """)
    try world.write("app/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n")
    try world.write("app/after.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after, annotations: {argocd.argoproj.io/sync-wave: '1'}}\n")
    let checks = try LuaHealthChecks(inline: ["example.com/Widget": """
        if obj.status ~= nil and obj.status.phase == "Ready" then return {status = "Healthy", message = "ready"} end
        return {status = "Progressing", message = "waiting for the widget"}
        """])
    try await ConcurrentRunner.blocking { () throws -> Void in
        var syncer = world.syncer
        syncer.healthChecks = checks
        let app = application("widgets", path: "app", automated: "")
        let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"))
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        var result = syncer.reconcile(app)
        for _ in 0..<20 where result.operation == .running { result = syncer.reconcile(app, resume: result.progress) }
        #expect(result.operation == .running && result.message.contains("Widget"), "\(result.message)")
        #expect(result.resources.first { $0.ref.kind == "Widget" }?.health == Health(.progressing, "waiting for the widget"))
        #expect(try client.get(cm, namespace: "shop", name: "after") == nil, "wave 1 waits for the widget")
        // The widget turns Ready: the wave is done and the next one is applied.
        let widgets = try client.resource(apiVersion: "example.com/v1", kind: "Widget")
        #expect(try client.get(widgets, namespace: "shop", name: "w") != nil)
        _ = try client.apply(.object([("apiVersion", "example.com/v1"), ("kind", "Widget"), ("metadata", .object([("name", "w"), ("namespace", "shop")])),
                                      ("status", .object([("phase", "Ready")]))]), fieldManager: "operator")
        result = syncer.reconcileToEnd(app)
        #expect(result.operation == .succeeded, "\(result.message)")
        #expect(try client.get(cm, namespace: "shop", name: "after") != nil)
        #expect(result.resources.first { $0.ref.kind == "Widget" }?.health == Health(.healthy, "ready"))
    }
    await world.stop()
}
