import FleetConfig
import FleetModel
import FleetTemplate
import Foundation

/// A dependency as `Chart.yaml` (v2) or `requirements.yaml` (v1) declares it.
public struct ChartDependency: Sendable, Equatable {
    public var name: String
    public var version: String
    public var repository: String
    public var condition: String
    public var tags: [String]
    public var alias: String
    /// `import-values`: either `{child, parent}` pairs or a bare name (`exports.NAME` into the parent's root).
    public var importValues: [ImportValue]

    public enum ImportValue: Sendable, Equatable {
        case pair(child: String, parent: String)
        case exported(String)
    }
}

/// `Chart.yaml`, as helm reads it.
public struct ChartMetadata: Sendable, Equatable {
    public var apiVersion: String
    public var name: String
    public var version: String
    public var appVersion: String
    public var description: String
    public var kubeVersion: String
    public var type: String
    public var home: String
    public var icon: String
    public var keywords: [String]
    public var sources: [String]
    public var deprecated: Bool
    public var annotations: [String: String]
    public var maintainers: [JSONValue]
    public var dependencies: [ChartDependency]
    /// The whole file, for `.Chart` fields Flotilla does not model.
    public var raw: JSONValue

    public var isLibrary: Bool { type == "library" }
}

/// A loaded chart: metadata, default values, schema, templates, other files and subcharts.
public struct Chart: Sendable {
    public var metadata: ChartMetadata
    public var values: [String: HelmValue]
    public var schema: JSONValue?
    /// Templates by path inside the chart (`templates/deployment.yaml`), in path order.
    public var templates: [(path: String, text: String)]
    /// Every other file (for `.Files`), `crds/` included, after `.helmignore`.
    public var files: [String: [UInt8]]
    /// Subcharts from `charts/`, before dependency processing.
    public var dependencies: [Chart]
    /// Parsed template sets of this chart, by the templates they hold (a chart renders many times).
    let parsed = ParsedTemplates()

    public var name: String { metadata.name }

    /// `crds/*.yaml|yml|json`, in path order.
    public var crds: [(path: String, text: String)] {
        files.keys.filter { $0.hasPrefix("crds/") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json")) }
            .sorted().map { ($0, String(decoding: files[$0]!, as: UTF8.self)) }
    }
}

/// Reads charts from their files (a directory's or an archive's), as helm's loader does.
public enum ChartLoader {
    /// Loads a chart from its files, paths relative to the chart root. `origin` names it in errors.
    public static func load(files input: [String: [UInt8]], origin: String) throws -> Chart {
        let ignore = HelmIgnore(input[".helmignore"].map { String(decoding: $0, as: UTF8.self) } ?? "")
        var files: [String: [UInt8]] = [:]
        for (path, data) in input where !ignore.ignores(path) { files[path] = data }

        guard let chartYAML = files.removeValue(forKey: "Chart.yaml") else {
            throw HelmError(.badChart, "\(origin): Chart.yaml file is missing")
        }
        var metadata = try parseMetadata(String(decoding: chartYAML, as: UTF8.self), origin: origin)
        var values: [String: HelmValue] = [:]
        if let v = files.removeValue(forKey: "values.yaml") {
            guard case .map(let m) = try HelmValue.parseFile(String(decoding: v, as: UTF8.self), file: "\(origin)/values.yaml") else { throw HelmError(.badValues, "\(origin)/values.yaml: not a map") }
            values = m
        }
        var schema: JSONValue?
        if let s = files.removeValue(forKey: "values.schema.json") {
            do { schema = try YAMLValue.parse(String(decoding: s, as: UTF8.self), file: "\(origin)/values.schema.json") } catch {
                throw HelmError(.badChart, "\(origin)/values.schema.json: \(error)")
            }
        }
        // helm 3 reads requirements.yaml for any apiVersion (v2 charts get a warning), over Chart.yaml's list.
        if let req = files.removeValue(forKey: "requirements.yaml") {
            let doc: JSONValue
            do { doc = try YAMLValue.parse(String(decoding: req, as: UTF8.self), file: "\(origin)/requirements.yaml") } catch {
                throw HelmError(.badChart, "\(origin)/requirements.yaml: \(error)")
            }
            if doc["dependencies"] != nil {
                metadata.dependencies = try parseDependencies(doc["dependencies"], origin: "\(origin)/requirements.yaml")
            }
        }
        files.removeValue(forKey: "Chart.lock")
        files.removeValue(forKey: "requirements.lock")

        var templates: [(String, String)] = []
        var subchartDirs: [String: [String: [UInt8]]] = [:]
        var archives: [(String, [UInt8])] = []
        for path in files.keys.sorted() {
            if path.hasPrefix("templates/") {
                let base = path.split(separator: "/").last.map(String.init) ?? ""
                if base.hasPrefix(".") { files.removeValue(forKey: path); continue }
                templates.append((path, String(decoding: files.removeValue(forKey: path)!, as: UTF8.self)))
            } else if path.hasPrefix("charts/") {
                let rest = path.dropFirst("charts/".count)
                let data = files.removeValue(forKey: path)!
                if let slash = rest.firstIndex(of: "/") {
                    subchartDirs[String(rest[..<slash]), default: [:]][String(rest[rest.index(after: slash)...])] = data
                } else if rest.hasSuffix(".tgz") || rest.hasSuffix(".tar.gz") {
                    archives.append((path, data))
                }
            }
        }
        var subcharts: [Chart] = []
        for dir in subchartDirs.keys.sorted() {
            subcharts.append(try load(files: subchartDirs[dir]!, origin: "\(origin)/charts/\(dir)"))
        }
        for (path, data) in archives {
            subcharts.append(try load(tgz: data, origin: "\(origin)/\(path)"))
        }
        return Chart(metadata: metadata, values: values, schema: schema, templates: templates, files: files, dependencies: subcharts)
    }

