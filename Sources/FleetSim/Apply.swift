import FleetModel
import Foundation

/// Server-side apply, simplified: the applied configuration is merged into the live object (maps key by
/// key, lists replaced). Fields the applier owned but no longer sends are not removed.
enum Apply {
    /// Merges `applied` into `live`, then removes the fields `manager` applied last time but no longer applies,
    /// unless another manager applied them too (server-side apply's field ownership, at map-key granularity;
    /// lists count as one field).
    static func merge(live: JSONValue, applied: JSONValue, manager: String) -> JSONValue {
        var result = merge(live: live, applied: applied)
        let entries = live.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
        let previous = entries.first { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply" }
        guard let previous else { return result }
        let before = leafPaths(previous["fieldsV1"] ?? .object([]))
        let now = Set(leafPaths(ManagedFields.fieldsV1(ManagedFields.owned(applied))))
        var others = Set<[String]>()
        for entry in entries where entry["manager"]?.stringValue != manager { others.formUnion(leafPaths(entry["fieldsV1"] ?? .object([]))) }
        for path in before where !now.contains(path) && !others.contains(path) {
            result = removing(result, path[...])
        }
        return result
    }

    /// Paths (without the `f:` prefixes) of the leaves of a FieldsV1 value.
    static func leafPaths(_ fields: JSONValue, prefix: [String] = []) -> [[String]] {
        guard let pairs = fields.objectValue, !pairs.isEmpty else { return prefix.isEmpty ? [] : [prefix] }
        return pairs.flatMap { k, v in k.hasPrefix("f:") ? leafPaths(v, prefix: prefix + [String(k.dropFirst(2))]) : [] }
    }

    static func removing(_ value: JSONValue, _ path: ArraySlice<String>) -> JSONValue {
        guard let key = path.first, case .object(var pairs) = value else { return value }
        guard let i = pairs.firstIndex(where: { $0.0 == key }) else { return value }
        if path.count == 1 { pairs.remove(at: i) } else { pairs[i].1 = removing(pairs[i].1, path.dropFirst()) }
        return .object(pairs)
    }

    static func merge(live: JSONValue, applied: JSONValue) -> JSONValue {
        var result = live.merging(patch: withoutNulls(applied))
        // Server-owned metadata stays the server's.
        for key in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            if let v = live.value(at: ["metadata", key]) { result.set(path: ["metadata", key], v) }
        }
        return result
    }

    /// Apply configurations never delete by `null`.
    static func withoutNulls(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let pairs): return .object(pairs.filter { !$0.1.isNull }.map { ($0.0, withoutNulls($0.1)) })
        case .array(let items): return .array(items.map(withoutNulls))
        default: return v
        }
    }

    /// Strategic-merge directives (`$patch`, `$retainKeys`, `$setElementOrder/…`) are dropped: the simulator
    /// merges like a JSON merge patch.
    static func stripDirectives(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let pairs): return .object(pairs.filter { !$0.0.hasPrefix("$") }.map { ($0.0, stripDirectives($0.1)) })
        case .array(let items): return .array(items.map(stripDirectives))
        default: return v
        }
    }

    /// Equal apart from server bookkeeping (resourceVersion and managed-field times).
    static func sameContent(_ a: JSONValue, _ b: JSONValue) -> Bool {
        normalized(a) == normalized(b)
    }

    private static func normalized(_ v: JSONValue) -> JSONValue {
        var o = v
        var meta = o["metadata"] ?? .object([])
        meta.remove("resourceVersion")
        if let fields = meta["managedFields"]?.arrayValue {
            meta.set("managedFields", .array(fields.map { f in var f = f; f.remove("time"); return f }))
        }
        o.set("metadata", meta)
        o.remove("status")
        return canonical(o)
    }

    static func canonical(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.sorted { $0.0 < $1.0 }.map { ($0.0, canonical($0.1)) })
        case .array(let a): return .array(a.map(canonical))
        default: return v
        }
    }
}

