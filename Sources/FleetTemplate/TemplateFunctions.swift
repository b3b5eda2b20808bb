import FleetConfig
import FleetModel
import Foundation

/// The functions Go-template ApplicationSets may call: Go's builtins, the Sprig functions users write,
/// and Argo CD's additions. Unknown names fail at parse time with `function "x" not defined`.
enum TemplateFunctions {
    static let names: Set<String> = [
        // Go builtins
        "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println",
        "slice", "html", "js", "urlquery",
        // Argo CD
        "normalize", "slugify", "toYaml", "fromYaml", "fromYamlArray",
        // Sprig: strings
        "lower", "upper", "title", "untitle", "trim", "trimAll", "trimPrefix", "trimSuffix", "trunc", "replace",
        "repeat", "substr", "contains", "hasPrefix", "hasSuffix", "quote", "squote", "cat", "indent", "nindent",
        "nospace", "splitList", "split", "join", "toString", "toStrings", "camelcase", "snakecase", "kebabcase",
        "regexMatch", "regexFind", "regexFindAll", "regexReplaceAll", "regexReplaceAllLiteral", "regexSplit",
        "b64enc", "b64dec", "abbrev", "initials", "wrap", "plural", "sha256sum", "shuffle",
        // Sprig: defaults and logic
        "default", "empty", "coalesce", "ternary", "fail", "required",
        // Sprig: conversion
        "toJson", "toPrettyJson", "toRawJson", "fromJson", "atoi", "int", "int64", "float64", "typeOf", "kindOf", "kindIs",
        // Sprig: lists
        "list", "first", "last", "rest", "initial", "append", "push", "prepend", "concat", "reverse", "uniq",
        "without", "has", "compact", "sortAlpha", "until", "seq",
        // Sprig: dicts
        "dict", "get", "set", "unset", "hasKey", "keys", "values", "pick", "omit", "merge", "mergeOverwrite", "dig", "deepCopy",
        // Sprig: math
        "add", "add1", "sub", "mul", "div", "mod", "max", "min", "floor", "ceil", "round",
    ]

    static func fail(_ message: String) -> TemplateError { TemplateError(.execution, message) }

    static func str(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        if case .null = v { return "" }
        return GoValue.format(v)
    }

    static func int(_ v: JSONValue) -> Int {
        switch v {
        case .int(let i): return i
        case .double(let d): return Int(d)
        case .string(let s): return Int(s) ?? Int(Double(s) ?? 0)
        case .bool(let b): return b ? 1 : 0
        default: return 0
        }
    }

