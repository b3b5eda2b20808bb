import FleetConfig
@testable import FleetHub
import FleetKube
import FleetModel
import FleetServing
import FleetTesting
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// A hub on in-memory stores and a manual clock: its loops (file watch, git poll, probes) run only when the
/// clock moves, so what a round does is asserted after the round ran, never after a guessed sleep.
private struct ClockedHub {
    let dir: URL
    let hub: Hub
    let clock = ManualClock()
    /// The loops that wait on the clock between rounds: file watch, git poll, probes.
    static let loops = 3

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-loops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("appsets"), withIntermediateDirectories: true)
        // One cluster nobody answers for (a port nothing listens on), with no Application: nothing but the probe
        // loop contacts it.
        try FleetFixtures.clustersYAML([.init(name: "a", port: 1)]).write(to: dir.appendingPathComponent("clusters.yaml"), atomically: true, encoding: .utf8)
        var config = HubConfiguration()
        config.clusters = [dir.appendingPathComponent("clusters.yaml").path]
        config.applicationSets = [dir.appendingPathComponent("appsets").path]
        try Self.project.write(to: dir.appendingPathComponent("projects.yaml"), atomically: true, encoding: .utf8)
        config.projects = [dir.appendingPathComponent("projects.yaml").path]
        config.gitPollInterval = 60
        config.failover.probeInterval = 10
        config.failover.probeTimeout = 1
        config.failover.failureThreshold = 3
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let stores = HubStores(clusters: InMemoryClusterStore(), applications: InMemoryApplicationStore(), auth: InMemoryAuthStore())
        let context = try HubContext(config: config, stores: stores, clock: clock, logger: logger)
        hub = try Hub(context: context, dataDir: dir.appendingPathComponent("data"))
    }

    static let project = """
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {name: default}
        spec:
          destinations: [{server: '*', namespace: '*'}]
          sourceRepos: ['*']
        """

    /// Moves the clock and waits until every loop it woke has done its round and waits again.
    func advance(by seconds: Double) async {
        clock.advance(by: seconds)
        #expect(await clock.untilSleeping(Self.loops, timeout: 300), "the loops wait again after their round")
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: dir.appendingPathComponent("appsets/\(name)"), atomically: true, encoding: .utf8)
    }
}

private let listSet = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators: [{list: {elements: [{cluster: a}]}}]
  template:
    metadata: {name: 'web-{{cluster}}'}
    spec:
      project: default
      source: {repoURL: 'https://git.example.com/acme/apps.git', targetRevision: HEAD, path: web}
      destination: {name: '{{cluster}}', namespace: web}
