import FleetModel

/// Helm's `--set` syntax (`pkg/strvals`): `a.b=c,d[0]=e,f={x,y}`, with `\` escaping `,` `.` `=` `[` `{`.
/// Values are typed as helm types them (`true`/`false`, `null`, integers without a leading zero as int64,
/// everything else — floats included — a string), or all strings for `--set-string` / Argo CD's
/// `forceString`.
public enum SetValues {
    /// Applies every assignment of `expression` to `values`. Errors quote the expression.
    public static func apply(_ expression: String, to values: inout [String: HelmValue], asString: Bool = false) throws {
        var parser = Parser(Array(expression), asString: asString, expression: expression)
        try parser.run(&values)
    }

    /// Sets one value at a key path written in `--set` syntax (Argo CD's `parameters` and `fileParameters`).
    public static func set(_ key: String, _ value: HelmValue, in values: inout [String: HelmValue]) throws {
        var parser = Parser(Array(key), asString: true, expression: key)
        let path = try parser.path(stopAtEquals: false)
        var root = HelmValue.map(values)
        try assign(&root, path[...], value, expression: key)
        values = root.mapValue ?? [:]
    }

    /// Helm's `--set-json`: `key=JSON` assignments separated by commas (`a.b={"x":1},c=[1,2]`; an empty value is
    /// null), or one JSON object merged into the values at the top. JSON numbers are Go's float64, as helm reads them.
    public static func applyJSON(_ expression: String, to values: inout [String: HelmValue]) throws {
        func fail(_ detail: String) -> HelmError { HelmError(.badValues, "failed parsing --set-json data \(expression): \(detail)") }
        let trimmed = expression.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            let object: JSONValue
            do { object = try JSONParser.parse(trimmed) } catch { throw fail("\(error)") }
            guard case .map(let m) = HelmValue(json: object) else { throw fail("not a JSON object") }
            values = mergeValueMaps(values, m)
            return
        }
        let chars = Array(expression)
        var parser = Parser(chars, asString: false, expression: expression)
        var root = HelmValue.map(values)
        while parser.i < chars.count {
            let path = try parser.path(stopAtEquals: true)
            guard parser.i < chars.count, chars[parser.i] == "=" else { throw fail("key \"\(parser.render(path))\" has no value") }
            parser.i += 1
            // The JSON value runs to the first comma outside strings, objects and arrays (what Go's decoder reads).
            let start = parser.i
            var depth = 0
            var inString = false
            while parser.i < chars.count {
                let c = chars[parser.i]
                if inString {
                    if c == "\\" { parser.i += 1 } else if c == "\"" { inString = false }
                } else if c == "\"" {
                    inString = true
                } else if c == "{" || c == "[" {
                    depth += 1
                } else if c == "}" || c == "]" {
                    depth -= 1
                } else if c == "," && depth == 0 {
                    break
                }
                parser.i += 1
            }
            let text = String(chars[start..<min(parser.i, chars.count)]).trimmingCharacters(in: .whitespaces)
            if parser.i < chars.count { parser.i += 1 }   // the comma
            let value: HelmValue
            if text.isEmpty {
                value = .null
            } else {
                do { value = HelmValue(json: try JSONParser.parse(text)) } catch { throw fail("\(parser.render(path)): \(error)") }
            }
            try assign(&root, path[...], value, expression: expression)
        }
        values = root.mapValue ?? [:]
    }

    /// Helm's `--set-literal`: one `key=value` whose value is taken as it is written — commas, braces, quotes
    /// and backslashes included — always a string. The key is split at `.` and `[N]`, without escapes.
    public static func applyLiteral(_ expression: String, to values: inout [String: HelmValue]) throws {
        guard let eq = expression.firstIndex(of: "=") else {
            throw HelmError(.badValues, "failed parsing --set-literal data \(expression): key \"\(expression)\" has no value")
        }
        var path: [Step] = []
        var key = ""
        var rest = expression[..<eq][...]
        while let c = rest.first {
            rest = rest.dropFirst()
            switch c {
            case ".":
                if !key.isEmpty { path.append(.key(key)) }
                key = ""
            case "[":
                if !key.isEmpty { path.append(.key(key)) }
                key = ""
                let digits = rest.prefix { $0 != "]" }
                guard let n = Int(digits), rest.dropFirst(digits.count).first == "]" else {
                    throw HelmError(.badValues, "failed parsing --set-literal data \(expression): error parsing index: \(digits)")
                }
                rest = rest.dropFirst(digits.count + 1)
                path.append(.index(n))
            default:
                key.append(c)
            }
        }
        if !key.isEmpty { path.append(.key(key)) }
        guard !path.isEmpty else { throw HelmError(.badValues, "failed parsing --set-literal data \(expression): key has no name") }
        var root = HelmValue.map(values)
        try assign(&root, path[...], .string(String(expression[expression.index(after: eq)...])), expression: expression)
        values = root.mapValue ?? [:]
    }

    enum Step: Equatable { case key(String), index(Int) }

    static func typed(_ text: String, asString: Bool) -> HelmValue {
        if asString { return .string(text) }
        switch text.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        case "0": return .int(0)
        default: break
        }
        if let first = text.first, first != "0", let i = Int(text) { return .int(i) }
        return .string(text)
    }

    static let maxIndex = 65536

    static func assign(_ node: inout HelmValue, _ path: ArraySlice<Step>, _ value: HelmValue, expression: String) throws {
        guard let step = path.first else { node = value; return }
        switch step {
        case .key(let k):
            var m = node.mapValue ?? [:]
            var child = m[k] ?? .null
            if path.count == 1 {
                child = value
            } else {
                try assign(&child, path.dropFirst(), value, expression: expression)
            }
            m[k] = child
            node = .map(m)
        case .index(let i):
            guard i >= 0 else { throw HelmError(.badValues, "negative \(i) index not allowed in \(expression)") }
            guard i < maxIndex else { throw HelmError(.badValues, "index of \(i) is greater than maximum supported index \(maxIndex) in \(expression)") }
            var list: [HelmValue]
            if case .list(let l) = node { list = l } else { list = [] }
            while list.count <= i { list.append(.null) }
            if path.count == 1 {
                list[i] = value
            } else {
                try assign(&list[i], path.dropFirst(), value, expression: expression)
            }
            node = .list(list)
        }
    }

    struct Parser {
        let chars: [Character]
        var i = 0
        let asString: Bool
        let expression: String

        init(_ chars: [Character], asString: Bool, expression: String) {
            self.chars = chars
            self.asString = asString
            self.expression = expression
        }

        func fail(_ message: String) -> HelmError { HelmError(.badValues, "failed parsing --set data \"\(expression)\": \(message)") }

        mutating func run(_ values: inout [String: HelmValue]) throws {
            var root = HelmValue.map(values)
            while i < chars.count {
                let path = try self.path(stopAtEquals: true)
                guard i < chars.count, chars[i] == "=" else {
                    throw HelmError(.badValues, "key \"\(render(path))\" has no value")
                }
                i += 1
                let value: HelmValue
                if i < chars.count, chars[i] == "{" {
                    i += 1
                    var items: [HelmValue] = []
                    var current = ""
                    var closed = false
                    while i < chars.count {
                        let c = chars[i]
                        if c == "\\", i + 1 < chars.count { current.append(chars[i + 1]); i += 2; continue }
                        if c == "}" { closed = true; i += 1; break }
                        if c == "," { items.append(SetValues.typed(current, asString: asString)); current = ""; i += 1; continue }
                        current.append(c)
                        i += 1
                    }
                    guard closed else { throw fail("list must terminate with '}'") }
                    if !current.isEmpty || !items.isEmpty { items.append(SetValues.typed(current, asString: asString)) }
                    value = .list(items)
                    if i < chars.count {
                        guard chars[i] == "," else { throw fail("unexpected data at end of array") }
                        i += 1
                    }
                } else {
                    var text = ""
                    while i < chars.count, chars[i] != "," {
                        if chars[i] == "\\", i + 1 < chars.count { text.append(chars[i + 1]); i += 2; continue }
                        text.append(chars[i])
                        i += 1
                    }
                    if i < chars.count { i += 1 }
                    value = SetValues.typed(text, asString: asString)
                }
                try SetValues.assign(&root, path[...], value, expression: expression)
            }
            values = root.mapValue ?? [:]
        }

        func render(_ path: [Step]) -> String {
            path.map { if case .key(let k) = $0 { return k } else if case .index(let n) = $0 { return "[\(n)]" }; return "" }.joined(separator: ".")
        }

        /// `a.b[0].c` up to `=` (or the end).
        mutating func path(stopAtEquals: Bool) throws -> [Step] {
            var steps: [Step] = []
            var key = ""
            var sawKey = false
            while i < chars.count {
                let c = chars[i]
                if c == "\\", i + 1 < chars.count { key.append(chars[i + 1]); sawKey = true; i += 2; continue }
                if c == "=" && stopAtEquals { break }
                if c == "," && stopAtEquals {
                    throw HelmError(.badValues, "key \"\(key)\" has no value (cannot end with ,)")
                }
                if c == "." {
                    if sawKey { steps.append(.key(key)) }
                    key = ""; sawKey = false
                    i += 1
                    continue
                }
                if c == "[" {
                    if sawKey { steps.append(.key(key)) }
                    key = ""; sawKey = false
                    i += 1
                    var digits = ""
                    while i < chars.count, chars[i] != "]" { digits.append(chars[i]); i += 1 }
                    guard i < chars.count, let n = Int(digits) else { throw fail("error parsing index: \(digits)") }
                    i += 1
                    steps.append(.index(n))
                    continue
                }
                key.append(c)
                sawKey = true
                i += 1
            }
            if sawKey { steps.append(.key(key)) }
            if steps.isEmpty { throw fail("key has no name") }
            return steps
        }
    }
}

/// Helm's `mergeMaps` for values files and Argo CD's `values`: maps merged recursively, the later file wins.
public func mergeValueMaps(_ a: [String: HelmValue], _ b: [String: HelmValue]) -> [String: HelmValue] {
    var out = a
    for (k, v) in b {
        if case .map(let bm) = v, case .map(let am)? = out[k] {
            out[k] = .map(mergeValueMaps(am, bm))
        } else {
            out[k] = v
        }
    }
    return out
}
