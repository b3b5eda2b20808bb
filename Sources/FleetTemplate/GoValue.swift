import FleetModel

/// How Go's text/template sees values: truthiness and `fmt` printing (`%v`).
///
/// During evaluation a missing map entry is `nil` (Go's invalid `reflect.Value`), distinct from a JSON
/// `null` (a nil interface): the first prints `<no value>`, the second `<nil>`.
enum GoValue {
    static func isTrue(_ v: JSONValue?) -> Bool {
        guard let v else { return false }
        return !v.isEmptyValue
    }

    /// `fmt.Sprint(v)` for the value, as text/template prints an action's result.
    static func print(_ v: JSONValue?) -> String {
        guard let v else { return "<no value>" }
        return format(v, top: true)
    }

    static func format(_ v: JSONValue, top: Bool = false) -> String {
        switch v {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return formatFloat(d)
        case .string(let s): return s
        case .array(let a): return "[" + a.map { format($0) }.joined(separator: " ") + "]"
        case .object(let o):
            return "map[" + o.sorted { $0.0 < $1.0 }.map { "\($0.0):\(format($0.1))" }.joined(separator: " ") + "]"
        }
    }

    /// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as `%v` prints a float64: shortest digits, exponent form
    /// when the decimal exponent is below -4 or at least 6 (so `1e+06`, but `123456`).
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        let exponent = Int(floor(log10(abs(d))))
        if exponent < -4 || exponent >= 6 {
            // Shortest round-trip digits from Swift's description, re-laid out as Go's d.ddde±XX.
            let text = "\(abs(d))"
            var digits = "", exp = 0
            if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                let mantissa = text[..<e]
                exp = Int(text[text.index(after: e)...]) ?? 0
                let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
                digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
                exp += parts[0].count - 1
            } else {
                let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                let whole = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
                if whole != "0" {
                    digits = whole + frac
                    exp = whole.count - 1
                } else {
                    let zeros = frac.prefix { $0 == "0" }.count
                    digits = String(frac.dropFirst(zeros))
                    exp = -(zeros + 1)
                }
            }
            while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast() }
            while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst() }
            let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
            let expText = abs(exp) < 10 ? "0\(abs(exp))" : "\(abs(exp))"
            return (d < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + expText
        }
        if d == d.rounded() { return String(format: "%.0f", d) }
        return "\(d)"
    }

    static func kindName(_ v: JSONValue?) -> String {
        guard let v else { return "<no value>" }
        switch v {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }
}

import Foundation
