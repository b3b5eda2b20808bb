import FleetModel
import Foundation

/// Headless Chromium driven through the DevTools protocol over a loopback WebSocket: navigate, evaluate script in
/// the page, wait for a condition, take screenshots. Started with a profile of its own in a temporary directory
/// and stopped (with its profile removed) by `stop()`.
public final class Browser: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The Chromium on this machine: `FLOTILLA_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on PATH.
    public static func executable() -> String? {
        if let path = ProcessInfo.processInfo.environment["FLOTILLA_CHROMIUM"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    private let process = Process()
    private let profile: URL
    private let socket: WebSocket
    private var nextID = 0
    private let lock = NSLock()

    public init(executable: String, width: Int = 1280, height: Int = 900) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--mute-audio",
                             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=\(profile.path)",
                             "--window-size=\(width),\(height)", "about:blank"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Chromium writes the port it listens on to DevToolsActivePort in its profile.
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        let deadline = Date().addingTimeInterval(30)
        var port: Int?
        while port == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let line = text.split(separator: "\n").first, let p = Int(line) { port = p; break }
            guard Date() < deadline, process.isRunning else {
                Self.kill(process)
                throw Failure("Chromium did not start (\(executable))")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        var pageURL: String?
        var problem = "no page target"
        while pageURL == nil && Date() < deadline {
            do {
                let list = try JSONParser.parse(WebSocket.httpGet(host: "127.0.0.1", port: port!, path: "/json/list")).arrayValue ?? []
                pageURL = list.first { $0["type"]?.stringValue == "page" }?["webSocketDebuggerUrl"]?.stringValue
            } catch {
                problem = "\(error)"
            }
            if pageURL == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let pageURL else {
            Self.kill(process)
            throw Failure("Chromium has no page to drive: \(problem)")
        }
        socket = try WebSocket(url: pageURL)
        _ = try call("Page.enable")
        _ = try call("Runtime.enable")
    }

    private static func kill(_ process: Process) {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }
    }

    public func stop() {
        socket.close()
        Self.kill(process)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Calls a DevTools method and returns its result (events that arrive meanwhile are skipped).
    @discardableResult
    public func call(_ method: String, _ params: [(String, JSONValue)] = [], timeout: Double = 30) throws -> JSONValue {
        try lock.withLock {
            nextID += 1
            let id = nextID
            try socket.send(JSONValue.object([("id", .int(id)), ("method", .string(method)), ("params", .object(params))]).serialized(pretty: false))
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let text: String
                do { text = try socket.receive(timeout: max(0.1, deadline.timeIntervalSinceNow)) } catch { throw Failure("\(method): \(error)") }
                let message = try JSONParser.parse(text)
                guard message["id"]?.intValue == id else { continue }
                if let error = message["error"] { throw Failure("\(method): \(error.serialized(pretty: false))") }
                return message["result"] ?? .null
            }
        }
    }

    /// Evaluates `expression` in the page (promises awaited) and returns its value.
    @discardableResult
    public func evaluate(_ expression: String) throws -> JSONValue {
        let result = try call("Runtime.evaluate", [("expression", .string(expression)), ("returnByValue", .bool(true)), ("awaitPromise", .bool(true))])
        if let exception = result["exceptionDetails"] {
            throw Failure("script failed: \(exception["exception"]?["description"]?.stringValue ?? exception.serialized(pretty: false))")
        }
        return result["result"]?["value"] ?? .null
    }

    /// Waits until `expression` is true in the page.
    public func wait(for expression: String, timeout: Double = 15, _ what: String? = nil) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if (try? evaluate("Boolean(\(expression))"))?.boolValue == true { return }
            guard Date() < deadline else { throw Failure("waited \(timeout) s for \(what ?? expression)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Opens `url` and waits for the page to load.
    public func open(_ url: String) throws {
        try evaluate("window.__flotillaLeft = true")
        do { try call("Page.navigate", [("url", .string(url))]) } catch { throw Failure("opening \(url): \(error)") }
        try wait(for: "!window.__flotillaLeft && document.readyState === 'complete'", "\(url) to load")
    }

    /// Sends `header` with every request the page makes (an `Authorization` header, say).
    public func setHeaders(_ headers: [(String, String)]) throws {
        try call("Network.enable")
        try call("Network.setExtraHTTPHeaders", [("headers", .object(headers.map { ($0.0, .string($0.1)) }))])
    }

    /// A PNG of the page as it is shown (`fullPage`: the whole document).
    public func screenshot(fullPage: Bool = true) throws -> Data {
        var params: [(String, JSONValue)] = [("format", .string("png"))]
        if fullPage { params.append(("captureBeyondViewport", .bool(true))) }
        let result = try call("Page.captureScreenshot", params)
        guard let text = result["data"]?.stringValue, let data = Data(base64Encoded: text) else { throw Failure("no screenshot") }
        return data
    }
}
