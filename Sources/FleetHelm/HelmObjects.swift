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
