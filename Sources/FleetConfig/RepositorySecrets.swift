import FleetModel
import Foundation
import Yams

/// Argo CD's repository Secrets, as `kubectl get secret -o yaml` prints them: `argocd.argoproj.io/secret-type:
/// repository` (one repository) and `repo-creds` (a credential template for every repository whose URL starts
/// with its `url`; the longest match wins). One per document or in a `List`; `data` is base64, `stringData` wins
/// over it, as in the API server.
///
/// Read: `url` (required), `username`, `password`, `type` (`git`, the default, or `helm`), `name`, `project`.
/// What the hub cannot honour is refused by name, never taken half: `sshPrivateKey` (git over SSH),
/// `githubAppPrivateKey`, `gcpServiceAccountKey`, `tlsClientCertData`/`Key`, `bearerToken`, `proxy`,
/// `insecure: "true"` (TLS is always verified), `enableOCI: "true"`, `type: oci`. Every problem of a file is
/// reported at once with its Secret, field and line; values are never part of a message.
public struct RepositorySecret: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case repository
        case credentialTemplate = "repo-creds"
    }

    public enum SourceType: String, Sendable {
        case git, helm
    }

    public var kind: Kind
    /// The Secret's name.
    public var secretName: String
    public var url: String
    public var type: SourceType
    public var username: String?
    public var password: String?
    /// Argo CD's display name of the repository.
    public var name: String?
    public var project: String?

    public init(kind: Kind, secretName: String, url: String, type: SourceType = .git, username: String? = nil, password: String? = nil,
                name: String? = nil, project: String? = nil) {
        self.kind = kind
        self.secretName = secretName
        self.url = url
        self.type = type
        self.username = username
        self.password = password
        self.name = name
        self.project = project
    }

    /// Never the password.
    public var description: String { "\(kind.rawValue) \(secretName) (\(type.rawValue) \(url))" }

    public static let label = "argocd.argoproj.io/secret-type"

    static let unsupported: [(key: String, why: String)] = [
        ("sshPrivateKey", "git over SSH is not supported yet: use an https URL with a username and password or token"),
        ("githubAppPrivateKey", "GitHub App credentials are not supported: use a token as password"),
        ("githubAppID", "GitHub App credentials are not supported: use a token as password"),
        ("gcpServiceAccountKey", "Google Cloud Source credentials are not supported"),
        ("tlsClientCertData", "TLS client certificates for repositories are not supported"),
        ("tlsClientCertKey", "TLS client certificates for repositories are not supported"),
        ("bearerToken", "bearer tokens for repositories are not supported: use username and password"),
        ("proxy", "a proxy per repository is not supported"),
        ("noProxy", "a proxy per repository is not supported"),
    ]

    /// Every repository Secret of `text`.
    public static func parse(_ text: String, file: String?) throws -> [RepositorySecret] {
        let reader = YAMLReader(file: file)
        var secrets: [RepositorySecret] = []
        var index = 0
        for doc in try YAMLReader.documents(text, file: file) where !reader.isNull(doc) {
            guard let pairs = reader.mapping(doc, field: "") else { continue }
            let kind = pairs.first { $0.key == "kind" }.flatMap { reader.string($0.value, field: "kind") } ?? ""
            switch kind {
            case "List", "SecretList":
                guard let items = pairs.first(where: { $0.key == "items" }), let list = reader.sequence(items.value, field: "items") else { continue }
                for item in list {
                    if let secret = one(item, field: "items[\(index)]", reader: reader) { secrets.append(secret) }
                    index += 1
                }
            case "Secret":
                if let secret = one(doc, field: "document[\(index)]", reader: reader) { secrets.append(secret) }
                index += 1
            default:
                reader.report("kind", "kind '\(kind)' is not a repository Secret (expected kind: Secret labelled \(label): repository or repo-creds)", at: doc)
            }
        }
        var seen: [String: String] = [:]
        for s in secrets {
            let key = "\(s.kind.rawValue)\u{0}\(RepositoryURL.matchKey(s.url))"
            if let first = seen[key] {
                reader.report("Secret \(s.secretName).url", "\(s.url) is also the url of Secret \(first): one \(s.kind.rawValue) Secret per URL", at: nil)
            }
            seen[key] = s.secretName
        }
        if !reader.problems.isEmpty { throw InputError(reader.problems) }
        return secrets
    }

    private static func one(_ node: Node, field: String, reader: YAMLReader) -> RepositorySecret? {
        guard let pairs = reader.mapping(node, field: field) else { return nil }
        var labels: [String: String] = [:], secretName = "", stringData: [String: String] = [:]
        var dataNode: Node?
        for (key, _, value) in pairs {
            switch key {
            case "metadata":
                for (mk, _, mv) in reader.mapping(value, field: "\(field).metadata") ?? [] {
                    if mk == "name" { secretName = reader.string(mv, field: "\(field).metadata.name") ?? "" }
                    if mk == "labels" { labels = reader.stringMap(mv, field: "\(field).metadata.labels") }
                }
            case "stringData": stringData = reader.stringMap(value, field: "\(field).stringData")
            case "data": dataNode = value
            default: break
            }
        }
        let display = secretName.isEmpty ? field : "Secret \(secretName)"
        guard let kind = labels[label].flatMap(Kind.init(rawValue:)) else {
            reader.report("\(display).metadata.labels", "not an Argo CD repository Secret (needs label \(label): repository or repo-creds)", at: node)
            return nil
        }
        let values = reader.secretValues(data: dataNode, stringData: stringData, display: display)
        let before = reader.problems.count
        func refuse(_ key: String, _ why: String) { reader.report("\(display).\(key)", why, at: node) }
        for (key, why) in unsupported where !(values[key] ?? "").isEmpty { refuse(key, why) }
        if values["insecure"] == "true" { refuse("insecure", "skipping TLS verification is not supported: the hub always verifies (add the CA to the system trust store)") }
        if values["enableOCI"] == "true" { refuse("enableOCI", "OCI registries are not supported yet") }
        let type = values["type"].flatMap { $0.isEmpty ? nil : $0 } ?? "git"
        guard let sourceType = SourceType(rawValue: type) else {
            refuse("type", "'\(type)' is not supported (git or helm)")
            return nil
        }
        guard let url = values["url"], !url.isEmpty else {
            refuse("url", "required field is missing")
            return nil
        }
        if url.hasPrefix("git@") || url.hasPrefix("ssh://") {
            refuse("url", "git over SSH is not supported yet: use the repository's https URL")
        }
        guard let parsed = RepositoryURL(url), !parsed.hasUserInfo else {
            refuse("url", "'\(url)' is not an http(s) URL without user information")
            return nil
        }
        guard reader.problems.count == before else { return nil }
        if values["password"] != nil && (values["username"] ?? "").isEmpty && sourceType == .helm {
            refuse("username", "a Helm repository with a password needs a username")
            return nil
        }
        return RepositorySecret(kind: kind, secretName: secretName, url: url, type: sourceType, username: values["username"].flatMap { $0.isEmpty ? nil : $0 },
                                password: values["password"].flatMap { $0.isEmpty ? nil : $0 }, name: values["name"], project: values["project"])
    }
}

/// Which credentials a repository URL gets: a `repository` Secret for exactly that repository (URLs compared in
/// Argo CD's normal form), else the `repo-creds` template with the longest URL prefix it starts with (compared
/// parsed: scheme, host, port, whole path segments). A URL with user information of its own gets none. Pure.
public struct RepositoryCredentialBook: Sendable, Equatable {
    public var secrets: [RepositorySecret]

    public init(_ secrets: [RepositorySecret] = []) { self.secrets = secrets }

    public func match(_ url: String) -> RepositorySecret? {
        let key = RepositoryURL.matchKey(url)
        if let exact = secrets.first(where: { $0.kind == .repository && RepositoryURL.matchKey($0.url) == key }) { return exact }
        guard let parsed = RepositoryURL(url), !parsed.hasUserInfo else { return nil }
        return secrets.filter { $0.kind == .credentialTemplate }
            .compactMap { s in RepositoryURL(s.url).map { (s, $0) } }
            .filter { parsed.isWithin($0.1) }
            .max { $0.1.path.count < $1.1.path.count }?.0
    }
}
