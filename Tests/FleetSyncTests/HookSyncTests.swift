import FleetDiff
import FleetGit
import FleetKube
import FleetManifests
import FleetModel
import FleetSync
import Foundation
import Testing

private func job(_ meta: String, image: String = "busybox") -> String {
    """
    apiVersion: batch/v1
    kind: Job
    metadata:
    \(meta)
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: \(image)}]
    """
}

private func deployment(_ name: String, image: String = "nginx", wave: Int = 0) -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: \(name)
      annotations: {argocd.argoproj.io/sync-wave: "\(wave)"}
    spec:
      replicas: 1
      selector: {matchLabels: {app: \(name)}}
      template:
        metadata: {labels: {app: \(name)}}
        spec: {containers: [{name: c, image: \(image)}]}
    """
}

private func configMap(_ name: String, wave: Int) -> String {
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \(name)\n  annotations: {argocd.argoproj.io/sync-wave: \"\(wave)\"}\n"
}

private func exists(_ world: World, _ kind: String, _ name: String) throws -> Bool {
    let client = KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"), timeout: 5)
    let resource = try #require(try client.discover().first { $0.kind == kind })
    return try client.get(resource, namespace: "shop", name: name) != nil
}

/// Hooks run in their phases, with their delete policies; they are not the Application's resources.
@Test func hooksRunInPhasesWithDeletePolicies() async throws {
    let world = try await World()
    try world.write("app/web.yaml", deployment("web"))
    try world.write("app/migrate.yaml", job("""
      generateName: migrate-
      annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}
    """))
    try world.write("app/smoke.yaml", job("""
      name: smoke
      annotations: {helm.sh/hook: post-install, helm.sh/hook-weight: "5"}
    """))
    try world.write("app/test.yaml", job("""
      name: helm-test
      annotations: {helm.sh/hook: test}
    """))
    let result = world.syncer.reconcileToEnd(application("hooks", path: "app", automated: "prune"))
    #expect(result.operation == .succeeded, "\(result.message)")
    #expect(result.hooks.map(\.phase) == [.preSync, .postSync])
    #expect(result.hooks.map(\.status) == [.succeeded, .succeeded])
    let pre = result.hooks[0]
    #expect(pre.ref.name.hasPrefix("migrate-") && pre.ref.name.count == "migrate-".count + 5)
    #expect(pre.deleted)
    #expect(!(try exists(world, "Job", pre.ref.name)))
    // No delete policy: kept until the next run replaces it (BeforeHookCreation).
    #expect(!result.hooks[1].deleted)
    #expect(try exists(world, "Job", "smoke"))
    // Hooks are not resources of the Application; a Helm test hook is named, not applied.
    #expect(result.resources.map(\.ref.kind) == ["Deployment"])
    #expect(!(try exists(world, "Job", "helm-test")))
    #expect(result.warnings.contains { $0.type == .syncHooksNotRun && $0.message.contains("helm-test (test)") })
    // In sync now: no sync, no hooks; the kept PostSync Job is not pruned.
    let again = world.syncer.reconcileToEnd(application("hooks", path: "app", automated: "prune"))
    #expect(again.syncStatus == .synced && again.operation == nil && again.hooks.isEmpty)
    #expect(try exists(world, "Job", "smoke"))
    await world.stop()
}

/// A failing PreSync hook stops the sync before any resource is applied, and SyncFail hooks run.
@Test func failingPreSyncHookStopsTheSync() async throws {
    let world = try await World(failImage: "broken")
    try world.write("app/web.yaml", deployment("web"))
    try world.write("app/migrate.yaml", job("""
      name: migrate
      annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookFailed}
    """, image: "broken:1"))
    try world.write("app/notify.yaml", job("""
      name: notify
      annotations: {argocd.argoproj.io/hook: SyncFail}
    """))
    let result = world.syncer.reconcileToEnd(application("hooks", path: "app", automated: "prune"))
    #expect(result.operation == .failed)
    #expect(result.message.contains("PreSync wave 0: hook Job.batch shop/migrate failed"), "\(result.message)")
    #expect(!(try exists(world, "Deployment", "web")))
    #expect(result.hooks.map(\.phase) == [.preSync, .syncFail])
    #expect(result.hooks[0].deleted && result.hooks[1].status == .succeeded)
    #expect(try exists(world, "Job", "notify"))
    await world.stop()
}

/// A wave starts only when the previous one is healthy: a Degraded Deployment in wave 0 stops wave 1.
@Test func wavesWaitForHealth() async throws {
    let world = try await World(failImage: "broken")
    try world.write("app/a.yaml", deployment("first", image: "broken:2", wave: 0))
    try world.write("app/b.yaml", configMap("second", wave: 1))
    let result = world.syncer.reconcileToEnd(application("waves", path: "app", automated: "prune"))
    #expect(result.operation == .failed)
    #expect(result.message.contains("Sync wave 0: Deployment.apps shop/first is Degraded"), "\(result.message)")
    #expect(!(try exists(world, "ConfigMap", "second")))
    // Healthy waves go through in order.
    try world.write("app/a.yaml", deployment("first", image: "nginx", wave: 0))
    let fixed = world.syncer.reconcileToEnd(application("waves", path: "app", automated: "prune"))
    #expect(fixed.operation == .succeeded, "\(fixed.message)")
    #expect(try exists(world, "ConfigMap", "second"))
    await world.stop()
}

/// A hook Pod finishes when it terminates: one that runs to completion (`restartPolicy: Never`) succeeds; one
/// that runs on (`restartPolicy: Always`, Running and ready) is never taken for a success — the wave waits
/// and the sync fails at its timeout, naming the hook.
@Test func hookPodsSucceedOnlyWhenTheyTerminate() async throws {
    let world = try await World()
    try world.write("app/web.yaml", deployment("web"))
    /// A PreSync hook Pod; `restartPolicy` nil leaves Kubernetes' default (Always).
    func hookPod(_ name: String, restartPolicy: String?) -> String {
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \(name)\n  annotations: {argocd.argoproj.io/hook: PreSync}\nspec:\n"
            + (restartPolicy.map { "  restartPolicy: \($0)\n" } ?? "") + "  containers: [{name: c, image: busybox}]\n"
    }
    try world.write("app/check.yaml", hookPod("check", restartPolicy: "Never"))
    let done = world.syncer.reconcileToEnd(application("hooks", path: "app", automated: "prune"))
    #expect(done.operation == .succeeded, "\(done.message)")
    #expect(done.hooks.map(\.status) == [.succeeded])

    try world.write("app/check.yaml", hookPod("forever", restartPolicy: nil))
    try world.write("app/web.yaml", deployment("web", image: "nginx:2"))
    let syncer = AppSyncer(client: KubeClient(cluster: Cluster(name: "w", server: "http://127.0.0.1:\(world.port)"), timeout: 5),
                           manifests: ManifestLoader(git: WorkingTreeGitSource(root: world.repo)), waveTimeout: 2, pollInterval: 0.05)
    let stuck = syncer.reconcileToEnd(application("hooks", path: "app", automated: "prune"))
    #expect(stuck.operation == .failed, "\(stuck.message)")
    #expect(stuck.hooks.map(\.status) == [.running] || stuck.hooks.map(\.status) == [.failed], "\(stuck.hooks)")
    #expect(stuck.message.contains("forever"), "\(stuck.message)")
    await world.stop()
}
