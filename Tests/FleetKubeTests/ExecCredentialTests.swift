import FleetKube
import FleetModel
import Foundation
import Testing

/// A credential plugin of our own: prints an ExecCredential with the token in `token.txt` (and an expiry
/// `ttl.txt` seconds ahead when that file exists), appends a line to `runs.txt` per run, keeps
/// KUBERNETES_EXEC_INFO in `info.json`. `mode.txt` makes it misbehave: `hang`, `garbage`, `fail`.
private struct Plugin {
    let dir: URL
    var path: String { dir.appendingPathComponent("plugin.sh").path }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
        #!/bin/sh
        d="\(dir.path)"
        echo run >> "$d/runs.txt"
        printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/info.json"
        mode=$(cat "$d/mode.txt" 2>/dev/null)
        case "$mode" in
          hang) sleep 30 ;;
          garbage) echo "token=$(cat "$d/token.txt")"; exit 0 ;;
          fail) echo "first line" >&2; echo "error: the refresh token expired, log in again" >&2; exit 3 ;;
        esac
        expiry=""
        if [ -f "$d/ttl.txt" ]; then expiry=",\\"expirationTimestamp\\":\\"$(date -u -d "+$(cat "$d/ttl.txt") seconds" +%Y-%m-%dT%H:%M:%SZ)\\""; fi
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}' "$(cat "$d/token.txt")" "$expiry"
        """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    func set(_ file: String, _ text: String) throws { try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8) }
    var runs: Int { ((try? String(contentsOf: dir.appendingPathComponent("runs.txt"), encoding: .utf8)) ?? "").split(separator: "\n").count }
    var info: JSONValue? { (try? String(contentsOf: dir.appendingPathComponent("info.json"), encoding: .utf8)).flatMap { try? JSONParser.parse($0) } }
    func remove() { try? FileManager.default.removeItem(at: dir) }

    func client(_ sim: SimHarness, name: String, policy: ExecPluginPolicy? = nil, command: String? = nil) -> KubeClient {
        let exec = ExecCredentialConfig(command: command ?? path, apiVersion: ExecCredentialConfig.v1, provideClusterInfo: true, interactiveMode: .never)
        return KubeClient(cluster: Cluster(name: name, server: "http://127.0.0.1:\(sim.port)", credentials: ClusterCredentials(exec: exec)),
                          timeout: 5, execPlugins: policy ?? ExecPluginPolicy(allowed: [path], timeout: 2))
    }
}

@Test func aPluginsTokenIsUsedUntilItExpiresAndRenewedOnRefusal() async throws {
    let sim = try await SimHarness(token: "right")
    let plugin = try Plugin()
    defer { plugin.remove() }
    try plugin.set("token.txt", "right")
    try plugin.set("ttl.txt", "12")
    let client = plugin.client(sim, name: "exec-expiry-\(UUID().uuidString.prefix(8))")
    for _ in 0..<3 { _ = try client.version() }
    #expect(plugin.runs == 1, "one run serves requests while the token is good")
    // The plugin is told it cannot prompt, and the cluster it authenticates to.
    #expect(plugin.info?["spec"]?["interactive"] == .bool(false) && plugin.info?["spec"]?["cluster"]?["server"] == .string("http://127.0.0.1:\(sim.port)"))
    // A token within 10 s of its expiry is not sent: the plugin runs again.
    try plugin.set("ttl.txt", "5")
    let soon = plugin.client(sim, name: "exec-soon-\(UUID().uuidString.prefix(8))")
    _ = try soon.version()
    _ = try soon.version()
    #expect(plugin.runs == 3, "a token about to expire is renewed before each request")

    // A token the server refuses (401): the plugin runs once more and the request is sent again.
    try FileManager.default.removeItem(at: plugin.dir.appendingPathComponent("ttl.txt"))
    try plugin.set("token.txt", "stale")
    let refused = plugin.client(sim, name: "exec-refused-\(UUID().uuidString.prefix(8))")
    #expect(throws: KubeError.self) { try refused.version() }
    #expect(plugin.runs == 5, "a refused token is asked for again once, not in a loop")
    try plugin.set("token.txt", "right")
    _ = try refused.version()
    #expect(plugin.runs == 6)
    _ = try refused.version()
    #expect(plugin.runs == 6, "the new token is kept")
    await sim.stop()
}

@Test func pluginsThatMisbehaveAreErrorsNamingThem() async throws {
    let sim = try await SimHarness(token: "right")
    let plugin = try Plugin()
    defer { plugin.remove() }
    try plugin.set("token.txt", "right")
    func failure(_ client: KubeClient) -> String {
        do { _ = try client.version(); return "no error" } catch { return "\(error)" }
    }
    // Not allowed: never run.
    let other = failure(plugin.client(sim, name: "exec-other-\(UUID().uuidString.prefix(8))", policy: ExecPluginPolicy(allowed: ["/usr/bin/true"])))
    #expect(other.contains("credential plugin '\(plugin.path)' is not allowed") && plugin.runs == 0, "\(other)")
    // Allowed by its bare name.
    let policy = ExecPluginPolicy(allowed: [plugin.path], timeout: 2)
    _ = try plugin.client(sim, name: "exec-name-\(UUID().uuidString.prefix(8))", policy: policy, command: "plugin.sh").version()
    #expect(plugin.runs == 1)

    try plugin.set("mode.txt", "fail")
    let failed = failure(plugin.client(sim, name: "exec-fail-\(UUID().uuidString.prefix(8))"))
    #expect(failed.contains("exited with status 3: error: the refresh token expired, log in again") && !failed.contains("first line"), "\(failed)")
    try plugin.set("mode.txt", "garbage")
    let garbage = failure(plugin.client(sim, name: "exec-garbage-\(UUID().uuidString.prefix(8))"))
    #expect(garbage.contains("is not JSON") && !garbage.contains("right"), "the output holds the secret: never quoted (\(garbage))")
    try plugin.set("mode.txt", "hang")
    let started = Date()
    let hung = failure(plugin.client(sim, name: "exec-hang-\(UUID().uuidString.prefix(8))"))
    #expect(hung.contains("did not finish within 2 s") && Date().timeIntervalSince(started) < 15, "\(hung)")
    await sim.stop()
}
