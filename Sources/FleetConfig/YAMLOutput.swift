import FleetModel
import Yams

/// Renders ordered JSON values as YAML, keeping key order. Strings that YAML would read as another type
/// (`"true"`, `"1"`, `"null"`) are quoted.
public enum YAMLOutput {
    public static func render(_ value: JSONValue) -> String {
        (try? Yams.serialize(node: node(value), indent: 2, width: -1, allowUnicode: true, sortKeys: false)) ?? ""
    }

    /// Several values as a multi-document stream, `---` between documents.
    public static func renderDocuments(_ values: [JSONValue]) -> String {
        values.map(render).joined(separator: "---\n")
    }

    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .int(let i): return Node(String(i), Tag(.int))
        case .double(let d): return Node(goFloat(d), Tag(.float))
        case .string(let s):
            let style: Node.Scalar.Style = s.contains("\n") ? .literal : (needsQuotes(s) ? .doubleQuoted : .any)
            return Node(s, Tag(.str), style)
        case .array(let items): return Node(items.map(node))
        case .object(let pairs): return Node(pairs.map { (Node($0.0, Tag(.str), needsQuotes($0.0) ? .doubleQuoted : .any), node($0.1)) })
        }
    }

    private static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty { return true }
        let lower = s.lowercased()
        if ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(lower) { return true }
        if Double(s) != nil || Int(s) != nil { return true }
        if s.hasPrefix("0x") || s.hasPrefix("0o") { return true }
        return false
    }

    /// A float64 as Go's YAML and JSON encoders write it: integral values without a fraction (`13`, not
    /// `13.0`), shortest round-trip digits otherwise, `.nan` / `.inf` for the special values.
    public static func goFloat(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        if d == d.rounded() && abs(d) < 1e21 { return String(format: "%.0f", d) }
        return String(d)
    }
}
