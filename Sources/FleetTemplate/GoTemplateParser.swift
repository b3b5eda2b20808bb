import FleetModel

// Parser for Go text/template syntax: text, actions with pipelines, if/else if/else, range, with,
// variables, comments and whitespace trimming. The grammar follows text/template/parse.

indirect enum TNode: Sendable {
    case text(String)
    case action(Pipe, line: Int)
    case ifNode(Pipe, [TNode], [TNode]?, line: Int)
    case rangeNode(Pipe, [TNode], [TNode]?, line: Int)
    case withNode(Pipe, [TNode], [TNode]?, line: Int)
    case breakNode
    case continueNode
    /// `{{template "name" pipeline}}` (and the call half of `{{block}}`).
    case templateCall(String, Pipe?, line: Int)
}

/// A number literal as Go's parse.NumberNode holds it: every kind the text can stand for.
struct NumberLiteral: Sendable {
    var text: String
    var int: Int?
    var uint: UInt?
    var float: Double?
    var complex: (Double, Double)?
    var isRune = false

    /// Go's `idealConstant`: the value a literal has where no type is asked for.
    func ideal() throws -> TemplateValue {
        if let c = complex { return .complex(c.0, c.1) }
        let lower = text.lowercased()
        let isHexInt = lower.count > 2 && lower.hasPrefix("0x") && !lower.contains("p")
        if let f = float, !isHexInt, !isRune, text.contains(where: { ".eEpP".contains($0) }) { return .float(f) }
        if let i = int { return .int(i) }
        if uint != nil { throw TemplateError(.execution, "\(text) overflows int") }
        if let f = float { return .float(f) }
        throw TemplateError(.execution, "illegal number syntax: \(text)")
    }

    /// Go's parse.NumberNode rules, from the literal's text.
    static func parse(_ text: String) -> NumberLiteral? {
        var n = NumberLiteral(text: text)
        let body = text
        if body.hasSuffix("i") {
            // Imaginary (2i) or complex written as real+imag (1+2i).
            let scalars = Array(body.dropLast())
            if let f = parseFloat(String(scalars)) {
                n.complex = (0, f)
            } else if let split = scalars.indices.dropFirst().last(where: { (scalars[$0] == "+" || scalars[$0] == "-") && !"eEpP".contains(scalars[$0 - 1]) }),
                      let re = parseFloat(String(scalars[..<split])), let im = parseFloat(String(scalars[split...])) {
                n.complex = (re, im)
            } else {
                return nil
            }
            if let c = n.complex, c.1 == 0 {
                n.float = c.0
                if c.0 == c.0.rounded(), abs(c.0) < 9.2e18 { n.int = Int(c.0) }
                if c.0 == c.0.rounded(), c.0 >= 0, c.0 < 1.8e19 { n.uint = UInt(c.0) }
            }
            return n
        }
        if let u = parseInteger(body).flatMap({ $0.negative ? nil : $0.magnitude }) { n.uint = u }
        if let parsed = parseInteger(body), let m = parsed.magnitude {
            if parsed.negative {
                if m <= UInt(Int.max) + 1 { n.int = m == UInt(Int.max) + 1 ? Int.min : -Int(m) }
            } else if m <= UInt(Int.max) {
                n.int = Int(m)
            }
            if n.int == 0 { n.uint = 0 }
        }
        if let i = n.int {
            n.float = Double(i)
        } else if let u = n.uint {
            n.float = Double(u)
        } else if let f = parseFloat(body) {
            if !body.contains(where: { ".eEpP".contains($0) }) { return nil }  // an integer too large for int64
            n.float = f
            if f == f.rounded(), abs(f) < 9.2e18 { n.int = Int(f) }
            if f == f.rounded(), f >= 0, f < 1.8e19 { n.uint = UInt(f) }
        }
        if n.int == nil && n.uint == nil && n.float == nil { return nil }
        return n
    }

