import FleetModel

/// Runs a parsed template as text/template's `state` does. Variables live in a stack of scopes, popped at
/// the end of each block; a `{{template}}` call starts a fresh stack.
struct Executor {
    let options: GoTemplate.Options
    let functions: FunctionTable
    let templates: [String: [TNode]]
    var variables: [(String, TemplateValue)]
    let budget: RenderBudget
    var depth = 0

    init(options: GoTemplate.Options, functions: FunctionTable, templates: [String: [TNode]], root: TemplateValue, budget: RenderBudget) {
        self.options = options
        self.functions = functions
        self.templates = templates
        self.variables = [("$", root)]
        self.budget = budget
    }

    enum Flow { case normal, breakLoop, continueLoop }

    func fail(_ line: Int, _ text: String, _ message: String) -> TemplateError {
        TemplateError(.execution, "template: \(line): executing at <\(text)>: \(message)")
    }

    mutating func walk(_ nodes: [TNode], dot: TemplateValue, into out: inout String) throws -> Flow {
        for node in nodes {
            try budget.charge()
            switch node {
            case .text(let t):
                out += t
                try budget.checkOutput(out.utf8.count)
            case .action(let pipe, let line):
                let value = try evalPipe(pipe, dot: dot, line: line)
                if pipe.decl.isEmpty {
                    if value.nestingDepth > 0 { try budget.checkShape(value) }
                    out += value.isValid ? GoFormat.value(value) : "<no value>"
                    try budget.checkOutput(out.utf8.count)
                }
            case .ifNode(let pipe, let body, let elseBody, let line):
                let mark = variables.count
                let cond = try evalPipe(pipe, dot: dot, line: line)
                let flow = try cond.isTrue ? walk(body, dot: dot, into: &out) : walk(elseBody ?? [], dot: dot, into: &out)
                variables.removeSubrange(mark...)
                if flow != .normal { return flow }
            case .withNode(let pipe, let body, let elseBody, let line):
                let mark = variables.count
                let value = try evalPipe(pipe, dot: dot, line: line)
                let flow = try value.isTrue ? walk(body, dot: value, into: &out) : walk(elseBody ?? [], dot: dot, into: &out)
                variables.removeSubrange(mark...)
                if flow != .normal { return flow }
            case .rangeNode(let pipe, let body, let elseBody, let line):
                if try walkRange(pipe, body, elseBody, line: line, dot: dot, into: &out) != .normal { return .breakLoop }
            case .breakNode:
                return .breakLoop
            case .continueNode:
                return .continueLoop
            case .templateCall(let name, let pipe, let line):
                guard let body = templates[name] else { throw fail(line, "template", "no such template \"\(name)\"") }
                if depth >= budget.limits.maxDepth {
                    throw TemplateError(.limit, "template: \(line): exceeded maximum template depth (\(budget.limits.maxDepth)) (maxDepth)")
                }
                let newDot = try pipe.map { try evalPipe($0, dot: dot, line: line) } ?? .missing
                var inner = Executor(options: options, functions: functions, templates: templates, root: newDot, budget: budget, depth: depth + 1)
                _ = try inner.walk(body, dot: newDot, into: &out)
            }
        }
        return .normal
    }

    private init(options: GoTemplate.Options, functions: FunctionTable, templates: [String: [TNode]], root: TemplateValue, budget: RenderBudget, depth: Int) {
        self.init(options: options, functions: functions, templates: templates, root: root, budget: budget)
        self.depth = depth
    }

    /// Renders the named template with `dot` (Helm's `include`).
    func include(_ name: String, dot: TemplateValue) throws -> String {
        guard let body = templates[name] else { throw TemplateError(.execution, "no template \"\(name)\" associated with template") }
        if depth >= budget.limits.maxDepth {
            throw TemplateError(.limit, "exceeded maximum template depth (\(budget.limits.maxDepth)) (maxDepth)")
        }
        var inner = Executor(options: options, functions: functions, templates: templates, root: dot, budget: budget, depth: depth + 1)
        var out = ""
        _ = try inner.walk(body, dot: dot, into: &out)
        return out
    }

