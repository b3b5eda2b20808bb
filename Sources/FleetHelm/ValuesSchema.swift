import FleetConfig
import FleetModel
import Foundation

/// JSON Schema validation of chart values (`values.schema.json`), with the messages helm prints
/// (santhosh-tekuri/jsonschema): `- at '/age': minimum: got -5, want 0`. Draft 4 to 2020-12 keywords that
/// charts use: type, enum, const, properties, required, additionalProperties, patternProperties, items,
/// prefixItems, min/maxItems, uniqueItems, min/maxLength, pattern, minimum, maximum, exclusive bounds,
/// multipleOf, min/maxProperties, allOf, anyOf, oneOf, not, if/then/else, local `$ref` and `$defs`.
public enum ValuesSchema {
    /// The problems of `values` against `schema`, one line each, in document order.
    public static func problems(_ values: JSONValue, schema: JSONValue) -> [String] {
        var out: [String] = []
        check(values, schema, at: "", root: schema, into: &out, depth: 0)
        return out
    }

    static func check(_ v: JSONValue, _ s: JSONValue, at path: String, root: JSONValue, into out: inout [String], depth: Int) {
        guard depth < 64 else { return }
        if case .bool(let b) = s {
            if !b { out.append("- at '\(path)': false schema") }
            return
        }
        guard s.objectValue != nil else { return }
        func add(_ message: String) { out.append("- at '\(path)': \(message)") }
        if let ref = s["$ref"]?.stringValue, let target = resolve(ref, root: root) {
            check(v, target, at: path, root: root, into: &out, depth: depth + 1)
        }
        if let t = s["type"] {
            let wanted = t.stringValue.map { [$0] } ?? t.arrayValue?.compactMap(\.stringValue) ?? []
            if !wanted.isEmpty && !wanted.contains(where: { matches(v, type: $0) }) {
                add("got \(typeName(v)), want \(wanted.joined(separator: " or "))")
                return
            }
        }
        if let e = s["enum"]?.arrayValue, !e.contains(where: { equal($0, v) }) {
            add("value must be one of \(e.map(quoted).joined(separator: ", "))")
        }
        if let c = s["const"], !equal(c, v) { add("value must be \(quoted(c))") }
        switch v {
        case .object(let pairs):
            let required = s["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let missing = required.filter { key in !pairs.contains { $0.0 == key } }
            if missing.count == 1 { add("missing property '\(missing[0])'") }
            if missing.count > 1 { add("missing properties \(missing.map { "'\($0)'" }.joined(separator: ", "))") }
            if let n = s["minProperties"]?.intValue, pairs.count < n { add("minProperties: got \(pairs.count), want \(n)") }
            if let n = s["maxProperties"]?.intValue, pairs.count > n { add("maxProperties: got \(pairs.count), want \(n)") }
            let props = s["properties"]?.objectValue ?? []
            let patterns = s["patternProperties"]?.objectValue ?? []
            var extra: [String] = []
            for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) {
                var matched = false
                if let sub = props.first(where: { $0.0 == key })?.1 {
                    matched = true
                    check(value, sub, at: path + "/" + escape(key), root: root, into: &out, depth: depth + 1)
                }
                for (pattern, sub) in patterns where key.range(of: pattern, options: .regularExpression) != nil {
                    matched = true
                    check(value, sub, at: path + "/" + escape(key), root: root, into: &out, depth: depth + 1)
                }
                if !matched, let ap = s["additionalProperties"] {
                    if case .bool(false) = ap { extra.append(key) } else if ap.objectValue != nil {
                        check(value, ap, at: path + "/" + escape(key), root: root, into: &out, depth: depth + 1)
                    }
                }
            }
            if !extra.isEmpty {
                add("additional properties \(extra.map { "'\($0)'" }.joined(separator: ", ")) not allowed")
            }
        case .array(let items):
            if let n = s["minItems"]?.intValue, items.count < n { add("minItems: got \(items.count), want \(n)") }
            if let n = s["maxItems"]?.intValue, items.count > n { add("maxItems: got \(items.count), want \(n)") }
            if s["uniqueItems"]?.boolValue == true {
                for i in items.indices { for j in items.indices where j > i && equal(items[i], items[j]) {
                    add("items at \(i) and \(j) are equal")
                } }
            }
            let prefix = s["prefixItems"]?.arrayValue ?? (s["items"]?.arrayValue ?? [])
            for (i, item) in items.enumerated() {
                if i < prefix.count {
                    check(item, prefix[i], at: path + "/\(i)", root: root, into: &out, depth: depth + 1)
                } else if let sub = s["items"], sub.arrayValue == nil {
                    check(item, sub, at: path + "/\(i)", root: root, into: &out, depth: depth + 1)
                } else if let sub = s["additionalItems"], s["items"]?.arrayValue != nil {
                    check(item, sub, at: path + "/\(i)", root: root, into: &out, depth: depth + 1)
                }
            }
        case .string(let str):
            let length = str.unicodeScalars.count
            if let n = s["minLength"]?.intValue, length < n { add("minLength: got \(length), want \(n)") }
            if let n = s["maxLength"]?.intValue, length > n { add("maxLength: got \(length), want \(n)") }
            if let p = s["pattern"]?.stringValue, str.range(of: p, options: .regularExpression) == nil {
                add("'\(str)' does not match pattern '\(p)'")
            }
        case .int, .double:
            let x = number(v)!
            if let m = s["minimum"].flatMap(number), x < m { add("minimum: got \(format(v)), want \(format(s["minimum"]!))") }
            if let m = s["maximum"].flatMap(number), x > m { add("maximum: got \(format(v)), want \(format(s["maximum"]!))") }
            if let m = s["exclusiveMinimum"].flatMap(number), x <= m { add("exclusiveMinimum: got \(format(v)), want \(format(s["exclusiveMinimum"]!))") }
            if let m = s["exclusiveMaximum"].flatMap(number), x >= m { add("exclusiveMaximum: got \(format(v)), want \(format(s["exclusiveMaximum"]!))") }
            if let m = s["multipleOf"].flatMap(number), m > 0, (x / m).rounded() != x / m { add("multipleOf: got \(format(v)), want \(format(s["multipleOf"]!))") }
        default: break
        }
        if let all = s["allOf"]?.arrayValue {
            for sub in all { check(v, sub, at: path, root: root, into: &out, depth: depth + 1) }
        }
        if let any = s["anyOf"]?.arrayValue, !any.contains(where: { valid(v, $0, root: root, depth: depth) }) {
            add("anyOf failed")
        }
        if let one = s["oneOf"]?.arrayValue {
            let n = one.filter { valid(v, $0, root: root, depth: depth) }.count
            if n == 0 { add("oneOf failed, none matched") }
            if n > 1 { add("oneOf failed, subschemas matched more than one") }
        }
        if let not = s["not"], valid(v, not, root: root, depth: depth) { add("not failed") }
        if let cond = s["if"] {
            if valid(v, cond, root: root, depth: depth) {
                if let then = s["then"] { check(v, then, at: path, root: root, into: &out, depth: depth + 1) }
            } else if let otherwise = s["else"] {
                check(v, otherwise, at: path, root: root, into: &out, depth: depth + 1)
            }
        }
    }

    static func valid(_ v: JSONValue, _ s: JSONValue, root: JSONValue, depth: Int) -> Bool {
        var out: [String] = []
        check(v, s, at: "", root: root, into: &out, depth: depth + 1)
        return out.isEmpty
    }

    static func resolve(_ ref: String, root: JSONValue) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        var current = root
        for part in ref.dropFirst().split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let i = Int(key), let a = current.arrayValue, i < a.count { current = a[i]; continue }
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    static func matches(_ v: JSONValue, type: String) -> Bool {
        switch (type, v) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): return true
        case ("number", .int), ("number", .double), ("integer", .int): return true
        case ("integer", .double(let d)): return d == d.rounded()
        default: return false
        }
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        case .bool: return "boolean"
        case .null: return "null"
        case .int: return "integer"
        case .double(let d): return d == d.rounded() ? "integer" : "number"
        }
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    static func format(_ v: JSONValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .double(let d): return YAMLOutput.goFloat(d)
        default: return v.serialized(pretty: false)
        }
    }

    static func quoted(_ v: JSONValue) -> String {
        if case .string(let s) = v { return "'\(s)'" }
        return format(v)
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        return a == b
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
