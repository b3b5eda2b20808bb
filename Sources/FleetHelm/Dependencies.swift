import FleetModel

/// Helm's dependency processing: aliases, `condition` and `tags` (disabled subcharts are removed), missing
/// dependencies, and `import-values` (`pkg/chartutil/dependencies.go`).
enum Dependencies {
    /// `processDependencyEnabled`: aliases applied, disabled subcharts removed, recursively.
    static func processEnabled(_ chart: inout Chart, values v: [String: HelmValue], path: String) throws {
        guard !chart.metadata.dependencies.isEmpty else { return }
        var kept: [Chart] = []
        for existing in chart.dependencies
        where !chart.metadata.dependencies.contains(where: { $0.name == existing.name && compatible($0.version, existing.metadata.version) }) {
            kept.append(existing)
        }
        for i in chart.metadata.dependencies.indices {
            let req = chart.metadata.dependencies[i]
            if var found = chart.dependencies.first(where: { $0.name == req.name && compatible(req.version, $0.metadata.version) }) {
                if !req.alias.isEmpty { found.metadata.name = req.alias }
                kept.append(found)
            } else if !chart.dependencies.contains(where: { $0.name == req.name }) {
                throw HelmError(.missingDependency, "found in Chart.yaml, but missing in charts/ directory: \(req.name)")
            } else if let other = chart.dependencies.first(where: { $0.name == req.name }) {
                throw HelmError(.missingDependency, "dependency \(req.name) \(req.version) of chart \(chart.name) is not in charts/ (found version \(other.metadata.version))")
            }
            if !req.alias.isEmpty { chart.metadata.dependencies[i].name = req.alias }
        }
        chart.dependencies = kept
        let cvals = Coalesce.values(chart, user: v)
        var enabled = [Bool](repeating: true, count: chart.metadata.dependencies.count)
        // tags
        if case .map(let tags)? = cvals["tags"] {
            for (i, req) in chart.metadata.dependencies.enumerated() {
                var hasTrue = false, hasFalse = false
                for tag in req.tags {
                    if case .bool(let b)? = tags[tag] { if b { hasTrue = true } else { hasFalse = true } }
                }
                enabled[i] = !( !hasTrue && hasFalse)
            }
        }
        // conditions: the first path holding a bool decides
        for (i, req) in chart.metadata.dependencies.enumerated() {
            for condition in req.condition.trimmingCharacters(in: .whitespaces).split(separator: ",") where !condition.isEmpty {
                let full = (path + condition).split(separator: ".").map(String.init)
                if case .bool(let b)? = HelmValue.map(cvals).value(at: full) {
                    enabled[i] = b
                    break
                }
            }
        }
        let removed = Set(chart.metadata.dependencies.enumerated().filter { !enabled[$0.offset] }.map(\.element.name))
        chart.dependencies.removeAll { removed.contains($0.name) }
        chart.metadata.dependencies.removeAll { removed.contains($0.name) }
        for i in chart.dependencies.indices {
            try processEnabled(&chart.dependencies[i], values: cvals, path: path + chart.dependencies[i].name + ".")
        }
    }

    /// `processDependencyImportValues`: children first, then each chart imports its children's values
    /// under its own (the parent's own values win).
    static func importValues(_ chart: inout Chart) {
        for i in chart.dependencies.indices { importValues(&chart.dependencies[i]) }
        guard !chart.metadata.dependencies.isEmpty else { return }
        let cvals = Coalesce.values(chart, user: [:])
        let root = HelmValue.map(cvals)
        var imported: [String: HelmValue] = [:]
        for req in chart.metadata.dependencies {
            for iv in req.importValues {
                switch iv {
                case .pair(let child, let parent):
                    guard case .map(let table)? = root.value(at: (req.name + "." + child).split(separator: ".").map(String.init)) else { continue }
                    imported = Coalesce.tables(imported, Coalesce.pathToMap(parent, table))
                case .exported(let name):
                    guard case .map(let table)? = root.value(at: [req.name, "exports"] + name.split(separator: ".").map(String.init)) else { continue }
                    imported = Coalesce.tables(imported, table)
                }
            }
        }
        chart.values = Coalesce.tables(Coalesce.trimNulls(cvals), imported)
    }

    /// helm's `IsCompatibleRange`: false when either side does not parse.
    static func compatible(_ constraint: String, _ version: String) -> Bool {
        guard let v = SemanticVersion(version), let c = try? SemverConstraints(constraint) else { return false }
        return c.isSatisfied(by: v)
    }
}