    static func double(_ v: JSONValue) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s) ?? 0
        default: return 0
        }
    }

    static func list(_ v: JSONValue) -> [JSONValue] {
        switch v {
        case .array(let a): return a
        case .null: return []
        default: return [v]
        }
    }

    static func need(_ args: [JSONValue], _ n: Int, _ name: String) throws {
        if args.count != n { throw fail("wrong number of args for \(name): want \(n) got \(args.count)") }
    }

    /// Go's comparison: numbers compare by value, strings and booleans by equality.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int, .double), (.double, .int), (.double, .double): return double(a) == double(b)
        default: return a == b
        }
    }

    static func compare(_ a: JSONValue, _ b: JSONValue, _ name: String) throws -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            let x = double(a), y = double(b)
            return x < y ? -1 : (x == y ? 0 : 1)
        default: throw fail("incompatible types for comparison")
        }
    }

    static func call(_ name: String, _ args: [JSONValue], rawArgs: [JSONValue?]) throws -> JSONValue {
        switch name {
        // Go builtins
        case "and":
            for a in args where !GoValue.isTrue(a) { return a }
            return args.last ?? .null
        case "or":
            for a in args where GoValue.isTrue(a) { return a }
            return args.last ?? .null
        case "not": try need(args, 1, name); return .bool(!GoValue.isTrue(args[0]))
        case "eq":
            guard args.count >= 2 else { throw fail("missing argument for comparison") }
            return .bool(args.dropFirst().contains { equal(args[0], $0) })
        case "ne": try need(args, 2, name); return .bool(!equal(args[0], args[1]))
        case "lt": try need(args, 2, name); return .bool(try compare(args[0], args[1], name) < 0)
        case "le": try need(args, 2, name); return .bool(try compare(args[0], args[1], name) <= 0)
        case "gt": try need(args, 2, name); return .bool(try compare(args[0], args[1], name) > 0)
        case "ge": try need(args, 2, name); return .bool(try compare(args[0], args[1], name) >= 0)
        case "len":
            try need(args, 1, name)
            switch args[0] {
            case .string(let s): return .int(s.utf8.count)
            case .array(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            case .null: return .int(0)
            default: throw fail("len of type \(GoValue.kindName(args[0]))")
            }
        case "index":
            guard var current = args.first else { throw fail("index of untyped nil") }
            for key in args.dropFirst() {
                switch (current, key) {
                case (.array(let a), _):
                    let i = int(key)
                    guard i >= 0 && i < a.count else { throw fail("index out of range: \(i)") }
                    current = a[i]
                case (.object, .string(let k)):
                    current = current[k] ?? .null
                case (.null, _):
                    return .null
                case (.string(let s), _):
                    let bytes = Array(s.utf8), i = int(key)
                    guard i >= 0 && i < bytes.count else { throw fail("index out of range: \(i)") }
                    current = .int(Int(bytes[i]))
                default:
                    throw fail("can't index item of type \(GoValue.kindName(current))")
                }
            }
            return current
        case "slice":
            guard let first = args.first else { throw fail("slice of untyped nil") }
            let from = args.count > 1 ? int(args[1]) : 0
            switch first {
            case .string(let s):
                let b = Array(s.utf8), to = args.count > 2 ? int(args[2]) : b.count
                guard from >= 0, from <= to, to <= b.count else { throw fail("slice index out of range") }
                return .string(String(decoding: b[from..<to], as: UTF8.self))
            case .array(let a):
                let to = args.count > 2 ? int(args[2]) : a.count
                guard from >= 0, from <= to, to <= a.count else { throw fail("slice index out of range") }
                return .array(Array(a[from..<to]))
            default: throw fail("can't slice item of type \(GoValue.kindName(first))")
            }
        case "print": return .string(goPrint(args))
        case "println": return .string(args.map { GoValue.format($0) }.joined(separator: " ") + "\n")
        case "printf":
            guard let format = args.first else { throw fail("wrong number of args for printf") }
            return .string(Printf.format(str(format), Array(args.dropFirst())))
        case "html":
            return .string(goPrint(args).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        case "js":
            return .string(goPrint(args).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'").replacingOccurrences(of: "\"", with: "\\\""))
        case "urlquery":
            return .string(goPrint(args).addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? "")

        // Argo CD
        case "normalize": try need(args, 1, name); return .string(normalizeName(str(args[0])))
        case "slugify":
            guard let s = args.last else { throw fail("wrong number of args for slugify") }
            let max = args.count > 1 ? int(args[0]) : 50
            let smart = args.count > 2 ? GoValue.isTrue(args[1]) : true
            return .string(slugify(str(s), maxSize: max, smartTruncate: smart))
        case "toYaml":
            try need(args, 1, name)
            if args[0].isNull { return .string("null") }
            var text = YAMLOutput.render(canonicalJSON(args[0]))  // go-yaml sorts map keys
            if text.hasSuffix("\n") { text.removeLast() }
            return .string(text)
        case "fromYaml", "fromJson":
            try need(args, 1, name)
            do {
                let v = try name == "fromJson" ? JSONParser.parse(str(args[0])) : YAMLValue.parse(str(args[0]), file: nil)
                if case .object = v { return v }
                if v.isNull { return .object([]) }
                return .object([("Error", .string("cannot unmarshal into a map"))])
            } catch {
                return .object([("Error", .string("\(error)"))])
            }
        case "fromYamlArray":
            try need(args, 1, name)
            let v = (try? YAMLValue.parse(str(args[0]), file: nil)) ?? .null
            if case .array = v { return v }
            return .array([.string("error: expected a YAML list")])

        // strings
        case "lower": try need(args, 1, name); return .string(str(args[0]).lowercased())
        case "upper": try need(args, 1, name); return .string(str(args[0]).uppercased())
        case "title":
            try need(args, 1, name)
            return .string(str(args[0]).split(separator: " ", omittingEmptySubsequences: false).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " "))
        case "untitle":
            try need(args, 1, name)
            return .string(str(args[0]).split(separator: " ", omittingEmptySubsequences: false).map { $0.prefix(1).lowercased() + $0.dropFirst() }.joined(separator: " "))
        case "trim": try need(args, 1, name); return .string(str(args[0]).trimmingCharacters(in: .whitespacesAndNewlines))
        case "trimAll": try need(args, 2, name); return .string(str(args[1]).trimmingCharacters(in: CharacterSet(charactersIn: str(args[0]))))
        case "trimPrefix":
            try need(args, 2, name)
            let s = str(args[1]), p = str(args[0])
            return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s)
        case "trimSuffix":
            try need(args, 2, name)
            let s = str(args[1]), p = str(args[0])
            return .string(s.hasSuffix(p) ? String(s.dropLast(p.count)) : s)
        case "trunc":
            try need(args, 2, name)
            let n = int(args[0]), s = str(args[1])
            if n >= 0 { return .string(String(s.prefix(n))) }
            return .string(String(s.suffix(-n)))
        case "replace": try need(args, 3, name); return .string(str(args[2]).replacingOccurrences(of: str(args[0]), with: str(args[1])))
        case "repeat": try need(args, 2, name); return .string(String(repeating: str(args[1]), count: max(0, int(args[0]))))
        case "substr":
            try need(args, 3, name)
            let s = Array(str(args[2])), start = max(0, int(args[0])), end = int(args[1])
            let stop = end < 0 || end > s.count ? s.count : end
            return .string(start >= stop ? "" : String(s[start..<stop]))
        case "contains": try need(args, 2, name); return .bool(str(args[1]).contains(str(args[0])))
        case "hasPrefix": try need(args, 2, name); return .bool(str(args[1]).hasPrefix(str(args[0])))
        case "hasSuffix": try need(args, 2, name); return .bool(str(args[1]).hasSuffix(str(args[0])))
        case "quote": return .string(args.filter { !$0.isNull }.map { "\"" + str($0).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: " "))
        case "squote": return .string(args.filter { !$0.isNull }.map { "'\(str($0))'" }.joined(separator: " "))
        case "cat": return .string(args.filter { !$0.isNull }.map(str).joined(separator: " "))
        case "indent", "nindent":
            try need(args, 2, name)
            let pad = String(repeating: " ", count: max(0, int(args[0])))
            let body = pad + str(args[1]).replacingOccurrences(of: "\n", with: "\n" + pad)
            return .string(name == "nindent" ? "\n" + body : body)
        case "nospace": try need(args, 1, name); return .string(str(args[0]).filter { !$0.isWhitespace })
        case "splitList": try need(args, 2, name); return .array(str(args[1]).components(separatedBy: str(args[0])).map(JSONValue.string))
        case "split":
            try need(args, 2, name)
            return .object(str(args[1]).components(separatedBy: str(args[0])).enumerated().map { ("_\($0.offset)", .string($0.element)) })
        case "join":
            try need(args, 2, name)
            return .string(list(args[1]).map(str).joined(separator: str(args[0])))
        case "toString": try need(args, 1, name); return .string(str(args[0]))
        case "toStrings": try need(args, 1, name); return .array(list(args[0]).map { .string(str($0)) })
        case "camelcase":
            try need(args, 1, name)
            return .string(str(args[0]).split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == " " }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())
        case "snakecase", "kebabcase":
            try need(args, 1, name)
            let sep: Character = name == "snakecase" ? "_" : "-"
            var out = ""
            for (i, c) in str(args[0]).enumerated() {
                if c.isUppercase, i > 0, out.last != sep { out.append(sep) }
                out.append(c == "_" || c == "-" || c == " " ? sep : Character(c.lowercased()))
            }
            return .string(out)
        case "regexMatch":
            try need(args, 2, name)
            return .bool(try regex(str(args[0])).search(scalars(args[1]), from: 0) != nil)
        case "regexFind":
            try need(args, 2, name)
            let text = scalars(args[1])
            guard let m = try regex(str(args[0])).search(text, from: 0) else { return .string("") }
            return .string(GoRegex.substring(text, m))
        case "regexFindAll":
            try need(args, 3, name)
            let text = scalars(args[1])
            return .array(try regex(str(args[0])).allMatches(text, limit: int(args[2])).map { .string(GoRegex.substring(text, $0)) })
        case "regexReplaceAll", "regexReplaceAllLiteral":
            try need(args, 3, name)
            return .string(try regex(str(args[0])).replaceAll(scalars(args[1]), with: str(args[2]), literal: name == "regexReplaceAllLiteral"))
        case "regexSplit":
            try need(args, 3, name)
            let pattern = str(args[0])
            return .array(try regex(pattern).split(scalars(args[1]), int(args[2]), patternIsEmpty: pattern.isEmpty).map(JSONValue.string))
        case "b64enc": try need(args, 1, name); return .string(Data(str(args[0]).utf8).base64EncodedString())
        case "b64dec":
            try need(args, 1, name)
            guard let d = Data(base64Encoded: str(args[0])) else { return .string("illegal base64 data") }
            return .string(String(decoding: d, as: UTF8.self))
        case "abbrev":
            try need(args, 2, name)
            let n = int(args[0]), s = str(args[1])
            return .string(s.count <= n || n < 4 ? s : String(s.prefix(n - 3)) + "...")
        case "initials": try need(args, 1, name); return .string(str(args[0]).split(separator: " ").compactMap { $0.first.map(String.init) }.joined())
        case "wrap": try need(args, 2, name); return .string(str(args[1]))
        case "plural": try need(args, 3, name); return .string(int(args[2]) == 1 ? str(args[0]) : str(args[1]))
        case "sha256sum": try need(args, 1, name); return .string(SHA256.hex(Array(str(args[0]).utf8)))
        case "shuffle": try need(args, 1, name); return .string(str(args[0]))

        // defaults and logic
        case "default":
            guard args.count == 2 else { throw fail("wrong number of args for default: want 2 got \(args.count)") }
            return isEmpty(rawArgs.count == 2 ? rawArgs[1] : args[1]) ? args[0] : args[1]
        case "empty": try need(args, 1, name); return .bool(isEmpty(rawArgs.first ?? nil))
        case "coalesce": return args.first { !isEmpty($0) } ?? .null
        case "ternary": try need(args, 3, name); return GoValue.isTrue(args[2]) ? args[0] : args[1]
        case "fail": throw fail(str(args.first ?? .null))
        case "required":
            try need(args, 2, name)
            if isEmpty(rawArgs.count == 2 ? rawArgs[1] : args[1]) { throw fail(str(args[0])) }
            return args[1]

        // conversion
        case "toJson", "toRawJson": try need(args, 1, name); return .string(canonicalJSON(args[0]).serialized(pretty: false))
        case "toPrettyJson": try need(args, 1, name); return .string(canonicalJSON(args[0]).serialized(pretty: true))
        case "atoi": try need(args, 1, name); return .int(Int(str(args[0])) ?? 0)
        case "int", "int64": try need(args, 1, name); return .int(int(args[0]))
        case "float64": try need(args, 1, name); return .double(double(args[0]))
        case "typeOf", "kindOf": try need(args, 1, name); return .string(GoValue.kindName(args[0]))
        case "kindIs":
            try need(args, 2, name)
            let kinds: [String: String] = ["bool": "bool", "int": "int", "float64": "float64", "string": "string", "[]interface {}": "slice", "map[string]interface {}": "map"]
            return .bool(kinds[GoValue.kindName(args[1])] == str(args[0]))

        // lists
        case "list": return .array(args)
        case "first": try need(args, 1, name); return list(args[0]).first ?? .null
        case "last": try need(args, 1, name); return list(args[0]).last ?? .null
        case "rest": try need(args, 1, name); return .array(Array(list(args[0]).dropFirst()))
        case "initial": try need(args, 1, name); return .array(Array(list(args[0]).dropLast()))
        case "append", "push": try need(args, 2, name); return .array(list(args[0]) + [args[1]])
        case "prepend": try need(args, 2, name); return .array([args[1]] + list(args[0]))
        case "concat": return .array(args.flatMap(list))
        case "reverse": try need(args, 1, name); return .array(list(args[0]).reversed())
        case "uniq":
            try need(args, 1, name)
            var seen: [JSONValue] = []
            for v in list(args[0]) where !seen.contains(v) { seen.append(v) }
            return .array(seen)
        case "without":
            guard let l = args.first else { throw fail("wrong number of args for without") }
            let drop = args.dropFirst()
            return .array(list(l).filter { v in !drop.contains(v) })
        case "has": try need(args, 2, name); return .bool(list(args[1]).contains(args[0]))
        case "compact": try need(args, 1, name); return .array(list(args[0]).filter { !isEmpty($0) })
        case "sortAlpha": try need(args, 1, name); return .array(list(args[0]).map(str).sorted().map(JSONValue.string))
        case "until": try need(args, 1, name); return .array((0..<max(0, int(args[0]))).map { .int($0) })
        case "seq":
            let nums = args.map(int)
            let (start, end) = nums.count == 1 ? (1, nums[0]) : (nums.first ?? 1, nums.last ?? 0)
            return .string(start <= end ? (start...end).map(String.init).joined(separator: " ") : "")

        // dicts
        case "dict":
            var pairs: [(String, JSONValue)] = []
            var i = 0
            while i < args.count {
                let key = str(args[i]), value = i + 1 < args.count ? args[i + 1] : JSONValue.string("")
                if let j = pairs.firstIndex(where: { $0.0 == key }) { pairs[j].1 = value } else { pairs.append((key, value)) }
                i += 2
            }
            return .object(pairs)
        case "get": try need(args, 2, name); return args[0][str(args[1])] ?? .string("")
        case "set":
            try need(args, 3, name)
            var d = args[0].objectValue != nil ? args[0] : .object([])
            d.set(str(args[1]), args[2])
            return d
        case "unset":
            try need(args, 2, name)
            var d = args[0]
            d.remove(str(args[1]))
            return d
        case "hasKey": try need(args, 2, name); return .bool(args[0][str(args[1])] != nil)
        case "keys": return .array(args.flatMap { $0.objectValue?.map { JSONValue.string($0.0) } ?? [] })
        case "values": try need(args, 1, name); return .array(args[0].objectValue?.map(\.1) ?? [])
        case "pick":
            guard let d = args.first?.objectValue else { return .object([]) }
            let keys = Set(args.dropFirst().map(str))
            return .object(d.filter { keys.contains($0.0) })
        case "omit":
            guard let d = args.first?.objectValue else { return .object([]) }
            let keys = Set(args.dropFirst().map(str))
            return .object(d.filter { !keys.contains($0.0) })
        case "merge", "mergeOverwrite":
            guard var result = args.first else { return .object([]) }
            for other in args.dropFirst() { result = result.deepMerged(with: other, conflict: name == "mergeOverwrite" ? .override : .fillEmpty) }
            return result
        case "dig":
            guard args.count >= 3 else { throw fail("dig needs at least three arguments") }
            var current: JSONValue? = args.last!
            for key in args.dropFirst(0).prefix(args.count - 2) {
                current = current?[str(key)]
                if current == nil { return args[args.count - 2] }
            }
            return current ?? args[args.count - 2]
        case "deepCopy": try need(args, 1, name); return args[0]

        // math
        case "add": return number(args.reduce(0.0) { $0 + double($1) }, ints: args)
        case "add1": try need(args, 1, name); return number(double(args[0]) + 1, ints: args)
        case "sub": try need(args, 2, name); return number(double(args[0]) - double(args[1]), ints: args)
        case "mul": return number(args.reduce(1.0) { $0 * double($1) }, ints: args)
        case "div":
            try need(args, 2, name)
            guard double(args[1]) != 0 else { throw fail("integer divide by zero") }
            if case .int(let a) = args[0], case .int(let b) = args[1] { return .int(a / b) }
            return .double(double(args[0]) / double(args[1]))
        case "mod":
            try need(args, 2, name)
            guard int(args[1]) != 0 else { throw fail("integer divide by zero") }
            return .int(int(args[0]) % int(args[1]))
        case "max": return number(args.map(double).max() ?? 0, ints: args)
        case "min": return number(args.map(double).min() ?? 0, ints: args)
        case "floor": try need(args, 1, name); return .double(double(args[0]).rounded(.down))
        case "ceil": try need(args, 1, name); return .double(double(args[0]).rounded(.up))
        case "round":
            guard args.count >= 2 else { throw fail("wrong number of args for round") }
            let p = pow(10.0, double(args[1]))
            return .double((double(args[0]) * p).rounded() / p)
        default:
            throw fail("function \"\(name)\" not defined")
        }
    }

    static func goPrint(_ args: [JSONValue]) -> String {
        // fmt.Sprint adds spaces between operands when neither is a string.
        var out = ""
        for (i, a) in args.enumerated() {
            if i > 0, a.stringValue == nil, args[i - 1].stringValue == nil { out += " " }
            out += GoValue.format(a)
        }
        return out
    }

    static func number(_ d: Double, ints: [JSONValue]) -> JSONValue {
        let allInts = ints.allSatisfy { if case .double = $0 { return false } else { return true } }
        return allInts && d == d.rounded() && abs(d) < 9e18 ? .int(Int(d)) : .double(d)
    }

    static func isEmpty(_ v: JSONValue?) -> Bool { v?.isEmptyValue ?? true }

    /// encoding/json sorts map keys.
    static func canonicalJSON(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.sorted { $0.0 < $1.0 }.map { ($0.0, canonicalJSON($0.1)) })
        case .array(let a): return .array(a.map(canonicalJSON))
        default: return v
        }
    }

    /// Go's regexp (RE2 syntax, linear-time matching): see `GoRegex`.
    static func regex(_ pattern: String) throws -> GoRegex { try GoRegex(pattern) }

    static func scalars(_ v: JSONValue) -> [Unicode.Scalar] { Array(str(v).unicodeScalars) }

}