    /// strconv.ParseInt/ParseUint with base 0: 0x, 0o, 0b and leading-0 octal, underscores after a prefix.
    static func parseInteger(_ text: String) -> (negative: Bool, magnitude: UInt?)? {
        var s = Substring(text)
        var negative = false
        if s.first == "+" || s.first == "-" { negative = s.first == "-"; s = s.dropFirst() }
        guard !s.isEmpty else { return nil }
        var radix = 10
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) } else if lower.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) } else if lower.hasPrefix("0b") {
            radix = 2; s = s.dropFirst(2)
        } else if s.count > 1, s.first == "0" { radix = 8; s = s.dropFirst() }
        if s.contains("_") {
            guard underscoresOK(String(s)) else { return nil }
            s = Substring(s.replacingOccurrences(of: "_", with: ""))
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isHexDigit }) else { return nil }
        return (negative, UInt(s, radix: radix))
    }

    /// Go's rule: an underscore only between digits (or after a base prefix).
    static func underscoresOK(_ s: String) -> Bool {
        !s.hasSuffix("_") && !s.contains("__") && !s.contains("_.") && !s.contains("._")
    }

    /// strconv.ParseFloat: decimal and hex (0x1.8p3) forms, underscores after a base prefix.
    static func parseFloat(_ text: String) -> Double? {
        var s = text
        let lower = s.lowercased()
        let unsigned = lower.hasPrefix("-") || lower.hasPrefix("+") ? String(lower.dropFirst()) : lower
        if s.contains("_") {
            guard underscoresOK(unsigned), !unsigned.hasPrefix("_") else { return nil }
            s = s.replacingOccurrences(of: "_", with: "")
        }
        if unsigned.hasPrefix("0x") {
            guard lower.contains("p") || !lower.contains(".") else { return nil }
        } else if unsigned.hasPrefix("0o") || unsigned.hasPrefix("0b") || unsigned.hasPrefix("inf") || unsigned.hasPrefix("nan") {
            return nil
        }
        guard let first = unsigned.first, first.isNumber || first == "." else { return nil }
        return Double(s)
    }
}

struct Pipe: Sendable {
    var decl: [String] = []
    var isAssign = false
    var commands: [Command] = []
    var text: String = ""
}

struct Command: Sendable {
    var operands: [Operand]
}

indirect enum Operand: Sendable {
    case dot
    case nilLiteral
    case bool(Bool)
    case number(NumberLiteral)
    case string(String)
    case field([String])                 // .a.b
    case variable(String, [String])      // $x.a.b
    case function(String)
    case pipe(Pipe, [String])            // (pipeline).a.b
}

enum Token: Equatable, Sendable {
    case field(String, adjacent: Bool)
    case variable(String)
    case identifier(String)
    case string(String)
    case number(String)
    case char(Int, text: String)
    case dot
    case pipe
    case leftParen
    case rightParen
    case comma
    case declare
    case assign
}

struct GoTemplateParser {
    let name: String
    let source: [Unicode.Scalar]
    var pos = 0
    var line = 1
    let functions: Set<String>
    /// Deepest nesting of blocks and parentheses accepted (`TemplateLimits.maxDepth`).
    let maxDepth: Int
    /// Templates named by `{{define}}` and `{{block}}`.
    var defines: [String: [TNode]] = [:]

    init(name: String, source: String, functions: Set<String>, maxDepth: Int = TemplateLimits.default.maxDepth) {
        self.name = name
        self.source = Array(source.unicodeScalars)
        self.functions = functions
        self.maxDepth = maxDepth
    }

    func checkDepth(_ depth: Int, line: Int) throws {
        if depth > maxDepth {
            throw TemplateError(.limit, "template: \(name):\(line): nesting deeper than \(maxDepth) levels (maxDepth)")
        }
    }

    func error(_ message: String, line: Int? = nil) -> TemplateError {
        TemplateError(.parse, "template: \(name):\(line ?? self.line): \(message)")
    }

    // MARK: Top level

    /// One item of the template: text or an action's tokens with its trim markers.
    enum Item {
        case text(String)
        case action([Token], line: Int, text: String)
    }

