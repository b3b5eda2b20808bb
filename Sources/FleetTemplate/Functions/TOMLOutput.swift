/// Helm's `toToml` (and Helm 4.2's `mustToToml`): a value written as the BurntSushi/toml encoder writes it —
/// keys sorted, a table's plain keys before its sub-tables, sub-tables and arrays of tables indented two spaces
/// per level, floats always with a decimal point (Helm's values are float64: `replicas = 3.0`), nil values
/// left out; an array with a nil element, a top-level value that is not a table, or a type TOML has no
/// form for is an error in the encoder's words.
struct TOMLOutput {
    struct EncodeError: Error, CustomStringConvertible {
        let description: String
    }

    private enum Kind: Equatable { case bool, integer, float, string, array, table, arrayOfTables, other }

    private var out = ""
    private var written = false

    static func render(_ value: TemplateValue) throws -> String {
        var encoder = TOMLOutput()
        try encoder.encode([], value)
        return encoder.out
    }

    private mutating func write(_ text: String) {
        out += text
        written = true
    }

    private mutating func newline() { if written { write("\n") } }

    private static func isNil(_ v: TemplateValue) -> Bool {
        if case .missing = v { return true }
        if case .null = v { return true }
        return false
    }

    /// The TOML type of a value (nil for nil), as the encoder classifies map entries and arrays.
    private static func kind(_ v: TemplateValue) throws -> Kind? {
        switch v {
        case .missing, .null: return nil
        case .bool: return .bool
        case .int, .uint: return .integer
        case .float: return .float
        case .string: return .string
        case .list(let l): return try arrayKind(l) == .table ? .arrayOfTables : .array
        case .map: return .table
        case .complex, .object: return .other
        }
    }

    private static func arrayKind(_ l: TemplateList) throws -> Kind? {
        guard let first = l.items.first else { return nil }
        for item in l.items.dropFirst() where isNil(item) { throw EncodeError(description: "toml: cannot encode array with nil element") }
        guard let kind = try kind(first) else { throw EncodeError(description: "toml: cannot encode array with nil element") }
        return kind
    }

    private mutating func encode(_ key: [String], _ v: TemplateValue) throws {
        switch v {
        case .missing, .null:
            return
        case .bool, .int, .uint, .float, .string:
            try writeKeyValue(key, v, inline: false)
        case .list(let l):
            if try Self.arrayKind(l) == .table { try arrayOfTables(key, l) } else { try writeKeyValue(key, v, inline: false) }
        case .map(let m):
            if key.count == 1 { newline() }   // a blank line between top-level tables
            if !key.isEmpty {
                write(Self.indent(key) + "[" + Self.keyText(key) + "]")
                newline()
            }
            try table(key, m, inline: false)
        case .complex, .object:
            throw EncodeError(description: "unsupported type for key '\(Self.keyText(key))': \(v.kindName)")
        }
    }

    private mutating func arrayOfTables(_ key: [String], _ l: TemplateList) throws {
        guard !key.isEmpty else { throw EncodeError(description: "toml: top-level values must be Go maps or structs") }
        for item in l.items where !Self.isNil(item) {
            newline()
            write(Self.indent(key) + "[[" + Self.keyText(key) + "]]")
            newline()
            guard case .map(let m) = item else { throw EncodeError(description: "toml: cannot encode an array of tables holding \(item.kindName)") }
            try table(key, m, inline: false)
        }
    }

    private mutating func table(_ key: [String], _ m: TemplateMap, inline: Bool) throws {
        var direct: [String] = [], sub: [String] = []
        for (k, v) in m.entries {
            let kind = try Self.kind(v)
            if kind == .table || kind == .arrayOfTables { sub.append(k) } else { direct.append(k) }
        }
        direct.sort()
        sub.sort()
        if inline { write("{") }
        for (keys, trailingComma) in [(direct, !sub.isEmpty), (sub, false)] {
            for (i, k) in keys.enumerated() {
                guard let v = m[k], !Self.isNil(v) else { continue }
                if inline {
                    try writeKeyValue([k], v, inline: true)
                    if trailingComma || i != keys.count - 1 { write(", ") }
                } else {
                    try encode(key + [k], v)
                }
            }
        }
        if inline { write("}") }
    }

    private mutating func writeKeyValue(_ key: [String], _ v: TemplateValue, inline: Bool) throws {
        guard let last = key.last else { throw EncodeError(description: "toml: top-level values must be Go maps or structs") }
        write(Self.indent(key) + Self.quotedIfNeeded(last) + " = ")
        try element(v)
        if !inline { newline() }
    }

    private mutating func element(_ v: TemplateValue) throws {
        switch v {
        case .string(let s): write(Self.quoted(s))
        case .bool(let b): write(b ? "true" : "false")
        case .int(let i, _): write(String(i))
        case .uint(let u, _): write(String(u))
        case .float(let d):
            if d.isNaN {
                write("nan")
            } else if d.isInfinite {
                write(d < 0 ? "-inf" : "+inf")
            } else {
                var text = d == 0 ? (d.sign == .minus ? "-0" : "0") : {
                    let (digits, exp) = GoFormat.shortestDigits(d)
                    return (d < 0 ? "-" : "") + GoFormat.plain(digits, exp)
                }()
                if !text.contains(".") { text += ".0" }
                write(text)
            }
        case .list(let l):
            write("[")
            for (i, item) in l.items.enumerated() {
                try element(item)
                if i != l.items.count - 1 { write(", ") }
            }
            write("]")
        case .map(let m):
            try table([], m, inline: true)
        case .missing, .null:
            throw EncodeError(description: "unexpected primitive type: <nil>")
        case .complex, .object:
            throw EncodeError(description: "unexpected primitive type: \(v.typeName)")
        }
    }

    private static func indent(_ key: [String]) -> String { String(repeating: "  ", count: max(0, key.count - 1)) }

    private static func keyText(_ key: [String]) -> String { key.map(quotedIfNeeded).joined(separator: ".") }

    /// A bare key (`A-Za-z0-9_-`) as it is; any other quoted.
    private static func quotedIfNeeded(_ k: String) -> String {
        if k.isEmpty { return "\"\"" }
        let bare = k.unicodeScalars.allSatisfy { c in
            (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
        }
        return bare ? k : quoted(k)
    }

    /// A basic string: `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\uXXXX`.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
