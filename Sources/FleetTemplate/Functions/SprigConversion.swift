import FleetModel
import Foundation

/// Sprig's conversions: numbers and JSON.
enum SprigConversion {
    static let family: [TemplateFunction] = [
        F("atoi", [.string]) { a, _ in .int(Int(a[0].stringValue!) ?? 0) },
        F("int", [.any]) { a, _ in .int(Sprig.int64(a[0])) },
        F("int64", [.any]) { a, _ in .int64(Sprig.int64(a[0])) },
        F("float64", [.any]) { a, _ in .float(Sprig.float64(a[0])) },
        F("toDecimal", [.any]) { a, _ in
            .int64(Int(GoFormat.value(a[0]), radix: 8) ?? 0)
        },
        F("toJson", [.any]) { a, _ in .string((try? json(a[0], escapeHTML: true, indent: false)) ?? "") },
        F("mustToJson", [.any]) { a, _ in .string(try json(a[0], escapeHTML: true, indent: false)) },
        F("toPrettyJson", [.any]) { a, _ in .string((try? json(a[0], escapeHTML: true, indent: true)) ?? "") },
        F("mustToPrettyJson", [.any]) { a, _ in .string(try json(a[0], escapeHTML: true, indent: true)) },
        F("toRawJson", [.any]) { a, _ in .string((try? json(a[0], escapeHTML: false, indent: false)) ?? "") },
        F("mustToRawJson", [.any]) { a, _ in .string(try json(a[0], escapeHTML: false, indent: false)) },
        F("fromJson", [.string]) { a, _ in (try? fromJSON(a[0].stringValue!)) ?? .missing },
        F("mustFromJson", [.string]) { a, _ in try fromJSON(a[0].stringValue!) },
    ]

    /// encoding/json's decoding into interface{}: numbers are float64.
    static func fromJSON(_ text: String) throws -> TemplateValue {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw Sprig.fail("\(error)") }
        return floats(TemplateValue(value))
    }

    static func floats(_ v: TemplateValue) -> TemplateValue {
        switch v {
        case .int(let i, _): return .float(Double(i))
        case .list(let l): return Sprig.list(l.items.map(floats))
        case .map(let m): return .map(TemplateMap(m.entries.mapValues(floats)))
        default: return v
        }
    }

    /// encoding/json's Marshal: keys sorted, floats as Go writes them, `<`, `>`, `&` escaped unless raw.
    static func json(_ v: TemplateValue, escapeHTML: Bool, indent: Bool) throws -> String {
        var out = ""
        try write(v, into: &out, escapeHTML: escapeHTML, indent: indent ? "" : nil)
        return out
    }

    static func write(_ v: TemplateValue, into out: inout String, escapeHTML: Bool, indent: String?) throws {
        switch v {
        case .missing, .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i, _): out += String(i)
        case .uint(let u, _): out += String(u)
        case .float(let d):
            guard d.isFinite else { throw Sprig.fail("json: unsupported value: \(GoFormat.float(d))") }
            out += jsonFloat(d)
        case .complex: throw Sprig.fail("json: unsupported type: complex128")
        case .string(let s): out += quote(s, escapeHTML: escapeHTML)
        case .object(let o): out += o.json.serialized(pretty: false)
        case .list(let l):
            if l.items.isEmpty { out += "[]"; return }
            out += "["
            for (n, item) in l.items.enumerated() {
                if n > 0 { out += "," }
                if let indent { out += "\n" + indent + "  " }
                try write(item, into: &out, escapeHTML: escapeHTML, indent: indent.map { $0 + "  " })
            }
            if let indent { out += "\n" + indent }
            out += "]"
        case .map(let m):
            if m.entries.isEmpty { out += "{}"; return }
            out += "{"
            for (n, key) in m.sortedKeys.enumerated() {
                if n > 0 { out += "," }
                if let indent { out += "\n" + indent + "  " }
                out += quote(key, escapeHTML: escapeHTML) + (indent == nil ? ":" : ": ")
                try write(m.entries[key]!, into: &out, escapeHTML: escapeHTML, indent: indent.map { $0 + "  " })
            }
            if let indent { out += "\n" + indent }
            out += "}"
        }
    }

    /// Go's float encoding: plain digits between 1e-6 and 1e21, exponent form (e-07, e+21) outside.
    static func jsonFloat(_ d: Double) -> String {
        if d == 0 { return "0" }
        let (digits, exp) = GoFormat.shortestDigits(d)
        let sign = d < 0 ? "-" : ""
        if abs(d) < 1e-6 || abs(d) >= 1e21 {
            let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
            return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (abs(exp) < 10 ? "0" : "") + String(abs(exp))
        }
        return sign + GoFormat.plain(digits, exp)
    }

    static func quote(_ s: String, escapeHTML: Bool) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<" where escapeHTML: out += "\\u003c"
            case ">" where escapeHTML: out += "\\u003e"
            case "&" where escapeHTML: out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
