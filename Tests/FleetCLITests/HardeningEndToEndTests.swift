import FleetKube
import FleetModel
import Foundation
import Testing

/// An ApplicationSet preview whose template evaluates `expression` in an annotation.
private func previewBody(_ server: String, _ expression: String, name: String = "bomb") -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: \(name)}
    spec:
      goTemplate: true
      generators:
        - list: {elements: [{cluster: c1, server: '\(server)'}]}
      template:
        metadata:
          name: '\(name)-{{ .cluster }}'
          annotations: {x: '\(expression)'}
        spec:
          project: default
          source: {repoURL: '\(HubFixture.repoURL)', targetRevision: HEAD, path: apps/web}
          destination: {server: '{{ .server }}', namespace: web}
    """
}

/// Sends a request with its own connection and timeout; nil when the client gave up.
private func send(_ url: String, _ method: String, _ path: String, token: String, body: String? = nil, timeout: Double = 60) -> HTTPResponse? {
    let transport = HTTPTransport(server: url, credentials: ClusterCredentials(), timeout: timeout)
    return try? transport.request(method, path, body: body.map { Array($0.utf8) }, contentType: body == nil ? nil : "application/yaml",
                                  headers: ["Authorization": "Bearer \(token)"])
}

/// Takes the longest of `samples` `/healthz` answers, one every 50 ms.
private func slowestHealthz(_ url: String, samples: Int) -> Double {
    var slowest = 0.0
    for _ in 0..<samples {
        let started = Date()
        let ok = send(url, "GET", "/healthz", token: "-", timeout: 10)?.status == 200
        slowest = max(slowest, ok ? Date().timeIntervalSince(started) : 10)
        Thread.sleep(forTimeInterval: 0.05)
    }
    return slowest
}

/// The critical findings, as a read-only account would try them against `flotilla serve`: a template that asks for
/// gigabytes, templates that would spin for hours (three at once), and a cluster whose `tokenFile` names the
/// hub's own admin token. The hub answers each with an error naming the limit, keeps `/healthz` under a second,
/// and reads no file for the caller.
@Test func aReadOnlyAccountCannotCrashFreezeOrRobTheHub() throws {
    let hub = try HubFixture(clusters: ["c1": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")],
                             authPolicy: "p, role:clusters-editor, clusters, update, *, allow")
    defer { hub.stop() }
    try hub.waitHealthy(["web-c1"])
    let server = hub.sims["c1"]!.server
    try hub.api("POST", "/api/v1/accounts", body: #"{"name": "viewer", "role": "role:readonly"}"#, expect: 201)
    let viewer = try #require(try hub.api("POST", "/api/v1/accounts/viewer/tokens", body: "{}", expect: 201)["token"]?.stringValue)

    // 1. Gigabytes asked for: refused before allocating, the process lives on.
    let huge = try #require(send(hub.url, "POST", "/api/v1/applicationsets/preview", token: viewer, body: previewBody(server, #"{{ repeat 3000000000 "xx" }}"#)))
    #expect(huge.status == 422, "\(huge.status) \(huge.text)")
    #expect(huge.text.contains("maxValueBytes"), "\(huge.text)")
    #expect(hub.hub?.isRunning == true)

    // 2. Three runaway loops at once: each stops at the step limit; /healthz stays fast meanwhile.
    let spin = #"{{ range $i := until 100000 }}{{ range $j := until 100000 }}x{{ end }}{{ end }}"#
    let answers = LockedList<Int>()
    let group = DispatchGroup()
    for i in 0..<3 {
        DispatchQueue.global().async(group: group) {
            let r = send(hub.url, "POST", "/api/v1/applicationsets/preview", token: viewer, body: previewBody(server, spin, name: "spin\(i)"))
            answers.append(r?.status ?? -1)
        }
    }
    let slowest = slowestHealthz(hub.url, samples: 20)
    #expect(group.wait(timeout: .now() + 120) == .success)
    #expect(slowest < 1, "slowest /healthz while three runaway previews ran: \(slowest) s")
    #expect(answers.items.allSatisfy { $0 == 422 || $0 == 503 }, "\(answers.items)")

    // 3. A tokenFile naming the hub's admin token, sent by an account that may only update clusters: refused,
    // and the hub never reads the file (the cluster is not created, so nothing is sent to its server).
    try hub.api("POST", "/api/v1/accounts", body: #"{"name": "editor", "role": "role:clusters-editor"}"#, expect: 201)
    let editor = try #require(try hub.api("POST", "/api/v1/accounts/editor/tokens", body: "{}", expect: 201)["token"]?.stringValue)
    let steal = "name: c1\nserver: '\(server)'\nlabels: {env: prod}\nauth: {tokenFile: '\(hub.tokenFile)'}\n"
    let stolen = try #require(send(hub.url, "PUT", "/api/v1/clusters/c1", token: editor, body: steal))
    #expect(stolen.status == 422, "\(stolen.status) \(stolen.text)")
    #expect(stolen.text.contains("tokenFile") && stolen.text.contains("not accepted through the API"), "\(stolen.text)")
    #expect(!stolen.text.contains(hub.token))
    // Without create, the same account cannot add a cluster by upsert, nor delete one by prune.
    let create = try #require(send(hub.url, "POST", "/api/v1/clusters", token: editor, body: "name: new\nserver: 'https://10.9.9.9'\n"))
    #expect(create.status == 403, "\(create.status) \(create.text)")
    let prune = try #require(send(hub.url, "POST", "/api/v1/clusters?prune=true", token: editor, body: "clusters: []\n"))
    #expect(prune.status == 403, "\(prune.status) \(prune.text)")
    #expect(try hub.api("GET", "/api/v1/clusters")["items"]?.arrayValue?.count == 1)
    #expect(hub.hub?.isRunning == true)
}

/// A render slot whose client went away is freed; SIGTERM stops a hub in the middle of a long render within the
/// drain timeout.
@Test func clientsThatLeaveFreeTheirRenderAndSigtermStopsLongRenders() throws {
    let hub = try HubFixture(clusters: ["c1": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")],
                             extraConfig: "limits: {templateSteps: 100000000000, renderTimeout: 600s, concurrentRenders: 1, renderQueue: 0}")
    defer { hub.stop() }
    try hub.waitHealthy(["web-c1"])
    let server = hub.sims["c1"]!.server
    let spin = #"{{ range $i := until 1000000 }}{{ range $j := until 1000000 }}x{{ end }}{{ end }}"#
    // The client gives up after a second; its render must stop, or the one slot stays taken.
    #expect(send(hub.url, "POST", "/api/v1/applicationsets/preview", token: hub.token, body: previewBody(server, spin), timeout: 1) == nil)
    try hub.waitFor("the render slot freed", timeout: 10) {
        let r = send(hub.url, "POST", "/api/v1/applicationsets/preview", token: hub.token, body: previewBody(server, "{{ .cluster }}", name: "ok"))
        return r?.status == 200
    }
    // A long render in flight, then SIGTERM: the hub exits within its drain timeout (5 s) plus a margin.
    DispatchQueue.global().async { _ = send(hub.url, "POST", "/api/v1/applicationsets/preview", token: hub.token, body: previewBody(server, spin)) }
    Thread.sleep(forTimeInterval: 0.5)
    let started = Date()
    hub.stopHub()
    #expect(Date().timeIntervalSince(started) < 8, "SIGTERM took \(Date().timeIntervalSince(started)) s")
}

final class LockedList<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T] = []
    func append(_ item: T) { lock.withLock { storage.append(item) } }
    var items: [T] { lock.withLock { storage } }
}

/// `flotilla serve` on an emptied store stops with the reason and the way out; with `--init` it sets the old file
/// aside and starts.
@Test func serveRefusesAnEmptiedStoreUnlessInit() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    try FileManager.default.createDirectory(at: cli.dataDir, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: cli.dataDir.appendingPathComponent("flotilla.sqlite").path, contents: Data())
    let config = cli.write("hub.yaml", "listen: 127.0.0.1:0\ndataDir: \(cli.dataDir.path)\n")
    let refused = try cli.run(["serve", "--config", config])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("is empty (0 bytes)") && refused.stderr.contains("--init"), "\(refused.stderr)")

    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["serve", "--config", config, "--init"]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = Data()
    while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
    #expect(String(decoding: line, as: UTF8.self).contains("listening on"))
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    let kept = try FileManager.default.contentsOfDirectory(atPath: cli.dataDir.path).filter { $0.hasPrefix("flotilla.sqlite.damaged-") }
    #expect(kept.count == 1, "the emptied store is kept aside")
}
