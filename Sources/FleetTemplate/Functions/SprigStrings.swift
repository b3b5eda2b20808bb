import FleetModel
import Foundation

/// Sprig's string functions.
enum SprigStrings {
    static let family: [TemplateFunction] = [
        F("hello") { _, _ in .string("Hello!") },
        F("upper", [.string]) { a, _ in .string(s(a[0]).uppercased()) },
        F("lower", [.string]) { a, _ in .string(s(a[0]).lowercased()) },
        F("title", [.string]) { a, _ in .string(title(s(a[0]))) },
        F("untitle", [.string]) { a, _ in .string(words(s(a[0])) { $0.prefix(1).lowercased() + $0.dropFirst() }) },
        F("trim", [.string]) { a, _ in .string(s(a[0]).trimmingCharacters(in: .whitespacesAndNewlines)) },
        F("trimAll", [.string, .string]) { a, _ in .string(s(a[1]).trimmingCharacters(in: CharacterSet(charactersIn: s(a[0])))) },
        F("trimall", [.string, .string]) { a, _ in .string(s(a[1]).trimmingCharacters(in: CharacterSet(charactersIn: s(a[0])))) },
        F("trimPrefix", [.string, .string]) { a, _ in
            let str = s(a[1]), p = s(a[0])
            return .string(str.hasPrefix(p) ? String(str.dropFirst(p.count)) : str)
        },
        F("trimSuffix", [.string, .string]) { a, _ in
            let str = s(a[1]), p = s(a[0])
            return .string(str.hasSuffix(p) ? String(str.dropLast(p.count)) : str)
        },
        F("trunc", [.int, .string]) { a, _ in
            let c = i(a[0]), b = Array(s(a[1]).utf8)
            if c < 0 && b.count + c > 0 { return .string(String(decoding: b[(b.count + c)...], as: UTF8.self)) }
            if c >= 0 && b.count > c { return .string(String(decoding: b[..<c], as: UTF8.self)) }
            return a[1]
        },
        F("substr", [.int, .int, .string]) { a, _ in
            let start = i(a[0]), end = i(a[1]), b = Array(s(a[2]).utf8)
            func cut(_ from: Int, _ to: Int) throws -> TemplateValue {
                guard from >= 0, from <= to, to <= b.count else { throw Sprig.fail("slice bounds out of range [\(from):\(to)] with length \(b.count)") }
                return .string(String(decoding: b[from..<to], as: UTF8.self))
            }
            if start < 0 { return try cut(0, end) }
            if end < 0 || end > b.count { return try cut(start, b.count) }
            return try cut(start, end)
        },
        F("repeat", [.int, .string]) { a, _ in
            guard i(a[0]) >= 0 else { throw Sprig.fail("strings: negative Repeat count") }
            return .string(String(repeating: s(a[1]), count: i(a[0])))
        },
        F("nospace", [.string]) { a, _ in .string(String(String.UnicodeScalarView(s(a[0]).unicodeScalars.filter { !$0.properties.isWhitespace }))) },
        F("initials", [.string]) { a, _ in .string(s(a[0]).split(whereSeparator: { $0.isWhitespace }).compactMap { $0.first.map(String.init) }.joined()) },
        F("swapcase", [.string]) { a, _ in
            .string(String(s(a[0]).map { c -> String in c.isUppercase ? c.lowercased() : c.isLowercase ? c.uppercased() : String(c) }.joined()))
        },
        F("shuffle", [.string]) { a, _ in .string(String(s(a[0]).shuffled())) },
        F("snakecase", [.string]) { a, _ in .string(caseWords(s(a[0])).map { $0.lowercased() }.joined(separator: "_")) },
        F("kebabcase", [.string]) { a, _ in .string(caseWords(s(a[0])).map { $0.lowercased() }.joined(separator: "-")) },
        F("camelcase", [.string]) { a, _ in .string(camelcase(s(a[0]))) },
        F("abbrev", [.int, .string]) { a, _ in
            let width = i(a[0]), str = s(a[1])
            if width < 4 { return a[1] }
            return .string(abbreviate(str, offset: 0, width: width))
        },
        F("abbrevboth", [.int, .int, .string]) { a, _ in
            let left = i(a[0]), right = i(a[1]), str = s(a[2])
            if right < 4 || (left > 0 && right < 7) { return a[2] }
            return .string(abbreviate(str, offset: left, width: right))
        },
        F("wrap", [.int, .string]) { a, _ in .string(wrap(s(a[1]), width: i(a[0]), newline: "\n", wrapLongWords: false)) },
        F("wrapWith", [.int, .string, .string]) { a, _ in .string(wrap(s(a[2]), width: i(a[0]), newline: s(a[1]), wrapLongWords: true)) },
        F("contains", [.string, .string]) { a, _ in .bool(s(a[0]).isEmpty || s(a[1]).contains(s(a[0]))) },
        F("hasPrefix", [.string, .string]) { a, _ in .bool(s(a[1]).hasPrefix(s(a[0]))) },
        F("hasSuffix", [.string, .string]) { a, _ in .bool(s(a[1]).hasSuffix(s(a[0]))) },
        F("quote", [], variadic: .any) { a, _ in .string(a.filter { !$0.isNil }.map { GoFormat.quote(Sprig.str($0)) }.joined(separator: " ")) },
        F("squote", [], variadic: .any) { a, _ in .string(a.filter { !$0.isNil }.map { "'" + Sprig.str($0) + "'" }.joined(separator: " ")) },
        F("cat", [], variadic: .any) { a, _ in .string(a.filter { !$0.isNil }.map(GoFormat.value).joined(separator: " ")) },
        F("indent", [.int, .string]) { a, _ in .string(indent(i(a[0]), s(a[1]))) },
        F("nindent", [.int, .string]) { a, _ in .string("\n" + indent(i(a[0]), s(a[1]))) },
        F("replace", [.string, .string, .string]) { a, _ in .string(replace(s(a[2]), s(a[0]), s(a[1]))) },
        F("plural", [.string, .string, .int]) { a, _ in i(a[2]) == 1 ? a[0] : a[1] },
        F("toString", [.any]) { a, _ in .string(Sprig.str(a[0])) },
        F("split", [.string, .string]) { a, _ in splitMap(split(s(a[1]), by: s(a[0]), limit: -1)) },
        F("splitn", [.string, .int, .string]) { a, _ in splitMap(split(s(a[2]), by: s(a[0]), limit: i(a[1]))) },
        F("splitList", [.string, .string]) { a, _ in .strings(split(s(a[1]), by: s(a[0]), limit: -1)) },
        F("toStrings", [.any]) { a, _ in .strings(Sprig.strings(a[0])) },
        F("join", [.string, .any]) { a, _ in .string(Sprig.strings(a[1]).joined(separator: s(a[0]))) },
        F("sortAlpha", [.any]) { a, _ in
            if case .list = a[0] { return .strings(Sprig.strings(a[0]).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) }
            return .strings([Sprig.str(a[0])])
        },
        F("randAlphaNum", [.int]) { a, _ in .string(random(i(a[0]), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")) },
        F("randAlpha", [.int]) { a, _ in .string(random(i(a[0]), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")) },
        F("randNumeric", [.int]) { a, _ in .string(random(i(a[0]), "0123456789")) },
        F("randAscii", [.int]) { a, _ in .string(random(i(a[0]), String(String.UnicodeScalarView((32...126).compactMap(Unicode.Scalar.init))))) },
    ]

    static func s(_ v: TemplateValue) -> String { v.stringValue ?? "" }
    static func i(_ v: TemplateValue) -> Int { if case .int(let n, _) = v { return n } else { return 0 } }

    static func random(_ n: Int, _ alphabet: String) -> String {
        let chars = Array(alphabet)
        return String((0..<max(0, n)).map { _ in chars.randomElement()! })
    }

    static func indent(_ n: Int, _ text: String) -> String {
        let pad = String(repeating: " ", count: max(0, n))
        return pad + replace(text, "\n", "\n" + pad)
    }

    /// Go's `strings.Replace(s, old, new, -1)`: an empty `old` matches before every character and at the end.
    static func replace(_ text: String, _ old: String, _ new: String) -> String {
        if old.isEmpty {
            var out = new
            for c in text { out.append(c); out += new }
            return out
        }
        return text.replacingOccurrences(of: old, with: new)
    }

    /// Go's `strings.SplitN`: an empty separator splits into characters; n < 0 means all.
    static func split(_ text: String, by sep: String, limit n: Int) -> [String] {
        if n == 0 { return [] }
        if sep.isEmpty {
            var parts = text.map(String.init)
            if n > 0 && parts.count > n { parts = Array(parts.prefix(n - 1)) + [String(text.dropFirst(n - 1))] }
            return parts
        }
        var parts: [String] = []
        var rest = Substring(text)
        while n < 0 || parts.count < n - 1, let r = rest.range(of: sep) {
            parts.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }

    static func splitMap(_ parts: [String]) -> TemplateValue {
        var entries: [String: TemplateValue] = [:]
        for (i, p) in parts.enumerated() { entries["_\(i)"] = .string(p) }
        return .map(TemplateMap(entries, element: "string"))
    }

    static func words(_ text: String, _ transform: (Substring) -> String) -> String {
        var out = ""
        var word = ""
        for c in text {
            if c.isWhitespace {
                out += transform(Substring(word)) + String(c)
                word = ""
            } else {
                word.append(c)
            }
        }
        return out + transform(Substring(word))
    }

    /// Go's `strings.Title`: the first letter of each word, words separated by anything but letters,
    /// digits, underscores and apostrophes-in-words.
    static func title(_ text: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in text {
            let separator = !(previous.isLetter || previous.isNumber || previous == "_" || (previous.unicodeScalars.first!.value >= 0x80 && !previous.isWhitespace))
            out += separator ? c.uppercased() : String(c)
            previous = c
        }
        return out
    }

    /// Words of an identifier as xstrings sees them: `HTTPServer` → HTTP, Server; `GO_PATH` → GO, PATH;
    /// `Bld4Floor` → Bld4, Floor.
    static func caseWords(_ text: String) -> [String] {
        var words: [String] = []
        var current: [Character] = []
        let chars = Array(text)
        func flush() {
            if !current.isEmpty { words.append(String(current)) }
            current = []
        }
        for (idx, c) in chars.enumerated() {
            if c == "_" || c == "-" || c == " " || c == "." || c.isWhitespace {
                flush()
                continue
            }
            if let last = current.last {
                let next = idx + 1 < chars.count ? chars[idx + 1] : nil
                if c.isUppercase && (last.isLowercase || last.isNumber) {
                    flush()
                } else if c.isUppercase && last.isUppercase, let n = next, n.isLowercase {
                    flush()
                }
            }
            current.append(c)
        }
        flush()
        return words
    }

    /// xstrings' ToCamelCase: `_` separates words, each capitalised; leading and doubled underscores stay.
    static func camelcase(_ text: String) -> String {
        guard !text.isEmpty else { return "" }
        var out = ""
        let chars = Array(text)
        var i = 0
        // Leading underscores are kept as they are.
        while i < chars.count, chars[i] == "_" { out.append("_"); i += 1 }
        var capitalizeNext = true
        while i < chars.count {
            let c = chars[i]
            if c == "_" {
                // A run of underscores: one is dropped, the others kept; a trailing one is kept.
                var run = 0
                while i < chars.count, chars[i] == "_" { run += 1; i += 1 }
                if i >= chars.count { out += String(repeating: "_", count: run); break }
                out += String(repeating: "_", count: run - 1)
                capitalizeNext = true
                continue
            }
            out += capitalizeNext ? c.uppercased() : String(c)
            capitalizeNext = false
            i += 1
        }
        return out
    }

    /// goutils' AbbreviateFull.
    static func abbreviate(_ str: String, offset: Int, width: Int) -> String {
        let b = Array(str.utf8)
        func text(_ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }
        if b.isEmpty || b.count <= width { return str }
        var offset = min(offset, b.count)
        if b.count - offset < width - 3 { offset = b.count - (width - 3) }
        if offset <= 4 { return text(0..<(width - 3)) + "..." }
        if width < 7 { return str }
        if offset + width - 3 < b.count {
            return "..." + abbreviate(text(offset..<b.count), offset: 0, width: width - 3)
        }
        return "..." + text((b.count - (width - 3))..<b.count)
    }

    /// goutils' WrapCustom.
    static func wrap(_ str: String, width: Int, newline: String, wrapLongWords: Bool) -> String {
        if str.isEmpty { return "" }
        let nl = newline.isEmpty ? "\n" : newline
        let width = max(1, width)
        let b = Array(str.utf8)
        func text(_ from: Int, _ to: Int) -> String { String(decoding: b[from..<min(to, b.count)], as: UTF8.self) }
        var out = ""
        var offset = 0
        while b.count - offset > width {
            if b[offset] == UInt8(ascii: " ") { offset += 1; continue }
            let end = min(width + offset + 1, b.count)
            if let space = b[offset..<end].lastIndex(of: UInt8(ascii: " ")), space >= offset {
                out += text(offset, space) + nl
                offset = space + 1
            } else if wrapLongWords {
                out += text(offset, width + offset) + nl
                offset += width
            } else {
                let end = width + offset
                if let space = b[end...].firstIndex(of: UInt8(ascii: " ")) {
                    out += text(offset, space) + nl
                    offset = space + 1
                } else {
                    out += text(offset, b.count)
                    offset = b.count
                }
            }
        }
        return out + text(offset, b.count)
    }
}
