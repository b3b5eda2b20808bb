import FleetModel

/// Go text/template, as Argo CD ApplicationSets use it (`goTemplate: true`), with Sprig's common functions
/// and Argo CD's `normalize`, `slugify`, `toYaml`, `fromYaml`, `fromYamlArray`.
///
/// ```swift
/// let t = try GoTemplate("{{ index .path.segments 1 }}-{{ .name | upper }}", options: [.missingKeyError])
/// try t.render(data)
/// ```
/// Parse once, render many times: a parsed template is an immutable value, safe to share across threads.
public struct GoTemplate: Sendable {
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `missingkey=error`: a missing map key fails the render with `map has no entry for key "k"`.
        public static let missingKeyError = Options(rawValue: 1)
        /// `missingkey=zero`: a missing key is the zero value (for ApplicationSet params: prints `<no value>`).
        public static let missingKeyZero = Options(rawValue: 2)

        /// Reads Argo CD's `goTemplateOptions` list; unknown options are an error naming them.
        public init(goTemplateOptions: [String]) throws {
            var o: Options = []
            for option in goTemplateOptions {
                switch option {
                case "missingkey=error": o.insert(.missingKeyError)
                case "missingkey=zero": o.insert(.missingKeyZero)
                case "missingkey=default", "missingkey=invalid": break
                default: throw TemplateError(.parse, "unrecognized goTemplateOptions entry '\(option)' (expected missingkey=default, missingkey=zero or missingkey=error)")
                }
            }
            self = o
        }
    }

    let nodes: [TNode]
    let defines: [String: [TNode]]
    let functions: FunctionTable
    public let source: String
    public let options: Options
    /// True when the text has no action, so rendering returns it unchanged.
    public let isConstant: Bool

    public init(_ source: String, name: String = "", options: Options = [], maxDepth: Int = TemplateLimits.default.maxDepth,
                functions: FunctionTable = .argoCD) throws {
        self.source = source
        self.options = options
        self.functions = functions
        if !source.contains("{{") {
            nodes = [.text(source)]
            defines = [:]
            isConstant = true
            return
        }
        var parser = GoTemplateParser(name: name, source: source, functions: functions.names, maxDepth: maxDepth)
        nodes = try parser.parse()
        defines = parser.defines
        isConstant = false
    }

    /// Renders with `data` as the dot (`.`) and as `$`, within `limits`.
    public func render(_ data: JSONValue, limits: TemplateLimits = .default) throws -> String {
        if isConstant { return source }
        return try render(TemplateValue(data), limits: limits)
    }

    /// Renders with data already converted (convert once, render several templates over the same data:
    /// changes a template makes to a dict, with `set` or `merge`, are seen by the next, as in one Go render).
    public func render(_ data: TemplateValue, limits: TemplateLimits = .default) throws -> String {
        if isConstant { return source }
        let budget = RenderBudget(limits)
        var exec = Executor(options: options, functions: functions, templates: defines, root: data, budget: budget)
        var out = ""
        _ = try exec.walk(nodes, dot: data, into: &out)
        return out
    }
}
