import FleetKube
import FleetModel
import Foundation
import Testing

/// Probes fast, thresholds low, a short hold-down: the whole story in seconds.
private let fastFailover = """
failover: {probeInterval: 200ms, probeTimeout: 300ms, failureThreshold: 2, recoveryThreshold: 2, holdDown: 1s, maxFailoverPercent: 70}
"""

private func placement(_ hub: HubFixture, _ app: String) throws -> JSONValue {
    try hub.api("GET", "/api/v1/applications/\(app)")["placement"] ?? .null
}

private func served(_ hub: HubFixture, _ app: String, on cluster: String) throws -> Bool {
    let a = try hub.api("GET", "/api/v1/applications/\(app)")
    return a["activeCluster"]?.stringValue == cluster && a.value(at: ["status", "cluster"])?.stringValue == cluster && a["health"] == "Healthy"
}

/// eu fails (its simulator frozen, objects kept): its apps move to the standby dr and are applied and owned
/// there; the opt-out app stays. dr fails too: they move on to us, where the same objects already belong to
/// the sibling apps (covered). eu and dr come back: after the hold-down each app syncs on eu, is Healthy there,
/// and only then are its copies elsewhere pruned; the siblings' objects are untouched. Events tell the story.
@Test func failoverChainAndFailback() throws {
    let hub = try HubFixture(
        clusters: ["eu": ["env": "prod"], "dr": ["env": "dr"], "us": ["env": "prod"]],
        files: ["apps/web/config.yaml": configMap("web-config", "1"), "apps/web/web.yaml": deployment("web"),
                "local/agent/config.yaml": configMap("agent-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod"),
                  directoryAppSet(name: "local", env: "prod", path: "local/*", annotations: #"{flotilla.io/failover: "false"}"#)],
        resync: "2s", secondaries: ["eu": "dr", "dr": "us"], extraConfig: fastFailover)
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu", "web-us", "agent-eu", "agent-us"])
    #expect(try hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty)

    // 1. eu is partitioned: web-eu fails over to the standby dr and is owned there.
    hub.freeze("eu")
    try hub.waitFor("web-eu Healthy on dr", timeout: 30) { try served(hub, "web-eu", on: "dr") }
    let moved = try placement(hub, "web-eu")
    #expect(moved["primary"] == "eu" && moved["phase"] == "FailedOver", "\(moved)")
    #expect(try hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu") == ["web-config"])
    #expect(try hub.owned("dr", "apps/v1", "Deployment", namespace: "web", by: "web-eu") == ["web"])
    #expect(try placement(hub, "agent-eu").isNull, "an app that opts out stays on its primary")
    let clusters = try hub.api("GET", "/api/v1/clusters")["items"]?.arrayValue ?? []
    #expect(clusters.first { $0["name"] == "eu" }?["state"] == "Unreachable")

    // 2. dr fails too: on to us, where web-us already owns the same objects.
    hub.freeze("dr")
    try hub.waitFor("web-eu covered on us", timeout: 30) {
        let p = try placement(hub, "web-eu")
        return p["active"] == "us" && p["coveredBy"] == "web-us"
    }
    #expect(try hub.owned("us", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty, "the sibling's objects are not taken over")

    // 3. Both come back: failback to eu, then the copy on dr is pruned; web-us keeps its objects.
    hub.thaw("dr")
    hub.thaw("eu")
    try hub.waitFor("web-eu back on eu", timeout: 30) { try placement(hub, "web-eu").isNull && served(hub, "web-eu", on: "eu") }
    try hub.waitFor("copy on dr pruned", timeout: 30) { try hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty }
    #expect(try hub.owned("eu", "v1", "ConfigMap", namespace: "web", by: "web-eu") == ["web-config"])
    #expect(try hub.owned("us", "v1", "ConfigMap", namespace: "web", by: "web-us") == ["web-config"])
    #expect(try hub.owned("dr", "apps/v1", "Deployment", namespace: "web", by: "web-eu").isEmpty)
    try hub.waitHealthy(["web-eu", "web-us", "agent-eu", "agent-us"])

    // The event log tells it in order.
    let events = try hub.api("GET", "/api/v1/events?application=web-eu")["items"]?.arrayValue ?? []
    let types = events.compactMap { $0["type"]?.stringValue }.filter { $0 != "Sync" }
    #expect(types.first == "FailedOver" && types.contains("Covered") && types.contains("FailbackStarted") && types.contains("FailedBack"), "\(types)")
    let cli = try CLI.runProcess(CLI.binary, ["events", "--cluster", "eu", "--server", hub.url], environment: hub.env)
    #expect(cli.stdout.contains("ClusterStateChanged") && cli.stdout.contains("Unreachable"), "\(cli.stdout)")
    let metrics = try hub.raw("GET", "/metrics").text
    #expect(metrics.contains("flotilla_cluster_state{cluster=\"eu\",state=\"Healthy\"} 1"))
}

/// Drain moves everything that may move now, make-before-break; uncordon brings it back. Manual failback
/// and a cordon of a cluster that is not Healthy are refused with a clear answer.
@Test func drainAndUncordon() throws {
    let hub = try HubFixture(
        clusters: ["eu": ["env": "prod"], "dr": ["env": "dr"]],
        files: ["apps/web/config.yaml": configMap("web-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod")],
        resync: "2s", secondaries: ["eu": "dr"], extraConfig: fastFailover)
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu"])

    let drained = try CLI.runProcess(CLI.binary, ["cluster", "drain", "eu", "--server", hub.url], environment: hub.env)
    #expect(drained.status == 0, "\(drained.stderr)")
    try hub.waitFor("web-eu on dr and gone from eu", timeout: 30) {
        try served(hub, "web-eu", on: "dr") && hub.owned("eu", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty
    }
    let list = try CLI.runProcess(CLI.binary, ["cluster", "list", "--server", hub.url], environment: hub.env)
    #expect(list.stdout.contains("Healthy,Drained"), "\(list.stdout)")
    let apps = try CLI.runProcess(CLI.binary, ["app", "list", "--server", hub.url], environment: hub.env)
    #expect(apps.stdout.contains("eu → dr (FailedOver)"), "\(apps.stdout)")
    // Failback to a cordoned cluster is refused.
    let refused = try hub.raw("POST", "/api/v1/clusters/eu/failback", body: "{}")
    #expect(refused.status == 409 && refused.text.contains("cordoned"), "\(refused.text)")
    #expect(try hub.raw("POST", "/api/v1/clusters/ghost/drain", body: "{}").status == 404)

    #expect(try CLI.runProcess(CLI.binary, ["cluster", "uncordon", "eu", "--server", hub.url], environment: hub.env).status == 0)
    try hub.waitFor("web-eu back on eu, pruned from dr", timeout: 30) {
        try placement(hub, "web-eu").isNull && served(hub, "web-eu", on: "eu") && hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty
    }
}

/// With no healthy secondary the app is Unplaced and nothing is deleted; a hub restart while it is failed
/// over keeps the placement; with `failback: manual` it stays on the secondary until the operator says so.
@Test func unplacedRestartAndManualFailback() throws {
    let hub = try HubFixture(
        clusters: ["eu": ["env": "prod"], "dr": ["env": "dr"], "solo": ["env": "prod"]],
        files: ["apps/web/config.yaml": configMap("web-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod")],
        resync: "2s", secondaries: ["eu": "dr"],
        extraConfig: fastFailover.replacingOccurrences(of: "maxFailoverPercent: 70}", with: "maxFailoverPercent: 70, failback: manual}"))
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu", "web-solo"])

    // solo has no secondary: Unplaced, with an event.
    hub.freeze("solo")
    try hub.waitFor("web-solo Unplaced", timeout: 30) { try placement(hub, "web-solo")["phase"] == "Unplaced" }
    let unplaced = try hub.api("GET", "/api/v1/events?application=web-solo")["items"]?.arrayValue ?? []
    #expect(unplaced.contains { $0["type"] == "Unplaced" })
    hub.thaw("solo")
    try hub.waitFor("web-solo placed again", timeout: 30) { try placement(hub, "web-solo").isNull && served(hub, "web-solo", on: "solo") }
    #expect(try hub.owned("solo", "v1", "ConfigMap", namespace: "web", by: "web-solo") == ["web-config"], "nothing was deleted")

    // eu fails over; the hub restarts; the placement holds.
    hub.freeze("eu")
    try hub.waitFor("web-eu on dr", timeout: 30) { try served(hub, "web-eu", on: "dr") }
    hub.stopHub(signal: SIGKILL)
    try hub.startHub()
    #expect(try placement(hub, "web-eu")["active"] == "dr")

    // Manual failback: eu recovers, the app stays on dr until `cluster failback`.
    hub.thaw("eu")
    try hub.waitFor("eu Healthy", timeout: 30) {
        (try hub.api("GET", "/api/v1/clusters/eu"))["state"] == "Healthy"
    }
    Thread.sleep(forTimeInterval: 1.5)   // past the hold-down
    #expect(try placement(hub, "web-eu")["active"] == "dr", "failback: manual waits for the operator")
    let back = try CLI.runProcess(CLI.binary, ["cluster", "failback", "eu", "--server", hub.url], environment: hub.env)
    #expect(back.status == 0 && back.stdout.contains("1 Applications failing back"), "\(back.stdout)\(back.stderr)")
    try hub.waitFor("web-eu back on eu, pruned from dr", timeout: 30) {
        try placement(hub, "web-eu").isNull && hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty
    }
    #expect(try hub.owned("eu", "v1", "ConfigMap", namespace: "web", by: "web-eu") == ["web-config"])
}

/// Two of three clusters fail at once: above maxFailoverPercent (50 %) nothing moves and an alarm is raised;
/// when one comes back, failover of the other resumes. Objects are checked with kubectl on both simulators.
@Test func stormGuardHoldsThenResumes() throws {
    let hub = try HubFixture(
        clusters: ["eu": ["env": "prod"], "us": ["env": "prod"], "dr": ["env": "dr"]],
        files: ["apps/web/config.yaml": configMap("web-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod")],
        resync: "2s", secondaries: ["eu": "dr"],
        extraConfig: fastFailover.replacingOccurrences(of: "maxFailoverPercent: 70", with: "maxFailoverPercent: 50"))
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu", "web-us"])

    hub.freeze("eu")
    hub.freeze("us")
    try hub.waitFor("FailoverHeld", timeout: 30) {
        (try hub.api("GET", "/api/v1/events")["items"]?.arrayValue ?? []).contains { $0["type"] == "FailoverHeld" }
    }
    Thread.sleep(forTimeInterval: 1)
    #expect(try placement(hub, "web-eu").isNull, "no failover during a storm")

    hub.thaw("us")
    try hub.waitFor("web-eu on dr once the storm is over", timeout: 30) { try served(hub, "web-eu", on: "dr") }
    let types = (try hub.api("GET", "/api/v1/events")["items"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
    #expect(types.contains("FailoverResumed"), "\(types)")
    if ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
        let onDR = try runKubectl(hub.sims["dr"]!.server, ["get", "configmap", "-n", "web", "-l", "flotilla.io/app=web-eu", "-o", "name"], cache: hub.cli.workDir)
        #expect(onDR.stdout.contains("configmap/web-config"), "\(onDR.stdout)\(onDR.stderr)")
    }
    hub.thaw("eu")
    try hub.waitFor("web-eu back on eu, pruned from dr", timeout: 30) {
        try placement(hub, "web-eu").isNull && hub.owned("dr", "v1", "ConfigMap", namespace: "web", by: "web-eu").isEmpty
    }
    if ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
        let onEU = try runKubectl(hub.sims["eu"]!.server, ["get", "configmap", "-n", "web", "-l", "flotilla.io/app=web-eu", "-o", "name"], cache: hub.cli.workDir)
        let onDR = try runKubectl(hub.sims["dr"]!.server, ["get", "configmap", "-n", "web", "-o", "name"], cache: hub.cli.workDir)
        #expect(onEU.stdout.contains("configmap/web-config") && !onDR.stdout.contains("web-config"), "\(onEU.stdout) | \(onDR.stdout)")
    }
}

/// `flotilla serve --tls-cert --tls-key` serves the API over HTTPS: a client that trusts the certificate gets
/// answers (with a token), plain HTTP gets none, and the first start prints the admin token once.
@Test func hubServesHTTPS() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let tls = cli.workDir.appendingPathComponent("tls")
    // The simulator makes a self-signed certificate for 127.0.0.1 and localhost.
    let sim = try SimProcess(arguments: ["--tls", "--tls-dir", tls.path])
    _ = sim.stop()
    let config = cli.write("hub.yaml", "listen: 127.0.0.1:0\ndataDir: \(cli.dataDir.path)\n")
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["serve", "--config", config, "--tls-cert", tls.appendingPathComponent("sim.crt").path, "--tls-key", tls.appendingPathComponent("sim.key").path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    func line() throws -> String {
        var bytes = Data()
        while let b = try out.fileHandleForReading.read(upToCount: 1), !b.isEmpty, b != Data("\n".utf8) { bytes.append(b) }
        return String(decoding: bytes, as: UTF8.self)
    }
    let listening = try line()
    #expect(listening.contains("listening on https://127.0.0.1:"), "\(listening)")
    let port = try #require(listening.split(separator: ":").last.flatMap { Int($0) })
    var token = ""
    for _ in 0..<3 where token.isEmpty {
        let text = try line()
        // Standard output is not a terminal: the token goes to a 0600 file, and only its path is printed.
        if text.hasPrefix("admin token written to ") {
            let file = String(text.dropFirst("admin token written to ".count))
            #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
            token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(!text.contains("flt_"), "the token itself is never printed to a pipe")
    }
    #expect(token.hasPrefix("flt_"))
    let ca = try Data(contentsOf: tls.appendingPathComponent("sim.crt"))
    let https = HTTPTransport(server: "https://127.0.0.1:\(port)", credentials: ClusterCredentials(caData: ca), timeout: 10)
    #expect(try https.request("GET", "/api/v1/clusters", headers: ["Authorization": "Bearer \(token)"]).status == 200)
    #expect(try https.request("GET", "/api/v1/clusters").status == 401)
    let plain = HTTPTransport(server: "http://127.0.0.1:\(port)", credentials: ClusterCredentials(), timeout: 5)
    #expect((try? plain.request("GET", "/healthz"))?.status != 200)
}

/// A cluster whose watch connections fail (its API server killed) is probed at once, not at the next round:
/// with a 30 s probe interval it is Suspect within seconds; the thresholds still decide Unreachable.
@Test func lostWatchProbesAtOnce() throws {
    let hub = try HubFixture(clusters: ["eu": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")], resync: "180s",
                             extraConfig: "failover: {probeInterval: 30s, probeTimeout: 1s, failureThreshold: 3}")
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu"])
    Thread.sleep(forTimeInterval: 0.5)   // the watches are open
    let killed = Date()
    kill(hub.sims["eu"]!.process.processIdentifier, SIGKILL)
    try hub.waitFor("eu Suspect", timeout: 20) { (try hub.api("GET", "/api/v1/clusters/eu"))["state"] == "Suspect" }
    #expect(Date().timeIntervalSince(killed) < 5, "Suspect after \(Date().timeIntervalSince(killed)) s")
    #expect((try hub.api("GET", "/api/v1/clusters/eu"))["state"] == "Suspect", "one failed probe does not make it Unreachable")
}

/// A Suspect cluster's cache is not served as truth (a frozen API server keeps its watches open and silent):
/// it is dropped when the probes fail and comes back when they answer again.
@Test func suspectClusterCacheIsNotServed() throws {
    let hub = try HubFixture(clusters: ["eu": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")], resync: "180s",
                             extraConfig: "failover: {probeInterval: 200ms, probeTimeout: 300ms, failureThreshold: 50, recoveryThreshold: 1}")
    defer { hub.stop() }
    try hub.waitHealthy(["web-eu"])
    let cached = { () throws -> Bool in try hub.raw("GET", "/metrics").text.contains("flotilla_cache_objects{cluster=\"eu\"}") }
    try hub.waitFor("eu's cache in the metrics") { try cached() }
    hub.freeze("eu")
    try hub.waitFor("eu Suspect", timeout: 10) { (try hub.api("GET", "/api/v1/clusters/eu"))["state"] == "Suspect" }
    try hub.waitFor("eu's cache dropped", timeout: 5) { try !cached() }
    hub.thaw("eu")
    try hub.waitFor("eu Healthy with a cache again", timeout: 10) {
        try (try hub.api("GET", "/api/v1/clusters/eu"))["state"] == "Healthy" && cached()
    }
}
