import FleetManifests
import FleetModel
import FleetTesting
import Foundation
import Testing

/// `flotilla sim` as a real process on a free loopback port; stopped with SIGTERM.
final class SimProcess {
    let process = Process()
    let port: Int
    private let output = Pipe()

    init(arguments: [String] = []) throws {
        process.executableURL = CLI.binary
        process.arguments = ["sim", "--listen", "127.0.0.1:0", "--ready-after", "0.2s"] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Skip lines such as "CA certificate: …" up to the listening line.
        var text = ""
        repeat {
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            text = String(decoding: line, as: UTF8.self)
            if line.isEmpty { break }
        } while !text.contains("listening on")
        guard let port = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "simulator did not start: \(text)"])
        }
        self.port = port
    }

    var server: String { "http://127.0.0.1:\(port)" }

    /// SIGTERM, then the exit status (SIGKILL after 5 s so a test never hangs).
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

private let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs kubectl against a server with its own cache directory.
func runKubectl(_ server: String, _ arguments: [String], stdin: String? = nil, cache: URL) throws -> CLI.Result {
    var env = ProcessInfo.processInfo.environment
    env["HOME"] = cache.path
    env["KUBECONFIG"] = "/dev/null"
    return try CLI.runProcess(URL(fileURLWithPath: kubectl!), ["--server", server, "--cache-dir", cache.path] + arguments, environment: env, stdin: stdin)
}

