/// A JSON value whose objects keep their key order, so output reads in the order fields are documented
/// (`name`, `server`, `labels`, ...) rather than hash or alphabetical order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(i)
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (k, v) in o {
                hasher.combine(k)
                hasher.combine(v)
            }
        }
    }

    /// A string map as an object with sorted keys.
    public static func sortedObject(_ map: [String: String]) -> JSONValue {
        .object(map.keys.sorted().map { ($0, .string(map[$0]!)) })
    }

    /// Serialises to JSON text; `pretty` indents by two spaces as `kubectl -o json` does.
    public func serialized(pretty: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, indent: pretty ? 0 : nil)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes UTF-8 into a byte buffer: strings without characters to escape are copied whole.
    private func write(into out: inout [UInt8], indent: Int?) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { out.append(contentsOf: String(Int(d)).utf8) } else if d.isFinite {
                out.append(contentsOf: "\(d)".utf8)
            } else { out.append(contentsOf: "null".utf8) }
        case .string(let s): Self.escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, indent.map { $0 + 1 })
                item.write(into: &out, indent: indent.map { $0 + 1 })
            }
            Self.newline(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, indent.map { $0 + 1 })
                Self.escape(key, into: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                value.write(into: &out, indent: indent.map { $0 + 1 })
            }
            Self.newline(&out, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int?) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<(indent * 2) { out.append(UInt8(ascii: " ")) }
    }

    private static func escape(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for (i, byte) in bytes.enumerated() where byte == 0x22 || byte == 0x5C || byte < 0x20 {
                out.append(contentsOf: bytes[start..<i])
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
                start = i + 1
            }
            out.append(contentsOf: bytes[start..<bytes.count])
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Access

extension JSONValue {
    /// The value at `key` of an object, nil for other kinds or a missing key.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        for (k, v) in pairs where k == key { return v }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var intValue: Int? {
        if case .int(let n) = self { return n }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Sets `key` in an object (appending it when new). No effect on other kinds.
    public mutating func set(_ key: String, _ value: JSONValue) {
        guard case .object(var pairs) = self else { return }
        if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = value } else { pairs.append((key, value)) }
        self = .object(pairs)
    }

    /// Removes `key` from an object.
    public mutating func remove(_ key: String) {
        guard case .object(var pairs) = self else { return }
        pairs.removeAll { $0.0 == key }
        self = .object(pairs)
    }

    /// The value at a path of object keys, e.g. `["spec", "destination", "server"]`.
    public func value(at path: [String]) -> JSONValue? {
        var current = self
        for key in path {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    /// Sets the value at a path, creating intermediate objects.
    public mutating func set(path: [String], _ value: JSONValue) {
        guard let first = path.first else {
            self = value
            return
        }
        if case .null = self { self = .object([]) }
        var child = self[first] ?? .object([])
        child.set(path: Array(path.dropFirst()), value)
        set(first, child)
    }

    /// JSON merge patch (RFC 7386): objects merge key by key, `null` deletes, anything else replaces.
    /// Linear in the number of keys on both sides.
    public func merging(patch: JSONValue) -> JSONValue {
        guard case .object(let patchPairs) = patch else { return patch }
        var pairs = self.objectValue ?? []
        var index = KeyIndex(pairs)
        var removed: Set<Int> = []
        for (key, value) in patchPairs {
            if let i = index.position(of: key, in: pairs) {
                if value.isNull { removed.insert(i) } else { pairs[i].1 = pairs[i].1.merging(patch: value) }
            } else if !value.isNull {
                index.appended(key, at: pairs.count)
                pairs.append((key, JSONValue.null.merging(patch: value)))
            }
        }
        if !removed.isEmpty { pairs = pairs.enumerated().filter { !removed.contains($0.offset) }.map(\.element) }
        return .object(pairs)
    }
}

/// Positions of an object's keys: a linear search while the object is small, a dictionary once it is not,
/// so work over objects with many keys (a ConfigMap with 50,000 entries) stays linear.
public struct KeyIndex {
    private var positions: [String: Int]?
    static let threshold = 16

    public init(_ pairs: [(String, JSONValue)]) {
        if pairs.count > Self.threshold { positions = Self.build(pairs) }
    }

    private static func build(_ pairs: [(String, JSONValue)]) -> [String: Int] {
        var map: [String: Int] = [:]
        map.reserveCapacity(pairs.count)
        for (i, pair) in pairs.enumerated() where map[pair.0] == nil { map[pair.0] = i }
        return map
    }

    /// The position of `key` in `pairs` (the pairs this index was built from, plus those appended through it).
    public mutating func position(of key: String, in pairs: [(String, JSONValue)]) -> Int? {
        if positions == nil && pairs.count > Self.threshold { positions = Self.build(pairs) }
        if let positions { return positions[key] }
        return pairs.firstIndex { $0.0 == key }
    }

    public mutating func appended(_ key: String, at position: Int) {
        if positions != nil, positions![key] == nil { positions![key] = position }
    }
}

// MARK: - Deep merge

extension JSONValue {
    /// What a deep merge does where both sides have a non-object value.
    public enum MergeConflict: Sendable {
        /// Keep this value (mergo without override, where empty values still win: matrix in Go templates).
        case keep
        /// Keep this value unless it is empty (mergo without override: Sprig's `merge`).
        case fillEmpty
        /// Take the other value (mergo with override: merge generator, Sprig's `mergeOverwrite`).
        case override
    }

    /// Objects merge key by key, recursively; other values follow `conflict`.
    public func deepMerged(with other: JSONValue, conflict: MergeConflict) -> JSONValue {
        guard case .object(var pairs) = self, case .object(let incoming) = other else {
            switch conflict {
            case .keep: return self
            case .override: return other
            case .fillEmpty: return isEmptyValue ? other : self
            }
        }
        var index = KeyIndex(pairs)
        for (k, v) in incoming {
            if let i = index.position(of: k, in: pairs) {
                pairs[i].1 = pairs[i].1.deepMerged(with: v, conflict: conflict)
            } else {
                index.appended(k, at: pairs.count)
                pairs.append((k, v))
            }
        }
        return .object(pairs)
    }

    /// Go's notion of an empty value: null, false, 0, "", and empty lists and maps.
    public var isEmptyValue: Bool {
        switch self {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Codable through any coder (objects come back with sorted keys: a keyed container has no order). The API's
/// own coders (FleetAPI) pass JSONValue through whole, order kept.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null } else if let b = try? container.decode(Bool.self) { self = .bool(b) } else if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) { self = .double(d) } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) { self = .array(a) } else {
            let o = try container.decode([String: JSONValue].self)
            self = .object(o.keys.sorted().map { ($0, o[$0]!) })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(Dictionary(o, uniquingKeysWith: { a, _ in a }))
        }
    }
}
