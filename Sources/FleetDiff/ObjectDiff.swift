import FleetModel

/// One `spec.ignoreDifferences` rule of an Application.
public struct IgnoreDifference: Sendable {
    public var group: String
    public var kind: String
    public var name: String?
    public var namespace: String?
    public var jsonPointers: [String]
    public var jqPathExpressions: [String]
    public var managedFieldsManagers: [String]

    public init(group: String = "", kind: String, name: String? = nil, namespace: String? = nil, jsonPointers: [String] = [],
                jqPathExpressions: [String] = [], managedFieldsManagers: [String] = []) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.jsonPointers = jsonPointers
        self.jqPathExpressions = jqPathExpressions
        self.managedFieldsManagers = managedFieldsManagers
    }

    /// Reads Argo CD's `ignoreDifferences` entries.
    public static func parse(_ value: JSONValue?) -> [IgnoreDifference] {
        (value?.arrayValue ?? []).compactMap { e in
            guard let kind = e["kind"]?.stringValue else { return nil }
            func strings(_ k: String) -> [String] { e[k]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            return IgnoreDifference(group: e["group"]?.stringValue ?? "", kind: kind, name: e["name"]?.stringValue,
                                    namespace: e["namespace"]?.stringValue, jsonPointers: strings("jsonPointers"),
                                    jqPathExpressions: strings("jqPathExpressions"), managedFieldsManagers: strings("managedFieldsManagers"))
        }
    }

    func applies(group g: String, kind k: String, name n: String, namespace ns: String?) -> Bool {
        (kind == "*" || kind == k) && (group == "*" || group == g) && (name == nil || name == n) && (namespace == nil || namespace == ns)
    }
}

/// The comparison of one desired object with its live counterpart. Its description is the unified diff,
/// which never shows Secret values.
public struct ObjectDiff: Sendable, CustomStringConvertible, CustomReflectable {
    public var description: String { inSync ? "in sync" : unified(label: "object") }
    public var customMirror: Mirror { Mirror(self, children: ["diff": description]) }

    public let desired: JSONValue?
    public let live: JSONValue?
    /// The normalized forms that were compared.
    public let normalizedDesired: JSONValue?
    public let normalizedLive: JSONValue?

    public var inSync: Bool { normalizedDesired == normalizedLive }

    /// Unified diff of the normalized forms as YAML-like text, `--- live` / `+++ desired`; empty when in sync.
    public func unified(label: String, context: Int = 3) -> String {
        if inSync { return "" }
        let a = normalizedLive.map { Render.lines($0) } ?? []
        let b = normalizedDesired.map { Render.lines($0) } ?? []
        return "===== \(label) =====\n--- live\n+++ desired\n" + LineDiff.unified(a, b, context: context)
    }
}

/// Desired against live, after normalization (Argo CD's comparison): server-populated fields are dropped,
/// fields the desired object does not set are not compared, `ignoreDifferences` rules remove their paths
/// from both sides, and Secret values are redacted.
public enum Differ {
    static let serverMetadata = ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"]
    static let ignoredAnnotations = ["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"]

    /// The paths `ignore`'s rules take out of the comparison of this object (JSON pointers, jq paths, and the
    /// fields the named managers own in the live object).
    static func ignoredPaths(desired: JSONValue?, live: JSONValue?, ignore: [IgnoreDifference]) -> [[String]] {
        let reference = desired ?? live ?? .null
        let group = (reference["apiVersion"]?.stringValue ?? "").split(separator: "/").dropLast().first.map(String.init) ?? ""
        let kind = reference["kind"]?.stringValue ?? ""
        let name = reference.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = reference.value(at: ["metadata", "namespace"])?.stringValue
        let rules = ignore.filter { $0.applies(group: group, kind: kind, name: name, namespace: namespace) }
        var pointers = rules.flatMap(\.jsonPointers).map(pointer) + rules.flatMap(\.jqPathExpressions).compactMap(jqPath)
        if let live {
            let managers = Set(rules.flatMap(\.managedFieldsManagers))
            for entry in live.value(at: ["metadata", "managedFields"])?.arrayValue ?? [] where managers.contains(entry["manager"]?.stringValue ?? "") {
                pointers += fieldsV1Paths(entry["fieldsV1"] ?? .object([]))
            }
        }
        return pointers
    }

