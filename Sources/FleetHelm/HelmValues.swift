import FleetConfig
import FleetModel
import FleetTemplate

/// A chart value as Helm holds it: the result of decoding YAML through JSON, so numbers from values files
/// are float64 (`1000000` prints `1e+06`, as in helm), while `--set` integers are int64.
public indirect enum HelmValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([HelmValue])
    case map([String: HelmValue])

    /// A value read from a values file (numbers become float64, as encoding/json decodes them).
    public init(yaml json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .float(Double(i))
        case .double(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(HelmValue.init(yaml:)))
        case .object(let pairs):
            var m: [String: HelmValue] = [:]
            for (k, v) in pairs { m[k] = HelmValue(yaml: v) }
            self = .map(m)
        }
    }

    /// A value given in an Argo CD `valuesObject` or JSON document (numbers as JSON decodes them: float64).
    public init(json: JSONValue) { self.init(yaml: json) }

    public var mapValue: [String: HelmValue]? { if case .map(let m) = self { return m } else { return nil } }
    public var isMap: Bool { if case .map = self { return true } else { return false } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var json: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return d == d.rounded() && abs(d) < 1e15 ? .int(Int(d)) : .double(d)
        case .string(let s): return .string(s)
        case .list(let l): return .array(l.map(\.json))
        case .map(let m): return .object(m.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })
        }
    }

    /// The value as a template sees it (Go's map[string]interface{}, []interface{}, float64, int64).
    public var template: TemplateValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int64(i)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        case .list(let l): return .list(TemplateList(l.map(\.template)))
        case .map(let m): return .map(TemplateMap(m.mapValues(\.template)))
        }
    }

    /// The value at a dotted path (`a.b.c`), nil when a step is missing or not a map.
    public func value(at path: [String]) -> HelmValue? {
        var current = self
        for key in path {
            guard case .map(let m) = current, let next = m[key] else { return nil }
            current = next
        }
        return current
    }

    /// Parses a values file: a YAML map (or empty). Errors name the file.
    public static func parseFile(_ text: String, file: String) throws -> HelmValue {
        let json: JSONValue
        do {
            json = try YAMLValue.parse(text, file: file)
        } catch {
            throw HelmError(.badValues, "failed to parse \(file): \(error)")
        }
        switch json {
        case .null: return .map([:])
        case .object: return HelmValue(yaml: json)
        default: throw HelmError(.badValues, "failed to parse \(file): error unmarshaling JSON: json: cannot unmarshal \(YAMLValue.kind(json)) into Go value of type map[string]interface {}")
        }
    }
}

/// Helm's value merging (`pkg/chart/common/util/coalesce.go`).
public enum Coalesce {
    /// `CoalesceTables`: `dst` wins; `src` fills what `dst` lacks, tables recursively; a null in `dst`
    /// deletes the key (unless `merge`).
    public static func tables(_ dst: [String: HelmValue], _ src: [String: HelmValue], merge: Bool = false) -> [String: HelmValue] {
        var out = dst
        for (key, sv) in src {
            if let dv = out[key] {
                if dv.isNull && !merge {
                    out.removeValue(forKey: key)
                } else if case .map(let sm) = sv, case .map(let dm) = dv {
                    out[key] = .map(tables(dm, sm, merge: merge))
                }
            } else {
                out[key] = sv
            }
        }
        if !merge {
            for (key, v) in out where v.isNull && src[key] == nil { out.removeValue(forKey: key) }
        }
        return out
    }

    /// `MergeTables`: as `tables` but nulls are kept.
    public static func merged(_ dst: [String: HelmValue], _ src: [String: HelmValue]) -> [String: HelmValue] {
        tables(dst, src, merge: true)
    }

    /// The chart's values for a render: `user` over the chart's defaults, each subchart's defaults under its
    /// name, and the parent's `global` pushed down to every subchart (parent globals win).
    public static func values(_ chart: Chart, user: [String: HelmValue], merge: Bool = false) -> [String: HelmValue] {
        var dest = user
        coalesceValues(chart, &dest, merge: merge)
        coalesceDependencies(chart, &dest, merge: merge)
        return dest
    }

    static func coalesceValues(_ chart: Chart, _ v: inout [String: HelmValue], merge: Bool) {
        for (key, val) in chart.values {
            if let value = v[key] {
                if value.isNull && !merge {
                    v.removeValue(forKey: key)
                } else if case .map(let dest) = value, case .map(let src) = val {
                    let childMerge = merge || chart.dependencies.contains { $0.name == key }
                    v[key] = .map(tables(dest, src, merge: childMerge))
                }
            } else {
                v[key] = val
            }
        }
    }

    static func coalesceDependencies(_ chart: Chart, _ dest: inout [String: HelmValue], merge: Bool) {
        for sub in chart.dependencies {
            var sv: [String: HelmValue]
            switch dest[sub.name] {
            case .map(let m)?: sv = m
            case nil, .null?: sv = [:]
            default: continue
            }
            globals(into: &sv, from: dest)
            dest[sub.name] = .map(values(sub, user: sv, merge: merge))
        }
    }

    /// `coalesceGlobals`: the parent's globals over the subchart's.
    static func globals(into dest: inout [String: HelmValue], from src: [String: HelmValue]) {
        let dg: [String: HelmValue]
        switch dest["global"] {
        case nil: dg = [:]
        case .map(let m)?: dg = m
        default: return
        }
        guard let sg = src["global"]?.mapValue ?? (src["global"] == nil ? [:] : nil) else { return }
        var out = dg
        for (key, val) in sg {
            if case .map(let vm) = val {
                if let existing = dg[key] {
                    if case .map(let em) = existing { out[key] = .map(tables(vm, em, merge: true)) }
                } else {
                    out[key] = val
                }
            } else if let existing = dg[key], existing.isMap {
                continue
            } else {
                out[key] = val
            }
        }
        dest["global"] = .map(out)
    }

    /// A nested map holding `value` at the dotted `path` (`a.b` → `{a: {b: value}}`).
    static func pathToMap(_ path: String, _ value: [String: HelmValue]) -> [String: HelmValue] {
        if path == "." || path.isEmpty { return value }
        let parts = path.split(separator: ".").map(String.init)
        var current: HelmValue = .map(value)
        for part in parts.reversed() { current = .map([part: current]) }
        return current.mapValue ?? [:]
    }

    /// Removes null entries at any depth (helm's `trimNilValues`).
    static func trimNulls(_ m: [String: HelmValue]) -> [String: HelmValue] {
        var out: [String: HelmValue] = [:]
        for (k, v) in m {
            switch v {
            case .null: continue
            case .map(let sub): out[k] = .map(trimNulls(sub))
            default: out[k] = v
            }
        }
        return out
    }
}
