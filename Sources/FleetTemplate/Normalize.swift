import FleetModel

/// Argo CD's `normalize` (SanitizeName): see `KubernetesNames.argoNormalized`.
public func normalizeName(_ s: String) -> String { KubernetesNames.argoNormalized(s) }

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
