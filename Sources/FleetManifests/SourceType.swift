import FleetModel

/// What kind of Application source a spec names, as Argo CD decides it (explicit options first, then the files
/// at the path), and whether Flotilla renders it. A source it cannot render is an error naming the source and
/// the reason, never an empty success.
public enum SourceType: String, Sendable, Equatable {
    /// Plain YAML/JSON manifests (Argo CD's "Directory").
    case directory = "Directory"
    case kustomize = "Kustomize"
    case helm = "Helm"
    case jsonnet = "Jsonnet"
    /// A config management plugin (`source.plugin`).
    case plugin = "Plugin"
    /// A multi-source `ref:` entry that only lends its files (`$values/…`) to another source.
    case reference = "Reference"

    /// The type from the source's explicit fields; nil when the files at the path decide.
    public static func declared(_ source: JSONValue) -> SourceType? {
        if source["plugin"] != nil { return .plugin }
        if source["chart"] != nil || source["helm"] != nil { return .helm }
        if source["kustomize"] != nil { return .kustomize }
        if source.value(at: ["directory", "jsonnet"]) != nil { return .jsonnet }
        if source["path"] == nil, source["ref"] != nil { return .reference }
        return nil
    }

    /// The type from the files of the directory (`files`: paths relative to it, recursively).
    public static func detected(files: [String]) -> SourceType {
        let top = files.filter { !$0.contains("/") }
        if top.contains(where: { ["kustomization.yaml", "kustomization.yml", "Kustomization"].contains($0) }) { return .kustomize }
        if top.contains("Chart.yaml") { return .helm }
        if files.contains(where: { $0.hasSuffix(".jsonnet") || $0.hasSuffix(".libsonnet") }),
           !files.contains(where: { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }) {
            return .jsonnet
        }
        return .directory
    }

    /// Options of a source that Flotilla would not apply (`source.kustomize.version`, `directory.include`…),
    /// as field paths; empty when every option set is applied.
    public static func unappliedOptions(_ source: JSONValue) -> [String] {
        var out: [String] = []
        for (key, value) in source["kustomize"]?.objectValue ?? [] where !value.isEmptyValue && !KustomizeOverrides.supported.contains(key) {
            out.append("kustomize.\(key)")
        }
        for (key, value) in source["helm"]?.objectValue ?? [] where !value.isEmptyValue && !HelmSourceOptions.supported.contains(key) {
            out.append("helm.\(key)")
        }
        for (key, value) in source["directory"]?.objectValue ?? [] where !value.isEmptyValue && key != "jsonnet" {
            if ["recurse", "include", "exclude"].contains(key) { continue }  // applied
            out.append("directory.\(key)")
        }
        return out
    }

    /// Why Flotilla cannot render this type yet, or nil when it can.
    public var unsupportedReason: String? {
        switch self {
        case .directory, .kustomize, .reference, .jsonnet, .helm: return nil
        case .plugin: return "config management plugins are not supported by Flotilla"
        }
    }
}