    /// Loads a chart archive (`helm package` output): one top directory holding the chart.
    public static func load(tgz data: [UInt8], origin: String) throws -> Chart {
        let entries = try ChartArchive.files(tgz: data, name: origin)
        var byTop: [String: [String: [UInt8]]] = [:]
        for (path, bytes) in entries {
            guard let slash = path.firstIndex(of: "/") else { continue }
            byTop[String(path[..<slash]), default: [:]][String(path[path.index(after: slash)...])] = bytes
        }
        guard let top = byTop.keys.sorted().first(where: { byTop[$0]!["Chart.yaml"] != nil }) ?? byTop.keys.sorted().first else {
            throw HelmError(.badArchive, "\(origin): no files in archive")
        }
        return try load(files: byTop[top]!, origin: origin)
    }

    static func parseMetadata(_ text: String, origin: String) throws -> ChartMetadata {
        let doc: JSONValue
        do { doc = try YAMLValue.parse(text, file: "\(origin)/Chart.yaml") } catch {
            throw HelmError(.badChart, "\(origin)/Chart.yaml: \(error)")
        }
        func string(_ key: String) -> String {
            switch doc[key] {
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case .double(let d)?: return GoNumber.format(d)
            case .bool(let b)?: return String(b)
            default: return ""
            }
        }
        var annotations: [String: String] = [:]
        for (k, v) in doc["annotations"]?.objectValue ?? [] { annotations[k] = v.stringValue ?? "" }
        let metadata = ChartMetadata(
            apiVersion: string("apiVersion"), name: string("name"), version: string("version"), appVersion: string("appVersion"),
            description: string("description"), kubeVersion: string("kubeVersion"), type: string("type"), home: string("home"),
            icon: string("icon"), keywords: doc["keywords"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            sources: doc["sources"]?.arrayValue?.compactMap(\.stringValue) ?? [], deprecated: doc["deprecated"]?.boolValue ?? false,
            annotations: annotations, maintainers: doc["maintainers"]?.arrayValue ?? [],
            dependencies: try parseDependencies(doc["dependencies"], origin: "\(origin)/Chart.yaml"), raw: doc)
        try validate(metadata)
        return metadata
    }

    /// helm's `Metadata.Validate`, with its messages.
    static func validate(_ m: ChartMetadata) throws {
        func fail(_ message: String) -> HelmError { HelmError(.badChart, "validation: \(message)") }
        if m.apiVersion.isEmpty { throw fail("chart.metadata.apiVersion is required") }
        // Helm 4's experimental chart API (HELM_EXPERIMENTAL_CHART_V3) is not rendered as a v2 chart: refused by name.
        if m.apiVersion == "v3" {
            throw HelmError(.badChart, "chart \(m.name): apiVersion v3 (Helm 4's experimental chart API) is not supported; charts of apiVersion v1 and v2 are")
        }
        if m.name.isEmpty { throw fail("chart.metadata.name is required") }
        if m.name.contains("/") || m.name.contains("\\") || m.name == "." || m.name == ".." {
            throw fail("chart.metadata.name \"\(m.name)\" is invalid")
        }
        if m.version.isEmpty { throw fail("chart.metadata.version is required") }
        if SemanticVersion(m.version) == nil { throw fail("chart.metadata.version \"\(m.version)\" is invalid") }
        if !m.type.isEmpty && m.type != "application" && m.type != "library" {
            throw fail("chart.metadata.type must be application or library")
        }
        for d in m.dependencies where !d.alias.isEmpty {
            let ok = d.alias.range(of: "^[a-zA-Z0-9_-]+$", options: .regularExpression) != nil
            if !ok { throw fail("dependency \"\(d.name)\" has disallowed characters in the alias") }
        }
    }

    static func parseDependencies(_ value: JSONValue?, origin: String) throws -> [ChartDependency] {
        guard let list = value?.arrayValue else { return [] }
        return try list.enumerated().map { index, item in
            guard item.objectValue != nil else { throw HelmError(.badChart, "\(origin): dependencies[\(index)] is not a map") }
            var imports: [ChartDependency.ImportValue] = []
            for iv in item["import-values"]?.arrayValue ?? [] {
                if let s = iv.stringValue {
                    imports.append(.exported(s))
                } else if let child = iv["child"]?.stringValue, let parent = iv["parent"]?.stringValue {
                    imports.append(.pair(child: child, parent: parent))
                } else {
                    throw HelmError(.badChart, "\(origin): dependencies[\(index)].import-values: expected a name or {child, parent}")
                }
            }
            let version: String
            switch item["version"] {
            case .string(let s)?: version = s
            case .int(let i)?: version = String(i)
            case .double(let d)?: version = GoNumber.format(d)
            default: version = ""
            }
            return ChartDependency(
                name: item["name"]?.stringValue ?? "", version: version, repository: item["repository"]?.stringValue ?? "",
                condition: item["condition"]?.stringValue ?? "", tags: item["tags"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                alias: item["alias"]?.stringValue ?? "", importValues: imports)
        }
    }
}

enum GoNumber {
    /// A float as Go's encoders write it (`1.1`, `2`): one rule for the whole project.
    static func format(_ d: Double) -> String { YAMLOutput.goFloat(d) }
}

/// `.helmignore`: gitignore-like rules as helm's `ignore` package reads them (basename or path globs,
/// `dir/` for directories, `!` negation, `#` comments), plus helm's default `templates/.?*`.
struct HelmIgnore {
    struct Rule { let pattern: String; let negate: Bool; let dirOnly: Bool }
    let rules: [Rule]

    init(_ text: String) {
        var rules: [Rule] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let negate = line.hasPrefix("!")
            if negate { line.removeFirst() }
            let dirOnly = line.hasSuffix("/")
            if dirOnly { line.removeLast() }
            if line.hasPrefix("/") { line.removeFirst() }
            if line.isEmpty { continue }
            rules.append(Rule(pattern: line, negate: negate, dirOnly: dirOnly))
        }
        self.rules = rules
    }

    /// Whether `path` (relative to the chart root) or any directory above it is ignored.
    func ignores(_ path: String) -> Bool {
        if path == "Chart.yaml" { return false }
        let parts = path.split(separator: "/").map(String.init)
        for i in 0..<parts.count {
            let sub = parts[0...i].joined(separator: "/")
            if matches(sub, base: parts[i], isDir: i < parts.count - 1) { return true }
        }
        return false
    }

    private func matches(_ path: String, base: String, isDir: Bool) -> Bool {
        var ignored = false
        for rule in rules {
            if rule.dirOnly && !isDir { continue }
            let hit = rule.pattern.contains("/") ? Glob.pathMatch(rule.pattern, path) : Glob.pathMatch(rule.pattern, base)
            if hit { ignored = !rule.negate }
        }
        return ignored
    }
}

/// A chart's parsed template sets, shared by its copies: which set depends on which subcharts are enabled.
final class ParsedTemplates: @unchecked Sendable {
    private let lock = NSLock()
    private var sets: [String: GoTemplateSet] = [:]

    func set(key: String, make: () throws -> GoTemplateSet) throws -> GoTemplateSet {
        if let hit = lock.withLock({ sets[key] }) { return hit }
        let made = try make()
        lock.withLock {
            if sets.count > 16 { sets.removeAll() }
            sets[key] = made
        }
        return made
    }
}
