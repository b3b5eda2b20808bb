import FleetDiff
import FleetModel
import Foundation

/// Argo CD's Lua health checks by kind: scripts from directories in Argo CD's `resource_customizations` layout
/// (`GROUP/KIND/health.lua`, `_` in a group or kind matching any text, so `_.crossplane.io/_` covers every kind of
/// every group ending in `.crossplane.io`) and scripts given inline by `GROUP/KIND` (which win over directories).
/// An exact match wins over a wildcard. A script that fails or returns no known status is `Unknown` with the reason,
/// never a crash and never Healthy.
public struct LuaHealthChecks: HealthCheck {
    /// `GROUP/KIND` (the core group empty) → the script's source and where it came from.
    public let exact: [String: (source: String, origin: String)]
    /// Wildcard patterns (`_` for any text) and their scripts, most specific (most literal text) first.
    public let wildcards: [(group: String, kind: String, source: String, origin: String)]
    public let limits: LuaLimits

    public init(inline: [String: String] = [:], directories: [String] = [], limits: LuaLimits = LuaLimits()) throws {
        var exact: [String: (String, String)] = [:]
        var wildcards: [(String, String, String, String)] = []
        let fm = FileManager.default
        for directory in directories {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
                throw LuaError(.runtime, "resource customizations: \(directory) is not a directory")
            }
            for group in try fm.contentsOfDirectory(atPath: directory).sorted() where !group.hasPrefix(".") {
                let groupPath = directory + "/" + group
                guard let kinds = try? fm.contentsOfDirectory(atPath: groupPath) else { continue }   // a file, not a group
                for kind in kinds.sorted() {
                    let script = groupPath + "/" + kind + "/health.lua"
                    guard let data = fm.contents(atPath: script) else { continue }
                    let source = String(decoding: data, as: UTF8.self)
                    if group.contains("_") || kind.contains("_") {
                        wildcards.append((group, kind, source, script))
                    } else {
                        exact[group + "/" + kind] = (source, script)
                    }
                }
            }
        }
        for (key, source) in inline {
            guard key.contains("/") else { throw LuaError(.runtime, "resource customizations: health key '\(key)' is not GROUP/KIND") }
            exact[key] = (source, "resourceCustomizations.health[\(key)]")
        }
        self.exact = exact
        // The most specific first: more literal text, then fewer wildcards.
        func literal(_ w: (String, String, String, String)) -> Int { (w.0 + w.1).filter { $0 != "_" }.count }
        func stars(_ w: (String, String, String, String)) -> Int { (w.0 + w.1).filter { $0 == "_" }.count }
        self.wildcards = wildcards.sorted { literal($0) != literal($1) ? literal($0) > literal($1) : stars($0) < stars($1) }
            .map { (group: $0.0, kind: $0.1, source: $0.2, origin: $0.3) }
        self.limits = limits
    }

    public var isEmpty: Bool { exact.isEmpty && wildcards.isEmpty }

    /// The script for a group and kind, if any.
    public func script(group: String, kind: String) -> (source: String, origin: String)? {
        if let hit = exact[group + "/" + kind] { return hit }
        return wildcards.first { Self.matches($0.group, group) && Self.matches($0.kind, kind) }.map { ($0.source, $0.origin) }
    }

    public func health(of object: JSONValue) -> Health? {
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/").first ?? "") : ""
        guard let kind = object["kind"]?.stringValue, let (source, origin) = script(group: group, kind: kind) else { return nil }
        let name = URL(fileURLWithPath: origin).lastPathComponent
        let result: JSONValue?
        do {
            result = try LuaScript.run(source, chunkName: name, globals: [("obj", object)], limits: limits)
        } catch {
            return Health(.unknown, "health check \(origin): \(error)")
        }
        guard let result, let text = result["status"]?.stringValue, let status = HealthStatus(rawValue: text) else {
            return Health(.unknown, "health check \(origin) returned no known status")
        }
        return Health(status, result["message"]?.stringValue ?? "")
    }

    /// `_` in a pattern matches any text (Argo CD turns it into a glob `*`).
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let parts = pattern.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        guard text.hasPrefix(parts[0]), text.dropFirst(parts[0].count).hasSuffix(parts.last!) else { return false }
        var rest = Substring(text.dropFirst(parts[0].count))
        rest = rest.dropLast(parts.last!.count)
        for middle in parts.dropFirst().dropLast() {
            guard let range = rest.range(of: middle) else { return false }
            rest = rest[range.upperBound...]
        }
        return text.count >= parts[0].count + parts.last!.count
    }
}