/// `metadata.managedFields` entries, one per manager and operation, with the applied fields as FieldsV1.
enum ManagedFields {
    static func record(_ object: JSONValue, manager: String, applied: JSONValue, apiVersion: String) -> JSONValue {
        var obj = object
        var entries = obj.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
        entries.removeAll { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply" }
        entries.append(.object([
            ("manager", .string(manager)), ("operation", "Apply"), ("apiVersion", .string(apiVersion)),
            ("time", .string(SimCluster.timestamp(Date()))), ("fieldsType", "FieldsV1"), ("fieldsV1", fieldsV1(owned(applied))),
        ]))
        obj.set(path: ["metadata", "managedFields"], .array(entries))
        return obj
    }

    /// The part of an applied configuration that names fields a manager owns (identity and server fields excluded).
    static func owned(_ applied: JSONValue) -> JSONValue {
        var fields = applied
        fields.remove("apiVersion"); fields.remove("kind"); fields.remove("status")
        if var meta = fields["metadata"] {
            for k in ["name", "namespace", "resourceVersion", "uid", "managedFields", "creationTimestamp", "generation"] { meta.remove(k) }
            fields.set("metadata", meta)
        }
        return fields
    }

    static func fieldsV1(_ v: JSONValue) -> JSONValue {
        guard case .object(let pairs) = v else { return .object([]) }
        return .object(pairs.map { ("f:\($0.0)", $0.1.objectValue != nil ? fieldsV1($0.1) : .object([])) })
    }
}

/// RFC 6902 JSON Patch: add, remove, replace, move, copy, test.
enum JSONPatch {
    struct PatchError: Error { let message: String }

    static func apply(_ patch: JSONValue, to document: JSONValue) throws -> JSONValue {
        guard let ops = patch.arrayValue else { throw PatchError(message: "a JSON patch must be a list of operations") }
        var doc = document
        for (i, op) in ops.enumerated() {
            guard let kind = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw PatchError(message: "operation \(i) needs op and path")
            }
            let pointer = try parse(path)
            switch kind {
            case "add": doc = try set(doc, pointer, op["value"] ?? .null, insert: true)
            case "replace":
                _ = try get(doc, pointer)
                doc = try set(doc, pointer, op["value"] ?? .null, insert: false)
            case "remove": doc = try remove(doc, pointer)
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw PatchError(message: "operation \(i) needs from") }
                let value = try get(doc, parse(from))
                if kind == "move" { doc = try remove(doc, parse(from)) }
                doc = try set(doc, pointer, value, insert: true)
            case "test":
                guard try get(doc, pointer) == (op["value"] ?? .null) else { throw PatchError(message: "test operation failed at \(path)") }
            default: throw PatchError(message: "unknown operation '\(kind)'")
            }
        }
        return doc
    }

    static func parse(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw PatchError(message: "JSON pointer '\(path)' must start with /") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ doc: JSONValue, _ pointer: [String]) throws -> JSONValue {
        var current = doc
        for token in pointer {
            switch current {
            case .object: guard let next = current[token] else { throw PatchError(message: "path /\(pointer.joined(separator: "/")) does not exist") }; current = next
            case .array(let a): guard let i = Int(token), i >= 0, i < a.count else { throw PatchError(message: "index \(token) out of range") }; current = a[i]
            default: throw PatchError(message: "path /\(pointer.joined(separator: "/")) does not exist")
            }
        }
        return current
    }

    static func set(_ doc: JSONValue, _ pointer: [String], _ value: JSONValue, insert: Bool) throws -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object:
            var d = doc
            if rest.isEmpty { d.set(token, value) } else {
                guard let child = doc[token] else { throw PatchError(message: "path /\(pointer.joined(separator: "/")) does not exist") }
                d.set(token, try set(child, rest, value, insert: insert))
            }
            return d
        case .array(var a):
            if rest.isEmpty {
                if token == "-" { a.append(value); return .array(a) }
                guard let i = Int(token), i >= 0, i <= a.count else { throw PatchError(message: "index \(token) out of range") }
                if insert { a.insert(value, at: i) } else { guard i < a.count else { throw PatchError(message: "index \(token) out of range") }; a[i] = value }
                return .array(a)
            }
            guard let i = Int(token), i >= 0, i < a.count else { throw PatchError(message: "index \(token) out of range") }
            a[i] = try set(a[i], rest, value, insert: insert)
            return .array(a)
        default:
            throw PatchError(message: "cannot set a field inside a scalar")
        }
    }

    static func remove(_ doc: JSONValue, _ pointer: [String]) throws -> JSONValue {
        guard let token = pointer.first else { throw PatchError(message: "cannot remove the root") }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object:
            guard let child = doc[token] else { throw PatchError(message: "path does not exist") }
            var d = doc
            if rest.isEmpty { d.remove(token) } else { d.set(token, try remove(child, rest)) }
            return d
        case .array(var a):
            guard let i = Int(token), i >= 0, i < a.count else { throw PatchError(message: "index \(token) out of range") }
            if rest.isEmpty { a.remove(at: i) } else { a[i] = try remove(a[i], rest) }
            return .array(a)
        default:
            throw PatchError(message: "path does not exist")
        }
    }
}
