import FleetConfig
import FleetModel
import FleetTemplate
import Foundation

/// `.Capabilities.KubeVersion`: prints as `v1.20.0`, with `Major`, `Minor`, `Version`, `GitVersion`.
struct KubeVersionObject: TemplateObject {
    let version: SemanticVersion
    var typeName: String { "chartutil.KubeVersion" }
    var kind: String { "struct" }
    var text: String { "v\(version.major).\(version.minor).\(version.patch)" }
    var description: String { text }
    var json: JSONValue { .object([("Version", .string(text)), ("Major", .string(String(version.major))), ("Minor", .string(String(version.minor)))]) }
    func field(_ name: String) -> TemplateValue? {
        switch name {
        case "Version", "GitVersion", "String": return .string(text)
        case "Major": return .string(String(version.major))
        case "Minor": return .string(String(version.minor))
        default: return nil
        }
    }
}

/// `.Capabilities.APIVersions`: a list of `group/version` (and `group/version/Kind`) with `Has`.
struct APIVersionsObject: TemplateObject {
    let versions: [String]
    var typeName: String { "chartutil.VersionSet" }
    var kind: String { "slice" }
    var description: String { "[" + versions.joined(separator: " ") + "]" }
    var json: JSONValue { .array(versions.map { .string($0) }) }
    func field(_ name: String) -> TemplateValue? { nil }
    func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue? {
        guard name == "Has" else { return nil }
        guard args.count == 1, case .string(let v) = args[0] else { throw TemplateError(.execution, "wrong number of args for Has: want 1 got \(args.count)") }
        return .bool(versions.contains(v))
    }
}

/// `.Capabilities`.
struct CapabilitiesObject: TemplateObject {
    let kube: KubeVersionObject
    let apis: APIVersionsObject
    var typeName: String { "*chartutil.Capabilities" }
    var kind: String { "ptr" }
    var description: String { "&{\(kube.text) \(apis.description)}" }
    var json: JSONValue { .object([("KubeVersion", kube.json), ("APIVersions", apis.json)]) }
    func field(_ name: String) -> TemplateValue? {
        switch name {
        case "KubeVersion": return .object(kube)
        case "APIVersions": return .object(apis)
        case "HelmVersion": return .map(TemplateMap(["Version": .string(HelmRenderer.helmVersion), "GitCommit": .string(""), "GitTreeState": .string(""), "GoVersion": .string("go1.24")]))
        default: return nil
        }
    }
}

/// `.Files` (and what `.Files.Glob` returns): `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`;
/// ranging over it gives path → content, as over helm's `map[string][]byte`.
struct FilesObject: TemplateObject {
    let files: [String: [UInt8]]
    var typeName: String { "files.Files" }
    var kind: String { "map" }
    var description: String { "map[" + files.keys.sorted().joined(separator: " ") + "]" }
    var json: JSONValue { .object(files.keys.sorted().map { ($0, .string(Data(files[$0]!).base64EncodedString())) }) }
    var isZero: Bool { files.isEmpty }
    func field(_ name: String) -> TemplateValue? {
        switch name {
        case "AsConfig": return .string(asConfig())
        case "AsSecrets": return .string(asSecrets())
        default: return nil
        }
    }
    func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue? {
        func arg() throws -> String {
            guard args.count == 1, case .string(let s) = args[0] else { throw TemplateError(.execution, "wrong number of args for \(name): want 1 got \(args.count)") }
            return s
        }
        switch name {
        case "Get": return .string(files[try arg()].map { String(decoding: $0, as: UTF8.self) } ?? "")
        case "GetBytes": return .string(files[try arg()].map { String(decoding: $0, as: UTF8.self) } ?? "")
        case "Glob":
            let pattern = try arg()
            return .object(FilesObject(files: files.filter { Glob.doublestarMatch(pattern, $0.key) }))
        case "Lines":
            guard let data = files[try arg()] else { return .list(TemplateList([], element: "string")) }
            var text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            return .list(TemplateList(text.split(separator: "\n", omittingEmptySubsequences: false).map { .string(String($0)) }, element: "string"))
        case "AsConfig": return .string(asConfig())
        case "AsSecrets": return .string(asSecrets())
        default: return nil
        }
    }

