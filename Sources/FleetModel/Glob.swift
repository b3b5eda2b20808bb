/// Path matching as Argo CD does it: its git generators (`path.Match`, doublestar) and its directory
/// sources (`include`/`exclude`, gobwas/glob without separators).
public enum Glob {
    /// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one non-`/` character, `[...]`
    /// classes with ranges and `^` negation, `\` escapes. The whole path must match. A malformed pattern
    /// matches nothing (Argo CD logs it and moves on).
    public static func pathMatch(_ pattern: String, _ name: String) -> Bool {
        (try? match(Array(pattern.unicodeScalars)[...], Array(name.unicodeScalars)[...], crossSlash: false)) ?? false
    }

    /// doublestar: as `pathMatch` per segment, plus `**` as a whole segment matching zero or more segments,
    /// and `{a,b}` alternatives.
    public static func doublestarMatch(_ pattern: String, _ path: String) -> Bool {
        for expanded in expandBraces(pattern) {
            let p = expanded.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            let s = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if segments(p[...], s[...]) { return true }
        }
        return false
    }

    /// Argo CD's `directory.include`/`exclude` (gobwas/glob without separators): `*` matches any run of
    /// characters and `?` any one character, `/` included; classes and `{a,b}` alternatives as usual.
    public static func anyMatch(_ pattern: String, _ path: String) -> Bool {
        expandBraces(pattern).contains { (try? match(Array($0.unicodeScalars)[...], Array(path.unicodeScalars)[...], crossSlash: true)) ?? false }
    }

    /// `**` segments by dynamic programming over (pattern segment, path segment): polynomial for any number
    /// of `**`, where trying every split recursively is exponential in them.
    private static func segments(_ p: ArraySlice<String>, _ s: ArraySlice<String>) -> Bool {
        let p = Array(p), s = Array(s)
        // reach[j]: the first i pattern segments can match the first j path segments.
        var reach = [Bool](repeating: false, count: s.count + 1)
        reach[0] = true
        for segment in p {
            var next = [Bool](repeating: false, count: s.count + 1)
            if segment == "**" {
                var any = false
                for j in 0...s.count { any = any || reach[j]; next[j] = any }
            } else {
                for j in 0..<s.count where reach[j] && pathMatch(segment, s[j]) { next[j + 1] = true }
            }
            reach = next
            if !reach.contains(true) { return false }
        }
        return reach[s.count]
    }

    /// At most this many alternatives from `{a,b}` groups: `{a,b}` repeated 40 times would be 2^40 patterns.
    /// A pattern past it matches nothing, as a malformed one.
    public static let maxAlternatives = 4096

    public static func expandBraces(_ pattern: String) -> [String] {
        var budget = maxAlternatives
        return expandBraces(pattern, budget: &budget) ?? []
    }

