/// A Kubernetes label selector: requirements that are ANDed together.
///
/// Parse the string form used by `kubectl -l` and `flotilla cluster list -l`:
/// ```swift
/// let s = try LabelSelector(parsing: "env=prod,region in (eu,us),!canary")
/// s.matches(["env": "prod", "region": "eu"]) // true
/// ```
/// or build one from `matchLabels` / `matchExpressions` with ``init(matchLabels:matchExpressions:)``.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public var requirements: [Requirement]

    public init(requirements: [Requirement] = []) {
        self.requirements = requirements
    }

    /// The empty selector matches everything.
    public static let everything = LabelSelector()

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    public var description: String { requirements.map(\.description).joined(separator: ",") }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equals = "="
        case notEquals = "!="
        case `in` = "in"
        case notIn = "notin"
        case exists = "exists"
        case doesNotExist = "!"
        case greaterThan = "gt"
        case lessThan = "lt"
    }

    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var op: Operator
        public var values: [String]

        public init(key: String, op: Operator, values: [String] = []) {
            self.key = key
            self.op = op
            self.values = values
        }

        /// Kubernetes semantics: `!=` and `notin` also match when the key is absent.
        public func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch op {
            case .equals, .in:
                guard let value else { return false }
                return values.contains(value)
            case .notEquals, .notIn:
                guard let value else { return true }
                return !values.contains(value)
            case .exists:
                return value != nil
            case .doesNotExist:
                return value == nil
            case .greaterThan, .lessThan:
                guard let value, let have = Int64(value), let want = values.first.flatMap({ Int64($0) }) else { return false }
                return op == .greaterThan ? have > want : have < want
            }
        }

        public var description: String {
            switch op {
            case .equals: return "\(key)=\(values.first ?? "")"
            case .notEquals: return "\(key)!=\(values.first ?? "")"
            case .in: return "\(key) in (\(values.joined(separator: ",")))"
            case .notIn: return "\(key) notin (\(values.joined(separator: ",")))"
            case .exists: return key
            case .doesNotExist: return "!\(key)"
            case .greaterThan: return "\(key)>\(values.first ?? "")"
            case .lessThan: return "\(key)<\(values.first ?? "")"
            }
        }
    }
}

// MARK: - matchLabels / matchExpressions

extension LabelSelector {
    /// One entry of `matchExpressions` as written in YAML.
    public struct Expression: Sendable, Hashable {
        public var key: String
        public var `operator`: String
        public var values: [String]

        public init(key: String, operator: String, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }
    }

    /// Builds a selector as `metav1.LabelSelectorAsSelector` does, reporting every invalid part.
    /// `field` is the path used in problems, e.g. `spec.generators[0].clusters.selector`.
    public init(matchLabels: [String: String], matchExpressions: [Expression], field: String = "selector") throws {
        var problems: [FieldProblem] = []
        var requirements: [Requirement] = []
        for key in matchLabels.keys.sorted() {
            let value = matchLabels[key]!
            if let p = KubernetesNames.qualifiedNameProblem(key) { problems.append(.init(field: "\(field).matchLabels", message: p)) }
            if let p = KubernetesNames.labelValueProblem(value) { problems.append(.init(field: "\(field).matchLabels.\(key)", message: p)) }
            requirements.append(Requirement(key: key, op: .equals, values: [value]))
        }
        for (i, expr) in matchExpressions.enumerated() {
            let path = "\(field).matchExpressions[\(i)]"
            if let p = KubernetesNames.qualifiedNameProblem(expr.key) { problems.append(.init(field: "\(path).key", message: p)) }
            let op: Operator
            switch expr.operator {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            default:
                problems.append(.init(field: "\(path).operator", message: "'\(expr.operator)' is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)"))
                continue
            }
            switch op {
            case .in, .notIn:
                if expr.values.isEmpty {
                    problems.append(.init(field: "\(path).values", message: "for 'in', 'notin' operators, values set can't be empty"))
                }
            default:
                if !expr.values.isEmpty {
                    problems.append(.init(field: "\(path).values", message: "values set must be empty for exists and does not exist"))
                }
            }
            for v in expr.values {
                if let p = KubernetesNames.labelValueProblem(v) { problems.append(.init(field: "\(path).values", message: p)) }
            }
            requirements.append(Requirement(key: expr.key, op: op, values: expr.values))
        }
        if !problems.isEmpty { throw InputError(problems) }
        self.init(requirements: requirements)
    }
}

// MARK: - String syntax

extension LabelSelector {
    /// Parses Kubernetes label-selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
    /// `a>1`, `a<1`, separated by commas. Errors say what was expected and at which character.
    public init(parsing text: String) throws {
        var parser = SelectorParser(Array(text.unicodeScalars), source: text)
        self.init(requirements: try parser.parse())
    }
}

private struct SelectorParser {
    let chars: [Unicode.Scalar]
    let source: String
    var pos = 0

    init(_ chars: [Unicode.Scalar], source: String) {
        self.chars = chars
        self.source = source
    }

