import FleetModel
import FleetTemplate

/// A template tree with every string parsed once, rendered many times. Subtrees without tags are kept as
/// constants, so rendering only touches what varies.
indirect enum CompiledValue: Sendable {
    case constant(JSONValue)
    case string(CompiledString, field: String)
    case object([(CompiledString, CompiledValue)])
    case array([CompiledValue])

    static func compile(_ value: JSONValue, goTemplate: Bool, options: GoTemplate.Options, field: String) throws -> CompiledValue {
        switch value {
        case .string(let s):
            let c = try CompiledString.compile(s, goTemplate: goTemplate, options: options, field: field)
            if case .constant = c { return .constant(value) }
            return .string(c, field: field)
        case .array(let items):
            let compiled = try items.enumerated().map { try compile($0.element, goTemplate: goTemplate, options: options, field: "\(field)[\($0.offset)]") }
            if compiled.allSatisfy({ if case .constant = $0 { return true } else { return false } }) { return .constant(value) }
            return .array(compiled)
        case .object(let pairs):
            var allConstant = true
            let compiled = try pairs.map { key, v -> (CompiledString, CompiledValue) in
                let k = try CompiledString.compile(key, goTemplate: goTemplate, options: options, field: "\(field).\(key)")
                let cv = try compile(v, goTemplate: goTemplate, options: options, field: "\(field).\(key)")
                if case .constant = k, case .constant = cv {} else { allConstant = false }
                return (k, cv)
            }
            return allConstant ? .constant(value) : .object(compiled)
        default:
            return .constant(value)
        }
    }

    func render(_ params: RenderParams) throws -> JSONValue {
        switch self {
        case .constant(let v): return v
        case .string(let s, let field): return .string(try s.render(params, field: field))
        case .array(let items): return .array(try items.map { try $0.render(params) })
        case .object(let pairs):
            var out: [(String, JSONValue)] = []
            out.reserveCapacity(pairs.count)
            for (k, v) in pairs { out.append((try k.render(params, field: ""), try v.render(params))) }
            return .object(out)
        }
    }
}

enum CompiledString: Sendable {
    case constant(String)
    case fast(FastTemplate)
    case go(GoTemplate)

    static func compile(_ s: String, goTemplate: Bool, options: GoTemplate.Options, field: String,
                        maxDepth: Int = TemplateLimits.default.maxDepth) throws -> CompiledString {
        guard s.contains("{{") else { return .constant(s) }
        do {
            return goTemplate ? .go(try GoTemplate(s, name: field, options: options, maxDepth: maxDepth)) : .fast(try FastTemplate(s))
        } catch let e as TemplateError {
            throw GenerationError(e, field: field)
        }
    }

    func render(_ params: RenderParams, field: String) throws -> String {
        switch self {
        case .constant(let s): return s
        case .fast(let t): return t.render { params.set[$0]?.stringValue }
        case .go(let t):
            do { return try t.render(params.data, limits: params.limits) } catch let e as TemplateError {
                throw GenerationError(e, field: field)
            }
        }
    }
}

/// Params in both shapes a template needs: layered lookup for fasttemplate, one value for Go templates,
/// converted once per Application (as Argo CD renders an Application's whole template in one go, a dict a
/// template changes with `set` is seen by the fields after it).
struct RenderParams {
    let set: ParamSet
    let data: TemplateValue
    let limits: TemplateLimits

    init(_ set: ParamSet, goTemplate: Bool, limits: TemplateLimits = .default) {
        self.set = set
        self.limits = limits
        if goTemplate {
            data = TemplateValue(.object(set.params.map { ($0.key, $0.value) }))
        } else {
            data = .missing
        }
    }
}
