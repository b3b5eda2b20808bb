import FleetModel
import Foundation
import Yams

extension YAMLReader {
    /// A credential plugin as kubeconfig writes it (`users[].user.exec`), also Flotilla's `auth.exec`:
    /// `command`, `args`, `env` (a list of `{name, value}`, or a map), `apiVersion`, `installHint`,
    /// `provideClusterInfo`, `interactiveMode`.
    func execConfig(_ node: Node, field: String) -> ExecCredentialConfig? {
        guard let pairs = mapping(node, field: field) else { return nil }
        var config = ExecCredentialConfig(command: "", apiVersion: "")
        var apiVersionGiven = false
        for (key, keyNode, value) in pairs {
            let path = "\(field).\(key)"
            switch key {
            case "command": config.command = string(value, field: path) ?? ""
            case "args": config.args = (sequence(value, field: path) ?? []).enumerated().compactMap { string($1, field: "\(path)[\($0)]") }
            case "env":
                if isNull(value) { continue }
                if case .mapping = value {
                    config.env = stringMap(value, field: path).sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) }
                } else {
                    for (i, item) in (sequence(value, field: path) ?? []).enumerated() {
                        let entry = mapping(item, field: "\(path)[\(i)]") ?? []
                        let name = entry.first { $0.key == "name" }.flatMap { string($0.value, field: "\(path)[\(i)].name") } ?? ""
                        let text = entry.first { $0.key == "value" }.flatMap { string($0.value, field: "\(path)[\(i)].value") } ?? ""
                        config.env.append(.init(name: name, value: text))
                    }
                }
            case "apiVersion":
                config.apiVersion = string(value, field: path) ?? ""
                apiVersionGiven = true
            case "installHint": config.installHint = string(value, field: path)
            case "provideClusterInfo": config.provideClusterInfo = bool(value, field: path) ?? false
            case "interactiveMode":
                guard let text = string(value, field: path) else { continue }
                guard let mode = ExecCredentialConfig.InteractiveMode(rawValue: text) else {
                    report(path, "'\(text)' is not Never, IfAvailable or Always", at: value)
                    continue
                }
                config.interactiveMode = mode
            default:
                report(path, "unknown credential plugin field '\(key)' (expected command, args, env, apiVersion, installHint, provideClusterInfo, interactiveMode)", at: keyNode)
            }
        }
        if !apiVersionGiven { report("\(field).apiVersion", "required field is missing (\(ExecCredentialConfig.apiVersions.joined(separator: " or ")))", at: node) }
        return config
    }
}

enum ArgoExecProvider {
    /// Argo CD's `execProviderConfig` (JSON in a cluster Secret's `config`): `command`, `args`, `env` (a map),
    /// `apiVersion`, `installHint`. Argo CD never lets a plugin prompt.
    static func read(_ object: Any, field: String) -> (ExecCredentialConfig?, [FieldProblem]) {
        guard let object = object as? [String: Any] else { return (nil, [FieldProblem(field: field, message: "is not a JSON object")]) }
        var problems: [FieldProblem] = []
        var config = ExecCredentialConfig(command: object["command"] as? String ?? "", apiVersion: object["apiVersion"] as? String ?? "",
                                          interactiveMode: .never)
        if object["apiVersion"] == nil {
            problems.append(.init(field: "\(field).apiVersion", message: "required field is missing (\(ExecCredentialConfig.apiVersions.joined(separator: " or ")))"))
        }
        if let args = object["args"] {
            guard let list = args as? [Any], list.allSatisfy({ $0 is String }) else {
                return (nil, problems + [FieldProblem(field: "\(field).args", message: "must be a list of strings")])
            }
            config.args = list.compactMap { $0 as? String }
        }
        if let env = object["env"], !(env is NSNull) {
            guard let map = env as? [String: Any], map.values.allSatisfy({ $0 is String }) else {
                return (nil, problems + [FieldProblem(field: "\(field).env", message: "must be a map of names to strings")])
            }
            config.env = map.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value as? String ?? "") }
        }
        config.installHint = object["installHint"] as? String
        for key in object.keys.sorted() where !["command", "args", "env", "apiVersion", "installHint"].contains(key) {
            problems.append(.init(field: "\(field).\(key)", message: "unknown execProviderConfig field '\(key)' (expected command, args, env, apiVersion, installHint)"))
        }
        return (config, problems)
    }
}
