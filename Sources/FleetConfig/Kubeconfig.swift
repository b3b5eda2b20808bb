import FleetModel
import Foundation
import Yams

/// Reads one context of a kubeconfig into a cluster: server, CA, and the user's token, client certificate or
/// basic credentials, from inline `*-data` fields or from files relative to the kubeconfig.
public enum Kubeconfig {
    /// - Parameters:
    ///   - context: the context to read; nil means `current-context`.
    ///   - name: the cluster name to register; nil means the context name.
    public static func cluster(
        from text: String, file: String?, context: String?, name: String?, files: any FileSource = LocalFiles()
    ) throws -> Cluster {
        let reader = YAMLReader(file: file)
        let docs = try YAMLReader.documents(text, file: file)
        guard let root = docs.first, let pairs = reader.mapping(root, field: "") else {
            throw InputError(reader.problems.isEmpty ? [FieldProblem(field: "", message: "kubeconfig is empty", location: file.map { SourceLocation(file: $0, line: 1, column: 1) })] : reader.problems)
        }
        let base = file.flatMap(FilePaths.directory(of:))
        var current: String?
        var contexts: [String: Node] = [:], clusters: [String: Node] = [:], users: [String: Node] = [:]
        func named(_ node: Node, field: String, inner: String, into table: inout [String: Node]) {
            for (i, item) in (reader.sequence(node, field: field) ?? []).enumerated() {
                let entry = reader.mapping(item, field: "\(field)[\(i)]") ?? []
                guard let n = entry.first(where: { $0.key == "name" }).flatMap({ reader.string($0.value, field: "\(field)[\(i)].name") }) else { continue }
                if let body = entry.first(where: { $0.key == inner }) { table[n] = body.value }
            }
        }
        for (key, _, value) in pairs {
            switch key {
            case "current-context": current = reader.string(value, field: key)
            case "contexts": named(value, field: key, inner: "context", into: &contexts)
            case "clusters": named(value, field: key, inner: "cluster", into: &clusters)
            case "users": named(value, field: key, inner: "user", into: &users)
            default: break
            }
        }
        if !reader.problems.isEmpty { throw InputError(reader.problems) }

        guard let contextName = context ?? current, !contextName.isEmpty else {
            throw InputError(field: "current-context", message: "the kubeconfig has no current-context; please choose one with --context (available: \(contexts.keys.sorted().joined(separator: ", ")))")
        }
        guard let ctxNode = contexts[contextName] else {
            throw InputError(field: "contexts", message: "context '\(contextName)' not found in the kubeconfig (available: \(contexts.keys.sorted().joined(separator: ", ")))")
        }
        let ctx = reader.stringMap(ctxNode, field: "contexts.\(contextName)")
        guard let clusterName = ctx["cluster"], let clusterNode = clusters[clusterName] else {
            throw InputError(field: "contexts.\(contextName).cluster", message: "context '\(contextName)' names cluster '\(ctx["cluster"] ?? "")', which the kubeconfig does not define")
        }

        var creds = ClusterCredentials()
        var server = ""
        func readFile(_ node: Node, _ field: String) -> Data? {
            guard let path = reader.string(node, field: field) else { return nil }
            do { return try files.read(path, relativeTo: base) } catch {
                reader.report(field, "\(error)", at: node)
                return nil
            }
        }
        func base64(_ node: Node, _ field: String) -> Data? {
            guard let s = reader.string(node, field: field) else { return nil }
            guard let d = Data(base64Encoded: s, options: .ignoreUnknownCharacters) else {
                reader.report(field, "is not valid base64", at: node)
                return nil
            }
            return d
        }
        for (key, _, value) in reader.mapping(clusterNode, field: "clusters.\(clusterName)") ?? [] {
            let field = "clusters.\(clusterName).\(key)"
            switch key {
            case "server": server = reader.string(value, field: field) ?? ""
            case "certificate-authority-data": creds.caData = base64(value, field)
            case "certificate-authority": creds.caData = readFile(value, field)
            case "insecure-skip-tls-verify": creds.insecureSkipTLSVerify = reader.bool(value, field: field) ?? false
            case "tls-server-name": creds.tlsServerName = reader.string(value, field: field)
            case "proxy-url":
                reader.report(field, "proxy-url is not supported yet", at: value)
            default: break
            }
        }
        if let userName = ctx["user"], !userName.isEmpty {
            guard let userNode = users[userName] else {
                throw InputError(field: "contexts.\(contextName).user", message: "context '\(contextName)' names user '\(userName)', which the kubeconfig does not define")
            }
            for (key, _, value) in reader.mapping(userNode, field: "users.\(userName)") ?? [] {
                let field = "users.\(userName).\(key)"
                switch key {
                case "token": creds.bearerToken = reader.string(value, field: field)
                case "tokenFile":
                    creds.bearerToken = readFile(value, field).flatMap { String(data: $0, encoding: .utf8) }?
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                case "client-certificate-data": creds.certData = base64(value, field)
                case "client-certificate": creds.certData = readFile(value, field)
                case "client-key-data": creds.keyData = base64(value, field)
                case "client-key": creds.keyData = readFile(value, field)
                case "username": creds.username = reader.string(value, field: field)
                case "password": creds.password = reader.string(value, field: field)
                case "exec": creds.exec = reader.execConfig(value, field: field)
                case "auth-provider":
                    reader.report(field, "user '\(userName)' authenticates through 'auth-provider', which kubectl removed in 1.26; use its exec credential plugin (kubelogin, gke-gcloud-auth-plugin), a service-account token or a client certificate", at: value)
                default: break
                }
            }
        }
        if !reader.problems.isEmpty { throw InputError(reader.problems) }
        let clusterNameToUse = name ?? contextName
        let cluster = Cluster(name: clusterNameToUse, server: server, credentials: creds)
        var problems = cluster.problems()
        if name == nil, let i = problems.firstIndex(where: { $0.field == "name" }) {
            problems[i].message += "; the context name is not a valid cluster name, so please choose one with --name"
        }
        if !problems.isEmpty { throw InputError(problems) }
        return cluster
    }
}
