import Foundation

/// A client-go credential plugin: a command the hub runs to get a token or a client certificate for a cluster,
/// as kubectl does for kubeconfig's `users[].user.exec` and Argo CD for a cluster Secret's `execProviderConfig`
/// (GKE's `gke-gcloud-auth-plugin`, AKS's `kubelogin`, …). Only commands the hub's operator allowed
/// (`ExecPluginPolicy`) run.
///
/// `env` values and the arguments may hold secrets: `description` names the command only.
public struct ExecCredentialConfig: Sendable, Hashable, Codable {
    /// One environment variable given to the plugin.
    public struct EnvVar: Sendable, Hashable, Codable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `Never`, `IfAvailable` or `Always`: whether the plugin may prompt. The hub has no terminal, so it tells
    /// every plugin it is not interactive; a plugin that must be (`Always`) is refused.
    public enum InteractiveMode: String, Sendable, Hashable, Codable {
        case never = "Never"
        case ifAvailable = "IfAvailable"
        case always = "Always"
    }

    public static let v1 = "client.authentication.k8s.io/v1"
    public static let v1beta1 = "client.authentication.k8s.io/v1beta1"
    public static let apiVersions = [v1, v1beta1]

    public var command: String
    public var args: [String]
    public var env: [EnvVar]
    public var apiVersion: String
    public var installHint: String?
    /// Whether the plugin is told the cluster it authenticates to (`KUBERNETES_EXEC_INFO.spec.cluster`).
    public var provideClusterInfo: Bool
    public var interactiveMode: InteractiveMode?

    public init(command: String, args: [String] = [], env: [EnvVar] = [], apiVersion: String = v1beta1, installHint: String? = nil,
                provideClusterInfo: Bool = false, interactiveMode: InteractiveMode? = nil) {
        self.command = command
        self.args = args
        self.env = env
        self.apiVersion = apiVersion
        self.installHint = installHint
        self.provideClusterInfo = provideClusterInfo
        self.interactiveMode = interactiveMode
    }

    /// Problems with the plugin's configuration, with field paths under `field`. Never quotes args or env values.
    public func problems(field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if command.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(.init(field: "\(field).command", message: "the credential plugin's command is empty"))
        }
        if !Self.apiVersions.contains(apiVersion) {
            let removed = apiVersion == "client.authentication.k8s.io/v1alpha1" ? " (v1alpha1 was removed in Kubernetes 1.24)" : ""
            problems.append(.init(field: "\(field).apiVersion",
                                  message: "credential plugin apiVersion '\(apiVersion)' is not one of \(Self.apiVersions.joined(separator: ", "))\(removed)"))
        }
        if interactiveMode == .always {
            problems.append(.init(field: "\(field).interactiveMode", message: "interactiveMode Always: the hub has no terminal to answer the plugin's prompts"))
        }
        for (i, variable) in env.enumerated() where variable.name.isEmpty || variable.name.contains("=") {
            problems.append(.init(field: "\(field).env[\(i)].name", message: "an environment variable needs a name without '='"))
        }
        return problems
    }

    /// `KUBERNETES_EXEC_INFO`, as client-go sets it: the apiVersion, that the hub is not interactive, and the
    /// cluster when `provideClusterInfo` is set.
    public func execInfo(server: String, caData: Data?, tlsServerName: String?, insecure: Bool) -> String {
        var spec: [(String, JSONValue)] = [("interactive", .bool(false))]
        if provideClusterInfo {
            var cluster: [(String, JSONValue)] = [("server", .string(server))]
            if let tlsServerName { cluster.append(("tls-server-name", .string(tlsServerName))) }
            if insecure { cluster.append(("insecure-skip-tls-verify", .bool(true))) }
            if let caData { cluster.append(("certificate-authority-data", .string(caData.base64EncodedString()))) }
            spec.append(("cluster", .object(cluster)))
        }
        return JSONValue.object([("apiVersion", .string(apiVersion)), ("kind", .string("ExecCredential")), ("spec", .object(spec))])
            .serialized(pretty: false)
    }
}

extension ExecCredentialConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "ExecCredentialConfig(command: \(command))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}

/// What a credential plugin printed (`ExecCredential.status`): a token, or a client certificate and key, and
/// when it expires. A secret: `description` says only what it holds.
public struct ExecCredential: Sendable, Equatable {
    public var token: String?
    public var clientCertificateData: Data?
    public var clientKeyData: Data?
    public var expiration: Date?

    public init(token: String? = nil, clientCertificateData: Data? = nil, clientKeyData: Data? = nil, expiration: Date? = nil) {
        self.token = token
        self.clientCertificateData = clientCertificateData
        self.clientKeyData = clientKeyData
        self.expiration = expiration
    }

    /// Whether it is still good at `now`: before its expiry, less `margin` (a token about to expire is not sent).
    public func isValid(at now: Date, margin: TimeInterval = 10) -> Bool {
        guard let expiration else { return true }
        return now.addingTimeInterval(margin) < expiration
    }

