import FleetModel
import Foundation

/// text/template's predefined functions (Sprig's `slice` replaces Go's: see `SprigLists`).
enum GoBuiltins {
    static func fail(_ message: String) -> TemplateError { TemplateError(.execution, message) }

    static let family: [TemplateFunction] = [
        // and/or short-circuit in the executor; these entries give their signatures.
        F("and", [.value], variadic: .value) { args, _ in args.first { !$0.isTrue } ?? args.last! },
        F("or", [.value], variadic: .value) { args, _ in args.first { $0.isTrue } ?? args.last! },
        F("not", [.value]) { args, _ in .bool(!args[0].isTrue) },
        F("len", [.value]) { args, _ in
            switch args[0] {
            case .string(let s): return .int(s.utf8.count)
            case .list(let l): return .int(l.items.count)
            case .map(let m): return .int(m.entries.count)
            case .object(let o) where o.rangeEntries != nil: return .int(o.rangeEntries!.count)
            case .missing: throw fail("len of nil pointer")
            case .null: throw fail("len of nil pointer")
            default: throw fail("len of type \(args[0].typeName)")
            }
        },
        F("index", [.value], variadic: .value) { args, _ in try index(args[0], Array(args.dropFirst())) },
        F("print", [], variadic: .any) { args, _ in .string(GoFormat.sprint(args)) },
        F("println", [], variadic: .any) { args, _ in .string(args.map(GoFormat.value).joined(separator: " ") + "\n") },
        F("printf", [.string], variadic: .any) { args, _ in .string(GoFormat.sprintf(args[0].stringValue!, Array(args.dropFirst()))) },
        F("html", [], variadic: .any) { args, _ in
            .string(escapeArgs(args).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;")
                .replacingOccurrences(of: "\0", with: "\u{FFFD}"))
        },
        F("js", [], variadic: .any) { args, _ in .string(jsEscape(escapeArgs(args))) },
        F("urlquery", [], variadic: .any) { args, _ in .string(queryEscape(escapeArgs(args))) },
        F("eq", [.value], variadic: .value) { args, _ in
            guard args.count >= 2 else { throw fail("missing argument for comparison") }
            for other in args.dropFirst() where try equal(args[0], other) { return .bool(true) }
            return .bool(false)
        },
        F("ne", [.value, .value]) { args, _ in .bool(try !equal(args[0], args[1])) },
        F("lt", [.value, .value]) { args, _ in .bool(try less(args[0], args[1])) },
        F("le", [.value, .value]) { args, _ in .bool(try less(args[0], args[1]) || equal(args[0], args[1])) },
        F("gt", [.value, .value]) { args, _ in .bool(try !less(args[0], args[1]) && !equal(args[0], args[1])) },
        F("ge", [.value, .value]) { args, _ in .bool(try !less(args[0], args[1])) },
        F("call", [.value], variadic: .value) { _, _ in throw fail("call is not supported: templates here have no function values") },
    ]

    /// Go's `evalArgs` for html/js/urlquery: a nil prints as `<no value>`.
    static func escapeArgs(_ args: [TemplateValue]) -> String {
        if args.count == 1, case .string(let s) = args[0] { return s }
        return GoFormat.sprint(args.map { $0.isNil ? .string("<no value>") : $0 })
    }

    static func jsEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04X", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    /// Go's `url.QueryEscape`: spaces become `+`.
    static func queryEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: " "): out += "+"
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    static func index(_ item: TemplateValue, _ indexes: [TemplateValue]) throws -> TemplateValue {
        var current = item
        if current.isNil { throw fail("index of untyped nil") }
        for key in indexes {
            switch current {
            case .list(let l):
                let i = try intIndex(key, count: l.items.count)
                current = l.items[i]
            case .string(let s):
                let bytes = Array(s.utf8)
                current = .uint(UInt(bytes[try intIndex(key, count: bytes.count)]), .uint8)
            case .map(let m):
                guard case .string(let k) = key else {
                    if key.isNil { throw fail("value is nil; should be of type string") }
                    throw fail("value has type \(key.typeName); should be string")
                }
                current = m[k] ?? (m.element == "interface {}" ? .missing : .string(""))
            case .missing, .null:
                throw fail("index of nil pointer")
            default:
                throw fail("can't index item of type \(current.typeName)")
            }
        }
        return current
    }

    static func intIndex(_ key: TemplateValue, count: Int) throws -> Int {
        let i: Int
        switch key {
        case .int(let n, _): i = n
        case .uint(let u, _): i = u > UInt(Int.max) ? Int.max : Int(u)
        case .missing, .null: throw fail("cannot index slice/array with nil")
        default: throw fail("cannot index slice/array with type \(key.typeName)")
        }
        guard i >= 0 && i < count else { throw fail("index out of range: \(i)") }
        return i
    }

    enum BasicKind { case bool, int, uint, float, complex, string, other }

    static func basicKind(_ v: TemplateValue) -> BasicKind {
        switch v {
        case .bool: return .bool
        case .int: return .int
        case .uint: return .uint
        case .float: return .float
        case .complex: return .complex
        case .string: return .string
        default: return .other
        }
    }

    /// Go's `eq` for two values: basic kinds compare by value (int with uint by sign and value); two
    /// different kinds are an error; nil equals only nil; lists and maps cannot be compared.
    static func equal(_ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
        let k1 = basicKind(a), k2 = basicKind(b)
        if k1 != k2 {
            switch (a, b) {
            case let (.int(x, _), .uint(y, _)): return x >= 0 && UInt(x) == y
            case let (.uint(x, _), .int(y, _)): return y >= 0 && x == UInt(y)
            default:
                if !a.isNil && !b.isNil { throw fail("incompatible types for comparison") }
                return false
            }
        }
        switch (a, b) {
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x, _), .int(y, _)): return x == y
        case let (.uint(x, _), .uint(y, _)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.complex(r1, i1), .complex(r2, i2)): return r1 == r2 && i1 == i2
        case let (.string(x), .string(y)): return x == y
        default:
            if a.isNil || b.isNil { return a.isNil && b.isNil }
            switch (a, b) {
            case (.list, _), (_, .list), (.map, _), (_, .map): throw fail("non-comparable type \(GoFormat.value(b)): \(b.typeName)")
            case let (.object(x), .object(y)): return x.equals(y)
            default: throw fail("incompatible types for comparison")
            }
        }
    }

    static func less(_ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
        let k1 = basicKind(a), k2 = basicKind(b)
        guard k1 != .other, k2 != .other, k1 != .bool, k1 != .complex, k2 != .bool, k2 != .complex else {
            throw fail("invalid type for comparison")
        }
        switch (a, b) {
        case let (.int(x, _), .int(y, _)): return x < y
        case let (.uint(x, _), .uint(y, _)): return x < y
        case let (.int(x, _), .uint(y, _)): return x < 0 || UInt(x) < y
        case let (.uint(x, _), .int(y, _)): return y >= 0 && x < UInt(y)
        case let (.float(x), .float(y)): return x < y
        case let (.string(x), .string(y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        default: throw fail("incompatible types for comparison")
        }
    }
}