    mutating func items() throws -> [Item] {
        var items: [Item] = []
        var text = String.UnicodeScalarView()
        var trimNextText = false
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        while pos < source.count {
            if source[pos] == "{" && pos + 1 < source.count && source[pos + 1] == "{" {
                var start = pos + 2
                var trimLeft = false
                if start + 1 < source.count, source[start] == "-", isSpace(source[start + 1]) {
                    trimLeft = true
                    start += 2
                }
                if trimLeft { while let last = text.last, isSpace(last) { text.removeLast() } }
                if trimNextText { while let first = text.first, isSpace(first) { text.removeFirst() } }
                if !text.isEmpty { items.append(.text(String(text))) }
                text = String.UnicodeScalarView()
                trimNextText = false
                pos = start
                let actionLine = line
                // Comments: {{/* ... */}}
                var p = pos
                while p < source.count, isSpace(source[p]) { p += 1 }
                if p + 1 < source.count, source[p] == "/", source[p + 1] == "*" {
                    var q = p + 2
                    while q + 1 < source.count, !(source[q] == "*" && source[q + 1] == "/") {
                        if source[q] == "\n" { line += 1 }
                        q += 1
                    }
                    guard q + 1 < source.count else { throw error("unclosed comment", line: actionLine) }
                    q += 2
                    while q < source.count, isSpace(source[q]) { q += 1 }
                    if q + 2 < source.count, source[q] == "-", source[q + 1] == "}", source[q + 2] == "}" {
                        trimNextText = true
                        pos = q + 3
                    } else if q + 1 < source.count, source[q] == "}", source[q + 1] == "}" {
                        pos = q + 2
                    } else {
                        throw error("comment ends before closing delimiter", line: actionLine)
                    }
                    continue
                }
                let actionStart = pos
                let (tokens, trimRight) = try lexAction()
                // The action's text, without the closing delimiter and its trim marker (" -}}").
                let actionText = String(String.UnicodeScalarView(source[actionStart..<max(actionStart, pos - (trimRight ? 3 : 2))]))
                items.append(.action(tokens, line: actionLine, text: actionText.trimmingCharacters(in: .whitespaces)))
                trimNextText = trimRight
            } else {
                if source[pos] == "\n" { line += 1 }
                text.append(source[pos])
                pos += 1
            }
        }
        if trimNextText { while let first = text.first, isSpace(first) { text.removeFirst() } }
        if !text.isEmpty { items.append(.text(String(text))) }
        return items
    }

    // MARK: Lexing one action

    mutating func lexAction() throws -> ([Token], Bool) {
        var tokens: [Token] = []
        let startLine = line
        var lastEnd = -1  // where the previous token ended, to tell `.a.b` (one chain) from `x .b` (two operands)
        while true {
            guard pos < source.count else { throw error("unclosed action", line: startLine) }
            let c = source[pos]
            if c == " " || c == "\t" || c == "\r" || c == "\n" {
                if c == "\n" { line += 1 }
                // " -}}" closes with right trim.
                if source[safe: pos + 1] == "-", source[safe: pos + 2] == "}", source[safe: pos + 3] == "}" {
                    pos += 4
                    return (tokens, true)
                }
                pos += 1
                continue
            }
            if c == "}" && source[safe: pos + 1] == "}" {
                pos += 2
                return (tokens, false)
            }
            switch c {
            case "|": tokens.append(.pipe); pos += 1
            case "(": tokens.append(.leftParen); pos += 1
            case ")": tokens.append(.rightParen); pos += 1
            case ",": tokens.append(.comma); pos += 1
            case ":":
                guard source[safe: pos + 1] == "=" else { throw error("expected :=") }
                tokens.append(.declare); pos += 2
            case "=": tokens.append(.assign); pos += 1
            case "\"": tokens.append(.string(try lexQuoted()))
            case "`":
                pos += 1
                var s = String.UnicodeScalarView()
                while pos < source.count, source[pos] != "`" {
                    if source[pos] == "\n" { line += 1 }
                    s.append(source[pos]); pos += 1
                }
                guard pos < source.count else { throw error("unterminated raw quoted string") }
                pos += 1
                tokens.append(.string(String(s)))
            case "'":
                let start = pos
                tokens.append(.char(Int(try lexChar().value), text: String(String.UnicodeScalarView(source[start..<pos]))))
            case ".":
                let next = source[safe: pos + 1]
                if let n = next, isIdentChar(n), !(n >= "0" && n <= "9") {
                    let adjacent = !tokens.isEmpty && lastEnd == pos
                    pos += 1
                    tokens.append(.field(lexIdentifier(), adjacent: adjacent))
                    lastEnd = pos
                    continue
                } else if let n = next, n >= "0" && n <= "9" {
                    tokens.append(.number(try lexNumber()))
                } else {
                    tokens.append(.dot); pos += 1
                }
            case "$":
                pos += 1
                let ident = lexIdentifier()
                tokens.append(.variable("$" + ident))
            default:
                if (c >= "0" && c <= "9") || ((c == "-" || c == "+") && (source[safe: pos + 1].map { $0 >= "0" && $0 <= "9" } ?? false)) {
                    tokens.append(.number(try lexNumber()))
                } else if isIdentChar(c) {
                    tokens.append(.identifier(lexIdentifier()))
                } else {
                    throw error("unexpected \"\(c)\" in command")
                }
            }
            lastEnd = pos
        }
    }

