/// A strict JSON parser (RFC 8259) producing ordered values. Integers that fit in `Int` stay integers.
public enum JSONParser {
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "invalid JSON at offset \(offset): \(message)" }
    }

    public static func parse(_ text: String, maxDepth: Int = 512) throws -> JSONValue {
        var p = Parser(bytes: Array(text.utf8), maxDepth: maxDepth)
        p.skipWhitespace()
        let value = try p.value(depth: 0)
        p.skipWhitespace()
        if p.pos != p.bytes.count { throw p.error("unexpected data after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var pos = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: pos) }

        mutating func skipWhitespace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
            guard pos < bytes.count else { throw error("unexpected end of input") }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var pairs: [(String, JSONValue)] = []
                // A later duplicate replaces the earlier value, in place; finding it stays linear in the key count.
                var index = KeyIndex(pairs)
                skipWhitespace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(pairs) }
                while true {
                    skipWhitespace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let key = try string()
                    skipWhitespace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    pos += 1
                    skipWhitespace()
                    let v = try value(depth: depth + 1)
                    if let i = index.position(of: key, in: pairs) {
                        pairs[i].1 = v
                    } else {
                        index.appended(key, at: pairs.count)
                        pairs.append((key, v))
                    }
                    skipWhitespace()
                    guard pos < bytes.count else { throw error("unexpected end of input in an object") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(pairs) }
                    throw error("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSONValue] = []
                skipWhitespace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard pos < bytes.count else { throw error("unexpected end of input in an array") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                    throw error("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default:
                return try number()
            }
        }

        mutating func literal(_ word: String) throws {
            let w = Array(word.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { throw error("invalid literal") }
            pos += w.count
        }

        /// RFC 8259's number: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`. One too large for a float64 is
        /// refused, as Go's decoder refuses it (it would print as `null`).
        mutating func number() throws -> JSONValue {
            let start = pos
            func digits() -> Int {
                let from = pos
                while pos < bytes.count, bytes[pos] >= 48, bytes[pos] <= 57 { pos += 1 }
                return pos - from
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let leadingZero = pos < bytes.count && bytes[pos] == 48
            let integer = digits()
            if integer == 0 { throw error("invalid number: a digit must follow '-'") }
            if leadingZero && integer > 1 { throw error("invalid number: leading zero") }
            var isInt = true
            if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
                pos += 1
                isInt = false
                if digits() == 0 { throw error("invalid number: a digit must follow '.'") }
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
                pos += 1
                isInt = false
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                if digits() == 0 { throw error("invalid number: a digit must follow the exponent") }
            }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            if isInt, let i = Int(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw error("number \(text.prefix(40)) is out of range") }
            return .double(d)
        }

        mutating func string() throws -> String {
            pos += 1  // opening quote
            var out: [UInt8] = []
            while pos < bytes.count {
                let b = bytes[pos]
                pos += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard pos < bytes.count else { throw error("unterminated escape") }
                    let e = bytes[pos]
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        // A high surrogate pairs with a low one that follows; unpaired halves are U+FFFD (as Go
                        // decodes them), and an escape after an unpaired high surrogate is read on its own.
                        if (0xD800..<0xDC00).contains(code) {
                            let mark = pos
                            if pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                                pos += 2
                                let low = try hex4()
                                if (0xDC00..<0xE000).contains(low) {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    pos = mark
                                    code = 0xFFFD
                                }
                            } else {
                                code = 0xFFFD
                            }
                        }
                        let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: throw error("invalid escape")
                    }
                default:
                    if b < 0x20 { throw error("control character in a string") }
                    out.append(b)
                }
            }
            throw error("unterminated string")
        }

        /// Exactly four hexadecimal digits.
        mutating func hex4() throws -> UInt32 {
            guard pos + 4 <= bytes.count else { throw error("invalid \\u escape") }
            var v: UInt32 = 0
            for b in bytes[pos..<pos + 4] {
                let digit: UInt8
                switch b {
                case 48...57: digit = b - 48
                case 65...70: digit = b - 55
                case 97...102: digit = b - 87
                default: throw error("invalid \\u escape")
                }
                v = v << 4 | UInt32(digit)
            }
            pos += 4
            return v
        }
    }
}
