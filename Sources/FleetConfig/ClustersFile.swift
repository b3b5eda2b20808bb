import FleetModel
import Foundation
import Yams

/// A cluster read from a file, with where it was written.
public struct ClusterEntry: Sendable, Hashable {
    public var cluster: Cluster
    public var location: SourceLocation?

    public init(cluster: Cluster, location: SourceLocation?) {
        self.cluster = cluster
        self.location = location
    }
}

/// Parses a declarative clusters file. Two formats are accepted:
///
/// 1. Flotilla's own:
///    ```yaml
///    clusters:
///      - name: prod-eu
///        server: https://10.0.0.1:6443
///        labels: {env: prod, region: eu}
///        secondary: prod-us
///        auth: {tokenFile: tokens/prod-eu, caFile: ca/prod-eu.pem}
///    ```
/// 2. Argo CD cluster Secrets (`argocd.argoproj.io/secret-type: cluster`), one per document or in a `List`,
///    exactly as `kubectl get secret -o yaml` prints them.
///
/// Every problem in the file is reported at once, each with its line and field. Files named in the file
/// (`tokenFile`, `caFile`, ...) are read through `files`, relative to the clusters file's directory.
public enum ClustersFile {
    public static func parse(_ text: String, file: String?, files: any FileSource = LocalFiles()) throws -> [ClusterEntry] {
        let reader = YAMLReader(file: file)
        let documents = try YAMLReader.documents(text, file: file)
        let base = file.flatMap(FilePaths.directory(of:))
        let context = Context(reader: reader, files: files, baseDirectory: base)
        var entries: [ClusterEntry] = []
        var argoDocument = 0
        for doc in documents where !reader.isNull(doc) {
            guard let pairs = reader.mapping(doc, field: "") else { continue }
            let keys = Set(pairs.map(\.key))
            if keys.contains("clusters") && !keys.contains("kind") {
                entries += context.flotillaFormat(pairs)
            } else if keys.contains("kind") {
                entries += context.kubernetesObject(doc, index: &argoDocument)
            } else {
                reader.report("", "not a clusters file: expected a top-level 'clusters:' list or Argo CD cluster Secrets (kind: Secret)", at: doc)
            }
        }
        var seen: [String: ClusterEntry] = [:]
        for entry in entries {
            if let first = seen[entry.cluster.name] {
                let whereFirst = first.location.map { " (first defined at line \($0.line))" } ?? ""
                context.reportDuplicate(entry, whereFirst)
            } else {
                seen[entry.cluster.name] = entry
            }
        }
        if !reader.problems.isEmpty { throw InputError(reader.problems) }
        return entries
    }

    private struct Context {
        let reader: YAMLReader
        let files: any FileSource
        let baseDirectory: String?

        func reportDuplicate(_ entry: ClusterEntry, _ whereFirst: String) {
            reader.reportAt(entry.location, "clusters", "duplicate cluster name '\(entry.cluster.name)'\(whereFirst)")
        }

        // MARK: Flotilla format

        func flotillaFormat(_ root: [(key: String, keyNode: Node, value: Node)]) -> [ClusterEntry] {
            var entries: [ClusterEntry] = []
            for (key, keyNode, value) in root {
                guard key == "clusters" else {
                    reader.report(key, "unknown top-level field '\(key)' (expected 'clusters')", at: keyNode)
                    continue
                }
                guard let items = reader.sequence(value, field: "clusters") else { continue }
                for (i, item) in items.enumerated() {
                    if let entry = flotillaCluster(item, field: "clusters[\(i)]") { entries.append(entry) }
                }
            }
            return entries
        }