/// Real kubectl works against the simulator, with validation on: server-side apply, get, patch, label, delete.
@Test(.enabled(if: kubectl != nil, "needs kubectl"))
func kubectlAgainstSimulator() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess()
    let cache = cli.workDir.appendingPathComponent("kube")
    let manifests = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: team-a}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: team-a}
    data: {color: blue}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: team-a}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: 'nginx:1.27'}]}
    """
    let apply = try runKubectl(sim.server, ["apply", "--server-side", "-f", "-"], stdin: manifests, cache: cache)
    #expect(apply.status == 0, "\(apply.stderr)")
    #expect(apply.stdout.contains("deployment.apps/web serverside-applied"))
    let again = try runKubectl(sim.server, ["apply", "--server-side", "-f", "-"], stdin: manifests, cache: cache)
    #expect(again.status == 0, "\(again.stderr)")

    let list = try runKubectl(sim.server, ["get", "deploy", "-A"], cache: cache)
    #expect(list.status == 0 && list.stdout.contains("web") && list.stdout.contains("READY   UP-TO-DATE   AVAILABLE"), "\(list.stdout)\(list.stderr)")
    // `all` is a category the discovery documents list, as kube-apiserver's do; `deploy` and `cm` are short names.
    let all = try runKubectl(sim.server, ["get", "all", "-n", "team-a", "-o", "name"], cache: cache)
    #expect(all.status == 0 && all.stdout.contains("deployment.apps/web") && !all.stdout.contains("configmap/"), "\(all.stdout)\(all.stderr)")
    let yaml = try runKubectl(sim.server, ["get", "cm", "settings", "-n", "team-a", "-o", "yaml"], cache: cache)
    #expect(yaml.stdout.contains("color: blue") && yaml.stdout.contains("resourceVersion:"), "\(yaml.stderr)")

    #expect(try runKubectl(sim.server, ["patch", "cm", "settings", "-n", "team-a", "-p", #"{"data":{"color":"red"}}"#], cache: cache).status == 0)
    #expect(try runKubectl(sim.server, ["patch", "deploy", "web", "-n", "team-a", "--type=json", "-p", #"[{"op":"replace","path":"/spec/replicas","value":3}]"#], cache: cache).status == 0)
    #expect(try runKubectl(sim.server, ["label", "deploy", "web", "-n", "team-a", "tier=front"], cache: cache).status == 0)
    let jsonpath = try runKubectl(sim.server, ["get", "deploy", "web", "-n", "team-a", "-o", "jsonpath={.spec.replicas} {.metadata.labels.tier}"], cache: cache)
    #expect(jsonpath.stdout == "3 front", "\(jsonpath.stderr)")
    let color = try runKubectl(sim.server, ["get", "cm", "settings", "-n", "team-a", "-o", "jsonpath={.data.color}"], cache: cache)
    #expect(color.stdout == "red")

    let bad = try runKubectl(sim.server, ["get", "cm", "nope", "-n", "team-a"], cache: cache)
    #expect(bad.status != 0 && bad.stderr.contains("NotFound"))
    #expect(try runKubectl(sim.server, ["delete", "cm", "settings", "-n", "team-a"], cache: cache).status == 0)
    #expect(try runKubectl(sim.server, ["get", "cm", "-n", "team-a", "-o", "name"], cache: cache).stdout.isEmpty)
    #expect(sim.stop() == 0, "the simulator exits cleanly on SIGTERM")
}

/// The end-to-end promise: apply an example app, see it with kubectl, re-apply changes nothing,
/// removing a file and applying with --prune deletes only that object.
@Test(.enabled(if: kubectl != nil, "needs kubectl"))
func applyExampleAppToSimulator() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess(arguments: ["--name", "edge"])
    defer { _ = sim.stop() }
    try cli.run(["cluster", "add", "edge", "--server", sim.server])
    let app = cli.workDir.appendingPathComponent("payments-api")
    try FileManager.default.copyItem(at: CLI.packageRoot.appendingPathComponent("fleet/apps/teams/payments/api"), to: app)

    let first = try cli.run(["apply", "--cluster", "edge", "-f", app.path, "-n", "payments", "--create-namespace"])
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout == "Deployment.apps payments/payments-api created\nService payments/payments-api created\n")
    let cache = cli.workDir.appendingPathComponent("kube")
    let seen = try runKubectl(sim.server, ["get", "deploy,svc", "-n", "payments", "-o", "name"], cache: cache)
    #expect(seen.stdout == "deployment.apps/payments-api\nservice/payments-api\n", "\(seen.stderr)")

    let second = try cli.run(["apply", "--cluster", "edge", "-f", app.path, "-n", "payments"])
    #expect(second.stdout == "Deployment.apps payments/payments-api unchanged\nService payments/payments-api unchanged\n")
    let diff = try cli.run(["diff", "--cluster", "edge", "-f", app.path, "-n", "payments"])
    #expect(diff.status == 0 && diff.stderr.contains("Synced"))

    try FileManager.default.removeItem(at: app.appendingPathComponent("service.yaml"))
    let preview = try cli.run(["diff", "--cluster", "edge", "-f", app.path, "-n", "payments"])
    #expect(preview.status == 1 && preview.stdout.contains("Service payments/payments-api (would be pruned)"))
    let pruned = try cli.run(["apply", "--cluster", "edge", "-f", app.path, "-n", "payments", "--prune"])
    #expect(pruned.stdout == "Deployment.apps payments/payments-api unchanged\nService payments/payments-api pruned\n", "\(pruned.stderr)")
    let after = try runKubectl(sim.server, ["get", "deploy,svc", "-n", "payments", "-o", "name"], cache: cache)
    #expect(after.stdout == "deployment.apps/payments-api\n")

    Thread.sleep(forTimeInterval: 0.3)
    let health = try cli.run(["get", "--cluster", "edge", "deploy", "-n", "payments"])
    #expect(health.stdout.contains("payments-api   Healthy"), "\(health.stdout)")
}

/// `--tls` serves HTTPS with a self-signed certificate; kubectl trusts it with --certificate-authority and then
/// sends its bearer token, which the simulator requires.
@Test(.enabled(if: kubectl != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs kubectl and openssl"))
func kubectlOverTLSWithToken() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let certs = cli.workDir.appendingPathComponent("tls")
    let sim = try SimProcess(arguments: ["--tls", "--tls-dir", certs.path, "--token", "kube-token"])
    defer { _ = sim.stop() }
    let server = "https://127.0.0.1:\(sim.port)"
    let cache = cli.workDir.appendingPathComponent("kube")
    let ok = try runKubectl(server, ["--certificate-authority", certs.appendingPathComponent("sim.crt").path, "--token", "kube-token", "get", "ns", "-o", "name"], cache: cache)
    #expect(ok.status == 0 && ok.stdout.contains("namespace/default"), "\(ok.stderr)")
    let untrusted = try runKubectl(server, ["--token", "kube-token", "get", "ns"], cache: cache)
    #expect(untrusted.status != 0 && untrusted.stderr.contains("certificate"))
}


/// `sim --fleet` serves every loopback cluster of a clusters file in one process, each with its token;
/// the registry then reaches them.
@Test func simulatorServesAFleet() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let (p1, p2) = (freeLoopbackPort(), freeLoopbackPort())
    let fleet = cli.write("fleet.yaml", """
    clusters:
      - {name: one, server: 'http://127.0.0.1:\(p1)', labels: {env: dev}}
      - {name: two, server: 'http://127.0.0.1:\(p2)', labels: {env: prod}, auth: {token: two-token}}
      - {name: remote, server: 'https://k8s.example.com'}
    """)
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["sim", "--fleet", fleet]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    defer { kill(process.processIdentifier, SIGTERM); process.waitUntilExit() }
    var lines: [String] = []
    while lines.count < 2 {
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        if line.isEmpty { break }
        lines.append(String(decoding: line, as: UTF8.self))
    }
    #expect(Set(lines) == ["cluster one listening on http://127.0.0.1:\(p1)", "cluster two listening on http://127.0.0.1:\(p2)"])
    try cli.run(["cluster", "apply", "-f", fleet])
    #expect(try cli.run(["get", "--cluster", "one", "ns", "-o", "json"]).stdout.contains("kube-system"))
    #expect(try cli.run(["get", "--cluster", "two", "ns", "-o", "json"]).stdout.contains("kube-system"), "the registered token is accepted")
    let wrong = cli.write("wrong.yaml", "clusters:\n  - {name: two, server: 'http://127.0.0.1:\(p2)', auth: {token: bad}}\n")
    let denied = try cli.run(["get", "--cluster", "two", "--clusters", wrong, "ns"])
    #expect(denied.status != 0 && denied.stderr.contains("cluster two") && denied.stderr.contains("Unauthorized"))
    #expect(!denied.stderr.contains("bad"))
}

/// A manifest with a YAML error is reported with its file and line, and nothing is applied.
@Test func badManifestNamesFileAndLine() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess()
    defer { _ = sim.stop() }
    try cli.run(["cluster", "add", "s", "--server", sim.server])
    cli.write("app/good.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n")
    cli.write("app/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
    let r = try cli.run(["apply", "--cluster", "s", "-f", cli.workDir.appendingPathComponent("app").path])
    #expect(r.status != 0 && r.stderr.contains("bad.yaml:5:1: YAML syntax error"), "\(r.stderr)")
    #expect(try cli.run(["get", "--cluster", "s", "cm", "good"]).status != 0, "nothing was applied")
}

/// In a git checkout, an overlay that names `../../base` applies: the repository is the boundary, not the
/// directory (outside the repository is still refused).
@Test func overlayInACheckoutApplies() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess()
    defer { _ = sim.stop() }
    try cli.run(["cluster", "add", "s", "--server", sim.server])
    try FileManager.default.createDirectory(at: cli.workDir.appendingPathComponent("repo/.git"), withIntermediateDirectories: true)
    cli.write("repo/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    cli.write("repo/base/kustomization.yaml", "resources: [cm.yaml]\n")
    cli.write("repo/overlays/prod/kustomization.yaml", "resources: [../../base]\nnamePrefix: prod-\n")
    let r = try cli.run(["apply", "--cluster", "s", "-f", cli.workDir.appendingPathComponent("repo/overlays/prod").path])
    #expect(r.status == 0 && r.stdout.contains("ConfigMap default/prod-cfg created"), "\(r.stdout)\(r.stderr)")
    cli.write("repo/escape/kustomization.yaml", "resources: [../../outside]\n")
    let escape = try cli.run(["apply", "--cluster", "s", "-f", cli.workDir.appendingPathComponent("repo/escape").path])
    #expect(escape.status != 0 && escape.stderr.contains("leaves the repository"), "\(escape.stderr)")
}

/// Jsonnet in a child process (as the hub runs it): the answer, and a runaway evaluation stopped at the timeout.
@Test func jsonnetRunsInAChildProcess() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let ok = cli.write("ok.jsonnet", "function(n) { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-' + n } }")
    let evaluator = SubprocessJsonnet(executable: CLI.binary.path)
    let json = try evaluator.evaluate(file: ok, options: JsonnetOptions(tlas: [.init(name: "n", value: "7", code: true)]), jpaths: [], root: cli.workDir.path, timeout: 30)
    #expect(json.contains("\"cm-7\""))
    let slow = cli.write("slow.jsonnet", "std.foldl(function(a, b) a + b, std.range(0, 200000000), 0)")
    let started = Date()
    #expect { try evaluator.evaluate(file: slow, options: JsonnetOptions(), jpaths: [], root: cli.workDir.path, timeout: 1) } throws: {
        "\($0)".contains("did not finish within 1 s")
    }
    #expect(Date().timeIntervalSince(started) < 10)
    // A cancelled render (the hub stops, the preview's client left) stops the child at once, far before its timeout.
    let cancelAt = Date().addingTimeInterval(0.5)
    let stopped = Date()
    #expect { try evaluator.evaluate(file: slow, options: JsonnetOptions(), jpaths: [], root: cli.workDir.path, timeout: 60,
                                     isCancelled: { Date() > cancelAt }) } throws: { "\($0)".contains("the render was cancelled") }
    #expect(Date().timeIntervalSince(stopped) < 10)
}

/// `flotilla render DIR` prints what a source renders to, with Argo CD's options as flags, and names what it
/// cannot render.
@Test func renderPrintsASource() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    try FileManager.default.createDirectory(at: cli.workDir.appendingPathComponent("repo/.git"), withIntermediateDirectories: true)
    cli.write("repo/app/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n")
    cli.write("repo/app/extra/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n")
    cli.write("repo/chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
    let app = cli.workDir.appendingPathComponent("repo/app").path
    let plain = try cli.run(["render", app, "-o", "json"])
    #expect(plain.status == 0 && plain.stdout.contains("\"web\"") && !plain.stdout.contains("extra"), "\(plain.stdout)\(plain.stderr)")
    #expect(try cli.run(["render", app, "--recurse"]).stdout.contains("name: extra"))
    let overridden = try cli.run(["render", app, "--replicas", "web=4", "--name-prefix", "staging-"])
    #expect(overridden.stdout.contains("name: staging-web") && overridden.stdout.contains("replicas: 4"), "\(overridden.stdout)\(overridden.stderr)")
    let empty = try cli.run(["render", cli.workDir.appendingPathComponent("repo/chart").path])
    #expect(empty.status != 0 && empty.stderr.contains("chart 'c' 0.1.0 rendered no objects"), "\(empty.stderr)")
    cli.write("repo/chart/values.yaml", "replicas: 1\n")
    cli.write("repo/chart/values.schema.json", #"{"properties": {"replicas": {"type": "integer", "minimum": 1}}}"#)
    cli.write("repo/chart/templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: {{ .Release.Name }}}\nspec: {replicas: {{ .Values.replicas }}}\n")
    cli.write("repo/chart/templates/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}}\n")
    cli.write("prod.yaml", "replicas: 3\n")
    let chartDir = cli.workDir.appendingPathComponent("repo/chart").path
    let dir = try cli.run(["render", chartDir])
    #expect(dir.status == 0 && dir.stdout.contains("replicas: 1"), "\(dir.stdout)\(dir.stderr)")
    let helm = try cli.run(["render", "helm", chartDir, "-f", cli.workDir.appendingPathComponent("prod.yaml").path, "--set", "replicas=5",
                            "--release-name", "web", "--show-only", "templates/deploy.yaml"])
    #expect(helm.status == 0 && helm.stdout.contains("# Source: c/templates/deploy.yaml") && helm.stdout.contains("replicas: 5")
            && !helm.stdout.contains("kind: Service"), "\(helm.stdout)\(helm.stderr)")
    let invalid = try cli.run(["render", "helm", chartDir, "--set", "replicas=0"])
    #expect(invalid.status != 0 && invalid.stderr.contains("- at '/replicas': minimum: got 0, want 1"), "\(invalid.stderr)")
    // --set-json comes before --set (which wins), --set-literal after everything.
    cli.write("repo/chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {ports: {{ .Values.ports | toJson | quote }}, note: {{ .Values.note | quote }}}\n")
    let json = try cli.run(["render", "helm", chartDir, "--set-json", #"ports=[80,443],replicas=7"#, "--set", "replicas=6",
                            "--set-literal", "note=a,b={c}", "--show-only", "templates/*"])
    #expect(json.status == 0 && json.stdout.contains("replicas: 6") && json.stdout.contains(#"ports: "[80,443]""#)
            && json.stdout.contains(#"note: "a,b={c}""#), "\(json.stdout)\(json.stderr)")
    // Without --kube-version: helm 4's Kubernetes version, or helm 3's with --helm-version 3.
    cli.write("repo/chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {kube: {{ .Capabilities.KubeVersion.Version | quote }}}\n")
    let helm4 = try cli.run(["render", "helm", chartDir, "--show-only", "templates/cm.yaml"])
    #expect(helm4.status == 0 && helm4.stdout.contains(#"kube: "v1.36.0""#), "\(helm4.stdout)\(helm4.stderr)")
    let helm3 = try cli.run(["render", "helm", chartDir, "--helm-version", "3", "--show-only", "templates/cm.yaml"])
    #expect(helm3.stdout.contains(#"kube: "v1.32.0""#), "\(helm3.stdout)\(helm3.stderr)")
    let given = try cli.run(["render", "helm", chartDir, "--kube-version", "1.29.1", "--show-only", "templates/cm.yaml"])
    #expect(given.stdout.contains(#"kube: "v1.29.1""#), "\(given.stdout)\(given.stderr)")
    // --version is helm's chart version under render helm, not Flotilla's own; a local chart is rendered as it is, said.
    let versioned = try cli.run(["render", "helm", chartDir, "--version", "9.9.9", "--show-only", "templates/cm.yaml"])
    #expect(versioned.status == 0 && versioned.stdout.contains("kind: ConfigMap")
            && versioned.stderr.contains("--version 9.9.9 is not applied") && versioned.stderr.contains("version 0.1.0"), "\(versioned.stdout)\(versioned.stderr)")
    let badJSON = try cli.run(["render", "helm", chartDir, "--set-json", "ports=[80"])
    #expect(badJSON.status != 0 && badJSON.stderr.contains("failed parsing --set-json data ports=[80"), "\(badJSON.stderr)")
}

/// A Python interpreter with the official `kubernetes` client, when the machine has one: `FLOTILLA_PYTHON`, else
/// the one `.ci/setup` installs in `.build/python`, else `python3`.
private let pythonClient: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates: [String?] = [ProcessInfo.processInfo.environment["FLOTILLA_PYTHON"], root.appendingPathComponent(".build/python/bin/python3").path, "/usr/bin/python3"]
    return candidates.compactMap { $0 }.first { (candidate: String) -> Bool in
        guard FileManager.default.isExecutableFile(atPath: candidate),
              let probe = try? CLI.runProcess(URL(fileURLWithPath: candidate), ["-c", "import kubernetes"], environment: [:]) else { return false }
        return probe.status == 0
    }
}()

/// Runs `body` with the Python client against a new simulator: `client`, `watch`, `threading`, `time` imported and
/// `api` a `CoreV1Api` for it.
private func runPython(_ body: String) throws -> CLI.Result {
    let sim = try SimProcess()
    defer { _ = sim.stop() }
    let script = """
    import threading, time
    from kubernetes import client, watch
    cfg = client.Configuration()
    cfg.host = "\(sim.server)"
    api = client.CoreV1Api(client.ApiClient(cfg))

    """ + body
    let python = try #require(pythonClient, "python3 with the kubernetes client is missing (.ci/setup installs it in .build/python)")
    return try CLI.runProcess(URL(fileURLWithPath: python), ["-c", script], environment: [:])
}

/// The official Python client against the simulator: typed objects without apiVersion/kind are created (the server
/// takes them from the URL), lists come in chunks.
@Test(.enabled(if: TestRequirement.runs(pythonClient != nil), "needs python3 with the kubernetes client (FLOTILLA_PYTHON; .ci/setup installs it)"))
func pythonClientCreatesAndPages() throws {
    let run = try runPython("""
    ns = api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="demo")))
    for i in range(3):
        api.create_namespaced_config_map("demo", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c%d" % i), data={"i": str(i)}))
    names, token = [], None
    while True:
        page = api.list_namespaced_config_map("demo", limit=2, _continue=token)
        names += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    print(ns.kind, ",".join(names))
    """)
    #expect(run.status == 0 && run.stdout.contains("Namespace c0,c1,c2"), "\(run.stdout)\(run.stderr)")
}

/// The Python client's `watch.Watch().stream(...)`: ADDED, MODIFIED and DELETED as another client writes.
@Test(.enabled(if: TestRequirement.runs(pythonClient != nil), "needs python3 with the kubernetes client (FLOTILLA_PYTHON; .ci/setup installs it)"))
func pythonClientWatches() throws {
    let run = try runPython("""
    def writer():
        time.sleep(0.5)
        api.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1"), data={"a": "1"}))
        api.patch_namespaced_config_map("w1", "default", {"data": {"a": "2"}})
        api.delete_namespaced_config_map("w1", "default")
    threading.Thread(target=writer).start()
    seen = []
    w = watch.Watch()
    for ev in w.stream(api.list_namespaced_config_map, "default", timeout_seconds=5):
        seen.append("%s %s %s" % (ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("a")))
        if len(seen) == 3:
            w.stop()
    print(";".join(seen))
    """)
    #expect(run.status == 0 && run.stdout.contains("ADDED w1 1;MODIFIED w1 2;DELETED w1 2"), "\(run.stdout)\(run.stderr)")
}

/// kubectl's watching commands: `get -w` prints each change, `wait --for=condition=Available` and `rollout status`
/// return when the simulated Deployment becomes available (seen on their watch, not at the start). Workloads take 3 s
/// to become ready, so that `rollout status` starts (kubectl's start-up, on a loaded machine) before the rollout ends.
@Test(.enabled(if: kubectl != nil, "needs kubectl"))
func kubectlWatchesWaitsAndFollowsRollouts() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess(arguments: ["--ready-after", "3s"])
    defer { _ = sim.stop() }
    let cache = cli.workDir.appendingPathComponent("kube")
    _ = try runKubectl(sim.server, ["api-resources"], cache: cache)  // discovery cached before the watch starts
    var env = ProcessInfo.processInfo.environment
    env["HOME"] = cache.path
    env["KUBECONFIG"] = "/dev/null"
    let watcher = Process()
    watcher.executableURL = URL(fileURLWithPath: kubectl!)
    watcher.arguments = ["--server", sim.server, "--cache-dir", cache.path, "get", "deploy", "-w", "--request-timeout=30s"]
    watcher.environment = env
    let out = Pipe()
    watcher.standardOutput = out
    watcher.standardError = FileHandle.nullDevice
    try watcher.run()
    Thread.sleep(forTimeInterval: 0.7)
    let deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: default}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: 'nginx:1.27'}]}
    """
    #expect(try runKubectl(sim.server, ["apply", "--server-side", "-f", "-"], stdin: deployment, cache: cache).status == 0)
    let wait = try runKubectl(sim.server, ["wait", "--for=condition=Available", "deploy/web", "--timeout=10s"], cache: cache)
    #expect(wait.status == 0 && wait.stdout.contains("condition met"), "\(wait.stdout)\(wait.stderr)")
    #expect(try runKubectl(sim.server, ["scale", "deploy/web", "--replicas=3"], cache: cache).status == 0)
    let rollout = try runKubectl(sim.server, ["rollout", "status", "deploy/web", "--timeout=10s"], cache: cache)
    #expect(rollout.status == 0 && rollout.stdout.contains("Waiting for deployment \"web\" rollout to finish")
            && rollout.stdout.contains("successfully rolled out"), "\(rollout.stdout)\(rollout.stderr)")
    kill(watcher.processIdentifier, SIGTERM)
    watcher.waitUntilExit()
    let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ") }
    #expect(lines.starts(with: ["NAME READY", "web 0/2", "web 2/2", "web 0/3"]) && lines.last == "web 3/3", "\(lines)")
}