    mutating func walkRange(_ pipe: Pipe, _ body: [TNode], _ elseBody: [TNode]?, line: Int, dot: TemplateValue, into out: inout String) throws -> Flow {
        let mark = variables.count
        defer { variables.removeSubrange(mark...) }
        var p = pipe
        let decl = p.decl
        p.decl = []
        let value = try evalPipe(p, dot: dot, line: line)
        var items: [(TemplateValue, TemplateValue)] = []
        switch value {
        case .list(let l): items = l.items.enumerated().map { (.int($0.offset), $0.element) }
        case .map(let m): items = m.sortedKeys.map { (.string($0), m.entries[$0]!) }
        case .int(let n, _):
            if decl.count > 1 { throw fail(line, "range", "can't use \(n) to iterate over more than one variable") }
            try budget.allow(n, building: "range over \(n)")
            items = (0..<max(0, n)).map { (.int($0), .int($0)) }
        case .missing, .null: items = []
        case .object(let o) where o.rangeEntries != nil: items = o.rangeEntries!
        default:
            throw fail(line, "range", "range can't iterate over \(GoFormat.value(value))")
        }
        if items.isEmpty {
            return try walk(elseBody ?? [], dot: dot, into: &out) == .normal ? .normal : .breakLoop
        }
        for (key, element) in items {
            try budget.charge()
            let inner = variables.count
            let assigned: [(String, TemplateValue)] = decl.count == 1 ? [(decl[0], element)] : decl.count == 2 ? [(decl[0], key), (decl[1], element)] : []
            for (name, v) in assigned {
                if pipe.isAssign {
                    guard let i = variables.lastIndex(where: { $0.0 == name }) else { throw fail(line, "range", "undefined variable: \(name)") }
                    variables[i].1 = v
                } else {
                    variables.append((name, v))
                }
            }
            let flow = try walk(body, dot: element, into: &out)
            variables.removeSubrange(inner...)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    mutating func evalPipe(_ pipe: Pipe, dot: TemplateValue, line: Int) throws -> TemplateValue {
        var value: TemplateValue? = nil  // nil: no piped value yet
        for command in pipe.commands {
            value = try evalCommand(command, dot: dot, piped: value, line: line, text: pipe.text).dugOut
        }
        let result = value ?? .missing
        if let name = pipe.decl.first {
            if pipe.isAssign {
                guard let i = variables.lastIndex(where: { $0.0 == name }) else {
                    throw fail(line, pipe.text, "undefined variable: \(name)")
                }
                variables[i].1 = result
            } else {
                variables.append((name, result))
            }
        }
        return result
    }

    func notAFunction(_ command: Command, piped: TemplateValue?, line: Int, text: String) throws {
        if command.operands.count > 1 || piped != nil {
            throw fail(line, text, "can't give argument to non-function \(command.operands[0].text)")
        }
    }

    mutating func evalCommand(_ command: Command, dot: TemplateValue, piped: TemplateValue?, line: Int, text: String) throws -> TemplateValue {
        let first = command.operands[0]
        let args = Array(command.operands.dropFirst())
        switch first {
        case .function(let name):
            return try call(name, args, dot: dot, piped: piped, line: line, text: text)
        case .field(let chain):
            return try chainCall(dot, chain, args: args, dot: dot, piped: piped, line: line, text: text)
        case .variable(let name, let chain):
            let value = try variable(name, line: line, text: text)
            if chain.isEmpty {
                try notAFunction(command, piped: piped, line: line, text: text)
                return value
            }
            return try chainCall(value, chain, args: args, dot: dot, piped: piped, line: line, text: text)
        case .pipe(let pipe, let chain):
            if chain.isEmpty {
                try notAFunction(command, piped: piped, line: line, text: text)
                return try evalPipe(pipe, dot: dot, line: line)
            }
            let receiver = try evalPipe(pipe, dot: dot, line: line)
            return try chainCall(receiver, chain, args: args, dot: dot, piped: piped, line: line, text: text)
        case .nilLiteral:
            throw fail(line, text, "nil is not a command")
        default:
            try notAFunction(command, piped: piped, line: line, text: text)
            return try evalOperand(first, dot: dot, line: line, text: text)
        }
    }

    func variable(_ name: String, line: Int, text: String) throws -> TemplateValue {
        guard let entry = variables.last(where: { $0.0 == name }) else {
            throw TemplateError(.parse, "template: \(line): undefined variable \"\(name)\"")
        }
        return entry.1
    }

    /// `.a.b.c args…`: every name but the last is a field; the last gets the arguments (a method call).
    mutating func chainCall(_ receiver: TemplateValue, _ chain: [String], args: [Operand], dot: TemplateValue, piped: TemplateValue?,
                            line: Int, text: String) throws -> TemplateValue {
        var current = receiver
        for name in chain.dropLast() {
            current = try field(name, of: current, line: line, text: text)
        }
        let last = chain.last!
        if args.isEmpty && piped == nil {
            return try field(last, of: current, line: line, text: text)
        }
        var values: [TemplateValue] = []
        for a in args { values.append(try evalOperand(a, dot: dot, line: line, text: text).asArgument) }
        if let piped { values.append(piped.asArgument) }
        switch current {
        case .object(let o):
            do {
                if let result = try o.call(last, values) { return result }
            } catch let e as TemplateError {
                throw fail(line, text, "error calling \(last): \(e.message)")
            }
            throw fail(line, text, "can't evaluate field \(last) in type \(o.typeName)")
        case .map(let m):
            if let methods = m.methods {
                do {
                    if let result = try methods.call(last, values, of: m) { return result }
                } catch let e as TemplateError {
                    throw fail(line, text, "error calling \(last): \(e.message)")
                }
            }
            throw fail(line, text, "\(last) is not a method but has arguments")
        default:
            _ = try field(last, of: current, line: line, text: text)
            throw fail(line, text, "can't give argument to non-function \(last)")
        }
    }

    func field(_ name: String, of receiver: TemplateValue, line: Int, text: String) throws -> TemplateValue {
        switch receiver {
        case .missing:
            if options.contains(.missingKeyError) { throw TemplateError(.missingKey, "template: \(line): executing at <\(text)>: nil data; no entry for key \"\(name)\"") }
            return .missing
        case .null:
            throw fail(line, text, "nil pointer evaluating interface {}.\(name)")
        case .map(let m):
            // A method of the map's named type comes before a key of that name, as in Go.
            if let methods = m.methods {
                do {
                    if let result = try methods.field(name, of: m) { return result }
                } catch let e as TemplateError {
                    throw fail(line, text, "error calling \(name): \(e.message)")
                }
            }
            if let hit = m[name] { return hit }
            if options.contains(.missingKeyError) {
                throw TemplateError(.missingKey, "template: \(line): executing at <\(text)>: map has no entry for key \"\(name)\"")
            }
            // missingkey=zero gives the element type's zero value: a nil interface, which a further field
            // access fails on ("nil pointer evaluating interface {}.x"), as in Go (and so in Helm).
            return options.contains(.missingKeyZero) && m.element == "interface {}" ? .null : .missing
        case .object(let o):
            if let v = o.field(name) { return v }
            throw fail(line, text, "can't evaluate field \(name) in type \(o.typeName)")
        default:
            throw fail(line, text, "can't evaluate field \(name) in type \(receiver.typeName)")
        }
    }

    mutating func evalOperand(_ operand: Operand, dot: TemplateValue, line: Int, text: String) throws -> TemplateValue {
        switch operand {
        case .dot: return dot
        case .nilLiteral: return .null
        case .bool(let b): return .bool(b)
        case .number(let n):
            do { return try n.ideal() } catch let e as TemplateError { throw fail(line, text, e.message) }
        case .string(let s): return .string(s)
        case .function(let name): return try call(name, [], dot: dot, piped: nil, line: line, text: text)
        case .field(let chain): return try chainCall(dot, chain, args: [], dot: dot, piped: nil, line: line, text: text)
        case .variable(let name, let chain):
            var value = try variable(name, line: line, text: text)
            for f in chain { value = try field(f, of: value, line: line, text: text) }
            return value
        case .pipe(let pipe, let chain):
            var value = try evalPipe(pipe, dot: dot, line: line)
            for f in chain { value = try field(f, of: value, line: line, text: text) }
            return value
        }
    }

    /// An argument for a parameter of `type`: literals as Go's `evalArg`, computed values checked by type.
    mutating func argument(_ operand: Operand, _ type: ParamType, dot: TemplateValue, line: Int, text: String) throws -> TemplateValue {
        switch operand {
        case .nilLiteral, .bool, .string, .number:
            return try type.accept(literal: operand)
        default:
            return try type.accept(evalOperand(operand, dot: dot, line: line, text: text))
        }
    }

    mutating func call(_ name: String, _ operands: [Operand], dot: TemplateValue, piped: TemplateValue?, line: Int, text: String) throws -> TemplateValue {
        guard let function = functions[name] else { throw fail(line, text, "function \"\(name)\" not defined") }
        do {
            try function.checkArity(operands.count + (piped == nil ? 0 : 1))
            // and/or evaluate their arguments only as far as needed.
            if name == "and" || name == "or" {
                var v: TemplateValue = .missing
                for operand in operands {
                    v = try argument(operand, .value, dot: dot, line: line, text: text)
                    if v.isTrue == (name == "or") { return v }
                }
                if let piped { v = piped }
                return v
            }
            var args: [TemplateValue] = []
            args.reserveCapacity(operands.count + 1)
            for (i, operand) in operands.enumerated() {
                args.append(try argument(operand, function.paramType(at: i), dot: dot, line: line, text: text))
            }
            if let piped { args.append(try function.paramType(at: operands.count).accept(piped)) }
            try budget.precheck(name, args)
            // Only Helm's include and tpl reach back into the running templates.
            var context = FunctionContext(budget: budget)
            if name == "include" || name == "tpl" { installHelpers(&context) }
            let result = try function.body(args, context)
            try budget.charge(value: result)
            return result
        } catch let e as TemplateError where e.code == .limit || e.code == .cancelled || e.message.hasPrefix("template: ") {
            if e.message.hasPrefix("template: ") { throw e }
            throw TemplateError(e.code, "template: \(line): executing at <\(text)>: \(e.message)")
        } catch let e as TemplateError {
            if e.message.hasPrefix("wrong number of args") || e.message.hasPrefix("wrong type") || e.message.hasPrefix("expected ")
                || e.message.hasPrefix("invalid value") || e.message.hasPrefix("cannot assign") {
                throw fail(line, text, e.message)
            }
            throw fail(line, text, "error calling \(name): \(e.message)")
        }
    }

    /// Lets `include` and `tpl` reach the running templates.
    func installHelpers(_ context: inout FunctionContext) {
        let copy = self
        context.include = { name, dot in try copy.include(name, dot: dot) }
        context.renderText = { text, dot in
            var parser = GoTemplateParser(name: "tpl", source: text, functions: copy.functions.names, maxDepth: copy.budget.limits.maxDepth)
            let nodes = try parser.parse()
            var templates = copy.templates
            for (k, v) in parser.defines { templates[k] = v }
            var inner = Executor(options: copy.options, functions: copy.functions, templates: templates, root: dot, budget: copy.budget, depth: copy.depth + 1)
            var out = ""
            _ = try inner.walk(nodes, dot: dot, into: &out)
            return out
        }
    }
}
