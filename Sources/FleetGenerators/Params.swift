import FleetModel

/// The parameters one generator item produces. In fasttemplate mode keys are flat (`path.basename`) and
/// every value is a string; in Go-template mode values are nested (`.path.basename`).
public typealias Params = [String: JSONValue]

/// Where a parameter set came from, described only when needed (error messages), so that a million
/// products of a matrix cost no string building.
public indirect enum Origin: Sendable, CustomStringConvertible {
    case item(generator: String, detail: String)
    case product(Origin, Origin)

    public var description: String {
        switch self {
        case .item(let generator, let detail): return "\(generator) (\(detail))"
        case .product(let a, let b): return "\(a) × \(b)"
        }
    }
}

/// One parameter set and its origin.
///
/// A matrix product keeps its children's maps as layers instead of copying them into one map: with
/// fasttemplate the layers never disagree on a key (that is an error), so a lookup may stop at the first
/// hit. A million products then cost a million small arrays, not a million merged dictionaries.
public struct ParamSet: Sendable {
    public private(set) var layers: [Params]
    public var origin: Origin

    public init(params: Params, origin: Origin) {
        self.layers = [params]
        self.origin = origin
    }

    init(layers: [Params], origin: Origin) {
        self.layers = layers
        self.origin = origin
    }

    /// The merged map (materialized only for products).
    public var params: Params {
        get {
            if layers.count == 1 { return layers[0] }
            var merged = layers[0]
            for layer in layers.dropFirst() { merged.merge(layer) { first, _ in first } }
            return merged
        }
        set { layers = [newValue] }
    }

    public subscript(key: String) -> JSONValue? {
        for layer in layers { if let v = layer[key] { return v } }
        return nil
    }

    public var isEmpty: Bool { layers.allSatisfy(\.isEmpty) }
}

enum ParamFlattening {
    /// Flattens nested values into dotted keys (`a.b.c`, arrays as `a.0`), as Argo CD does for fasttemplate
    /// and for post-selectors. Leaves become strings.
    static func flatten(_ value: JSONValue, prefix: String = "", into out: inout [String: JSONValue]) {
        switch value {
        case .object(let pairs):
            if pairs.isEmpty, !prefix.isEmpty { out[prefix] = .string("map[]") }
            for (k, v) in pairs { flatten(v, prefix: prefix.isEmpty ? k : "\(prefix).\(k)", into: &out) }
        case .array(let items):
            if items.isEmpty, !prefix.isEmpty { out[prefix] = .string("[]") }
            for (i, v) in items.enumerated() { flatten(v, prefix: prefix.isEmpty ? "\(i)" : "\(prefix).\(i)", into: &out) }
        default:
            out[prefix] = .string(scalarString(value))
        }
    }

    /// Go's `%v` for a scalar, except that integers print as written (Flotilla: `1000000`, not `1e+06`).
    static func scalarString(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
        default: return value.serialized(pretty: false)
        }
    }

    /// Flat string labels for a post-selector match.
    static func labels(_ params: Params) -> [String: String] {
        var flat: [String: JSONValue] = [:]
        for (k, v) in params { flatten(v, prefix: k, into: &flat) }
        return flat.compactMapValues(\.stringValue)
    }
}
