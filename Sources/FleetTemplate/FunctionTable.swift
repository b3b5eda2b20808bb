import FleetModel

/// The type a function parameter declares, deciding how an argument reaches it as text/template's
/// `evalArg` and `validateType` do: `interface{}` takes anything (a literal as its ideal constant),
/// `string` only a string, `int` only an integer literal or an `int` value, and so on.
public enum ParamType: Sendable, Equatable {
    /// `interface{}`: an invalid value arrives as nil.
    case any
    /// `reflect.Value` (Go's builtins): the value as it is, invalid included.
    case value
    case string
    case int
    case int64
    case uint32
    case float64
    case bool
    /// `map[string]interface{}`: nil is allowed.
    case map
    /// `time.Time`.
    case time

    var goName: String {
        switch self {
        case .any: return "interface {}"
        case .value: return "reflect.Value"
        case .string: return "string"
        case .int: return "int"
        case .int64: return "int64"
        case .uint32: return "uint32"
        case .float64: return "float64"
        case .bool: return "bool"
        case .map: return "map[string]interface {}"
        case .time: return "time.Time"
        }
    }

    var canBeNil: Bool { self == .any || self == .value || self == .map }

    /// Checks a computed value against the parameter type (Go's `validateType`).
    func accept(_ value: TemplateValue) throws -> TemplateValue {
        switch (self, value) {
        case (.value, _): return value
        case (.any, _): return value.asArgument
        case (_, .missing), (_, .null):
            if canBeNil { return .null }
            throw TemplateError(.execution, "invalid value; expected \(goName)")
        case (.string, .string), (.bool, .bool), (.float64, .float), (.int, .int(_, .int)), (.int64, .int(_, .int64)),
             (.uint32, .uint(_, .uint32)):
            return value
        case (.map, .map(let m)) where m.element == "interface {}":
            return value
        case (.time, .object(let o)) where o is GoTime:
            return value
        default:
            throw TemplateError(.execution, "wrong type for value; expected \(goName); got \(value.typeName)")
        }
    }

    /// Converts a literal of the template (Go's `evalArg` on a constant node).
    func accept(literal: Operand) throws -> TemplateValue {
        switch (self, literal) {
        case (_, .nilLiteral):
            if canBeNil { return .null }
            throw TemplateError(.execution, "cannot assign nil to \(goName)")
        case (.any, .bool(let b)), (.value, .bool(let b)), (.bool, .bool(let b)): return .bool(b)
        case (.any, .string(let s)), (.value, .string(let s)), (.string, .string(let s)): return .string(s)
        case (.any, .number(let n)), (.value, .number(let n)): return try n.ideal()
        case (.int, .number(let n)), (.int64, .number(let n)):
            guard let i = n.int, n.complex == nil || n.complex?.1 == 0 else {
                throw TemplateError(.execution, "expected integer; found \(n.text)")
            }
            return .int(i, self == .int ? .int : .int64)
        case (.uint32, .number(let n)):
            guard let u = n.uint, u <= UInt(UInt32.max) else { throw TemplateError(.execution, "expected unsigned integer; found \(n.text)") }
            return .uint(u, .uint32)
        case (.float64, .number(let n)):
            guard let f = n.float, n.complex == nil || n.complex?.1 == 0 else { throw TemplateError(.execution, "expected float; found \(n.text)") }
            return .float(f)
        case (.bool, _): throw TemplateError(.execution, "expected bool; found \(literal.text)")
        case (.string, _): throw TemplateError(.execution, "expected string; found \(literal.text)")
        case (.int, _), (.int64, _): throw TemplateError(.execution, "expected integer; found \(literal.text)")
        case (.float64, _): throw TemplateError(.execution, "expected float; found \(literal.text)")
        default: throw TemplateError(.execution, "can't handle \(literal.text) for arg of type \(goName)")
        }
    }
}

/// What a function body may use besides its arguments: the render's budget and, for Helm's `include` and
/// `tpl`, the running templates.
public struct FunctionContext {
    let budget: RenderBudget
    /// Renders a named template with a dot (`include`).
    var include: ((String, TemplateValue) throws -> String)?
    /// Parses and renders text with a dot (`tpl`).
    var renderText: ((String, TemplateValue) throws -> String)?

    init(budget: RenderBudget) { self.budget = budget }
}

/// One template function: its Go signature and its body.
public struct TemplateFunction: Sendable {
    public typealias Body = @Sendable ([TemplateValue], FunctionContext) throws -> TemplateValue

    public let name: String
    public let params: [ParamType]
    /// The type of a trailing `...T` parameter.
    public let variadic: ParamType?
    public let body: Body

    public init(_ name: String, _ params: [ParamType] = [], variadic: ParamType? = nil, _ body: @escaping Body) {
        self.name = name
        self.params = params
        self.variadic = variadic
        self.body = body
    }

    func paramType(at index: Int) -> ParamType {
        index < params.count ? params[index] : (variadic ?? .any)
    }

    /// Go's arity check, made before any argument is evaluated.
    func checkArity(_ count: Int) throws {
        if variadic != nil {
            if count < params.count {
                throw TemplateError(.execution, "wrong number of args for \(name): want at least \(params.count) got \(count)")
            }
        } else if count != params.count {
            throw TemplateError(.execution, "wrong number of args for \(name): want \(params.count) got \(count)")
        }
    }
}

/// A set of functions templates may call, looked up by name. Built from families (Go's builtins, Sprig's
/// strings, lists, dicts, …, Argo CD's additions), so another dialect (Helm's) is one more family.
public struct FunctionTable: Sendable {
    var functions: [String: TemplateFunction] = [:]

    public init(_ families: [[TemplateFunction]]) {
        for family in families {
            for f in family { functions[f.name] = f }
        }
    }

    public subscript(name: String) -> TemplateFunction? { functions[name] }
    public var names: Set<String> { Set(functions.keys) }

    public func removing(_ names: Set<String>) -> FunctionTable {
        var copy = self
        for n in names { copy.functions[n] = nil }
        return copy
    }

    public func adding(_ family: [TemplateFunction]) -> FunctionTable {
        var copy = self
        for f in family { copy.functions[f.name] = f }
        return copy
    }

    /// Go's builtins and all of Sprig v3's generic functions.
    public static let sprig = FunctionTable([
        GoBuiltins.family, SprigStrings.family, SprigLists.family, SprigDicts.family, SprigMath.family,
        SprigConversion.family, SprigDefaults.family, SprigEncoding.family, SprigPaths.family, SprigRegex.family,
        SprigSemver.family, SprigDates.family, SprigCrypto.family, SprigNetwork.family,
    ])

    /// What Argo CD's ApplicationSet controller gives `goTemplate: true`: Sprig without `env`, `expandenv`
    /// and `getHostByName`, plus `normalize`, `slugify`, `toYaml`, `fromYaml`, `fromYamlArray`.
    public static let argoCD = sprig.removing(["env", "expandenv", "getHostByName"]).adding(ArgoFunctions.family)
}

extension Operand {
    /// The literal as the template wrote it, for error messages.
    var text: String {
        switch self {
        case .dot: return "."
        case .nilLiteral: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.text
        case .string(let s): return GoFormat.quote(s)
        case .field(let chain): return "." + chain.joined(separator: ".")
        case .variable(let v, let chain): return ([v] + chain).joined(separator: ".")
        case .function(let name): return name
        case .pipe(let p, let chain): return "(" + p.text + ")" + chain.map { "." + $0 }.joined()
        }
    }
}