    mutating func parse() throws -> [LabelSelector.Requirement] {
        var result: [LabelSelector.Requirement] = []
        skipSpaces()
        if pos == chars.count { return [] }
        while true {
            result.append(try requirement())
            skipSpaces()
            if pos == chars.count { return result }
            guard chars[pos] == "," else { throw error("expected ',' or end of selector") }
            pos += 1
            skipSpaces()
            if pos == chars.count { throw error("expected a requirement after ','") }
        }
    }

    mutating func requirement() throws -> LabelSelector.Requirement {
        skipSpaces()
        if peek() == "!" {
            pos += 1
            skipSpaces()
            let key = try identifier(what: "a label key after '!'")
            try checkKey(key)
            return .init(key: key, op: .doesNotExist)
        }
        let key = try identifier(what: "a label key")
        try checkKey(key)
        skipSpaces()
        guard let c = peek(), c != "," else { return .init(key: key, op: .exists) }
        switch c {
        case "=":
            pos += 1
            if peek() == "=" { pos += 1 }
            return .init(key: key, op: .equals, values: [try singleValue()])
        case "!":
            pos += 1
            guard peek() == "=" else { throw error("expected '=' after '!'") }
            pos += 1
            return .init(key: key, op: .notEquals, values: [try singleValue()])
        case ">", "<":
            pos += 1
            let v = try singleValue()
            guard Int64(v) != nil else { throw error("'\(v)' is not an integer for '\(c)'") }
            return .init(key: key, op: c == ">" ? .greaterThan : .lessThan, values: [v])
        default:
            let word = try identifier(what: "an operator (=, ==, !=, in, notin)")
            let op: LabelSelector.Operator
            switch word {
            case "in": op = .in
            case "notin": op = .notIn
            default: throw error("unknown operator '\(word)' (expected =, ==, !=, in, notin)", at: pos - word.unicodeScalars.count)
            }
            skipSpaces()
            guard peek() == "(" else { throw error("expected '(' after '\(word)'") }
            pos += 1
            var values: [String] = []
            while true {
                skipSpaces()
                let v = value()
                if let p = KubernetesNames.labelValueProblem(v) { throw error(p) }
                values.append(v)
                skipSpaces()
                guard let next = peek() else { throw error("expected ')' to close the value list") }
                pos += 1
                if next == ")" { break }
                if next != "," { throw error("expected ',' or ')' in the value list", at: pos - 1) }
            }
            if values == [""] { throw error("for 'in', 'notin' operators, values set can't be empty") }
            return .init(key: key, op: op, values: values)
        }
    }

    mutating func singleValue() throws -> String {
        skipSpaces()
        let v = value()
        if let p = KubernetesNames.labelValueProblem(v) { throw error(p) }
        return v
    }

    mutating func value() -> String {
        var s = String.UnicodeScalarView()
        while let c = peek(), !isDelimiter(c) {
            s.append(c)
            pos += 1
        }
        return String(s)
    }

    mutating func identifier(what: String) throws -> String {
        let start = pos
        var s = String.UnicodeScalarView()
        while let c = peek(), !isDelimiter(c), c != "=", c != "!", c != ">", c != "<" {
            s.append(c)
            pos += 1
        }
        if s.isEmpty { throw error("expected \(what)", at: start) }
        return String(s)
    }

    func checkKey(_ key: String) throws {
        if let p = KubernetesNames.qualifiedNameProblem(key) { throw error(p) }
    }

    func isDelimiter(_ c: Unicode.Scalar) -> Bool {
        c == "," || c == "(" || c == ")" || c == " " || c == "\t"
    }

    func peek() -> Unicode.Scalar? { pos < chars.count ? chars[pos] : nil }

    mutating func skipSpaces() {
        while let c = peek(), c == " " || c == "\t" { pos += 1 }
    }

    func error(_ message: String, at: Int? = nil) -> InputError {
        let column = (at ?? pos) + 1
        return InputError(field: "selector", message: "\(message) at column \(column) of '\(source)'")
    }
}

extension LabelSelector {
    /// A selector written as Kubernetes writes one (`matchLabels`, `matchExpressions`), validated as
    /// `init(matchLabels:matchExpressions:field:)` does; an expression without key or operator is a problem too.
    public init(json: JSONValue, field: String) throws {
        var labels: [String: String] = [:]
        var problems: [FieldProblem] = []
        for (k, v) in json["matchLabels"]?.objectValue ?? [] {
            if let text = v.stringValue { labels[k] = text } else { problems.append(FieldProblem(field: "\(field).matchLabels.\(k)", message: "must be a string")) }
        }
        var expressions: [Expression] = []
        for (i, e) in (json["matchExpressions"]?.arrayValue ?? []).enumerated() {
            guard let key = e["key"]?.stringValue, let op = e["operator"]?.stringValue else {
                problems.append(FieldProblem(field: "\(field).matchExpressions[\(i)]", message: "needs key and operator"))
                continue
            }
            expressions.append(Expression(key: key, operator: op, values: e["values"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        do { try self.init(matchLabels: labels, matchExpressions: expressions, field: field) } catch let error as InputError {
            throw InputError(problems + error.problems)
        }
        if !problems.isEmpty { throw InputError(problems) }
    }
}

