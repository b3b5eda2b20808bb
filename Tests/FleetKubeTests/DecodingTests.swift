@testable import FleetKube
import FleetModel
import Foundation
import Testing

// What the API server answers, decoded (KubeDecoding), and what a hostile server cannot do to the client.

@Test func discoveryReadsPreferredVersionsAndLeavesSubresourcesOut() throws {
    let apis = try JSONParser.parse("""
    {"groups":[{"name":"apps","versions":[{"version":"v1"},{"version":"v1beta1"}],"preferredVersion":{"version":"v1"}},
               {"name":"example.com","versions":[{"version":"v1"},{"version":"v2"}]},
               {"name":"","versions":[{"version":"v1"}]},
               {"versions":[{"version":"v1"}]}]}
    """)
    let found = KubeDecoding.groupVersions(apis).map { "\($0.group)/\($0.version)" }
    #expect(found == ["/v1", "apps/v1", "example.com/v1", "example.com/v2"])

    let list = try JSONParser.parse("""
    {"resources":[{"name":"deployments","kind":"Deployment","namespaced":true,"verbs":["get","list"]},
                  {"name":"deployments/scale","kind":"Scale","namespaced":true},
                  {"name":"","kind":"Nameless"},{"name":"kindless"},
                  {"name":"clusterroles","kind":"ClusterRole"}]}
    """)
    let resources = KubeDecoding.resources(list, group: "apps", version: "v1")
    #expect(resources.map(\.name) == ["deployments", "clusterroles"])
    #expect(resources.map(\.namespaced) == [true, false])
    #expect(resources[0].verbs == ["get", "list"])
}

