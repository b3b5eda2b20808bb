import FleetModel
import Foundation

/// Sprig's URL functions (`getHostByName` is left out, as Argo CD leaves it out).
enum SprigNetwork {
    static let family: [TemplateFunction] = [
        F("urlParse", [.string]) { a, _ in
            guard let url = GoURL(a[0].stringValue!) else { throw Sprig.fail("unable to parse url: \(a[0].stringValue!)") }
            return .map(TemplateMap([
                "scheme": .string(url.scheme), "host": .string(url.host), "hostname": .string(url.hostname), "path": .string(url.path),
                "query": .string(url.rawQuery), "opaque": .string(url.opaque), "fragment": .string(url.fragment), "userinfo": .string(url.userinfo),
            ]))
        },
        F("urlJoin", [.map]) { a, _ in
            let m = Sprig.map(a[0])
            func field(_ k: String) -> String { m?[k].map(Sprig.str) ?? "" }
            var url = GoURL()
            url.scheme = field("scheme")
            url.host = field("host")
            url.path = field("path")
            url.rawQuery = field("query")
            url.opaque = field("opaque")
            url.fragment = field("fragment")
            url.userinfo = field("userinfo")
            return .string(url.string)
        },
    ]
}

/// The parts of a URL as Go's net/url splits them.
struct GoURL {
    var scheme = "", opaque = "", userinfo = "", host = "", path = "", rawQuery = "", fragment = ""

    init() {}

    init?(_ text: String) {
        var rest = Substring(text)
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...]).removingPercentEncoding ?? ""
            rest = rest[..<hash]
        }
        if let colon = rest.firstIndex(of: ":"), let first = rest.first, first.isLetter,
           rest[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) {
            scheme = rest[..<colon].lowercased()
            rest = rest[rest.index(after: colon)...]
        }
        if let q = rest.firstIndex(of: "?") {
            rawQuery = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        if !scheme.isEmpty, !rest.hasPrefix("/") {
            opaque = String(rest)
            return
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") {
                userinfo = String(authority[..<at])
                authority = authority[authority.index(after: at)...]
            }
            host = String(authority)
            rest = rest[end...]
        }
        path = String(rest).removingPercentEncoding ?? String(rest)
    }

    var hostname: String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[host.index(after: host.startIndex)..<close]) }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    var string: String {
        var out = ""
        if !scheme.isEmpty { out += scheme + ":" }
        if !opaque.isEmpty {
            out += opaque
        } else {
            if !scheme.isEmpty || !host.isEmpty || !userinfo.isEmpty {
                if !host.isEmpty || !path.isEmpty || !userinfo.isEmpty { out += "//" }
                if !userinfo.isEmpty { out += userinfo + "@" }
                out += host
            }
            if !path.isEmpty, !path.hasPrefix("/"), !host.isEmpty { out += "/" }
            out += path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        }
        if !rawQuery.isEmpty { out += "?" + rawQuery }
        if !fragment.isEmpty { out += "#" + (fragment.addingPercentEncoding(withAllowedCharacters: .urlFragmentAllowed) ?? fragment) }
        return out
    }
}