    /// Argo CD's `RespectIgnoreDifferences=true`: what a sync applies keeps the live value of every field the
    /// Application's `ignoreDifferences` ignore (a field absent live is left out), so that a sync does not undo
    /// what another controller (an autoscaler, a mutating webhook) set there. Fields the desired object does not
    /// reach are left as they are: server-side apply does not touch what it is not given.
    public static func keepingIgnored(desired: JSONValue, live: JSONValue?, ignore: [IgnoreDifference]) -> JSONValue {
        guard let live else { return desired }
        var out = desired
        for path in ignoredPaths(desired: desired, live: live, ignore: ignore) { out = transplant(out, from: live, path[...]) }
        return out
    }

    static func transplant(_ d: JSONValue, from l: JSONValue?, _ path: ArraySlice<String>) -> JSONValue {
        guard let token = path.first else { return d }
        let rest = path.dropFirst()
        switch d {
        case .object(var pairs):
            let liveChild = l?.objectValue?.first { $0.0 == token }?.1
            guard let i = pairs.firstIndex(where: { $0.0 == token }) else {
                // Desired does not set it: only a leaf is brought in, with the live value.
                if rest.isEmpty, let liveChild { pairs.append((token, liveChild)) }
                return .object(pairs)
            }
            if rest.isEmpty {
                if let liveChild { pairs[i].1 = liveChild } else { pairs.remove(at: i) }
            } else {
                pairs[i].1 = transplant(pairs[i].1, from: liveChild, rest)
            }
            return .object(pairs)
        case .array(var items):
            let liveItems = l?.arrayValue ?? []
            let indices = token == "*" ? Array(items.indices) : Int(token).map { [$0] } ?? []
            for i in indices.reversed() where items.indices.contains(i) {
                let liveItem = liveItems.indices.contains(i) ? liveItems[i] : nil
                if rest.isEmpty {
                    if let liveItem { items[i] = liveItem } else { items.remove(at: i) }
                } else {
                    items[i] = transplant(items[i], from: liveItem, rest)
                }
            }
            return .array(items)
        default:
            return d
        }
    }

    public static func compare(desired: JSONValue?, live: JSONValue?, ignore: [IgnoreDifference] = []) -> ObjectDiff {
        let reference = desired ?? live ?? .null
        let group = (reference["apiVersion"]?.stringValue ?? "").split(separator: "/").dropLast().first.map(String.init) ?? ""
        let kind = reference["kind"]?.stringValue ?? ""
        let pointers = ignoredPaths(desired: desired, live: live, ignore: ignore)
        var d = desired.map { clean($0) }
        var l = live.map { clean($0) }
        for p in pointers {
            d = d.map { remove($0, p[...]) }
            l = l.map { remove($0, p[...]) }
        }
        if let dd = d, let ll = l { l = restrict(ll, to: dd) }
        if kind == "Secret" && group.isEmpty {
            (d, l) = (d.map { redact($0, other: l, side: "desired") }, l.map { redact($0, other: d, side: "live") })
        }
        return ObjectDiff(desired: desired, live: live, normalizedDesired: d.map(canonical), normalizedLive: l.map(canonical))
    }

    /// Drops status and server-populated metadata.
    static func clean(_ object: JSONValue) -> JSONValue {
        var o = object
        o.remove("status")
        if var meta = o["metadata"] {
            for k in serverMetadata { meta.remove(k) }
            if var annotations = meta["annotations"] {
                for k in ignoredAnnotations { annotations.remove(k) }
                if annotations.objectValue?.isEmpty ?? false { meta.remove("annotations") } else { meta.set("annotations", annotations) }
            }
            o.set("metadata", meta)
        }
        return o
    }

