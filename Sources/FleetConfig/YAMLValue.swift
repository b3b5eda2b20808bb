import FleetModel
import Foundation
import Yams

/// YAML to ordered JSON values, keeping the written form of scalars: integers stay integers
/// (`1000000`, not `1e+06`), quoted strings stay strings, map key order is kept.
public enum YAMLValue {
    /// Every document of `text`. Syntax errors carry the line and column.
    public static func documents(_ text: String, file: String?) throws -> [JSONValue] {
        let reader = YAMLReader(file: file)
        let docs = try YAMLReader.documents(text, file: file)
        var budget = 2_000_000
        let values = try docs.map { try convert($0, reader: reader, budget: &budget) }
        return values
    }

    /// The single document of `text` (an empty text is `null`).
    public static func parse(_ text: String, file: String?) throws -> JSONValue {
        let docs = try documents(text, file: file)
        if docs.count > 1 {
            throw InputError(field: "", message: "expected one YAML document, found \(docs.count)",
                             location: file.map { SourceLocation(file: $0, line: 1, column: 1) })
        }
        return docs.first ?? .null
    }

    static func convert(_ node: Node, reader: YAMLReader, budget: inout Int) throws -> JSONValue {
        budget -= 1
        if budget < 0 {
            throw InputError(field: "", message: "document is too large or expands too far through aliases", location: reader.location(node))
        }
        switch node {
        case .scalar(let s):
            return scalar(s)
        case .mapping(let m):
            var pairs: [(String, JSONValue)] = []
            pairs.reserveCapacity(m.count)
            for (k, v) in m {
                let key: String
                if case .scalar(let ks) = k { key = ks.string } else {
                    throw InputError(field: "", message: "mapping keys must be strings", location: reader.location(k))
                }
                if key == "<<", case .mapping = v {  // YAML merge key
                    if case .object(let merged) = try convert(v, reader: reader, budget: &budget) {
                        for (mk, mv) in merged where !pairs.contains(where: { $0.0 == mk }) { pairs.append((mk, mv)) }
                    }
                    continue
                }
                pairs.append((key, try convert(v, reader: reader, budget: &budget)))
            }
            return .object(pairs)
        case .sequence(let s):
            return .array(try s.map { try convert($0, reader: reader, budget: &budget) })
        case .alias:
            return .null
        }
    }

    static func scalar(_ s: Node.Scalar) -> JSONValue {
        if s.style != .plain { return .string(s.string) }
        let text = s.string
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || (first >= 48 && first <= 57) || first == UInt8(ascii: ".") {
            if let i = Int(text) { return .int(i) }
            if text.hasPrefix("0x"), let i = Int(text.dropFirst(2), radix: 16) { return .int(i) }
            if text.hasPrefix("0o"), let i = Int(text.dropFirst(2), radix: 8) { return .int(i) }
            if text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+" }),
               let d = Double(text) { return .double(d) }
        }
        switch text {
        case ".inf", ".Inf", "+.inf": return .double(.infinity)
        case "-.inf", "-.Inf": return .double(-.infinity)
        case ".nan", ".NaN": return .double(.nan)
        default: return .string(text)
        }
    }
}
