import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetKube
import FleetModel
import Foundation

/// Options of commands that talk to a running hub.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("URL of the hub (default: $FLOTILLA_SERVER, else http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    @Option(name: .customLong("auth-token-file"), help: ArgumentHelp("File holding the hub API token (default: $FLOTILLA_TOKEN, else $FLOTILLA_TOKEN_FILE, else .flotilla-demo/admin.token when it exists).", valueName: "path"))
    var tokenFile: String?

    var url: String { server ?? ProcessInfo.processInfo.environment["FLOTILLA_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080" }

    /// Whether the user asked for the hub (flag or environment), for commands that also work on the local store.
    var requested: Bool { server != nil || !(ProcessInfo.processInfo.environment["FLOTILLA_SERVER"] ?? "").isEmpty }

    /// The token to send: --token-file, $FLOTILLA_TOKEN, $FLOTILLA_TOKEN_FILE, or the demo's admin token.
    var token: String? {
        let env = ProcessInfo.processInfo.environment
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let tokenFile { return read(tokenFile) }
        if let t = env["FLOTILLA_TOKEN"], !t.isEmpty { return t }
        if let f = env["FLOTILLA_TOKEN_FILE"], !f.isEmpty { return read(f) }
        return read(".flotilla-demo/admin.token")
    }

    var client: HubClient { HubClient(server: url, token: token) }
}

/// JSON over HTTP to the hub's API (libcurl, like the cluster client).
struct HubClient {
    let server: String
    private let transport: HTTPTransport

    private let token: String?

    init(server: String, token: String? = nil) {
        self.token = token
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        transport = HTTPTransport(server: self.server, credentials: ClusterCredentials(), timeout: 120, connectTimeout: 5)
    }

    /// Whether a hub answers its health check at `server` within a second.
    static func answers(_ server: String) -> Bool {
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        let probe = HTTPTransport(server: base, credentials: ClusterCredentials(), timeout: 2, connectTimeout: 1)
        guard let response = try? probe.request("GET", "/healthz", accept: "*/*") else { return false }
        return response.status == 200
    }

    @discardableResult
    /// Every item of a list route, following its `continue` tokens page by page.
    func list(_ path: String) throws -> [JSONValue] {
        var items: [JSONValue] = []
        var next: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let page = try call("GET", path + (next.map { "\(separator)continue=\(HubClient.escape($0))" } ?? ""))
            items += page["items"]?.arrayValue ?? []
            next = page["continue"]?.stringValue
        } while next != nil
        return items
    }

    /// Every item of a list route, as the API's type for it.
    func list<Item: Codable & Sendable>(_ type: Item.Type, _ path: String) throws -> [Item] {
        var items: [Item] = []
        var next: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let page = try get(ListPage<Item>.self, path + (next.map { "\(separator)continue=\(HubClient.escape($0))" } ?? ""))
            items += page.items
            next = page.continue
        } while next != nil
        return items
    }

    /// An answer of the API as its type; an answer that does not fit says where.
    func get<T: Decodable>(_ type: T.Type, _ path: String, method: String = "GET", body: String? = nil, contentType: String = "application/json") throws -> T {
        let value = try call(method, path, body: body, contentType: contentType)
        do { return try APIJSON.decode(type, from: value) } catch {
            throw CLIError("\(method) \(path): the hub answered something this flotilla does not understand (\(error)); are the CLI and the hub the same version?")
        }
    }

    /// Sends one of the API's request types.
    func send<Body: Encodable, T: Decodable>(_ method: String, _ path: String, _ body: Body, answer: T.Type) throws -> T {
        try get(answer, path, method: method, body: APIJSON.value(body).serialized(pretty: false))
    }

    func call(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json") throws -> JSONValue {
        let response: HTTPResponse
        do {
            response = try transport.request(method, path, body: body.map { Array($0.utf8) }, contentType: body == nil ? nil : contentType,
                                             headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
        } catch {
            throw CLIError("cannot reach the hub at \(server): \(error)\nStart one with `flotilla up` or `flotilla serve --config FILE`, or set --server / FLOTILLA_SERVER.")
        }
        let value = try? JSONParser.parse(response.text)
        guard (200..<300).contains(response.status) else {
            var message = value?["error"]?.stringValue ?? response.text
            if let problems = value?["problems"]?.arrayValue, !problems.isEmpty, !message.contains("\n") {
                message += problems.map { "\n  \($0["field"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" }.joined()
            }
            if response.status == 401 {
                message += "\nGive a token with --auth-token-file, FLOTILLA_TOKEN or FLOTILLA_TOKEN_FILE (the hub prints the admin token on its first start)."
            }
            throw CLIError("\(method) \(path): \(response.status): \(message)")
        }
        return value ?? .null
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?/"))) ?? s
    }
}
