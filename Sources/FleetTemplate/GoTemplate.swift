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
    public let source: String
    public let options: Options
    /// True when the text has no action, so rendering returns it unchanged.
    public let isConstant: Bool

    public init(_ source: String, name: String = "", options: Options = [], maxDepth: Int = TemplateLimits.default.maxDepth) throws {
        self.source = source
        self.options = options
        if !source.contains("{{") {
            nodes = [.text(source)]
            isConstant = true
            return
        }
        var parser = GoTemplateParser(name: name, source: source, functions: TemplateFunctions.names, maxDepth: maxDepth)
        nodes = try parser.parse()
        isConstant = false
    }

    /// Renders with `data` as the dot (`.`) and as `$`, within `limits`.
    public func render(_ data: JSONValue, limits: TemplateLimits = .default) throws -> String {
        if isConstant { return source }
        var exec = Executor(options: options, root: data, budget: RenderBudget(limits))
        var out = ""
        _ = try exec.walk(nodes, dot: data, into: &out)
        return out
    }
}

/// Runs a parsed template. Variables live in a stack of scopes, popped at the end of each block.
struct Executor {
    let options: GoTemplate.Options
    var variables: [(String, JSONValue?)]
    let budget: RenderBudget

    init(options: GoTemplate.Options, root: JSONValue, budget: RenderBudget) {
        self.options = options
        self.variables = [("$", root)]
        self.budget = budget
    }

    enum Flow { case normal, breakLoop, continueLoop }

    mutating func walk(_ nodes: [TNode], dot: JSONValue?, into out: inout String) throws -> Flow {
        for node in nodes {
            try budget.charge()
            switch node {
            case .text(let t):
                out += t
                try budget.checkOutput(out.utf8.count)
            case .action(let pipe, let line):
                let value = try evalPipe(pipe, dot: dot, line: line)
                if pipe.decl.isEmpty {
                    out += GoValue.print(value)
                    try budget.checkOutput(out.utf8.count)
                }
            case .ifNode(let pipe, let body, let elseBody, let line):
                let mark = variables.count
                let cond = try evalPipe(pipe, dot: dot, line: line)
                let flow = try GoValue.isTrue(cond) ? walk(body, dot: dot, into: &out) : walk(elseBody ?? [], dot: dot, into: &out)
                variables.removeSubrange(mark...)
                if flow != .normal { return flow }
            case .withNode(let pipe, let body, let elseBody, let line):
                let mark = variables.count
                let value = try evalPipe(pipe, dot: dot, line: line)
                let flow = try GoValue.isTrue(value) ? walk(body, dot: value, into: &out) : walk(elseBody ?? [], dot: dot, into: &out)
                variables.removeSubrange(mark...)
                if flow != .normal { return flow }
            case .rangeNode(let pipe, let body, let elseBody, let line):
                let mark = variables.count
                var p = pipe
                let decl = p.decl
                p.decl = []
                let value = try evalPipe(p, dot: dot, line: line)
                var items: [(JSONValue, JSONValue)] = []
                switch value {
                case .array(let a)?: items = a.enumerated().map { (.int($0.offset), $0.element) }
                case .object(let o)?: items = o.sorted { $0.0 < $1.0 }.map { (.string($0.0), $0.1) }
                case .int(let n)?:
                    try budget.allow(n, building: "range over \(n)")
                    items = (0..<max(0, n)).map { (.int($0), .int($0)) }
                case nil, .null?: items = []
                case let other?:
                    throw TemplateError(.execution, "template: \(line): range can't iterate over \(GoValue.format(other))")
                }
                if items.isEmpty {
                    if try walk(elseBody ?? [], dot: dot, into: &out) != .normal { return .breakLoop }
                } else {
                    for (key, element) in items {
                        try budget.charge()
                        let inner = variables.count
                        if decl.count == 1 { variables.append((decl[0], element)) }
                        if decl.count == 2 { variables.append((decl[0], key)); variables.append((decl[1], element)) }
                        let flow = try walk(body, dot: element, into: &out)
                        variables.removeSubrange(inner...)
                        if flow == .breakLoop { break }
                    }
                }
                variables.removeSubrange(mark...)
            case .breakNode:
                return .breakLoop
            case .continueNode:
                return .continueLoop
            }
        }
        return .normal
    }