    /// Keeps only what the desired object sets: fields the server defaulted are not differences.
    static func restrict(_ live: JSONValue, to desired: JSONValue) -> JSONValue {
        switch (live, desired) {
        case (.object(let lp), .object(let dp)):
            var index = KeyIndex(dp)
            return .object(lp.compactMap { k, v in
                guard let i = index.position(of: k, in: dp) else { return nil }
                return (k, restrict(v, to: dp[i].1))
            })
        case (.array(let la), .array(let da)) where la.count == da.count:
            return .array(zip(la, da).map { restrict($0, to: $1) })
        default:
            return live
        }
    }

    static func canonical(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.sorted { $0.0 < $1.0 }.map { ($0.0, canonical($0.1)) })
        case .array(let a): return .array(a.map(canonical))
        default: return v
        }
    }

    /// Secret values never appear: each is replaced by a marker that only says whether it differs.
    static func redact(_ object: JSONValue, other: JSONValue?, side: String) -> JSONValue {
        var o = object
        for field in ["data", "stringData"] {
            guard let pairs = o[field]?.objectValue else { continue }
            o.set(field, .object(pairs.map { k, v in
                let same = other?[field]?[k] == v
                return (k, .string(same ? "++++++++" : "++++++++ (\(side), redacted)"))
            }))
        }
        return o
    }

    /// RFC 6901 pointer into path tokens.
    static func pointer(_ p: String) -> [String] {
        p.split(separator: "/", omittingEmptySubsequences: true).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    /// Simple jq paths: `.a.b`, `.a[0].b`, `.a[].b` (every element), `.["key/with.dots"]`.
    static func jqPath(_ expression: String) -> [String]? {
        var tokens: [String] = []
        var s = Substring(expression.trimmingCharacters(in: .whitespaces))
        while !s.isEmpty {
            if s.hasPrefix(".[\"") || s.hasPrefix("[\"") {
                s = s.drop { $0 != "\"" }.dropFirst()
                guard let end = s.firstIndex(of: "\"") else { return nil }
                tokens.append(String(s[..<end]))
                s = s[s.index(after: end)...].drop { $0 == "]" }
            } else if s.hasPrefix("[]") {
                tokens.append("*"); s = s.dropFirst(2)
            } else if s.hasPrefix("[") {
                guard let end = s.firstIndex(of: "]") else { return nil }
                tokens.append(String(s[s.index(after: s.startIndex)..<end])); s = s[s.index(after: end)...]
            } else if s.hasPrefix(".") {
                s = s.dropFirst()
                let name = s.prefix { $0 != "." && $0 != "[" }
                if !name.isEmpty { tokens.append(String(name)) }
                s = s.dropFirst(name.count)
            } else {
                return nil  // pipes, select() and other filters are not simple paths
            }
        }
        return tokens
    }

    /// FieldsV1 (`{"f:spec":{"f:replicas":{}}}`) into paths; list items (`k:`/`v:`/`i:`) end the path there.
    static func fieldsV1Paths(_ fields: JSONValue, prefix: [String] = []) -> [[String]] {
        var paths: [[String]] = []
        for (k, v) in fields.objectValue ?? [] {
            guard k.hasPrefix("f:") else { if k != "." { paths.append(prefix) }; continue }
            let path = prefix + [String(k.dropFirst(2))]
            let children = v.objectValue ?? []
            if children.isEmpty || children.allSatisfy({ $0.0 == "." }) { paths.append(path) } else { paths += fieldsV1Paths(v, prefix: path) }
        }
        return paths
    }

    static func remove(_ v: JSONValue, _ path: ArraySlice<String>) -> JSONValue {
        guard let token = path.first else { return v }
        let rest = path.dropFirst()
        switch v {
        case .object(var pairs):
            if rest.isEmpty { pairs.removeAll { $0.0 == token } } else if let i = pairs.firstIndex(where: { $0.0 == token }) {
                pairs[i].1 = remove(pairs[i].1, rest)
            }
            return .object(pairs)
        case .array(var items):
            if token == "*" { return .array(items.map { remove($0, rest) }) }
            guard let i = Int(token), i >= 0, i < items.count else { return v }
            if rest.isEmpty { items.remove(at: i) } else { items[i] = remove(items[i], rest) }
            return .array(items)
        default:
            return v
        }
    }
}