        private func flotillaCluster(_ node: Node, field: String) -> ClusterEntry? {
            guard let pairs = reader.mapping(node, field: field) else { return nil }
            let before = reader.problems.count
            var name: String?, server: String?
            var cluster = Cluster(name: "", server: "")
            var fieldNodes: [String: Node] = [:]
            for (key, keyNode, value) in pairs {
                fieldNodes[key] = value
                switch key {
                case "name": name = reader.string(value, field: "\(field).name")
                case "server": server = reader.string(value, field: "\(field).server")
                case "labels": cluster.labels = reader.stringMap(value, field: "\(field).labels")
                case "annotations": cluster.annotations = reader.stringMap(value, field: "\(field).annotations")
                case "secondary": cluster.secondary = reader.string(value, field: "\(field).secondary")
                case "auth": cluster.credentials = auth(value, field: "\(field).auth")
                case "project": cluster.project = reader.string(value, field: "\(field).project")
                case "namespaces":
                    cluster.namespaces = (reader.sequence(value, field: "\(field).namespaces") ?? []).enumerated().compactMap {
                        reader.string($0.element, field: "\(field).namespaces[\($0.offset)]")
                    }
                case "clusterResources": cluster.clusterResources = reader.bool(value, field: "\(field).clusterResources") ?? false
                default:
                    reader.report("\(field).\(key)", "unknown field '\(key)' (expected name, server, labels, annotations, secondary, auth, project, namespaces, clusterResources)", at: keyNode)
                }
            }
            let display = name.map { "\(field)(\($0))" } ?? field
            if name == nil { reader.report("\(field).name", "required field is missing", at: node) }
            if server == nil { reader.report("\(display).server", "required field is missing", at: node) }
            cluster.name = name ?? ""
            cluster.server = server ?? ""
            if reader.problems.count == before {
                // Each problem is reported at the line of the field it is about.
                for problem in cluster.problems() {
                    let top = String(problem.field.split(separator: ".").first ?? "")
                    reader.report("\(display).\(problem.field)", problem.message, at: fieldNodes[top] ?? node)
                }
            }
            return reader.problems.count == before ? ClusterEntry(cluster: cluster, location: reader.location(node)) : nil
        }

        private func auth(_ node: Node, field: String) -> ClusterCredentials {
            var creds = ClusterCredentials()
            guard let pairs = reader.mapping(node, field: field) else { return creds }
            var seen: Set<String> = []
            for (key, keyNode, value) in pairs {
                seen.insert(key)
                let path = "\(field).\(key)"
                switch key {
                case "token": creds.bearerToken = reader.string(value, field: path)
                case "tokenFile": creds.bearerToken = readText(value, field: path)
                case "username": creds.username = reader.string(value, field: path)
                case "password": creds.password = reader.string(value, field: path)
                case "caData": creds.caData = pemOrBase64(value, field: path)
                case "caFile": creds.caData = readData(value, field: path)
                case "certData": creds.certData = pemOrBase64(value, field: path)
                case "certFile": creds.certData = readData(value, field: path)
                case "keyData": creds.keyData = pemOrBase64(value, field: path)
                case "keyFile": creds.keyData = readData(value, field: path)
                case "insecure", "insecureSkipTLSVerify": creds.insecureSkipTLSVerify = reader.bool(value, field: path) ?? false
                case "serverName": creds.tlsServerName = reader.string(value, field: path)
                case "proxyUrl": creds.proxyURL = reader.string(value, field: path)
                case "exec": creds.exec = reader.execConfig(value, field: path)
                default:
                    reader.report(path, "unknown auth field '\(key)' (expected token, tokenFile, username, password, caData, caFile, certData, certFile, keyData, keyFile, insecure, serverName, proxyUrl, exec)", at: keyNode)
                }
            }
            for (a, b) in [("token", "tokenFile"), ("caData", "caFile"), ("certData", "certFile"), ("keyData", "keyFile")]
            where seen.contains(a) && seen.contains(b) {
                reader.report("\(field).\(a)", "set \(a) or \(b), not both", at: node)
            }
            return creds
        }

        // MARK: Argo CD cluster Secrets

        func kubernetesObject(_ node: Node, index: inout Int) -> [ClusterEntry] {
            guard let pairs = reader.mapping(node, field: "") else { return [] }
            let kind = pairs.first { $0.key == "kind" }.flatMap { reader.string($0.value, field: "kind") } ?? ""
            switch kind {
            case "List", "SecretList":
                guard let items = pairs.first(where: { $0.key == "items" }) else { return [] }
                guard let list = reader.sequence(items.value, field: "items") else { return [] }
                return list.compactMap { item in
                    defer { index += 1 }
                    return argoSecret(item, field: "items[\(index)]")
                }
            case "Secret":
                defer { index += 1 }
                return argoSecret(node, field: "document[\(index)]").map { [$0] } ?? []
            default:
                reader.report("kind", "kind '\(kind)' is not a cluster definition (expected an Argo CD cluster Secret)", at: node)
                return []
            }
        }

