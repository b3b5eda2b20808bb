import FleetConfig
@testable import FleetHub
import FleetModel
import Foundation
import Logging
import Testing

/// A logger that keeps what it is given, for checking what the hub logs.
private final class Recorded: LogHandler, @unchecked Sendable {
    let lock = NSLock()
    var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        lock.withLock { lines.append((level, "\(message)", metadata ?? [:])) }
    }
}

/// An error the hub goes on past is logged with what it was doing and where, and counted by site in
/// `flotilla_hub_errors_total`; a success logs and counts nothing.
@Test func errorsGoneOnPastAreLoggedAndCounted() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-errors-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let recorded = Recorded()
    let hub = try Hub(config: HubConfiguration(), dataDir: dir, logger: Logger(label: "test") { _ in recorded })
    struct Broken: Error, CustomStringConvertible { var description: String { "disk I/O error" } }

    let ok = hub.context.attempt(.storeRead, "read something") { 42 }
    #expect(ok == 42)
    #expect(hub.context.metrics.errorCount(.storeRead) == 0)
    let failed: Int? = hub.context.attempt(.storeWrite, "write the status of web-a", metadata: ["application": "web-a"]) { throw Broken() }
    #expect(failed == nil)
    #expect(hub.context.metrics.errorCount(.storeWrite) == 1)
    #expect(hub.context.metrics.errorCount(.storeRead) == 0)

    let line = try #require(recorded.lock.withLock { recorded.lines.last { $0.message.contains("web-a") } })
    #expect(line.level == .warning)
    #expect(line.message == "cannot write the status of web-a")
    #expect(line.metadata["application"] == "web-a")
    #expect(line.metadata["error"] == "disk I/O error")
    #expect(line.metadata["site"] == "store_write")
    let exposition = hub.prometheus()
    #expect(exposition.contains("flotilla_hub_errors_total{site=\"store_write\"} 1"), "\(exposition)")
    #expect(exposition.contains("flotilla_hub_errors_total{site=\"store_read\"} 0"))
}