/// Objects as indented YAML-like lines, for diffs.
enum Render {
    static func lines(_ v: JSONValue, indent: String = "") -> [String] {
        switch v {
        case .object(let pairs):
            if pairs.isEmpty { return [indent + "{}"] }
            return pairs.flatMap { k, value -> [String] in
                switch value {
                case .object(let o) where !o.isEmpty: return ["\(indent)\(k):"] + lines(value, indent: indent + "  ")
                case .array(let a) where !a.isEmpty: return ["\(indent)\(k):"] + lines(value, indent: indent + "  ")
                default: return ["\(indent)\(k): \(scalar(value))"]
                }
            }
        case .array(let items):
            return items.flatMap { item -> [String] in
                let inner = lines(item, indent: indent + "  ")
                guard let first = inner.first else { return [indent + "-"] }
                return [indent + "- " + first.dropFirst(indent.count + 2)] + inner.dropFirst()
            }
        default:
            return [indent + scalar(v)]
        }
    }

    static func scalar(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s.isEmpty || s.contains(":") || s.contains("\n") || Double(s) != nil || ["true", "false", "null"].contains(s) ? JSONValue.string(s).serialized(pretty: false) : s
        case .object: return "{}"
        case .array: return "[]"
        default: return v.serialized(pretty: false)
        }
    }
}

/// A line diff (longest common subsequence) printed as unified hunks.
enum LineDiff {
    enum Op { case same(String), removed(String), added(String) }

    /// Cells of the longest-common-subsequence table one diff may use; past it, the changed middle (after the
    /// common head and tail) is shown as removed, then added, rather than aligned line by line.
    static let maxTableCells = 4_000_000

    /// The edit: common head and tail kept, the middle aligned by longest common subsequence; within a change,
    /// removed lines come before added ones (as `diff -u` prints them).
    static func ops(_ a: [String], _ b: [String]) -> [Op] {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let x = Array(a[head..<(a.count - tail)]), y = Array(b[head..<(b.count - tail)])
        var out: [Op] = a[..<head].map { .same($0) }
        let n = x.count, m = y.count
        let (cells, overflow) = (n + 1).multipliedReportingOverflow(by: m + 1)
        if overflow || cells > maxTableCells {
            out += x.map { .removed($0) } + y.map { .added($0) }
        } else {
            var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, x[i] == y[j] {
                    out.append(.same(x[i])); i += 1; j += 1
                } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                    out.append(.removed(x[i])); i += 1
                } else {
                    out.append(.added(y[j])); j += 1
                }
            }
        }
        out += a[(a.count - tail)...].map { .same($0) }
        return out
    }

    static func unified(_ a: [String], _ b: [String], context: Int) -> String {
        let all = ops(a, b)
        var changed = all.indices.filter { if case .same = all[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return "" }
        var out = ""
        while let start = changed.first {
            var end = start
            while let next = changed.first(where: { $0 > end }), next - end <= 2 * context + 1 { end = next }
            changed.removeAll { $0 <= end }
            let from = max(0, start - context), to = min(all.count - 1, end + context)
            var aStart = 1, bStart = 1
            for op in all[..<from] {
                switch op { case .same: aStart += 1; bStart += 1; case .removed: aStart += 1; case .added: bStart += 1 }
            }
            var aCount = 0, bCount = 0, body = ""
            for op in all[from...to] {
                switch op {
                case .same(let l): body += " \(l)\n"; aCount += 1; bCount += 1
                case .removed(let l): body += "-\(l)\n"; aCount += 1
                case .added(let l): body += "+\(l)\n"; bCount += 1
                }
            }
            out += "@@ -\(aCount == 0 ? aStart - 1 : aStart),\(aCount) +\(bCount == 0 ? bStart - 1 : bStart),\(bCount) @@\n" + body
        }
        return out
    }
}