    func isIdentChar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c.properties.isAlphabetic
    }

    mutating func lexIdentifier() -> String {
        var s = String.UnicodeScalarView()
        while pos < source.count, isIdentChar(source[pos]) {
            s.append(source[pos]); pos += 1
        }
        return String(s)
    }

    /// Go's scanNumber: sign, base prefix, digits with underscores, fraction, exponent, imaginary suffix; a
    /// second number right after a sign makes a complex literal (`1+2i`).
    mutating func lexNumber() throws -> String {
        let start = pos
        func accept(_ set: String) -> Bool {
            if let c = source[safe: pos], set.unicodeScalars.contains(c) { pos += 1; return true }
            return false
        }
        func acceptRun(_ set: String) { while accept(set) {} }
        func scan() -> Bool {
            _ = accept("+-")
            var digits = "0123456789_"
            if accept("0") {
                if accept("xX") { digits = "0123456789abcdefABCDEF_" } else if accept("oO") { digits = "01234567_" } else if accept("bB") { digits = "01_" }
            }
            acceptRun(digits)
            if accept(".") { acceptRun(digits) }
            if digits.count == 11 && accept("eE") {
                _ = accept("+-")
                acceptRun("0123456789_")
            }
            if digits.count == 23 && accept("pP") {
                _ = accept("+-")
                acceptRun("0123456789_")
            }
            _ = accept("i")
            if let c = source[safe: pos], isIdentChar(c) {
                pos += 1
                return false
            }
            return true
        }
        func text() -> String { String(String.UnicodeScalarView(source[start..<pos])) }
        guard scan() else { throw error("bad number syntax: \"\(text())\"") }
        if let c = source[safe: pos], c == "+" || c == "-" {
            guard scan(), source[pos - 1] == "i" else { throw error("bad number syntax: \"\(text())\"") }
        }
        return text()
    }

    /// A character constant: 'a', '\n', '\x41', '\u00e9'.
    mutating func lexChar() throws -> Unicode.Scalar {
        pos += 1
        guard let c = source[safe: pos], c != "'", c != "\n" else { throw error("unterminated character constant") }
        pos += 1
        var value = c
        if c == "\\" {
            guard let e = source[safe: pos] else { throw error("unterminated character constant") }
            pos += 1
            switch e {
            case "n": value = "\n"
            case "t": value = "\t"
            case "r": value = "\r"
            case "a": value = "\u{07}"
            case "b": value = "\u{08}"
            case "f": value = "\u{0C}"
            case "v": value = "\u{0B}"
            case "0"..."7":
                let digits = String(String.UnicodeScalarView([e] + source[pos..<min(pos + 2, source.count)]))
                guard let v = UInt32(digits, radix: 8), let scalar = Unicode.Scalar(v) else { throw error("invalid escape in character constant") }
                value = scalar
                pos += 2
            case "x", "u", "U":
                let n = e == "x" ? 2 : e == "u" ? 4 : 8
                let digits = String(String.UnicodeScalarView(source[pos..<min(pos + n, source.count)]))
                guard digits.count == n, let v = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(v) else {
                    throw error("invalid escape in character constant")
                }
                value = scalar
                pos += n
            default: value = e
            }
        }
        guard source[safe: pos] == "'" else { throw error("unterminated character constant") }
        pos += 1
        return value
    }

    mutating func lexQuoted() throws -> String {
        pos += 1
        var s = String.UnicodeScalarView()
        while pos < source.count {
            let c = source[pos]
            pos += 1
            if c == "\"" { return String(s) }
            if c == "\n" { throw error("unterminated quoted string") }
            if c == "\\" {
                guard let e = source[safe: pos] else { break }
                pos += 1
                switch e {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "r": s.append("\r")
                case "\\": s.append("\\")
                case "\"": s.append("\"")
                case "'": s.append("'")
                case "u":
                    let hex = String(String.UnicodeScalarView(source[pos..<min(pos + 4, source.count)]))
                    guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { throw error("invalid escape in quoted string") }
                    s.append(scalar); pos += 4
                default: throw error("invalid escape \\\(e) in quoted string")
                }
            } else {
                s.append(c)
            }
        }
        throw error("unterminated quoted string")
    }

    // MARK: Tree

    mutating func parse() throws -> [TNode] {
        let all = try items()
        var index = 0
        let (nodes, terminator) = try parseList(all, &index, inRange: false, depth: 0)
        if let terminator { throw error("unexpected {{\(terminator)}}") }
        return nodes
    }

    /// Parses nodes until `{{end}}` or `{{else …}}`; returns the nodes and the terminator's tokens as text.
    mutating func parseList(_ items: [Item], _ index: inout Int, inRange: Bool, depth: Int) throws -> ([TNode], String?) {
        var nodes: [TNode] = []
        while index < items.count {
            let item = items[index]
            index += 1
            switch item {
            case .text(let t):
                nodes.append(.text(t))
            case .action(let tokens, let line, let text):
                guard let first = tokens.first else { throw error("missing value for command", line: line) }
                if case .identifier(let word) = first {
                    switch word {
                    case "end":
                        return (nodes, "end")
                    case "else":
                        return (nodes, text)
                    case "if", "range", "with":
                        try checkDepth(depth + 1, line: line)
                        nodes.append(try parseControl(word, Array(tokens.dropFirst()), line: line, items, &index, inRange: inRange || word == "range",
                                                      depth: depth + 1))
                        continue
                    case "break", "continue":
                        guard inRange else { throw error("{{\(word)}} outside {{range}}", line: line) }
                        nodes.append(word == "break" ? .breakNode : .continueNode)
                        continue
                    case "define":
                        guard depth == 0 else { throw error("unexpected <define> in command", line: line) }
                        let name = try templateName(tokens, word, line: line)
                        guard tokens.count == 2 else { throw error("unexpected \(tokens[2]) in define clause", line: line) }
                        let (body, terminator) = try parseList(items, &index, inRange: false, depth: depth + 1)
                        guard terminator == "end" else { throw error("unexpected EOF: missing {{end}} for {{define}}", line: line) }
                        defines[name] = body
                        continue
                    case "template", "block":
                        let name = try templateName(tokens, word, line: line)
                        var pipe: Pipe?
                        if tokens.count > 2 {
                            pipe = try parsePipe(Array(tokens.dropFirst(2)), line: line, allowDecl: false)
                            pipe?.text = text
                        }
                        if word == "block" {
                            try checkDepth(depth + 1, line: line)
                            let (body, terminator) = try parseList(items, &index, inRange: false, depth: depth + 1)
                            guard terminator == "end" else { throw error("unexpected EOF: missing {{end}} for {{block}}", line: line) }
                            defines[name] = body
                        }
                        nodes.append(.templateCall(name, pipe, line: line))
                        continue
                    default:
                        break
                    }
                }
                var pipe = try parsePipe(tokens, line: line, allowDecl: true)
                pipe.text = text
                nodes.append(.action(pipe, line: line))
            }
        }
        return (nodes, nil)
    }

    func templateName(_ tokens: [Token], _ word: String, line: Int) throws -> String {
        guard tokens.count >= 2, case .string(let name) = tokens[1] else {
            throw error("unexpected \(tokens.dropFirst().first.map { "\($0)" } ?? "end of action") in \(word) clause", line: line)
        }
        return name
    }

    mutating func parseControl(_ word: String, _ tokens: [Token], line: Int, _ items: [Item], _ index: inout Int, inRange: Bool, depth: Int) throws -> TNode {
        var pipe = try parsePipe(tokens, line: line, allowDecl: true, rangeDecl: word == "range")
        pipe.text = word
        if pipe.commands.isEmpty { throw error("missing value for \(word)", line: line) }
        let (body, terminator) = try parseList(items, &index, inRange: inRange, depth: depth)
        guard let terminator else { throw error("unexpected EOF: missing {{end}} for {{\(word)}}", line: line) }
        var elseBody: [TNode]?
        if terminator != "end" {
            // "else", "else if …", "else with …"
            let rest = terminator.dropFirst("else".count).trimmingCharacters(in: .whitespaces)
            if rest.isEmpty {
                let (e, t2) = try parseList(items, &index, inRange: inRange, depth: depth)
                guard t2 == "end" else { throw error("expected {{end}} after {{else}}", line: line) }
                elseBody = e
            } else {
                var sub = GoTemplateParser(name: name, source: "{{" + rest + "}}", functions: functions, maxDepth: maxDepth)
                sub.line = line
                let subItems = try sub.items()
                guard case .action(let t, _, _) = subItems.first, case .identifier(let w) = t.first, w == "if" || w == "with" else {
                    throw error("unexpected {{\(terminator)}}", line: line)
                }
                try checkDepth(depth + 1, line: line)
                elseBody = [try parseControl(w, Array(t.dropFirst()), line: line, items, &index, inRange: inRange, depth: depth + 1)]
            }
        }
        switch word {
        case "if": return .ifNode(pipe, body, elseBody, line: line)
        case "range": return .rangeNode(pipe, body, elseBody, line: line)
        default: return .withNode(pipe, body, elseBody, line: line)
        }
    }

    func parsePipe(_ tokens: [Token], line: Int, allowDecl: Bool, rangeDecl: Bool = false) throws -> Pipe {
        var pipe = Pipe()
        var i = 0
        // Declarations: $x := …, $x = …, $i, $e := … (range)
        if allowDecl, case .variable(let v) = tokens.first {
            if tokens.count > 1, tokens[1] == .declare || tokens[1] == .assign {
                pipe.decl = [v]
                pipe.isAssign = tokens[1] == .assign
                i = 2
            } else if rangeDecl, tokens.count > 3, tokens[1] == .comma, case .variable(let v2) = tokens[2], tokens[3] == .declare || tokens[3] == .assign {
                pipe.decl = [v, v2]
                pipe.isAssign = tokens[3] == .assign
                i = 4
            }
        }
        var current: [Operand] = []
        while i < tokens.count {
            if tokens[i] == .pipe {
                if current.isEmpty { throw error("missing command before '|'", line: line) }
                pipe.commands.append(Command(operands: current))
                current = []
                i += 1
                continue
            }
            current.append(try parseOperand(tokens, &i, line: line))
        }
        // A trailing '|' ends the pipeline (`{{ "a" | upper | }}` prints A): Go's parser takes a '|' as the end of
        // the command before it and then finds the pipeline's end, not an empty command.
        if !current.isEmpty { pipe.commands.append(Command(operands: current)) }
        return pipe
    }

    func parseOperand(_ tokens: [Token], _ i: inout Int, line: Int) throws -> Operand {
        let token = tokens[i]
        i += 1
        var operand: Operand
        switch token {
        case .dot: operand = .dot
        case .field(let f, _):
            var chain = [f]
            while i < tokens.count, case .field(let g, true) = tokens[i] { chain.append(g); i += 1 }
            return .field(chain)
        case .variable(let v):
            var chain: [String] = []
            while i < tokens.count, case .field(let g, true) = tokens[i] { chain.append(g); i += 1 }
            return .variable(v, chain)
        case .string(let s): operand = .string(s)
        case .char(let c, let text):
            operand = .number(NumberLiteral(text: text, int: c, uint: UInt(c), float: Double(c), isRune: true))
        case .number(let n):
            guard let literal = NumberLiteral.parse(n) else {
                let overflow = NumberLiteral.parseInteger(n) != nil || !n.contains(where: { ".eEpPi".contains($0) })
                throw error(overflow ? "integer overflow: \"\(n)\"" : "illegal number syntax: \"\(n)\"", line: line)
            }
            operand = .number(literal)
        case .identifier(let word):
            switch word {
            case "true": operand = .bool(true)
            case "false": operand = .bool(false)
            case "nil": operand = .nilLiteral
            default:
                guard functions.contains(word) else { throw error("function \"\(word)\" not defined", line: line) }
                return .function(word)
            }
        case .leftParen:
            var depth = 1
            var inner: [Token] = []
            while i < tokens.count {
                if tokens[i] == .leftParen {
                    depth += 1
                    try checkDepth(depth, line: line)
                }
                if tokens[i] == .rightParen { depth -= 1; if depth == 0 { break } }
                inner.append(tokens[i]); i += 1
            }
            guard i < tokens.count else { throw error("unclosed left paren", line: line) }
            i += 1
            let pipe = try parsePipe(inner, line: line, allowDecl: false)
            var chain: [String] = []
            while i < tokens.count, case .field(let g, true) = tokens[i] { chain.append(g); i += 1 }
            return .pipe(pipe, chain)
        default:
            throw error("unexpected \(token) in operand", line: line)
        }
        if i < tokens.count, case .field(_, true) = tokens[i] {
            throw error("unexpected . after term", line: line)
        }
        return operand
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { index >= 0 && index < count ? self[index] : nil }
}

import Foundation
