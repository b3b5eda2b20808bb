import FleetModel

/// One kind of generator. It turns its spec (the value under its key, e.g. `list:`) into parameter sets.
///
/// Generators receive a ``GeneratorContext`` value, never a client: clusters and git come through ports,
/// so every generator is tested without I/O.
public protocol Generator: Sendable {
    /// The key under which the generator appears in `spec.generators[]`, e.g. `list`.
    static var name: String { get }

    /// - Parameters:
    ///   - spec: the generator's own spec.
    ///   - field: its field path, e.g. `spec.generators[1].matrix.generators[0].git`, for messages.
    ///   - depth: nesting depth (0 at top level); matrix and merge nest one level at most.
    func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet]
}

/// All generators, by name, in the tiers Argo CD uses: matrix and merge may contain terminal generators
/// and, one level down, each other.
public enum GeneratorRegistry {
    public static let terminal: [any Generator] = [ListGenerator(), ClusterGenerator(), GitGenerator()]
    public static let combining: [any Generator] = [MatrixGenerator(), MergeGenerator()]

    static let byName: [String: any Generator] = {
        var map: [String: any Generator] = [:]
        for g in terminal + combining { map[type(of: g).name] = g }
        return map
    }()

    /// Names Argo CD supports that Flotilla does not (yet), so the error can say so rather than "unknown".
    static let unsupported = ["scmProvider", "pullRequest", "clusterDecisionResource", "plugin"]

    /// Runs the one generator in a `spec.generators[]` entry and applies its post-selector.
    static func run(entry: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        guard let pairs = entry.objectValue else {
            throw GenerationError(.invalidSpec, field: field, "a generator entry must be a mapping")
        }
        let kinds = pairs.map(\.0).filter { $0 != "selector" }
        guard kinds.count == 1, let kind = kinds.first else {
            throw GenerationError(.invalidSpec, field: field, kinds.isEmpty
                ? "no generator found (expected one of: \(byName.keys.sorted().joined(separator: ", ")))"
                : "one generator per entry, found \(kinds.joined(separator: " and "))")
        }
        guard let generator = byName[kind] else {
            if unsupported.contains(kind) {
                throw GenerationError(.invalidSpec, field: "\(field).\(kind)", "the \(kind) generator is not supported by Flotilla yet")
            }
            throw GenerationError(.invalidSpec, field: "\(field).\(kind)", "unknown generator '\(kind)' (expected one of: \(byName.keys.sorted().joined(separator: ", ")))")
        }
        if depth >= 2, type(of: generator) is MatrixGenerator.Type || type(of: generator) is MergeGenerator.Type {
            throw GenerationError(.invalidSpec, field: "\(field).\(kind)", "matrix and merge generators can be nested only one level deep")
        }
        var sets = try generator.generate(entry[kind]!, field: "\(field).\(kind)", depth: depth, context: context)
        try context.checkCount(sets.count, field: "\(field).\(kind)")
        if let selectorSpec = entry["selector"] {
            let selector = try labelSelector(selectorSpec, field: "\(field).selector")
            sets = sets.filter { selector.matches(ParamFlattening.labels($0.params)) }
        }
        return sets
    }

    /// `matchLabels` / `matchExpressions` into a selector. Post-selector values are not validated as labels.
    static func labelSelector(_ spec: JSONValue, field: String, validateValues: Bool = false) throws -> LabelSelector {
        var matchLabels: [String: String] = [:]
        for (k, v) in spec["matchLabels"]?.objectValue ?? [] {
            matchLabels[k] = v.stringValue ?? ParamFlattening.scalarString(v)
        }
        var expressions: [LabelSelector.Expression] = []
        for (i, e) in (spec["matchExpressions"]?.arrayValue ?? []).enumerated() {
            guard let key = e["key"]?.stringValue, let op = e["operator"]?.stringValue else {
                throw GenerationError(.invalidSpec, field: "\(field).matchExpressions[\(i)]", "needs key and operator")
            }
            expressions.append(.init(key: key, operator: op, values: e["values"]?.arrayValue?.map { $0.stringValue ?? ParamFlattening.scalarString($0) } ?? []))
        }
        if !validateValues {
            // Post-selectors match flattened params such as URLs: build the requirements without label checks.
            var requirements = matchLabels.keys.sorted().map { LabelSelector.Requirement(key: $0, op: .equals, values: [matchLabels[$0]!]) }
            for (i, e) in expressions.enumerated() {
                let op: LabelSelector.Operator
                switch e.operator {
                case "In": op = .in
                case "NotIn": op = .notIn
                case "Exists": op = .exists
                case "DoesNotExist": op = .doesNotExist
                default: throw GenerationError(.invalidSpec, field: "\(field).matchExpressions[\(i)].operator", "'\(e.operator)' is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)")
                }
                requirements.append(.init(key: e.key, op: op, values: e.values))
            }
            return LabelSelector(requirements: requirements)
        }
        do {
            return try LabelSelector(matchLabels: matchLabels, matchExpressions: expressions, field: field)
        } catch let error as InputError {
            throw GenerationError(.invalidSpec, field: "", error.problems.map(\.description).joined(separator: "; "))
        }
    }

    /// `values:` of cluster and git generators, each rendered against the item's params (not against other values).
    static func renderValues(_ spec: JSONValue, params: Params, field: String, context: GeneratorContext) throws -> [(String, String)] {
        guard let values = spec["values"] else { return [] }
        guard let pairs = values.objectValue else { throw GenerationError(.invalidSpec, field: "\(field).values", "must be a mapping of strings") }
        return try pairs.map { key, value in
            guard let text = value.stringValue else {
                throw GenerationError(.invalidSpec, field: "\(field).values.\(key)", "must be a string")
            }
            return (key, try context.render(text, params: params, field: "\(field).values.\(key)"))
        }
    }

    /// Adds rendered values to params: `values.k` (fasttemplate) or `.values.k` (Go template).
    static func addValues(_ values: [(String, String)], to params: inout Params, goTemplate: Bool) {
        guard !values.isEmpty else { return }
        if goTemplate {
            params["values"] = .object(values.map { ($0.0, .string($0.1)) })
        } else {
            for (k, v) in values { params["values.\(k)"] = .string(v) }
        }
    }
}
