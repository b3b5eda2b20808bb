import ArgumentParser
import FleetKube
import FleetModel
import Foundation

/// Options of commands that talk to a running hub.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("URL of the hub (default: $FLOTILLA_SERVER, else http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    var url: String { server ?? ProcessInfo.processInfo.environment["FLOTILLA_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080" }

    /// Whether the user asked for the hub (flag or environment), for commands that also work on the local store.
    var requested: Bool { server != nil || !(ProcessInfo.processInfo.environment["FLOTILLA_SERVER"] ?? "").isEmpty }

    var client: HubClient { HubClient(server: url) }
}

/// JSON over HTTP to the hub's API (libcurl, like the cluster client).
struct HubClient {
    let server: String
    private let transport: HTTPTransport

    init(server: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        transport = HTTPTransport(server: self.server, credentials: ClusterCredentials(), timeout: 120, connectTimeout: 5)
    }

    @discardableResult
    func call(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json") throws -> JSONValue {
        let response: HTTPResponse
        do {
            response = try transport.request(method, path, body: body.map { Array($0.utf8) }, contentType: body == nil ? nil : contentType)
        } catch {
            throw CLIError("cannot reach the hub at \(server): \(error)\nStart one with `flotilla up` or `flotilla serve --config FILE`, or set --server / FLOTILLA_SERVER.")
        }
        let value = try? JSONParser.parse(response.text)
        guard (200..<300).contains(response.status) else {
            var message = value?["error"]?.stringValue ?? response.text
            if let problems = value?["problems"]?.arrayValue, !problems.isEmpty, !message.contains("\n") {
                message += problems.map { "\n  \($0["field"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" }.joined()
            }
            throw CLIError("\(method) \(path): \(response.status): \(message)")
        }
        return value ?? .null
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?/"))) ?? s
    }
}
