import FleetModel
import Foundation

/// A value while a template runs, as Go's `reflect` sees it: Go's integer, float and complex kinds stay apart
/// (`eq 2 2.0` is an error, `typeOf (add 1 2)` is `int64`), maps are shared references (`set`, `unset`,
/// `merge` change the dict they are given, as Sprig's do) and a missing value is not a nil one.
public enum TemplateValue {
    /// Go's invalid `reflect.Value`: a missing map key, the result of a function that returned nil.
    /// An action prints it as `<no value>`.
    case missing
    /// A nil interface or pointer (a `null` in the data, the `nil` keyword): `<nil>` inside `print`.
    case null
    case bool(Bool)
    case int(Int, IntKind)
    case uint(UInt, IntKind)
    case float(Double)
    case complex(Double, Double)
    case string(String)
    case list(TemplateList)
    case map(TemplateMap)
    /// A Go value with fields and methods (a semver version, a time).
    case object(any TemplateObject)

    /// The Go integer types Sprig and text/template produce.
    public enum IntKind: String, Sendable {
        case int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8
    }

    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i, .int)
        case .double(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(TemplateList(a.map(TemplateValue.init)))
        case .object(let o): self = .map(TemplateMap(json: o))
        }
    }

    public static func int(_ i: Int) -> TemplateValue { .int(i, .int) }
    public static func int64(_ i: Int) -> TemplateValue { .int(i, .int64) }
    static func strings(_ items: [String]) -> TemplateValue { .list(TemplateList(items.map { .string($0) }, element: "string")) }
    static func array(_ items: [TemplateValue]) -> TemplateValue { .list(TemplateList(items)) }
    static func dict(_ entries: [String: TemplateValue]) -> TemplateValue { .map(TemplateMap(entries)) }

    /// The value as JSON, keys sorted as Go's encoding/json writes them.
    public var json: JSONValue {
        switch self {
        case .missing, .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i, _): return .int(i)
        case .uint(let u, _): return u <= UInt(Int.max) ? .int(Int(u)) : .double(Double(u))
        case .float(let d): return .double(d)
        case .complex(let r, let i): return .string(GoFormat.complex(r, i))
        case .string(let s): return .string(s)
        case .list(let l): return .array(l.items.map(\.json))
        case .map(let m): return .object(m.entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })
        case .object(let o): return o.json
        }
    }

    /// Go's `reflect.Value.IsValid`.
    var isValid: Bool { if case .missing = self { return false } else { return true } }

    /// What the next command of a pipeline receives: a nil interface becomes an invalid value, as
    /// text/template's `reflect.ValueOf(value.Interface())` does.
    var dugOut: TemplateValue { if case .null = self { return .missing } else { return self } }

    /// What a function parameter of type `interface{}` receives: an invalid value becomes nil.
    var asArgument: TemplateValue { if case .missing = self { return .null } else { return self } }

    public var isNil: Bool {
        switch self {
        case .missing, .null: return true
        default: return false
        }
    }

    /// text/template's truth: zero values, empty collections and nil are false; a struct is always true.
    var isTrue: Bool {
        switch self {
        case .missing, .null: return false
        case .bool(let b): return b
        case .int(let i, _): return i != 0
        case .uint(let u, _): return u != 0
        case .float(let d): return d != 0
        case .complex(let r, let i): return r != 0 || i != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .map(let m): return !m.isEmpty
        case .object: return true
        }
    }

    /// Sprig's `empty`: like `!isTrue`, except that a struct is empty when it is its zero value.
    var isEmpty: Bool {
        if case .object(let o) = self { return o.isZero }
        return !isTrue
    }

    /// Go's type name, as `%T` and Sprig's `typeOf` print it.
    public var typeName: String {
        switch self {
        case .missing, .null: return "<nil>"
        case .bool: return "bool"
        case .int(_, let k), .uint(_, let k): return k.rawValue
        case .float: return "float64"
        case .complex: return "complex128"
        case .string: return "string"
        case .list(let l): return "[]" + l.element
        case .map(let m): return m.methods?.typeName ?? "map[string]" + m.element
        case .object(let o): return o.typeName
        }
    }

    /// Go's `reflect.Kind` name, as Sprig's `kindOf` prints it.
    var kindName: String {
        switch self {
        case .missing, .null: return "invalid"
        case .bool: return "bool"
        case .int(_, let k), .uint(_, let k): return k.rawValue
        case .float: return "float64"
        case .complex: return "complex128"
        case .string: return "string"
        case .list: return "slice"
        case .map: return "map"
        case .object(let o): return o.kind
        }
    }

    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// A deep copy: maps are references, so values that must not share state are copied.
    var deepCopy: TemplateValue {
        switch self {
        case .list(let l): return .list(TemplateList(l.items.map(\.deepCopy), element: l.element))
        case .map(let m): return .map(TemplateMap(m.entries.mapValues(\.deepCopy), element: m.element))
        default: return self
        }
    }
}

