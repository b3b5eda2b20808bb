import Foundation

/// Codable values to and from `JSONValue`, keeping what stored values and the API's answers promise: fields in declaration order,
/// and an absent optional written as `null` (not left out), so every answer has every field.
public enum JSONCoding {
    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue { try ValueEncoder.encode(value, path: []) }

    public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws -> T { try ValueDecoder.decode(type, json, path: []) }

    /// Encodes a value whose encoding cannot fail (the API's own types: strings, numbers, JSON).
    public static func value<T: Encodable>(_ value: T) -> JSONValue {
        (try? encode(value)) ?? .null
    }
}

// MARK: - Encoding

/// Where a container writes: a tree of slots, so that nested containers write into their parent; turned into a
/// `JSONValue` once encoding is done.
final class Slot {
    enum Content {
        case value(JSONValue)
        case object([(String, Slot)])
        case array([Slot])
    }

    var content: Content

    init(_ content: Content = .value(.null)) { self.content = content }

    var value: JSONValue {
        switch content {
        case .value(let v): v
        case .object(let fields): .object(fields.map { ($0.0, $0.1.value) })
        case .array(let items): .array(items.map(\.value))
        }
    }
}

final class ValueEncoder: Encoder {
    let storage: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(path: [any CodingKey], slot: Slot = Slot()) {
        codingPath = path
        storage = slot
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = storage.content {} else { storage.content = .object([]) }
        return KeyedEncodingContainer(KeyedEncoding<Key>(slot: storage, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = storage.content {} else { storage.content = .array([]) }
        return UnkeyedEncoding(slot: storage, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleEncoding(slot: storage, codingPath: codingPath) }

    static func encode<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> JSONValue {
        if let json = value as? JSONValue { return json }
        if let date = value as? Date { return .string(Timestamp.rfc3339(date, milliseconds: true)) }
        let encoder = ValueEncoder(path: path)
        try value.encode(to: encoder)
        return encoder.storage.value
    }
}

private struct KeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [any CodingKey]

    private func set(_ key: Key, _ child: Slot) {
        guard case .object(var fields) = slot.content else { return }
        if let i = fields.firstIndex(where: { $0.0 == key.stringValue }) { fields[i].1 = child } else { fields.append((key.stringValue, child)) }
        slot.content = .object(fields)
    }

    private func set(_ key: Key, _ value: JSONValue) { set(key, Slot(.value(value))) }

    mutating func encodeNil(forKey key: Key) throws { set(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(key, .double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(key, .int(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(key, try ValueEncoder.encode(value, path: codingPath + [key]))
    }

    // An absent optional is written as null: every answer has every field.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { set(key, value.map(JSONValue.bool) ?? .null) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { set(key, value.map(JSONValue.string) ?? .null) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { set(key, value.map(JSONValue.double) ?? .null) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { set(key, value.map(JSONValue.int) ?? .null) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        set(key, try value.map { try ValueEncoder.encode($0, path: codingPath + [key]) } ?? .null)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = Slot()
        set(key, child)
        return ValueEncoder(path: codingPath + [key], slot: child).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Slot()
        set(key, child)
        return ValueEncoder(path: codingPath + [key], slot: child).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = Slot()
        set(Key(stringValue: "super")!, child)
        return ValueEncoder(path: codingPath, slot: child)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = Slot()
        set(key, child)
        return ValueEncoder(path: codingPath + [key], slot: child)
    }
}

private struct UnkeyedEncoding: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = slot.content { return items.count }
        return 0
    }

    private func append(_ child: Slot) {
        guard case .array(var items) = slot.content else { return }
        items.append(child)
        slot.content = .array(items)
    }

    private func append(_ value: JSONValue) { append(Slot(.value(value))) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(.double(value)) }
    mutating func encode(_ value: Int) throws { append(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { append(try ValueEncoder.encode(value, path: codingPath)) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = Slot()
        append(child)
        return ValueEncoder(path: codingPath, slot: child).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Slot()
        append(child)
        return ValueEncoder(path: codingPath, slot: child).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let child = Slot()
        append(child)
        return ValueEncoder(path: codingPath, slot: child)
    }
}

private struct SingleEncoding: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]
    mutating func encodeNil() throws { slot.content = .value(.null) }
    mutating func encode(_ value: Bool) throws { slot.content = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { slot.content = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { slot.content = .value(.double(value)) }
    mutating func encode(_ value: Int) throws { slot.content = .value(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { slot.content = .value(try ValueEncoder.encode(value, path: codingPath)) }
}

// MARK: - Decoding

/// The reason a value could not be read, with its place (`items[2].name`).
public struct APIDecodingError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

private func describe(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
    }
    return out
}

struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, path: [any CodingKey]) {
        self.value = value
        codingPath = path
    }

    func fail(_ message: String) -> APIDecodingError { APIDecodingError(path: describe(codingPath), message: message) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw fail("expected an object") }
        return KeyedDecodingContainer(KeyedDecoding<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw fail("expected an array") }
        return UnkeyedDecoding(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleDecoding(decoder: self) }

    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, path: [any CodingKey]) throws -> T {
        if let same = value as? T { return same }
        return try T(from: ValueDecoder(value: value, path: path))
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private func scalar<T>(_ value: JSONValue, _ type: T.Type, path: [any CodingKey]) throws -> T {
    let result: Any? = switch (value, type) {
    case (.bool(let b), is Bool.Type): b
    case (.string(let s), is String.Type): s
    case (.int(let i), is Int.Type): i
    case (.int(let i), is Double.Type): Double(i)
    case (.double(let d), is Double.Type): d
    case (.double(let d), is Int.Type): d.rounded() == d ? Int(exactly: d) : nil
    default: nil
    }
    guard let typed = result as? T else { throw APIDecodingError(path: describe(path), message: "expected \(T.self)") }
    return typed
}

private struct KeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [(String, JSONValue)]
    let codingPath: [any CodingKey]
    var allKeys: [Key] { fields.compactMap { Key(stringValue: $0.0) } }

    func contains(_ key: Key) -> Bool { fields.contains { $0.0 == key.stringValue } }

    private func field(_ key: Key) throws -> JSONValue {
        guard let hit = fields.first(where: { $0.0 == key.stringValue }) else {
            throw APIDecodingError(path: describe(codingPath + [key]), message: "required field is missing")
        }
        return hit.1
    }

    func decodeNil(forKey key: Key) throws -> Bool { (try? field(key)) == .null || !contains(key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try scalar(try field(key), type, path: codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try scalar(try field(key), type, path: codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try scalar(try field(key), type, path: codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try scalar(try field(key), type, path: codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoder.decode(type, try field(key), path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try field(key), path: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try field(key), path: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(fields), path: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ValueDecoder(value: try field(key), path: codingPath + [key]) }
}

private struct UnkeyedDecoding: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else { throw APIDecodingError(path: describe(codingPath), message: "fewer items than expected") }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, p) = try next(); return try scalar(v, type, path: p) }
    mutating func decode(_ type: String.Type) throws -> String { let (v, p) = try next(); return try scalar(v, type, path: p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (v, p) = try next(); return try scalar(v, type, path: p) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (v, p) = try next(); return try scalar(v, type, path: p) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { let (v, p) = try next(); return try ValueDecoder.decode(type, v, path: p) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, p) = try next()
        return try ValueDecoder(value: v, path: p).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, p) = try next()
        return try ValueDecoder(value: v, path: p).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder {
        let (v, p) = try next()
        return ValueDecoder(value: v, path: p)
    }
}

private struct SingleDecoding: SingleValueDecodingContainer {
    let decoder: ValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try scalar(decoder.value, type, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try scalar(decoder.value, type, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try scalar(decoder.value, type, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try scalar(decoder.value, type, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try ValueDecoder.decode(type, decoder.value, path: codingPath) }
}
