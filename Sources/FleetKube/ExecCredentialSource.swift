import FleetModel
import Foundation

/// Runs a cluster's credential plugin as client-go does and keeps what it printed until it expires: at most
/// one run at a time per cluster, again once before expiry and once when the API server answers 401 to the
/// credential it gave. Only a command `policy` allows runs; it runs without a terminal (`stdin` is
/// /dev/null, `KUBERNETES_EXEC_INFO` says not interactive), bounded in time and output. Standard output (the
/// secret) is never logged or put in an error; of standard error only a short summary is.
public final class ExecCredentialSource: @unchecked Sendable {
    let config: ExecCredentialConfig
    let policy: ExecPluginPolicy
    let execInfo: String
    let cluster: String
    /// Guards `cached`; held while the plugin runs, so concurrent requests wait for one run.
    private let lock = NSLock()
    private var cached: ExecCredential?
    /// Runs so far (for tests and metrics).
    public private(set) var runs = 0

    public init(config: ExecCredentialConfig, policy: ExecPluginPolicy, cluster: String, server: String, caData: Data?, tlsServerName: String?, insecure: Bool) {
        self.config = config
        self.policy = policy
        self.cluster = cluster
        execInfo = config.execInfo(server: server, caData: caData, tlsServerName: tlsServerName, insecure: insecure)
    }

    /// Sources by cluster, shared by every client of it (the hub's sync and probe clients): one plugin run serves
    /// them all. A cluster whose plugin, policy or server changed gets a new source.
    private struct Key: Hashable {
        let config: ExecCredentialConfig
        let policy: ExecPluginPolicy
        let server: String
        let caData: Data?
        let tlsServerName: String?
        let insecure: Bool
    }
    nonisolated(unsafe) private static var sources: [String: (Key, ExecCredentialSource)] = [:]
    private static let sourcesLock = NSLock()

    public static func shared(config: ExecCredentialConfig, policy: ExecPluginPolicy, cluster: String, server: String, caData: Data?,
                              tlsServerName: String?, insecure: Bool) -> ExecCredentialSource {
        let key = Key(config: config, policy: policy, server: server, caData: caData, tlsServerName: tlsServerName, insecure: insecure)
        return sourcesLock.withLock {
            if let (known, source) = sources[cluster], known == key { return source }
            let source = ExecCredentialSource(config: config, policy: policy, cluster: cluster, server: server, caData: caData,
                                              tlsServerName: tlsServerName, insecure: insecure)
            sources[cluster] = (key, source)
            return source
        }
    }

    /// The credential to send now: the cached one while it is valid, else a fresh one from the plugin.
    public func current(now: Date = Date()) throws -> ExecCredential {
        try lock.withLock {
            if let cached, cached.isValid(at: now) { return cached }
            let fresh = try run()
            cached = fresh
            return fresh
        }
    }

    /// The API server refused `credential` (401): the next `current()` runs the plugin again, unless another
    /// request has got a new credential since.
    public func refused(_ credential: ExecCredential) {
        lock.withLock { if cached == credential { cached = nil } }
    }

    private func run() throws -> ExecCredential {
        runs += 1
        let path: String
        do { path = try policy.resolve(config.command) } catch { throw error }
        var environment = ProcessInfo.processInfo.environment
        for variable in config.env { environment[variable.name] = variable.value }
        environment["KUBERNETES_EXEC_INFO"] = execInfo
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(path, config.args, timeout: policy.timeout, environment: environment, maxOutput: policy.maxOutputBytes,
                                        noInput: true)
        } catch let failure as Subprocess.Failure {
            switch failure {
            case .timedOut(let seconds): throw ExecCredentialError.timedOut(command: config.command, seconds: seconds)
            case .cannotStart(let why):
                let hint = config.installHint.map { " (\($0.trimmingCharacters(in: .whitespacesAndNewlines)))" } ?? ""
                throw ExecCredentialError.cannotRun(command: path, reason: why + hint)
            case .cancelled: throw ExecCredentialError.cannotRun(command: path, reason: "stopped")
            }
        }
        guard result.status == 0 else {
            throw ExecCredentialError.failed(command: config.command, status: result.status, summary: Self.summary(result.stderr))
        }
        if result.stdout.count >= policy.maxOutputBytes {
            throw ExecCredentialError.badOutput("it printed more than \(policy.maxOutputBytes) bytes")
        }
        return try ExecCredential.parse(Array(result.stdout), apiVersion: config.apiVersion)
    }

    /// The last non-empty line of standard error, at most 200 characters, without control characters.
    static func summary(_ stderr: Data) -> String {
        let text = String(decoding: stderr.suffix(4096), as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        let clean = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init))
        return clean.count > 200 ? String(clean.prefix(200)) + "…" : clean
    }
}
