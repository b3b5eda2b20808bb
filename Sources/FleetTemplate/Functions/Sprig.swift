import FleetModel
import Foundation

/// Sprig's conversion helpers (`strval`, `toInt64`, `toFloat64`, `strslice`), shared by its families.
enum Sprig {
    static func fail(_ message: String) -> TemplateError { TemplateError(.execution, message) }

    /// `strval`: a string as is, anything else as `%v` prints it (nil is `<nil>`).
    static func str(_ v: TemplateValue) -> String {
        if case .string(let s) = v { return s }
        return GoFormat.value(v)
    }

    /// spf13/cast's `ToInt64`: numbers truncated, strings parsed (base prefixes allowed), otherwise 0.
    static func int64(_ v: TemplateValue) -> Int {
        switch v {
        case .int(let i, _): return i
        case .uint(let u, _): return Int(truncatingIfNeeded: u)
        case .float(let d): return d.isFinite && abs(d) < 9.2e18 ? Int(d) : 0
        case .bool(let b): return b ? 1 : 0
        case .string(let s):
            var t = s
            // cast trims a zero decimal part: "10.0" is 10.
            if let dot = t.firstIndex(of: "."), t[t.index(after: dot)...].allSatisfy({ $0 == "0" }) { t = String(t[..<dot]) }
            if let i = Int(t) { return i }
            if let parsed = NumberLiteral.parseInteger(t), let m = parsed.magnitude, m <= UInt(Int.max) { return parsed.negative ? -Int(m) : Int(m) }
            return 0
        default: return 0
        }
    }

    /// spf13/cast's `ToFloat64`.
    static func float64(_ v: TemplateValue) -> Double {
        switch v {
        case .int(let i, _): return Double(i)
        case .uint(let u, _): return Double(u)
        case .float(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return Double(s) ?? 0
        default: return 0
        }
    }

    /// The items of a slice, or nil when the value is not one.
    static func items(_ v: TemplateValue) -> [TemplateValue]? {
        if case .list(let l) = v { return l.items }
        return nil
    }

    /// `strslice`: a list's non-nil items as strings; nil is an empty list; anything else a one-item list.
    static func strings(_ v: TemplateValue) -> [String] {
        switch v {
        case .list(let l): return l.items.filter { !$0.isNil }.map(str)
        case .missing, .null: return []
        default: return [str(v)]
        }
    }

    /// Go's `reflect.DeepEqual`: types must match too (`1` is not `int64 1`).
    static func deepEqual(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.missing, .missing), (.null, .null), (.missing, .null), (.null, .missing): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x, k1), .int(y, k2)): return x == y && k1 == k2
        case let (.uint(x, k1), .uint(y, k2)): return x == y && k1 == k2
        case let (.float(x), .float(y)): return x == y
        case let (.complex(r1, i1), .complex(r2, i2)): return r1 == r2 && i1 == i2
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x.element == y.element && x.items.count == y.items.count && zip(x.items, y.items).allSatisfy(deepEqual)
        case let (.map(x), .map(y)):
            return x === y || (x.entries.count == y.entries.count && x.entries.allSatisfy { k, v in y.entries[k].map { deepEqual(v, $0) } ?? false })
        case let (.object(x), .object(y)): return x.equals(y)
        default: return false
        }
    }

    static func list(_ items: [TemplateValue]) -> TemplateValue { .list(TemplateList(items)) }

    /// The list argument of a list function, or Sprig's error naming the type it got.
    static func needList(_ v: TemplateValue, _ what: String) throws -> [TemplateValue] {
        if let items = items(v) { return items }
        if v.isNil { throw fail("Cannot \(what) on type <nil>") }
        throw fail("Cannot \(what) on type \(v.kindName)")
    }

    static func map(_ v: TemplateValue) -> TemplateMap? {
        if case .map(let m) = v { return m }
        return nil
    }
}

typealias F = TemplateFunction