    /// YAML map of base name → content (helm's `AsConfig`), keys sorted.
    func asConfig() -> String {
        guard !files.isEmpty else { return "" }
        let pairs = files.keys.sorted().map { path -> (String, JSONValue) in
            (String(path.split(separator: "/").last ?? ""), .string(String(decoding: files[path]!, as: UTF8.self)))
        }
        return trimmedYAML(.object(pairs))
    }

    func asSecrets() -> String {
        guard !files.isEmpty else { return "" }
        let pairs = files.keys.sorted().map { path -> (String, JSONValue) in
            (String(path.split(separator: "/").last ?? ""), .string(Data(files[path]!).base64EncodedString()))
        }
        return trimmedYAML(.object(pairs))
    }

    func trimmedYAML(_ v: JSONValue) -> String {
        var text = YAMLOutput.render(v)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

extension FilesObject {
    var rangeEntries: [(TemplateValue, TemplateValue)]? {
        files.keys.sorted().map { (.string($0), .string(String(decoding: files[$0]!, as: UTF8.self))) }
    }
}

/// Helm's `chartutil.Values`, the type of every chart's `.Values`, with its methods (`pkg/chartutil/values.go`):
/// `AsMap`, `YAML`, `Table "a.b"` and `PathValue "a.b"`. A method comes before a key of the same name.
struct ValuesMethods: TemplateMapMethods {
    var typeName: String { "chartutil.Values" }

    func field(_ name: String, of map: TemplateMap) throws -> TemplateValue? {
        switch name {
        // The same map as a plain map[string]interface{}: no methods.
        case "AsMap": return .map(TemplateMap(map.entries))
        // sigs.k8s.io/yaml's Marshal, final newline kept (toYaml trims it; YAML() does not).
        case "YAML": return .string(YAMLOutput.render(TemplateValue.map(map).json))
        case "Table", "PathValue": throw TemplateError(.execution, "wrong number of args for \(name): want 1 got 0")
        default: return nil
        }
    }

    func call(_ name: String, _ args: [TemplateValue], of map: TemplateMap) throws -> TemplateValue? {
        switch name {
        case "AsMap", "YAML":
            throw TemplateError(.execution, "wrong number of args for \(name): want 0 got \(args.count)")
        case "Table", "PathValue":
            guard args.count == 1 else { throw TemplateError(.execution, "wrong number of args for \(name): want 1 got \(args.count)") }
            guard case .string(let path) = args[0] else {
                throw TemplateError(.execution, "wrong type for value; expected string; got \(args[0].typeName)")
            }
            return name == "Table" ? .map(try Self.table(map, path)) : try Self.pathValue(map, path)
        default:
            return nil
        }
    }

    /// `Values.Table`: the table at a dotted path (`a.b`), as Values; `"b" is not a table` otherwise.
    static func table(_ map: TemplateMap, _ path: String) throws -> TemplateMap {
        var table = map
        for key in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            guard case .map(let next)? = table[key] else { throw TemplateError(.execution, "\(goQuote(key)) is not a table") }
            table = next
        }
        let values = TemplateMap(table.entries)
        values.methods = ValuesMethods()
        return values
    }

    /// `Values.PathValue`: the value (not a table) at a dotted path; `"b" is not a value` otherwise.
    static func pathValue(_ map: TemplateMap, _ path: String) throws -> TemplateValue {
        guard !path.isEmpty else { throw TemplateError(.execution, "YAML path cannot be empty") }
        var keys = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let key = keys.removeLast()
        let table: TemplateMap
        if keys.isEmpty {
            table = map
        } else {
            do { table = try Self.table(map, keys.joined(separator: ".")) } catch { throw TemplateError(.execution, "\(goQuote(key)) is not a value") }
        }
        guard let value = table[key] else { throw TemplateError(.execution, "\(goQuote(key)) is not a value") }
        if case .map = value { throw TemplateError(.execution, "\(goQuote(key)) is not a value") }
        return value
    }

    /// Go's `%q` of a key (quotes and backslashes escaped).
    static func goQuote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