/// A Go slice: its items and its element type (`[]interface {}`, `[]string`, `[]int`).
public struct TemplateList {
    public var items: [TemplateValue] { didSet { depth = Self.depth(of: items) } }
    public var element: String
    /// Levels of lists and maps this list holds, itself included, as they were when it was built (a map
    /// inside may have grown since: see `TemplateMap.depth`).
    public private(set) var depth: Int

    public init(_ items: [TemplateValue], element: String = "interface {}") {
        self.items = items
        self.element = element
        self.depth = Self.depth(of: items)
    }

    static func depth<S: Sequence>(of items: S) -> Int where S.Element == TemplateValue {
        var deepest = 0
        for item in items { deepest = max(deepest, item.nestingDepth) }
        return deepest + 1
    }
}

extension TemplateValue {
    /// Levels of lists and maps, as recorded when each was built or last changed: a cheap lower bound,
    /// exact for values built without changing a map that is already inside another. Serializers and other
    /// walkers bound the real depth as they go (`RenderBudget.checkShape`).
    var nestingDepth: Int {
        switch self {
        case .list(let l): return l.depth
        case .map(let m): return m.depth
        default: return 0
        }
    }
}

/// A Go map with string keys. A reference, as Go maps are. A map made from JSON converts its entries on
/// first use, so data a template never reads costs nothing.
public final class TemplateMap {
    private var pending: [(String, JSONValue)]?
    /// While pending: the dicts and lists already read, so that reading one twice gives the same dict.
    private var converted: [(String, TemplateValue)] = []
    private var storage: [String: TemplateValue]
    public let element: String
    /// The methods of a named map type (Helm's `chartutil.Values`): Go resolves a method of the receiver's type
    /// before a key of that name. Nil for a plain `map[string]…`.
    public var methods: (any TemplateMapMethods)?
    /// Levels of lists and maps this map holds, itself included, kept as entries are set; maps made from
    /// parsed data count 1 (their depth is bounded by the parser).
    public private(set) var depth: Int

    public init(_ entries: [String: TemplateValue] = [:], element: String = "interface {}") {
        self.storage = entries
        self.element = element
        self.depth = TemplateList.depth(of: entries.values)
    }

    init(json pairs: [(String, JSONValue)]) {
        pending = pairs
        storage = [:]
        element = "interface {}"
        depth = 1
    }

    /// Releases nested maps one after another rather than inside one another: a chain of maps built
    /// 10⁶ levels deep (with `set` on maps already nested, which `depth` cannot see) must not take the
    /// thread's stack when it is freed.
    deinit {
        guard !storage.isEmpty || !converted.isEmpty else { return }
        var work: [TemplateMap] = []
        Self.collectMaps(storage.values, into: &work, level: 0)
        Self.collectMaps(converted.map(\.1), into: &work, level: 0)
        storage = [:]
        converted = []
        while !work.isEmpty {
            var map = work.removeLast()
            guard isKnownUniquelyReferenced(&map) else { continue }
            let values = map.storage.values
            let more = map.converted.map(\.1)
            map.storage = [:]
            map.converted = []
            Self.collectMaps(values, into: &work, level: 0)
            Self.collectMaps(more, into: &work, level: 0)
        }
    }

