import FleetModel
import Yams

/// The fields a YAML document may have, as a CRD's schema would say: a mapping lists its known keys, a list
/// gives its items' schema, `any` accepts anything below (free-form maps, values passed through).
public indirect enum FieldSchema: Sendable {
    case any
    case mapping([String: FieldSchema])
    case list(FieldSchema)
    /// A schema built on demand (for recursive shapes such as nested generators).
    case lazy(@Sendable () -> FieldSchema)
    /// A mapping whose schema depends on its `kind` (documents of several kinds in one file).
    case byKind([String: FieldSchema])

    /// Every key of `text`'s documents that the schema does not know, with its file and line. Keys holding a
    /// template tag (`{{…}}`) are not judged: they are known only after rendering.
    public static func unknownFields(in text: String, file: String?, schema: FieldSchema) throws -> [FieldProblem] {
        let reader = YAMLReader(file: file)
        var budget = 1_000_000
        for document in try YAMLReader.documents(text, file: file) {
            check(document, schema, field: "", reader: reader, budget: &budget)
        }
        return reader.problems
    }

    private static func check(_ node: Node, _ schema: FieldSchema, field: String, reader: YAMLReader, budget: inout Int) {
        budget -= 1
        guard budget > 0 else { return }
        switch schema {
        case .any:
            return
        case .lazy(let make):
            check(node, make(), field: field, reader: reader, budget: &budget)
        case .byKind(let kinds):
            guard case .mapping(let pairs) = node,
                  let kind = pairs.first(where: { $0.0.string == "kind" })?.1.string, let schema = kinds[kind] else { return }
            check(node, schema, field: field, reader: reader, budget: &budget)
        case .list(let item):
            guard case .sequence(let items) = node else { return }
            for (i, child) in items.enumerated() { check(child, item, field: "\(field)[\(i)]", reader: reader, budget: &budget) }
        case .mapping(let keys):
            guard case .mapping(let pairs) = node else { return }
            for (keyNode, value) in pairs {
                guard let key = keyNode.string else { continue }
                let path = field.isEmpty ? key : "\(field).\(key)"
                if let child = keys[key] {
                    check(value, child, field: path, reader: reader, budget: &budget)
                } else if !key.contains("{{") {
                    reader.report(path, "unknown field '\(key)' (expected \(keys.keys.sorted().joined(separator: ", ")))", at: keyNode)
                }
            }
        }
    }
}