/// `kubectl create` sends built-in kinds in protobuf: namespaces, ConfigMaps, Secrets, ServiceAccounts, Deployments
/// and Services are read from it; a kind the simulator has no message for is refused with a 415 that says to send JSON.
@Test(.enabled(if: kubectl != nil, "needs kubectl"))
func kubectlCreateSpeaksProtobuf() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let sim = try SimProcess()
    defer { _ = sim.stop() }
    let cache = cli.workDir.appendingPathComponent("kube")
    for arguments in [["create", "namespace", "demo"], ["create", "configmap", "settings", "-n", "demo", "--from-literal=color=blue"],
                      ["create", "secret", "generic", "creds", "-n", "demo", "--from-literal=password=s3cret"],
                      ["create", "serviceaccount", "robot", "-n", "demo"]] {
        let run = try runKubectl(sim.server, arguments, cache: cache)
        #expect(run.status == 0 && run.stdout.contains("created"), "\(arguments): \(run.stderr)")
    }
    #expect(try runKubectl(sim.server, ["get", "cm", "settings", "-n", "demo", "-o", "jsonpath={.data.color}"], cache: cache).stdout == "blue")
    #expect(try runKubectl(sim.server, ["get", "secret", "creds", "-n", "demo", "-o", "jsonpath={.data.password}"], cache: cache).stdout
            == Data("s3cret".utf8).base64EncodedString())
    // Workloads and Services: the pod template, ports (int or named), node ports, replicas.
    for arguments in [["create", "deployment", "web", "-n", "demo", "--image=nginx:1.27", "--port=8080", "--replicas=3", "--", "/bin/sh", "-c", "sleep 1"],
                      ["create", "service", "clusterip", "web", "-n", "demo", "--tcp=80:8080", "--tcp=443:https"],
                      ["create", "service", "nodeport", "np", "-n", "demo", "--tcp=80:8080", "--node-port=30080"],
                      ["create", "service", "clusterip", "headless", "-n", "demo", "--clusterip=None"]] {
        let run = try runKubectl(sim.server, arguments, cache: cache)
        #expect(run.status == 0 && run.stdout.contains("created"), "\(arguments): \(run.stderr)")
    }
    let get = { (arguments: [String]) throws -> String in try runKubectl(sim.server, arguments, cache: cache).stdout }
    #expect(try get(["get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].image} "
                     + "{.spec.template.spec.containers[0].ports[0].containerPort} {.spec.template.spec.containers[0].command}"])
            == #"3 web nginx:1.27 8080 ["/bin/sh","-c","sleep 1"]"#)
    #expect(try runKubectl(sim.server, ["rollout", "status", "deploy/web", "-n", "demo", "--timeout=20s"], cache: cache).status == 0)
    #expect(try get(["get", "svc", "web", "-n", "demo", "-o", "jsonpath={.spec.type} {.spec.ports[0].port}:{.spec.ports[0].targetPort} {.spec.ports[1].targetPort} {.spec.selector.app}"])
            == "ClusterIP 80:8080 https web")
    #expect(try get(["get", "svc", "np", "-n", "demo", "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort}"]) == "NodePort 30080")
    #expect(try get(["get", "svc", "headless", "-n", "demo", "-o", "jsonpath={.spec.clusterIP}"]) == "None")
    // A kind without a message definition here is refused, naming what works.
    let job = try runKubectl(sim.server, ["create", "job", "once", "-n", "demo", "--image=busybox"], cache: cache)
    #expect(job.status != 0 && job.stderr.contains("send batch/v1/Job as JSON"), "\(job.stderr)")
}

