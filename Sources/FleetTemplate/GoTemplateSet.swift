import FleetModel

/// Several named templates parsed into one set, as Helm parses a chart and its subcharts: every file is a
/// template by its name, and a `{{define}}` in any file is visible to all (`include`, `template`, `tpl`).
/// Files are parsed in the order given; a later non-empty definition of a name replaces an earlier one,
/// as text/template's `AddParseTree` does (Helm gives parent charts' files last, so their helpers win).
///
/// ```swift
/// let set = try GoTemplateSet([("c/templates/_helpers.tpl", helpers), ("c/templates/svc.yaml", svc)],
///                             options: [.missingKeyZero], functions: .helm)
/// let text = try set.render("c/templates/svc.yaml", data)
/// ```
public struct GoTemplateSet: Sendable {
    let templates: [String: [TNode]]
    let functions: FunctionTable
    public let options: GoTemplate.Options
    public let names: [String]

    public init(_ files: [(name: String, source: String)], options: GoTemplate.Options = [],
                maxDepth: Int = TemplateLimits.default.maxDepth, functions: FunctionTable = .helm) throws {
        var templates: [String: [TNode]] = [:]
        for file in files {
            var parser = GoTemplateParser(name: file.name, source: file.source, functions: functions.names, maxDepth: maxDepth)
            let nodes = try parser.parse()
            templates[file.name] = nodes
            for (name, body) in parser.defines {
                if let existing = templates[name], !existing.isEmpty, Self.isEmpty(body) { continue }
                templates[name] = body
            }
        }
        self.templates = templates
        self.functions = functions
        self.options = options
        self.names = files.map(\.name)
    }

    /// text/template's `IsEmptyTree`: only whitespace text.
    static func isEmpty(_ nodes: [TNode]) -> Bool {
        nodes.allSatisfy { if case .text(let t) = $0 { return t.allSatisfy(\.isWhitespace) } else { return false } }
    }

    /// Whether the set holds a template of this name (a file or a `define`).
    public func contains(_ name: String) -> Bool { templates[name] != nil }

    /// Renders the template `name` with `data` as the dot and `$`. Errors name the template:
    /// `template: chart/templates/x.yaml:3: executing at <.Values.a.b>: nil pointer evaluating …`.
    public func render(_ name: String, _ data: TemplateValue, limits: TemplateLimits = .default) throws -> String {
        guard let nodes = templates[name] else { throw TemplateError(.execution, "template: no template \"\(name)\" associated with template") }
        let budget = RenderBudget(limits)
        var exec = Executor(options: options, functions: functions, templates: templates, root: data, budget: budget)
        var out = ""
        do {
            _ = try exec.walk(nodes, dot: data, into: &out)
        } catch let e as TemplateError {
            throw TemplateError(e.code, Self.naming(e.message, name))
        }
        return out
    }

    /// `template: 3: …` → `template: NAME:3: …` (messages that already carry a name are kept).
    static func naming(_ message: String, _ name: String) -> String {
        guard message.hasPrefix("template: ") else { return message }
        let rest = message.dropFirst("template: ".count)
        guard let first = rest.first, first.isNumber else { return message }
        return "template: \(name):" + rest
    }
}
