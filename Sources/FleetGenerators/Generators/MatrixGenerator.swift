import FleetModel
import FleetTemplate

/// `matrix`: the Cartesian product of exactly two child generators. The second child's spec is rendered
/// with each parameter set of the first, so it can use the first child's params (a git path built from a
/// cluster label). Key conflicts: fasttemplate rejects a key with two different values; Go templates deep-merge
/// with the first child winning.
public struct MatrixGenerator: Generator {
    public static let name = "matrix"
    public init() {}

    public func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        let children = spec["generators"]?.arrayValue ?? []
        if children.count < 2 { throw GenerationError(.invalidSpec, field: "\(field).generators", "found less than two generators, Matrix support only two") }
        if children.count > 2 { throw GenerationError(.invalidSpec, field: "\(field).generators", "found more than two generators, Matrix support only two") }
        let first = try GeneratorRegistry.run(entry: children[0], field: "\(field).generators[0]", depth: depth + 1, context: context)
        if first.isEmpty { return [] }
        let second = children[1]
        let secondField = "\(field).generators[1]"
        // A second child without template tags does not depend on the first: generate it once.
        let independent = !second.serialized(pretty: false).contains("{{")
        let shared = independent ? try GeneratorRegistry.run(entry: second, field: secondField, depth: depth + 1, context: context) : []
        var result: [ParamSet] = []
        let (product, overflow) = first.count.multipliedReportingOverflow(by: max(1, shared.count))
        try context.checkCount(overflow ? Int.max : product, field: field)
        result.reserveCapacity(product)
        let sharedKeys = independent ? keys(of: shared) : []
        for a in first {
            let bs = independent ? shared : try GeneratorRegistry.run(
                entry: try interpolate(second, params: a.params, field: secondField, context: context),
                field: secondField, depth: depth + 1, context: context)
            try context.checkCount(result.count + bs.count, field: field)
            try context.checkpoint(field: field)
            // Only keys present on both sides can conflict; usually there are none.
            let overlap = keys(of: [a]).intersection(independent ? sharedKeys : keys(of: bs))
            for b in bs {
                if context.goTemplate {
                    result.append(ParamSet(params: try combine(a.params, b.params, field: field, goTemplate: true), origin: .product(a.origin, b.origin)))
                } else {
                    for k in overlap { try checkConflict(k, a[k], b[k], field: field) }
                    result.append(ParamSet(layers: a.layers + b.layers, origin: .product(a.origin, b.origin)))
                }
            }
        }
        return result
    }

    /// Renders every string of a child generator's spec with `params` (keys too).
    func interpolate(_ value: JSONValue, params: Params, field: String, context: GeneratorContext) throws -> JSONValue {
        switch value {
        case .string(let s): return .string(try context.render(s, params: params, field: field))
        case .array(let a): return .array(try a.map { try interpolate($0, params: params, field: field, context: context) })
        case .object(let o):
            return .object(try o.map { (try context.render($0.0, params: params, field: field), try interpolate($0.1, params: params, field: "\(field).\($0.0)", context: context)) })
        default: return value
        }
    }

    func keys(of sets: [ParamSet]) -> Set<String> {
        var all = Set<String>()
        for set in sets { for layer in set.layers { all.formUnion(layer.keys) } }
        return all
    }

    /// fasttemplate: a key present on both sides must have the same value.
    func checkConflict(_ k: String, _ va: JSONValue?, _ vb: JSONValue?, field: String) throws {
        guard let va, let vb, va != vb else { return }
        throw GenerationError(.invalidSpec, field: field, "found duplicate key \(k) with different value, a: \(va.stringValue ?? va.serialized(pretty: false)) ,b: \(vb.stringValue ?? vb.serialized(pretty: false)) (give one git generator a pathParamPrefix, or rename the key)")
    }

    func combine(_ a: Params, _ b: Params, field: String, goTemplate: Bool) throws -> Params {
        var merged = a
        for (k, vb) in b {
            guard let va = a[k] else { merged[k] = vb; continue }
            if goTemplate {
                merged[k] = va.deepMerged(with: vb, conflict: .keep)
            } else if va != vb {
                throw GenerationError(.invalidSpec, field: field, "found duplicate key \(k) with different value, a: \(va.stringValue ?? va.serialized(pretty: false)) ,b: \(vb.stringValue ?? vb.serialized(pretty: false)) (give one git generator a pathParamPrefix, or rename the key)")
            }
        }
        return merged
    }
}

