import FleetModel

/// `merge`: the first child is the base; later children override base sets that share the values of every
/// `mergeKeys` key. Only base sets are output, in the base's order. Fasttemplate overrides key by key;
/// Go templates deep-merge with override.
public struct MergeGenerator: Generator {
    public static let name = "merge"
    public init() {}

    public func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        let children = spec["generators"]?.arrayValue ?? []
        if children.count < 2 { throw GenerationError(.invalidSpec, field: "\(field).generators", "found less than two generators, Merge requires two or more") }
        let mergeKeys = spec["mergeKeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if mergeKeys.isEmpty { throw GenerationError(.invalidSpec, field: "\(field).mergeKeys", "no merge keys were specified") }
        var base = try GeneratorRegistry.run(entry: children[0], field: "\(field).generators[0]", depth: depth + 1, context: context)
        // The base's sets must be unique by the merge keys too, as in Argo CD.
        var baseKeys = Set<String>()
        for set in base where !baseKeys.insert(mergeKey(set.params, mergeKeys)).inserted {
            throw GenerationError(.invalidSpec, field: "\(field).generators[0]", "the parameters from a generator were not unique by the given mergeKeys, Merge requires all param sets to be unique. Duplicate key was \(mergeKey(set.params, mergeKeys))")
        }
        for (i, child) in children.enumerated().dropFirst() {
            let childField = "\(field).generators[\(i)]"
            let sets = try GeneratorRegistry.run(entry: child, field: childField, depth: depth + 1, context: context)
            var byKey: [String: Params] = [:]
            for set in sets {
                let key = mergeKey(set.params, mergeKeys)
                if byKey[key] != nil {
                    throw GenerationError(.invalidSpec, field: childField, "the parameters from a generator were not unique by the given mergeKeys, Merge requires all param sets to be unique. Duplicate key was \(key)")
                }
                byKey[key] = set.params
            }
            for j in base.indices {
                guard let override = byKey[mergeKey(base[j].params, mergeKeys)] else { continue }
                for (k, v) in override {
                    base[j].params[k] = context.goTemplate ? (base[j].params[k] ?? .null).deepMerged(with: v, conflict: .override) : v
                }
            }
        }
        return base
    }

    /// JSON of `{key: value}` over the merge keys, missing keys as null (so sets missing a key match each other).
    func mergeKey(_ params: Params, _ keys: [String]) -> String {
        JSONValue.object(keys.map { ($0, params[$0] ?? .null) }).serialized(pretty: false)
    }
}