/// `flotilla render helm` has a deadline too: a chart that would serialize for hours stops at `--timeout`.
@Test func renderStopsAtItsTimeout() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    cli.write("chart/Chart.yaml", "apiVersion: v2\nname: dag\nversion: 0.1.0\n")
    cli.write("chart/templates/cm.yaml", "{{- $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}"
              + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: {{ toJson $x | quote }}}\n")
    let started = Date()
    let r = try cli.run(["render", "helm", cli.workDir.appendingPathComponent("chart").path, "--timeout", "1s"])
    #expect(r.status != 0)
    #expect(r.stderr.contains("deadline") || r.stderr.contains("maxSteps"), "\(r.stderr)")
    #expect(Date().timeIntervalSince(started) < 20)
}

/// Commands that only read the local store never create it: `cluster list` on a store that does not exist says
/// there is nothing, and `generate` without `--clusters` says where it looked; the directory is still absent.
@Test func readingCommandsCreateNoStore() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let missing = cli.workDir.appendingPathComponent("nowhere")
    let list = try cli.run(["cluster", "list"], environment: ["FLOTILLA_DATA_DIR": missing.path])
    #expect(list.status == 0 && list.stderr.contains("No clusters found."), "\(list.stderr)")
    cli.write("set.yaml", """
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: s}
        spec:
          generators: [{clusters: {}}]
          template:
            metadata: {name: '{{name}}'}
            spec: {project: default, source: {repoURL: 'https://example.com/r.git', path: x}, destination: {server: '{{server}}', namespace: x}}
        """)
    let generate = try cli.run(["generate", "-f", cli.workDir.appendingPathComponent("set.yaml").path], environment: ["FLOTILLA_DATA_DIR": missing.path])
    #expect(generate.status != 0 && generate.stderr.contains("no clusters") && generate.stderr.contains("--clusters"), "\(generate.stderr)")
    #expect(!FileManager.default.fileExists(atPath: missing.path))
}

/// The README's `render helm` command, as written, on the chart the repository holds under fleet/charts.
@Test func readmeRendersTheExampleChart() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let line = try #require(readme.split(separator: "\n").first { $0.hasPrefix("flotilla render helm ") }, "the README shows `flotilla render helm`")
    let arguments = line.split(separator: " ").dropFirst().map(String.init)
    let r = try CLI.runProcess(CLI.binary, arguments, environment: ["FLOTILLA_DATA_DIR": cli.dataDir.path], directory: root)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("kind: CustomResourceDefinition") && r.stdout.contains("replicas: 3")
            && r.stdout.contains(#"image: "registry.example.com/shop/web:1.4.2""#), "\(r.stdout)")
}
