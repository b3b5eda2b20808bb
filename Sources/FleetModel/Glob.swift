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

    /// Argo CD's `directory.include`/`exclude`: `*` matches any run of characters, `/` included; `?`, classes
    /// and `{a,b}` alternatives as usual.
    public static func anyMatch(_ pattern: String, _ path: String) -> Bool {
        expandBraces(pattern).contains { (try? match(Array($0.unicodeScalars)[...], Array(path.unicodeScalars)[...], crossSlash: true)) ?? false }
    }

    private static func segments(_ p: ArraySlice<String>, _ s: ArraySlice<String>) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == "**" {
            let rest = p.dropFirst()
            var tail = s
            while true {
                if segments(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        }
        guard let head = s.first, pathMatch(first, head) else { return false }
        return segments(p.dropFirst(), s.dropFirst())
    }

    public static func expandBraces(_ pattern: String) -> [String] {
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
        return options.flatMap { expandBraces(prefix + $0 + suffix) }
    }

    struct BadPattern: Error {}

    private static func match(_ p: ArraySlice<Unicode.Scalar>, _ s: ArraySlice<Unicode.Scalar>, crossSlash: Bool) throws -> Bool {
        var p = p, s = s
        while let c = p.first {
            switch c {
            case "*":
                p = p.dropFirst()
                while p.first == "*" { p = p.dropFirst() }
                if p.isEmpty { return crossSlash || !s.contains("/") }
                var tail = s
                while true {
                    if try match(p, tail, crossSlash: crossSlash) { return true }
                    guard let h = tail.first, crossSlash || h != "/" else { return false }
                    tail = tail.dropFirst()
                }
            case "?":
                guard let h = s.first, h != "/" else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            case "[":
                guard let h = s.first, h != "/" else { return false }
                p = p.dropFirst()
                var negate = false
                if p.first == "^" || p.first == "!" { negate = true; p = p.dropFirst() }
                var matched = false, first = true
                while true {
                    guard var lo = p.first else { throw BadPattern() }
                    if lo == "]" && !first { p = p.dropFirst(); break }
                    first = false
                    p = p.dropFirst()
                    if lo == "\\" { guard let e = p.first else { throw BadPattern() }; lo = e; p = p.dropFirst() }
                    var hi = lo
                    if p.first == "-", let next = p.dropFirst().first, next != "]" {
                        p = p.dropFirst(2)
                        hi = next
                        if hi == "\\" { guard let e = p.first else { throw BadPattern() }; hi = e; p = p.dropFirst() }
                    }
                    if lo <= h && h <= hi { matched = true }
                }
                if matched == negate { return false }
                s = s.dropFirst()
            case "\\":
                p = p.dropFirst()
                guard let e = p.first else { throw BadPattern() }
                guard s.first == e else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            default:
                guard s.first == c else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            }
        }
        return s.isEmpty
    }
}
