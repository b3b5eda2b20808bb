import FleetModel
import Foundation

/// Sprig's path functions (`path` with forward slashes; the `os` forms are the same on Linux).
enum SprigPaths {
    static func s(_ v: TemplateValue) -> String { v.stringValue ?? "" }

    static let family: [TemplateFunction] = ["", "os"].flatMap { prefix -> [TemplateFunction] in
        func name(_ n: String) -> String { prefix.isEmpty ? n : prefix + n.prefix(1).uppercased() + n.dropFirst() }
        return [
            F(name("base"), [.string]) { a, _ in .string(base(s(a[0]))) },
            F(name("dir"), [.string]) { a, _ in .string(dir(s(a[0]))) },
            F(name("clean"), [.string]) { a, _ in .string(clean(s(a[0]))) },
            F(name("ext"), [.string]) { a, _ in .string(ext(s(a[0]))) },
            F(name("isAbs"), [.string]) { a, _ in .bool(s(a[0]).hasPrefix("/")) },
        ]
    }

    /// Go's `path.Clean`.
    static func clean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(part) }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    static func base(_ path: String) -> String {
        if path.isEmpty { return "." }
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        if p == "/" { return "/" }
        if let slash = p.lastIndex(of: "/") { p = p[p.index(after: slash)...] }
        return p.isEmpty ? "/" : String(p)
    }

    static func dir(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return clean(String(path[...slash]))
    }

    static func ext(_ path: String) -> String {
        for i in path.indices.reversed() {
            if path[i] == "/" { break }
            if path[i] == "." { return String(path[i...]) }
        }
        return ""
    }
}
