import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetHub
import FleetModel
import FleetStore
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the hub: watch git, generate Applications, sync them to the clusters, serve the API.",
        discussion: """
        The configuration is documented in docs/configuration.md (example: fleet/hub.yaml); FLOTILLA_* environment
        variables override it. SIGTERM or SIGINT stops intake and lets running syncs finish (up to --drain-timeout).
        """
    )

    @Option(help: "Hub configuration file (YAML).") var config: String
    @Option(help: "Seconds that running syncs get to finish on SIGTERM.") var drainTimeout: Double = 30
    @Option(help: "PEM certificate (chain) to serve HTTPS with (with --tls-key; overrides tls.certFile).") var tlsCert: String?
    @Option(help: "PEM private key to serve HTTPS with (with --tls-cert).") var tlsKey: String?
    @Flag(help: "Set a damaged, emptied or missing store aside (renamed, never deleted) and start with a new, empty one.") var `init` = false

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("Please give --tls-cert and --tls-key together.") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var hubConfig = try HubConfiguration.load(try readText(config), file: config, environment: environment)
        if let tlsCert, let tlsKey { hubConfig.tlsCert = tlsCert; hubConfig.tlsKey = tlsKey }
        let scheme = hubConfig.tlsCert == nil ? "http" : "https"
        let dataDir = hubConfig.dataDir ?? DataDirectory.resolve(flag: nil, environment: environment,
                                                                           home: DataDirectory.home(environment: environment, fallback: FileManager.default.homeDirectoryForCurrentUser.path))
        let logger = makeLogger(level: hubConfig.logLevel)
        let host = hubConfig.listen.split(separator: ":").dropLast().joined(separator: ":")
        if self.`init` {
            let directory = URL(fileURLWithPath: dataDir)
            if SQLiteClusterStore.problem(directory: directory) == nil {
                logger.notice("--init: the store in \(dataDir) is sound; it is kept")
            } else if let moved = try SQLiteClusterStore.setAside(directory: directory) {
                logger.warning("--init: the previous store was set aside as \(moved); starting with a new, empty store")
            }
        }
        let adminTokenFile = hubConfig.auth.adminTokenFile
        try await Hub.serve(config: hubConfig, dataDir: URL(fileURLWithPath: dataDir), logger: logger, drainTimeout: drainTimeout,
                            onListening: { port in
                                FileHandle.standardOutput.write(Data("flotilla hub listening on \(scheme)://\(host):\(port)\ndashboard: \(scheme)://\(host):\(port)/ui/\n".utf8))
                            },
                            onReady: { hub in
                                if let token = hub.bootstrapToken {
                                    // The only time this token exists in clear: the store keeps its hash. It goes to a
                                    // terminal, or to a file only the hub's user can read, never into a log stream.
                                    if isatty(STDOUT_FILENO) == 1 {
                                        FileHandle.standardOutput.write(Data("admin token (shown once, store it safely): \(token)\n".utf8))
                                    } else if let file = adminTokenFile {
                                        FileHandle.standardOutput.write(Data("admin token written to \(file)\n".utf8))
                                    } else {
                                        let file = URL(fileURLWithPath: dataDir).appendingPathComponent("admin.token").path
                                        do {
                                            try Hub.writeTokenFile(token, to: file, logger: logger)
                                            FileHandle.standardOutput.write(Data("admin token written to \(file)\n".utf8))
                                        } catch {
                                            logger.error("the admin token could not be written to \(file): \(error)")
                                        }
                                    }
                                }
                                let apps = (try? hub.store.count()) ?? 0
                                FileHandle.standardOutput.write(Data("flotilla hub ready: \(hub.applicationSets().count) ApplicationSets, \(apps) Applications\n".utf8))
                            })
    }
}

func makeLogger(level: LogLevel) -> Logger {
    var logger = Logger(label: "flotilla") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = switch level {
    case .trace: .trace
    case .debug: .debug
    case .info: .info
    case .notice: .notice
    case .warning: .warning
    case .error: .error
    case .critical: .critical
    }
    return logger
}