    private static func expandBraces(_ pattern: String, budget: inout Int) -> [String]? {
        guard let open = pattern.firstIndex(of: "{") else { return [pattern] }
        var depth = 0
        var close: String.Index?
        var idx = open
        while idx < pattern.endIndex {
            if pattern[idx] == "{" { depth += 1 }
            if pattern[idx] == "}" { depth -= 1; if depth == 0 { close = idx; break } }
            idx = pattern.index(after: idx)
        }
        guard let close else { return [pattern] }
        let inner = pattern[pattern.index(after: open)..<close]
        var options: [String] = []
        var current = ""
        depth = 0
        for c in inner {
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1 }
            if c == "," && depth == 0 { options.append(current); current = "" } else { current.append(c) }
        }
        options.append(current)
        let prefix = String(pattern[..<open]), suffix = String(pattern[pattern.index(after: close)...])
        budget -= options.count
        guard budget >= 0 else { return nil }
        var out: [String] = []
        for option in options {
            guard let expanded = expandBraces(prefix + option + suffix, budget: &budget) else { return nil }
            out += expanded
            guard out.count <= maxAlternatives else { return nil }
        }
        return out
    }

    struct BadPattern: Error {}

    /// Go's `path.Match` algorithm: the pattern is split into chunks, each a run of stars and the literal,
    /// `?`, class and escape items up to the next star. A chunk after a star is matched at the leftmost place
    /// it fits and never revisited, so a match costs O(pattern × name) however many stars there are (trying
    /// every split recursively is exponential in them). The leftmost fit is safe: the next star absorbs what
    /// a later fit would have skipped.
    private static func match(_ p: ArraySlice<Unicode.Scalar>, _ s: ArraySlice<Unicode.Scalar>, crossSlash: Bool) throws -> Bool {
        var pattern = p, name = s
        while !pattern.isEmpty {
            var star = false
            while pattern.first == "*" { star = true; pattern = pattern.dropFirst() }
            let chunk = try scanChunk(&pattern)
            if star && chunk.isEmpty {
                return crossSlash || !name.contains("/")
            }
            if let rest = try matchChunk(chunk, name, crossSlash: crossSlash), rest.isEmpty || !pattern.isEmpty {
                name = rest
                continue
            }
            guard star else { try validate(pattern); return false }
            var found = false
            var i = name.startIndex
            while i < name.endIndex, crossSlash || name[i] != "/" {
                i = name.index(after: i)
                if let rest = try matchChunk(chunk, name[i...], crossSlash: crossSlash) {
                    if pattern.isEmpty && !rest.isEmpty { continue }
                    name = rest
                    found = true
                    break
                }
            }
            guard found else { try validate(pattern); return false }
        }
        return name.isEmpty
    }

    /// The items up to the next star outside a class.
    private static func scanChunk(_ pattern: inout ArraySlice<Unicode.Scalar>) throws -> ArraySlice<Unicode.Scalar> {
        var inClass = false
        var i = pattern.startIndex
        scan: while i < pattern.endIndex {
            switch pattern[i] {
            case "\\":
                i = pattern.index(after: i)
                if i == pattern.endIndex { throw BadPattern() }
            case "[": inClass = true
            case "]": inClass = false
            case "*": if !inClass { break scan }
            default: break
            }
            i = pattern.index(after: i)
        }
        let chunk = pattern[..<i]
        pattern = pattern[i...]
        return chunk
    }

    /// Matches one chunk at the start of `s`: what is left of `s`, or nil.
    private static func matchChunk(_ chunk: ArraySlice<Unicode.Scalar>, _ s: ArraySlice<Unicode.Scalar>, crossSlash: Bool = false) throws -> ArraySlice<Unicode.Scalar>? {
        var p = chunk, s = s
        var failed = false
        while let c = p.first {
            switch c {
            case "?":
                if !failed { if let h = s.first, crossSlash || h != "/" { s = s.dropFirst() } else { failed = true } }
                p = p.dropFirst()
            case "[":
                p = p.dropFirst()
                // As Go, a class may match `/`; only `?` and `*` stop at it.
                var h: Unicode.Scalar = "/"
                if !failed { if let first = s.first { h = first; s = s.dropFirst() } else { failed = true } }
                var negate = false
                if p.first == "^" || p.first == "!" { negate = true; p = p.dropFirst() }
                var matched = false, ranges = 0
                while true {
                    if p.first == "]" && ranges > 0 { p = p.dropFirst(); break }
                    let lo = try classEnd(&p)
                    var hi = lo
                    if p.first == "-" { p = p.dropFirst(); hi = try classEnd(&p) }
                    if lo <= h && h <= hi { matched = true }
                    ranges += 1
                }
                if matched == negate { failed = true }
            case "\\":
                p = p.dropFirst()
                guard let e = p.first else { throw BadPattern() }
                if !failed { if s.first == e { s = s.dropFirst() } else { failed = true } }
                p = p.dropFirst()
            default:
                if !failed { if s.first == c { s = s.dropFirst() } else { failed = true } }
                p = p.dropFirst()
            }
        }
        return failed ? nil : s
    }

    /// One end of a class range, as Go's `getEsc`: `-` and `]` must be escaped, and the class must go on.
    private static func classEnd(_ p: inout ArraySlice<Unicode.Scalar>) throws -> Unicode.Scalar {
        guard var c = p.first, c != "-", c != "]" else { throw BadPattern() }
        p = p.dropFirst()
        if c == "\\" {
            guard let e = p.first else { throw BadPattern() }
            c = e
            p = p.dropFirst()
        }
        if p.isEmpty { throw BadPattern() }
        return c
    }

    /// Go reports a malformed remainder even when the match has already failed.
    private static func validate(_ pattern: ArraySlice<Unicode.Scalar>) throws {
        var rest = pattern
        while !rest.isEmpty {
            while rest.first == "*" { rest = rest.dropFirst() }
            let chunk = try scanChunk(&rest)
            _ = try matchChunk(chunk, [])
        }
    }
}