    mutating func evalPipe(_ pipe: Pipe, dot: JSONValue?, line: Int) throws -> JSONValue? {
        var value: JSONValue?? = .none  // outer nil: no piped value yet
        for command in pipe.commands {
            value = .some(try evalCommand(command, dot: dot, piped: value, line: line, text: pipe.text))
        }
        let result = value ?? nil
        if let name = pipe.decl.first {
            if pipe.isAssign {
                guard let i = variables.lastIndex(where: { $0.0 == name }) else {
                    throw TemplateError(.execution, "template: \(line): undefined variable: \(name)")
                }
                variables[i].1 = result
            } else {
                variables.append((name, result))
            }
        }
        return result
    }

    mutating func evalCommand(_ command: Command, dot: JSONValue?, piped: JSONValue??, line: Int, text: String) throws -> JSONValue? {
        let first = command.operands[0]
        if case .function(let name) = first {
            var args: [JSONValue?] = []
            for operand in command.operands.dropFirst() { args.append(try evalOperand(operand, dot: dot, line: line, text: text)) }
            if let piped { args.append(piped) }
            do {
                let values = args.map { $0 ?? .null }
                try budget.precheck(name, values)
                let result = try TemplateFunctions.call(name, values, rawArgs: args)
                try budget.charge(value: result)
                return result
            } catch let e as TemplateError where e.code == .limit || e.code == .cancelled {
                throw TemplateError(e.code, "template: \(line): executing at <\(text)>: \(e.message)")
            } catch let e as TemplateError {
                throw TemplateError(e.code, "template: \(line): executing at <\(text)>: error calling \(name): \(e.message)")
            }
        }
        if command.operands.count > 1 || piped != nil {
            throw TemplateError(.execution, "template: \(line): executing at <\(text)>: can't give argument to non-function \(describe(first))")
        }
        return try evalOperand(first, dot: dot, line: line, text: text)
    }

    func describe(_ operand: Operand) -> String {
        switch operand {
        case .field(let chain): return "." + chain.joined(separator: ".")
        case .variable(let v, let chain): return ([v] + chain).joined(separator: ".")
        case .string(let s): return "\"\(s)\""
        default: return "\(operand)"
        }
    }

    mutating func evalOperand(_ operand: Operand, dot: JSONValue?, line: Int, text: String) throws -> JSONValue? {
        switch operand {
        case .dot: return dot
        case .nilLiteral: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return n
        case .string(let s): return .string(s)
        case .function(let name):
            let result = try TemplateFunctions.call(name, [], rawArgs: [])
            try budget.charge(value: result)
            return result
        case .field(let chain): return try fields(chain, of: dot, line: line, text: text)
        case .variable(let name, let chain):
            guard let entry = variables.last(where: { $0.0 == name }) else {
                throw TemplateError(.parse, "template: \(line): undefined variable \"\(name)\"")
            }
            return try fields(chain, of: entry.1, line: line, text: text)
        case .pipe(let pipe, let chain):
            let value = try evalPipe(pipe, dot: dot, line: line)
            return try fields(chain, of: value, line: line, text: text)
        }
    }

    func fields(_ chain: [String], of receiver: JSONValue?, line: Int, text: String) throws -> JSONValue? {
        var current = receiver
        for name in chain {
            switch current {
            case .object(let pairs)?:
                if let hit = pairs.first(where: { $0.0 == name }) {
                    current = hit.1
                } else if options.contains(.missingKeyError) {
                    throw TemplateError(.missingKey, "template: \(line): executing at <\(text)>: map has no entry for key \"\(name)\"")
                } else {
                    current = nil
                }
            case nil, .null?:
                throw TemplateError(.execution, "template: \(line): executing at <\(text)>: nil pointer evaluating interface {}.\(name)")
            case let other?:
                throw TemplateError(.execution, "template: \(line): executing at <\(text)>: can't evaluate field \(name) in type \(GoValue.kindName(other))")
            }
        }
        return current
    }
}