@Test func listPagesCarryTheirContinueToken() throws {
    let cases: [(String, String?, String, Int)] = [
        (#"{"metadata":{"resourceVersion":"7","continue":"abc"},"items":[{},{}]}"#, "abc", "7", 2),
        (#"{"metadata":{"resourceVersion":"8","continue":""},"items":[]}"#, nil, "8", 0),
        (#"{"items":"not a list"}"#, nil, "", 0),
    ]
    for (body, token, rv, count) in cases {
        let page = KubeDecoding.ListPage(try JSONParser.parse(body))
        #expect(page.continueToken == token, "\(body)")
        #expect(page.resourceVersion == rv, "\(body)")
        #expect(page.items.count == count, "\(body)")
    }
}

@Test func watchEventsDecodeByType() throws {
    func event(_ line: String) throws -> String {
        switch try KubeDecoding.WatchEvent.parse(ArraySlice(line.utf8)) {
        case .change(let change, let object)?: return "\(change) \(object.value(at: ["metadata", "name"])?.stringValue ?? "")"
        case .bookmark(let rv)?: return "bookmark \(rv)"
        case .expired?: return "expired"
        case .failed(let message)?: return "failed \(message)"
        case nil: return "none"
        }
    }
    let cases: [(String, String)] = [
        (#"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#, "added a"),
        (#"{"type":"MODIFIED","object":{"metadata":{"name":"b"}}}"#, "modified b"),
        (#"{"type":"DELETED","object":{"metadata":{"name":"c"}}}"#, "deleted c"),
        (#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"42"}}}"#, "bookmark 42"),
        (#"{"type":"BOOKMARK","object":{"metadata":{}}}"#, "none"),
        (#"{"type":"ERROR","object":{"code":410,"message":"too old resource version"}}"#, "expired"),
        (#"{"type":"ERROR","object":{"code":500,"message":"etcdserver: leader changed"}}"#, "failed etcdserver: leader changed"),
        (#"{"type":"ERROR","object":{}}"#, "failed watch error"),
        (#"{"type":"SURPRISE","object":{}}"#, "none"),
        (#"{"type":"ADDED"}"#, "none"),
    ]
    for (line, expected) in cases { #expect(try event(line) == expected, "\(line)") }
    #expect(throws: (any Error).self) { try event("<html>") }
}

@Test func linesAreSplitAcrossChunksAndBounded() throws {
    func lines(_ chunks: [String], limit: Int = 16) throws -> [String] {
        var splitter = KubeDecoding.LineSplitter(maxLineBytes: limit)
        var out: [String] = []
        for chunk in chunks {
            try Array(chunk.utf8).withUnsafeBufferPointer { try splitter.feed($0) { out.append(String(decoding: $0, as: UTF8.self)) } }
        }
        if let last = splitter.finish() { out.append(String(decoding: last, as: UTF8.self)) }
        return out
    }
    #expect(try lines(["a\nb", "c\n\n", "d"]) == ["a", "bc", "d"])
    #expect(try lines(["abc", "def", "\n"]) == ["abcdef"])
    #expect(try lines(["0123456789abcdef\n"]) == ["0123456789abcdef"])
    // Past the limit in one chunk, across chunks, and as an unfinished line that keeps growing.
    for chunks in [["0123456789abcdefg\n"], ["0123456789", "abcdefg\n"], ["0123456789", "abcdefg"]] {
        #expect(throws: KubeDecoding.LineSplitter.LineTooLong.self, "\(chunks)") { try lines(chunks) }
    }
}

@Test func errorAnswersAreBoundedAndTyped() {
    let long = String(repeating: "x", count: 10_000)
    let cases: [(Int, String, KubeError.Code, Int)] = [
        (404, #"{"kind":"Status","reason":"NotFound","message":"not here"}"#, .notFound, 8),
        (409, #"{"reason":"AlreadyExists","message":"exists"}"#, .alreadyExists, 6),
        (409, #"{"reason":"Conflict","message":"changed"}"#, .conflict, 7),
        (500, #"{"reason":"InternalError","message":"\#(long)"}"#, .other, 4000),
        (502, "<html>" + long, .other, 300),
        (429, #"{"reason":"Timeout","message":"slow"}"#, .timeout, 4),
    ]
    for (status, body, code, length) in cases {
        let error = KubeError.from(status: status, body: Array(body.utf8), cluster: "c", object: "o")
        #expect(error.code == code, "\(status) \(body.prefix(40))")
        #expect(error.message.count == length, "\(status) \(body.prefix(40))")
    }
}

/// A loopback server that answers as a broken or hostile API server would: a list whose continue token comes
/// back for ever, and a watch that sends one line without end.
private final class HostileServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init() throws {
        port = freeLoopbackPort()
        let script = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def do_GET(self):
                if "watch=true" in self.path:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    chunk = b"x" * (1 << 20)
                    try:
                        for _ in range(80): self.wfile.write(chunk)
                    except Exception: pass
                    return
                body = b'{"kind":"DeploymentList","metadata":{"resourceVersion":"5","continue":"again"},"items":[{"metadata":{"name":"d"}}]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(port)]
        try process.run()
    }

    /// Waits until the server accepts connections.
    func ready() throws {
        let transport = HTTPTransport(server: "http://127.0.0.1:\(port)", credentials: ClusterCredentials(), timeout: 2, connectTimeout: 1)
        for _ in 0..<100 {
            if (try? transport.request("GET", "/apis/apps/v1/deployments")) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)  // polling a server that is starting: wall time is the subject
        }
        throw KubeError(code: .unreachable, cluster: "hostile", object: "", message: "the test server did not start", causes: [], status: 0)
    }

    /// SIGKILL: a process may inherit SIGTERM ignored from whatever started the test run.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Test(.timeLimit(.minutes(1))) func aListWhoseContinueTokenRepeatsEnds() async throws {
    let server = try HostileServer()
    defer { server.stop() }
    try await ConcurrentRunner.blocking { () throws -> Void in
        try server.ready()
        let client = KubeClient(cluster: Cluster(name: "hostile", server: "http://127.0.0.1:\(server.port)"))
        let deployments = APIResource(group: "apps", version: "v1", kind: "Deployment", name: "deployments", namespaced: true, verbs: [])
        #expect { try client.listAll(deployments, pageSize: 1) } throws: { "\($0)".contains("continue token it had already given") }
    }
}

@Test(.timeLimit(.minutes(1))) func aWatchLineWithoutEndFailsTheStream() async throws {
    let server = try HostileServer()
    defer { server.stop() }
    try await ConcurrentRunner.blocking { () throws -> Void in try server.ready() }
    let transport = HTTPTransport(server: "http://127.0.0.1:\(server.port)", credentials: ClusterCredentials())
    let end: WatchDriver.End = await withCheckedContinuation { continuation in
        _ = WatchDriver.shared.open(transport, path: "/apis/apps/v1/deployments?watch=true", timeout: 60,
                                    onLine: { _, _ in }, onEnd: { continuation.resume(returning: $0) })
    }
    #expect(end == .failed("a watch event is longer than 64 MiB"))
}