    /// Reads a plugin's standard output as client-go does: an `ExecCredential` of the apiVersion asked for,
    /// with a token or both a client certificate and key (PEM), and an RFC 3339 `expirationTimestamp` if any.
    /// Errors never quote the output (it holds the secret).
    public static func parse(_ output: [UInt8], apiVersion: String) throws -> ExecCredential {
        let value: JSONValue
        do { value = try JSONParser.parse(String(decoding: output, as: UTF8.self)) } catch {
            throw ExecCredentialError.badOutput("its output is not JSON (\(output.count) bytes)")
        }
        guard value["kind"]?.stringValue == "ExecCredential" else {
            throw ExecCredentialError.badOutput("its output is not an ExecCredential (kind: \(value["kind"]?.stringValue ?? "missing"))")
        }
        let printed = value["apiVersion"]?.stringValue ?? ""
        guard printed == apiVersion else {
            throw ExecCredentialError.badOutput("it printed apiVersion '\(printed)', not the '\(apiVersion)' it was asked for")
        }
        guard let status = value["status"], case .object = status else { throw ExecCredentialError.badOutput("its ExecCredential has no status") }
        var credential = ExecCredential()
        credential.token = status["token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        credential.clientCertificateData = status["clientCertificateData"]?.stringValue.flatMap { $0.isEmpty ? nil : Data($0.utf8) }
        credential.clientKeyData = status["clientKeyData"]?.stringValue.flatMap { $0.isEmpty ? nil : Data($0.utf8) }
        if (credential.clientCertificateData == nil) != (credential.clientKeyData == nil) {
            throw ExecCredentialError.badOutput("it printed a client certificate without a key, or a key without a certificate")
        }
        if credential.token == nil && credential.clientCertificateData == nil {
            throw ExecCredentialError.badOutput("its ExecCredential has neither a token nor a client certificate and key")
        }
        if let token = credential.token, token.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw ExecCredentialError.badOutput("the token it printed contains whitespace")
        }
        if let text = status["expirationTimestamp"]?.stringValue, !text.isEmpty {
            guard let at = Timestamp.seconds(text) else { throw ExecCredentialError.badOutput("expirationTimestamp '\(text.prefix(40))' is not an RFC 3339 time") }
            credential.expiration = Date(timeIntervalSince1970: at)
        }
        return credential
    }
}

extension ExecCredential: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "ExecCredential(\(token != nil ? "token" : "client-cert"))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}

/// Why a credential plugin gave no credential. Messages name the command and never quote what it printed on
/// standard output; from standard error only a short summary.
public enum ExecCredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operator did not allow the command (`execPlugins.allowed`).
    case notAllowed(command: String, allowed: [String])
    case badOutput(String)
    case failed(command: String, status: Int32, summary: String)
    case timedOut(command: String, seconds: Double)
    case cannotRun(command: String, reason: String)

    public var description: String {
        switch self {
        case .notAllowed(let command, let allowed):
            return "credential plugin '\(command)' is not allowed: the hub runs only the commands its configuration lists in execPlugins.allowed"
                + (allowed.isEmpty ? " (none are listed)" : " (\(allowed.joined(separator: ", ")))")
        case .badOutput(let why): return "the credential plugin's answer is unusable: \(why)"
        case .failed(let command, let status, let summary):
            return "credential plugin '\(command)' exited with status \(status)" + (summary.isEmpty ? "" : ": \(summary)")
        case .timedOut(let command, let seconds): return "credential plugin '\(command)' did not finish within \(Int(seconds)) s: stopped"
        case .cannotRun(let command, let reason): return "credential plugin '\(command)' cannot be run: \(reason)"
        }
    }
}

/// Which credential plugins the hub may run: absolute paths its operator listed (`execPlugins.allowed`). A
/// cluster names its plugin by absolute path, or by a bare name (as kubeconfigs and Argo CD Secrets usually
/// do: `gke-gcloud-auth-plugin`) that is the file name of exactly one allowed path. Nothing else runs.
public struct ExecPluginPolicy: Sendable, Hashable, Codable {
    public var allowed: [String]
    /// How long a plugin may run, and how much it may print.
    public var timeout: Double
    public var maxOutputBytes: Int

    public init(allowed: [String] = [], timeout: Double = 60, maxOutputBytes: Int = 1 << 20) {
        self.allowed = allowed
        self.timeout = timeout
        self.maxOutputBytes = maxOutputBytes
    }

    public static let none = ExecPluginPolicy()

    /// The path to run for `command`, or why it may not run.
    public func resolve(_ command: String) throws(ExecCredentialError) -> String {
        if command.hasPrefix("/") {
            let normal = (command as NSString).standardizingPath
            if allowed.contains(normal) { return normal }
        } else if !command.contains("/") {
            let matching = allowed.filter { ($0 as NSString).lastPathComponent == command }
            if matching.count == 1 { return matching[0] }
        }
        throw .notAllowed(command: command, allowed: allowed)
    }

    /// Problems with the policy itself: every entry an absolute path.
    public func problems(field: String) -> [FieldProblem] {
        allowed.enumerated().compactMap { i, path in
            path.hasPrefix("/") ? nil : FieldProblem(field: "\(field).allowed[\(i)]", message: "'\(path)' is not an absolute path")
        }
    }
}
