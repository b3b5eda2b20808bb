/// Argo CD's `normalize` (SanitizeName): lower-case, every character outside `[-a-z0-9.]` becomes `-`
/// (no collapsing), at most 253 characters, leading and trailing `-` and `.` trimmed.
public func normalizeName(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    for c in s.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-" || c == "." { out.append(c) } else { out.append("-") }
    }
    var result = String(out)
    if result.unicodeScalars.count > 253 { result = String(String.UnicodeScalarView(result.unicodeScalars.prefix(253))) }
    return String(result.drop { $0 == "-" || $0 == "." }.reversed().drop { $0 == "-" || $0 == "." }.reversed())
}

/// Sprig-like `slugify` as used by Argo CD: lower-case, runs of characters outside `[a-z0-9]` become one
/// `-`, trimmed, then truncated to `maxSize` (default 50) when `smartTruncate` keeps whole words.
public func slugify(_ s: String, maxSize: Int = 50, smartTruncate: Bool = true) -> String {
    var out = ""
    var pendingDash = false
    for c in s.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
            if pendingDash && !out.isEmpty { out.append("-") }
            pendingDash = false
            out.unicodeScalars.append(c)
        } else {
            pendingDash = true
        }
    }
    guard maxSize > 0, out.count > maxSize else { return out }
    if smartTruncate {
        var truncated = ""
        for word in out.split(separator: "-") {
            let candidate = truncated.isEmpty ? String(word) : truncated + "-" + word
            if candidate.count > maxSize { break }
            truncated = candidate
        }
        return truncated.isEmpty ? String(out.prefix(maxSize)) : truncated
    }
    var cut = String(out.prefix(maxSize))
    while cut.hasSuffix("-") { cut.removeLast() }
    return cut
}