        private func argoSecret(_ node: Node, field: String) -> ClusterEntry? {
            guard let pairs = reader.mapping(node, field: field) else { return nil }
            let before = reader.problems.count
            var labels: [String: String] = [:], annotations: [String: String] = [:]
            var secretName = "", stringData: [String: String] = [:]
            var dataNode: Node?
            for (key, _, value) in pairs {
                switch key {
                case "metadata":
                    for (mk, _, mv) in reader.mapping(value, field: "\(field).metadata") ?? [] {
                        switch mk {
                        case "name": secretName = reader.string(mv, field: "\(field).metadata.name") ?? ""
                        case "labels": labels = reader.stringMap(mv, field: "\(field).metadata.labels")
                        case "annotations": annotations = reader.stringMap(mv, field: "\(field).metadata.annotations")
                        default: break
                        }
                    }
                case "stringData": stringData = reader.stringMap(value, field: "\(field).stringData")
                case "data": dataNode = value
                default: break
                }
            }
            let display = secretName.isEmpty ? field : "Secret \(secretName)"
            if labels["argocd.argoproj.io/secret-type"] != "cluster" {
                reader.report("\(display).metadata.labels", "not an Argo CD cluster secret (needs label argocd.argoproj.io/secret-type: cluster)", at: node)
                return nil
            }
            let values = reader.secretValues(data: dataNode, stringData: stringData, display: display)
            // The label makes it a cluster Secret; generators see it on every cluster anyway. It is kept only on
            // a Secret for the local cluster, which Argo CD otherwise sees without labels.
            if Cluster.normalizeServer(values["server"] ?? "") != Cluster.inClusterServer {
                labels.removeValue(forKey: "argocd.argoproj.io/secret-type")
            }
            for key in ["kubectl.kubernetes.io/last-applied-configuration", "managed-by"] { annotations.removeValue(forKey: key) }
            let secondary = annotations.removeValue(forKey: "flotilla.io/secondary")

            guard let server = values["server"], !server.isEmpty else {
                reader.report("\(display).stringData.server", "required field is missing", at: node)
                return nil
            }
            // Argo CD names a cluster without a name by its server.
            let name = values["name"].flatMap { $0.isEmpty ? nil : $0 } ?? Cluster.normalizeServer(server)
            var credentials = ClusterCredentials()
            if let config = values["config"], !config.isEmpty {
                credentials = argoConfig(config, field: "\(display).stringData.config", at: node)
            }
            // namespaces: a comma-separated list; clusterResources: "true" or "false".
            let namespaces = values["namespaces"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            var clusterResources = false
            if let text = values["clusterResources"] {
                switch text.lowercased() {
                case "true": clusterResources = true
                case "false", "": clusterResources = false
                default: reader.report("\(display).stringData.clusterResources", "must be \"true\" or \"false\"", at: node)
                }
            }
            let project = values["project"].flatMap { $0.isEmpty ? nil : $0 }
            let cluster = Cluster(name: name, server: server, labels: labels, annotations: annotations,
                                  secondary: secondary, credentials: credentials, project: project,
                                  namespaces: namespaces, clusterResources: clusterResources)
            for problem in cluster.problems() {
                reader.report("\(display).\(problem.field)", problem.message, at: node)
            }
            return reader.problems.count == before ? ClusterEntry(cluster: cluster, location: reader.location(node)) : nil
        }

        /// Argo CD's cluster `config` JSON: bearerToken, username/password, tlsClientConfig.
        private func argoConfig(_ json: String, field: String, at node: Node) -> ClusterCredentials {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                reader.report(field, "is not a JSON object", at: node)
                return ClusterCredentials()
            }
            var creds = ClusterCredentials()
            creds.bearerToken = object["bearerToken"] as? String
            creds.username = object["username"] as? String
            creds.password = object["password"] as? String
            creds.proxyURL = (object["proxyUrl"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            if object["awsAuthConfig"] != nil {
                reader.report("\(field).awsAuthConfig", "awsAuthConfig (EKS) is not supported yet: register the cluster with an execProviderConfig that runs `aws eks get-token --cluster-name NAME --output json` (the aws command listed in the hub's execPlugins.allowed), or with a bearer token", at: node)
            }
            if let exec = object["execProviderConfig"] {
                let (config, problems) = ArgoExecProvider.read(exec, field: "\(field).execProviderConfig")
                for problem in problems { reader.report(problem.field, problem.message, at: node) }
                creds.exec = config
            }
            if let tls = object["tlsClientConfig"] as? [String: Any] {
                creds.insecureSkipTLSVerify = tls["insecure"] as? Bool ?? false
                creds.tlsServerName = tls["serverName"] as? String
                func decode(_ key: String) -> Data? {
                    guard let s = tls[key] as? String, !s.isEmpty else { return nil }
                    guard let d = Data(base64Encoded: s, options: .ignoreUnknownCharacters) else {
                        reader.report("\(field).tlsClientConfig.\(key)", "is not valid base64", at: node)
                        return nil
                    }
                    return d
                }
                creds.caData = decode("caData")
                creds.certData = decode("certData")
                creds.keyData = decode("keyData")
            }
            return creds
        }

        // MARK: Referenced files

        private func readData(_ node: Node, field: String) -> Data? {
            guard let path = reader.string(node, field: field) else { return nil }
            do {
                return try files.read(path, relativeTo: baseDirectory)
            } catch {
                reader.report(field, "\(error)", at: node)
                return nil
            }
        }

        private func readText(_ node: Node, field: String) -> String? {
            guard let data = readData(node, field: field) else { return nil }
            guard let text = String(data: data, encoding: .utf8) else {
                reader.report(field, "file is not UTF-8 text", at: node)
                return nil
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        private func pemOrBase64(_ node: Node, field: String) -> Data? {
            guard let text = reader.string(node, field: field), !text.isEmpty else { return nil }
            if text.contains("-----BEGIN ") { return Data(text.utf8) }
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                reader.report(field, "is neither PEM nor base64-encoded PEM", at: node)
                return nil
            }
            return data
        }
    }
}

extension YAMLReader {
    func reportAt(_ location: SourceLocation?, _ field: String, _ message: String) {
        problems.append(FieldProblem(field: field, message: message, location: location))
    }
}

extension ClustersFile {
    /// One cluster in Flotilla's format, credentials included (PEM data base64): what `cluster add --server`
    /// sends to the hub. Never print it.
    public static func entry(_ cluster: Cluster) -> JSONValue {
        var object: JSONValue = .object([("name", .string(cluster.name)), ("server", .string(cluster.server))])
        if !cluster.labels.isEmpty { object.set("labels", .sortedObject(cluster.labels)) }
        if !cluster.annotations.isEmpty { object.set("annotations", .sortedObject(cluster.annotations)) }
        if let secondary = cluster.secondary { object.set("secondary", .string(secondary)) }
        let c = cluster.credentials
        var auth: [(String, JSONValue)] = []
        if let token = c.bearerToken { auth.append(("token", .string(token))) }
        if let username = c.username { auth.append(("username", .string(username))) }
        if let password = c.password { auth.append(("password", .string(password))) }
        if let ca = c.caData { auth.append(("caData", .string(ca.base64EncodedString()))) }
        if let cert = c.certData { auth.append(("certData", .string(cert.base64EncodedString()))) }
        if let key = c.keyData { auth.append(("keyData", .string(key.base64EncodedString()))) }
        if c.insecureSkipTLSVerify { auth.append(("insecure", true)) }
        if let serverName = c.tlsServerName { auth.append(("serverName", .string(serverName))) }
        if let proxy = c.proxyURL { auth.append(("proxyUrl", .string(proxy))) }
        if !auth.isEmpty { object.set("auth", .object(auth)) }
        if let project = cluster.project { object.set("project", .string(project)) }
        if let namespaces = cluster.namespaces { object.set("namespaces", .array(namespaces.map(JSONValue.string))) }
        if cluster.clusterResources { object.set("clusterResources", true) }
        return object
    }
}