    /// The maps in `values` and in the lists among them (lists nest only as deep as they were built).
    private static func collectMaps<C: Collection>(_ values: C, into work: inout [TemplateMap], level: Int) where C.Element == TemplateValue {
        for value in values {
            switch value {
            case .map(let m): work.append(m)
            case .list(let l) where level < 10_000: collectMaps(l.items, into: &work, level: level + 1)
            default: continue
            }
        }
    }

    /// Converts every entry not converted yet (before enumeration or a change).
    private func materialize() {
        guard let pairs = pending else { return }
        pending = nil
        storage.reserveCapacity(pairs.count)
        for (k, v) in pairs {
            storage[k] = converted.first(where: { $0.0 == k })?.1 ?? TemplateValue(v)
        }
        converted = []
    }

    public var entries: [String: TemplateValue] {
        get { materialize(); return storage }
        set { pending = nil; converted = []; storage = newValue; depth = TemplateList.depth(of: newValue.values) }
    }

    /// A read converts only the entry read (small maps are searched in order, without hashing); a dict or list
    /// read is kept, so reading it twice gives the same dict.
    public subscript(key: String) -> TemplateValue? {
        get {
            guard let pairs = pending else { return storage[key] }
            if pairs.count > 32 {
                materialize()
                return storage[key]
            }
            guard let hit = pairs.first(where: { $0.0 == key }) else { return nil }
            switch hit.1 {
            case .object, .array:
                if let done = converted.first(where: { $0.0 == key }) { return done.1 }
                let value = TemplateValue(hit.1)
                converted.append((key, value))
                return value
            default:
                return TemplateValue(hit.1)
            }
        }
        set {
            materialize()
            storage[key] = newValue
            if let newValue { depth = max(depth, newValue.nestingDepth + 1) }
        }
    }

    var isEmpty: Bool { pending.map(\.isEmpty) ?? storage.isEmpty }
    var count: Int { pending?.count ?? storage.count }
    var sortedKeys: [String] { entries.keys.sorted() }
}

/// The methods of a named Go map type, e.g. Helm's `chartutil.Values` (`.Values.YAML`, `.Values.Table "a.b"`).
public protocol TemplateMapMethods {
    /// `%T` of the map (`chartutil.Values`).
    var typeName: String { get }
    /// A method without arguments on `map`; nil when the type has no such method.
    func field(_ name: String, of map: TemplateMap) throws -> TemplateValue?
    /// A method with arguments on `map`; nil when the type has no such method.
    func call(_ name: String, _ args: [TemplateValue], of map: TemplateMap) throws -> TemplateValue?
}

/// A Go struct value or pointer with fields and methods (Sprig's semver version, a time).
public protocol TemplateObject {
    /// `%T`: `*semver.Version`, `time.Time`.
    var typeName: String { get }
    /// `reflect.Kind`: `ptr`, `struct`.
    var kind: String { get }
    /// `%v`.
    var description: String { get }
    var json: JSONValue { get }
    var isZero: Bool { get }
    /// A field or a method without arguments; nil when the type has no such name.
    func field(_ name: String) -> TemplateValue?
    /// A method called with arguments; nil when the type has no such method.
    func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue?
    func equals(_ other: any TemplateObject) -> Bool
    /// Key/value pairs for `range` over a map-like object (Helm's `.Files`); nil when it cannot be ranged.
    var rangeEntries: [(TemplateValue, TemplateValue)]? { get }
}

extension TemplateObject {
    public var isZero: Bool { false }
    public func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue? { nil }
    public func equals(_ other: any TemplateObject) -> Bool { false }
    public var rangeEntries: [(TemplateValue, TemplateValue)]? { nil }
}