"""

@Test func theHubsLoopsRunOnItsClock() async throws {
    let world = try ClockedHub()
    defer { try? FileManager.default.removeItem(at: world.dir) }
    try await ConcurrentRunner.blocking { [hub = world.hub] in try hub.start() }
    // (On a machine whose threads are all taken, reaching the first wait can take long: the bound is generous, and
    // the test stops here rather than count rounds against loops that have not started.)
    try #require(await world.clock.untilSleeping(ClockedHub.loops, timeout: 300), "file watch, git poll and probes wait on the hub's clock once loaded")

    // Probes: one round per probe interval of the hub's clock; the third failed round makes the cluster Unreachable.
    #expect(world.hub.clusterState("a").health.consecutiveFailures == 0)
    for round in 1...3 {
        await world.advance(by: 10)
        #expect(world.hub.clusterState("a").health.consecutiveFailures == round)
    }
    #expect(world.hub.clusterState("a").health.state == .unreachable)

    // The file watch: a new ApplicationSet file is read at the watch's next round on the clock.
    try world.write("web.yaml", listSet)
    #expect(try world.hub.store.count() == 0, "no round ran since the file was written")
    await world.advance(by: 2)
    try await eventually("web generated from the new file") { try world.hub.store.application(named: "web-a") != nil }

    // A file that stops parsing keeps its ApplicationSet and is said once, however many rounds read it again.
    try world.write("web.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: web}\nspec: [\n")
    await world.advance(by: 2)
    let rejected = { @Sendable in try world.hub.store.events().filter { $0.type == "ConfigurationRejected" }.count }
    try await eventually("the broken file is said") { try rejected() == 1 }
    for _ in 1...3 { await world.advance(by: 2) }
    #expect(try rejected() == 1, "said once, not at every round")
    #expect(try world.hub.store.application(named: "web-a") != nil)

    // The same for a projects file: said once, its projects kept.
    try (ClockedHub.project + "\n  syncWindows: [{kind: sometimes, schedule: '* * * * *', duration: 1h}]\n")
        .write(to: world.dir.appendingPathComponent("projects.yaml"), atomically: true, encoding: .utf8)
    await world.advance(by: 2)
    try await eventually("the broken projects file is said") { try rejected() == 2 }
    for _ in 1...3 { await world.advance(by: 2) }
    #expect(try world.hub.store.events().filter { $0.type == "ConfigurationRejected" && $0.message.contains("syncWindows") }.count == 1)
    #expect(try rejected() == 2, "said once, not at every round")

    // The shutdown ends every loop: nothing waits on the clock any more.
    let drained = await ConcurrentRunner.blocking { [hub = world.hub] () -> Bool in hub.stop(timeout: 5) }
    #expect(drained)
    #expect(world.clock.sleeping == 0)
}

private struct RoundFailed: Error, Equatable {}

/// A hub context on in-memory stores and `clock`, logging nothing below critical.
private func quietContext(_ clock: ManualClock) throws -> (HubContext, Logger) {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let stores = HubStores(clusters: InMemoryClusterStore(), applications: InMemoryApplicationStore(), auth: InMemoryAuthStore())
    return (try HubContext(config: HubConfiguration(), stores: stores, clock: clock, logger: logger), logger)
}

/// A loop whose round throws ends its service with the error, and the group with it: the other services are
/// stopped, and the group's run throws what the loop threw.
@Test func aFailingLoopEndsTheGroupWithItsError() async throws {
    let clock = ManualClock()
    let (context, logger) = try quietContext(clock)
    let rounds = RoundCounter()
    let failing = PeriodicService("failing", every: 1, context: context) {
        if rounds.next() == 2 { throw RoundFailed() }
    }
    let quiet = PeriodicService("quiet", every: 5, context: context) {}
    let group = ServiceGroup(configuration: .init(services: [.init(service: quiet), .init(service: failing)], logger: logger))
    // The group runs on threads of its own, as the hub's does: the cooperative pool may be busy with other tests.
    let run = Task(executorPreference: QueueTaskExecutor(label: "test.loops", concurrent: false)) { () -> (any Error)? in
        do { try await group.run() } catch { return error }
        return nil
    }
    context.loaded.open()
    // (A loop that never reached the clock would leave the group running: the test stops there instead of waiting.)
    try #require(await clock.untilSleeping(2, timeout: 300))
    clock.advance(by: 1)   // round 1: fine
    try #require(await clock.untilSleeping(2, timeout: 300))
    clock.advance(by: 1)   // round 2: throws
    let error = await run.value
    #expect(error is RoundFailed, "\(String(describing: error))")
    #expect(clock.sleeping == 0, "the other loop was stopped too")
}

/// Loops that wait for the hub to load end at a shutdown that comes first, without a round.
@Test func aShutdownBeforeTheLoadEndsTheLoopsWithoutARound() async throws {
    let clock = ManualClock()
    let (context, logger) = try quietContext(clock)
    let rounds = RoundCounter()
    let loop = PeriodicService("never", every: 1, context: context) { _ = rounds.next() }
    let group = ServiceGroup(configuration: .init(services: [.init(service: loop)], logger: logger))
    let run = Task(executorPreference: QueueTaskExecutor(label: "test.loops", concurrent: false)) { try await group.run() }
    await group.triggerGracefulShutdown()
    try await run.value
    #expect(rounds.count == 0 && clock.sleeping == 0)
}

@Test func theManualClockWakesWhatIsDueAndHonoursCancellation() async throws {
    let clock = ManualClock()
    let woke = RoundCounter()
    let short = Task { try await clock.sleep(seconds: 1); _ = woke.next() }
    let long = Task { try await clock.sleep(seconds: 10); _ = woke.next() }
    #expect(await clock.untilSleeping(2, timeout: 300))
    clock.advance(by: 1)
    try await short.value
    #expect(woke.count == 1 && clock.sleeping == 1)
    long.cancel()
    await #expect(throws: CancellationError.self) { try await long.value }
    #expect(clock.sleeping == 0)
    // A wait of no time, and a wait begun by a task cancelled before it waited, end at once.
    try await clock.sleep(seconds: 0)
    let cancelled = Task {
        withUnsafeCurrentTask { $0?.cancel() }
        try await clock.sleep(seconds: 5)
    }
    await #expect(throws: CancellationError.self) { try await cancelled.value }
}

/// A counter shared with the loops' rounds.
private final class RoundCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
    var count: Int { lock.withLock { value } }
}
