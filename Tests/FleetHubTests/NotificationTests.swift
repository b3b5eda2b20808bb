import FleetConfig
import FleetHub
import FleetModel
import Foundation
import Testing

/// A one-route HTTP receiver on loopback that records the bodies POSTed to it (plain sockets, HTTP/1.1).
final class WebhookReceiver: @unchecked Sendable {
    private let fd: Int32
    let port: Int
    private let lock = NSLock()
    private var bodies: [(path: String, body: String)] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listen(fd, 16)
        Thread.detachNewThread { [self] in serve() }
    }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                data += buffer[0..<n]
                let text = String(decoding: data, as: UTF8.self)
                guard let end = text.range(of: "\r\n\r\n") else { continue }
                let head = text[..<end.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                let body = String(text[end.upperBound...])
                if body.utf8.count >= length {
                    let path = text.split(separator: " ").dropFirst().first.map(String.init) ?? ""
                    lock.withLock { bodies.append((path, body)) }
                    break
                }
            }
            let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = answer.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }

    var received: [(path: String, body: String)] { lock.withLock { bodies } }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

/// Every event reaches the configured webhooks with its id in the event log (failover, syncs, audit), as JSON
/// or as Slack's `{"text": …}`; a webhook may take only some event types.
@Test func eventsAreSentToWebhooks() async throws {
    let receiver = try WebhookReceiver()
    defer { receiver.stop() }
    let base = "http://127.0.0.1:\(receiver.port)"
    let hub = try await InProcessHub(clusters: ["a": true], files: ["apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"],
                                     appSet: perCluster) { config in
        config.notifications = [.init(url: base + "/hooks/json?token=abc"), .init(url: base + "/services/T0/B0/secret", format: .slack),
                                .init(url: base + "/only/cordons", events: ["Cordoned"])]
    }
    let answer = try await hub.call("POST", "/api/v1/clusters/a/cordon")
    #expect(answer.status == 200)
    func received(_ path: String, _ type: String) -> JSONValue? {
        receiver.received.filter { $0.path == path }.compactMap { try? JSONParser.parse($0.body) }.first { $0["type"]?.stringValue == type }
    }
    let deadline = Date().addingTimeInterval(10)
    while (received("/hooks/json?token=abc", "Cordoned") == nil || received("/hooks/json?token=abc", "Sync") == nil
           || !receiver.received.contains { $0.body.contains("POST /api/v1/clusters/a/cordon") }) && Date() < deadline {
        try await Task.sleep(for: .milliseconds(50))
    }
    let event = try #require(received("/hooks/json?token=abc", "Cordoned"))
    #expect(event["cluster"] == "a")
    let logged = try JSONParser.parse((try await hub.call("GET", "/api/v1/events?cluster=a")).body)["items"]?.arrayValue ?? []
    let cordoned = try #require(logged.first { $0["type"] == "Cordoned" })
    #expect(event["id"] == cordoned["id"] && event["id"] != .int(0), "the notification carries the event's id in the log")
    #expect(received("/hooks/json?token=abc", "Sync")?["application"] == "web-a", "syncs are notified too")
    let audits = receiver.received.filter { $0.path == "/hooks/json?token=abc" }.compactMap { try? JSONParser.parse($0.body) }.filter { $0["type"] == "Audit" }
    #expect(audits.contains { $0["message"]?.stringValue?.contains("POST /api/v1/clusters/a/cordon") == true }, "\(audits)")
    let slack = try #require(receiver.received.first { $0.path == "/services/T0/B0/secret" && $0.body.contains("Cordoned") })
    #expect(try JSONParser.parse(slack.body)["text"]?.stringValue?.contains("*Cordoned* cluster a is cordoned") == true)
    let filtered = receiver.received.filter { $0.path == "/only/cordons" }
    #expect(!filtered.isEmpty && filtered.allSatisfy { $0.body.contains("\"Cordoned\"") }, "\(filtered.map(\.body))")
    let events = try JSONParser.parse((try await hub.call("GET", "/api/v1/events?cluster=a")).body)
    #expect(events["items"]?.arrayValue?.contains { $0["type"] == "Cordoned" } == true)
    #expect(try JSONParser.parse((try await hub.call("GET", "/api/v1/clusters/a")).body)["cordoned"] == true)
    // Bad query values are refused.
    #expect(try await hub.call("GET", "/api/v1/events?limit=-1").status == 400)
    await hub.stop()
}
