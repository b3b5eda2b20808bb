import FleetModel
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of our own, for `flotilla up --replicas` and the tests: `initdb` in a temporary directory,
/// `pg_ctl start` on a free loopback port (as the `postgres` user when running as root: PostgreSQL refuses to run as root), trust authentication for the
/// superuser `flotilla`, and `stop()` (also at process exit) stops it and removes the directory.
///
/// ```swift
/// guard let server = try LocalPostgres() else { return }    // nil when PostgreSQL is not installed
/// let url = try server.createDatabase()                     // postgres://flotilla@127.0.0.1:PORT/t1
/// ```
public final class LocalPostgres: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    let bin: String
    /// Kept on `stop()` (the demo's database, `flotilla up --replicas`), else removed.
    let persistent: Bool
    /// Guards `databases` and `stopped`.
    private let lock = NSLock()
    private var databases = 0
    private var stopped = false

    /// The directory of PostgreSQL's server programs (Debian: /usr/lib/postgresql/VERSION/bin), or nil.
    public static func binDirectory() -> String? {
        if let dir = ProcessInfo.processInfo.environment["FLOTILLA_PG_BIN"] { return dir }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/pg_ctl") {
            return "\(root)/\(version)/bin"
        }
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/pg_ctl") { return dir }
        return nil
    }

    /// Starts a server in a new temporary directory; nil when PostgreSQL is not installed.
    public convenience init?() throws {
        try self.init(directory: URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("flotilla-pg-\(UUID().uuidString.prefix(8))"),
                      persistent: false)
    }

    /// Starts a server whose files are in `directory` (created with `initdb` the first time, reused after); nil when
    /// PostgreSQL is not installed. `persistent`: `stop()` keeps the files.
    public init?(directory: URL, persistent: Bool) throws {
        guard let bin = Self.binDirectory() else { return nil }
        self.bin = bin
        self.directory = directory
        self.persistent = persistent
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var started = false
        defer { if !started && !persistent { try? FileManager.default.removeItem(at: directory) } }
        if getuid() == 0 {
            // PostgreSQL refuses root: the directory belongs to `postgres`, and its programs run as that user.
            try Self.run("/bin/chown", ["-R", "postgres:postgres", directory.path])
        }
        let data = directory.appendingPathComponent("data").path
        if !FileManager.default.fileExists(atPath: data + "/PG_VERSION") {
            try Self.run(bin + "/initdb", ["-D", data, "-U", "flotilla", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"], asPostgres: true)
        }
        var running: Int?
        for _ in 0..<3 where running == nil {
            let candidate = freeLoopbackPort()
            do {
                try Self.run(bin + "/pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("log").path, "-w", "-t", "30", "-o",
                                               "-p \(candidate) -c listen_addresses=127.0.0.1 -k \(directory.path) -c fsync=off -c max_connections=200",
                                               "start"], asPostgres: true)
                running = candidate
            } catch {
                continue
            }
        }
        guard let running else {
            let log = (try? String(contentsOf: directory.appendingPathComponent("log"), encoding: .utf8)) ?? ""
            throw LocalPostgresError(message: "pg_ctl start failed: \(log.suffix(600))")
        }
        port = running
        started = true
    }

    /// The URL of the superuser's connection to `database`.
    public func url(database: String) -> String { "postgres://flotilla@127.0.0.1:\(port)/\(database)" }

    /// The database `name`, created when missing; returns its URL.
    public func database(named name: String) throws -> String {
        do { try Self.run(bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "flotilla", name]) } catch let error as LocalPostgresError
            where error.message.contains("already exists") {}
        return url(database: name)
    }

    /// A new, empty database; returns its URL.
    public func createDatabase() throws -> String {
        let name = lock.withLock { () -> String in
            databases += 1
            return "t\(databases)"
        }
        try Self.run(bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "flotilla", name])
        return url(database: name)
    }

    /// Stops the server (fast shutdown) and removes its directory. Idempotent.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? Self.run(bin + "/pg_ctl", ["-D", directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"], asPostgres: true)
        if !persistent { try? FileManager.default.removeItem(at: directory) }
    }

    /// Runs a program and waits; as `postgres` (through `runuser`) when asked and running as root. Spawned and reaped
    /// here (posix_spawn, waitpid): `pg_ctl start` leaves a server running that inherits the output descriptors, and
    /// Foundation's `Process` was seen to miss the exit of a child whose own child lives on.
    static func run(_ program: String, _ arguments: [String], asPostgres: Bool = false) throws {
        let argv = asPostgres && getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        let outputPath = NSTemporaryDirectory() + "flotilla-pg-output-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw LocalPostgresError(message: "cannot start \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitCode == 0 else {
            let text = (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data()
            throw LocalPostgresError(message: "\(program) \(arguments.joined(separator: " ")) exited \(exitCode): \(String(decoding: text.suffix(800), as: UTF8.self))")
        }
    }
}

public struct LocalPostgresError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
