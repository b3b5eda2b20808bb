/// A semantic version as Masterminds/semver v3 reads it (Helm and Sprig use that library): `v` prefix and
/// missing minor or patch allowed, prerelease and build metadata kept.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: UInt64
    public var minor: UInt64
    public var patch: UInt64
    public var prerelease: String
    public var metadata: String
    /// The text it was read from.
    public var original: String

    public init(major: UInt64, minor: UInt64 = 0, patch: UInt64 = 0, prerelease: String = "", metadata: String = "") {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.metadata = metadata
        self.original = ""
        self.original = description
    }

    /// Parses `1.2.3`, `v1.2`, `1.2.3-beta.1+build`; nil when the text is not a version.
    public init?(_ text: String) {
        guard let parts = SemanticVersion.split(text), let major = parts.major else { return nil }
        func number(_ s: Substring?) -> UInt64? {
            guard let s else { return 0 }
            return UInt64(s)
        }
        guard let minor = number(parts.minor), let patch = number(parts.patch) else { return nil }
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = parts.prerelease
        self.metadata = parts.metadata
        self.original = text
    }

    struct Parts {
        var major: UInt64?
        var minor: Substring?
        var patch: Substring?
        var prerelease = ""
        var metadata = ""
    }

    /// Splits the text into its parts; minor and patch may be wildcards for constraints.
    static func split(_ text: String, wildcards: Bool = false) -> Parts? {
        var rest = Substring(text)
        if rest.hasPrefix("v") || rest.hasPrefix("V") { rest = rest.dropFirst() }
        var parts = Parts()
        if let plus = rest.firstIndex(of: "+") {
            parts.metadata = String(rest[rest.index(after: plus)...])
            guard isIdentifiers(parts.metadata) else { return nil }
            rest = rest[..<plus]
        }
        if let dash = rest.firstIndex(of: "-") {
            parts.prerelease = String(rest[rest.index(after: dash)...])
            guard isIdentifiers(parts.prerelease) else { return nil }
            rest = rest[..<dash]
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(numbers.count) else { return nil }
        func valid(_ s: Substring) -> Bool {
            (!s.isEmpty && s.allSatisfy(\.isNumber) && s.allSatisfy(\.isASCII)) || (wildcards && (s == "x" || s == "X" || s == "*"))
        }
        guard numbers.allSatisfy(valid) else { return nil }
        // Each number must fit in 64 bits (Go's semver refuses larger ones as invalid).
        guard numbers.allSatisfy({ $0 == "x" || $0 == "X" || $0 == "*" || UInt64($0) != nil }) else { return nil }
        if numbers[0] == "x" || numbers[0] == "X" || numbers[0] == "*" {
            parts.major = nil
        } else {
            guard let m = UInt64(numbers[0]) else { return nil }
            parts.major = m
        }
        parts.minor = numbers.count > 1 ? numbers[1] : nil
        parts.patch = numbers.count > 2 ? numbers[2] : nil
        return parts
    }

    static func isIdentifiers(_ s: String) -> Bool {
        !s.isEmpty && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { id in
            !id.isEmpty && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    public var description: String {
        var s = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { s += "-" + prerelease }
        if !metadata.isEmpty { s += "+" + metadata }
        return s
    }

    /// -1, 0 or 1 as Masterminds' Compare: build metadata is ignored; a prerelease sorts before its release.
    public func compare(_ other: SemanticVersion) -> Int {
        for (a, b) in [(major, other.major), (minor, other.minor), (patch, other.patch)] where a != b {
            return a < b ? -1 : 1
        }
        return SemanticVersion.comparePrerelease(prerelease, other.prerelease)
    }

    static func comparePrerelease(_ a: String, _ b: String) -> Int {
        if a == b { return 0 }
        if a.isEmpty { return 1 }
        if b.isEmpty { return -1 }
        let x = a.split(separator: "."), y = b.split(separator: ".")
        for (p, q) in zip(x, y) where p != q {
            switch (UInt64(p), UInt64(q)) {
            case let (m?, n?): return m < n ? -1 : 1
            case (_?, nil): return -1
            case (nil, _?): return 1
            default: return p < q ? -1 : 1
            }
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool { a.compare(b) < 0 }
    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool { a.compare(b) == 0 }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(major); hasher.combine(minor); hasher.combine(patch); hasher.combine(prerelease)
    }
}

/// A version range as Masterminds/semver v3 reads it: `>= 1.2, < 2`, `^1.2.3`, `~1.2`, `1.2.x`, `1.2 - 1.4`,
/// alternatives with `||`. A version with a prerelease matches only a range that names a prerelease.
public struct SemverConstraints: Sendable, CustomStringConvertible {
    struct Clause: Sendable {
        enum Op: String, Sendable { case eq = "=", ne = "!=", gt = ">", lt = "<", ge = ">=", le = "<=", tilde = "~", caret = "^" }
        let op: Op
        let version: SemanticVersion
        /// How many of major, minor, patch were given (wildcards count as not given).
        let given: Int
        let text: String
    }

    let alternatives: [[Clause]]
    public let description: String

    public init(_ text: String) throws {
        description = text
        var alternatives: [[Clause]] = []
        for group in text.components(separatedBy: "||") {
            var clauses: [Clause] = []
            var tokens = SemverConstraints.tokens(group)
            guard !tokens.isEmpty else { throw SemverError("improper constraint: \(text)") }
            // Hyphen ranges: "1.2 - 1.4.5".
            var i = 0
            var expanded: [String] = []
            while i < tokens.count {
                if i + 2 < tokens.count, tokens[i + 1] == "-" {
                    expanded.append(">=" + tokens[i])
                    expanded.append("<=" + tokens[i + 2])
                    i += 3
                } else {
                    expanded.append(tokens[i])
                    i += 1
                }
            }
            tokens = expanded
            for token in tokens { clauses.append(try SemverConstraints.clause(token, whole: text)) }
            alternatives.append(clauses)
        }
        self.alternatives = alternatives
    }

    static func tokens(_ group: String) -> [String] {
        // Split on commas and spaces, keeping an operator with the version after it ("> 1.2" is one clause).
        let raw = group.replacingOccurrences(of: ",", with: " ").split(separator: " ").map(String.init)
        var out: [String] = []
        var pendingOp = ""
        for r in raw {
            if r.allSatisfy({ "=<>!~^".contains($0) }) && r != "-" {
                pendingOp += r
            } else {
                out.append(pendingOp + r)
                pendingOp = ""
            }
        }
        if !pendingOp.isEmpty { out.append(pendingOp) }
        return out
    }

    static func clause(_ token: String, whole: String) throws -> Clause {
        var rest = Substring(token)
        var opText = ""
        while let c = rest.first, "=<>!~^".contains(c) { opText.append(c); rest = rest.dropFirst() }
        let op: Clause.Op
        switch opText {
        case "", "=", "==": op = .eq
        case "!=": op = .ne
        case ">": op = .gt
        case "<": op = .lt
        case ">=", "=>": op = .ge
        case "<=", "=<": op = .le
        case "~", "~>": op = .tilde
        case "^": op = .caret
        default: throw SemverError("improper constraint: \(whole)")
        }
        guard let parts = SemanticVersion.split(String(rest), wildcards: true) else { throw SemverError("improper constraint: \(whole)") }
        func isWild(_ s: Substring?) -> Bool { s == nil || s == "x" || s == "X" || s == "*" }
        var given = 0
        if parts.major != nil { given = 1; if !isWild(parts.minor) { given = 2; if !isWild(parts.patch) { given = 3 } } }
        let version = SemanticVersion(major: parts.major ?? 0, minor: given >= 2 ? UInt64(parts.minor!)! : 0,
                                      patch: given >= 3 ? UInt64(parts.patch!)! : 0, prerelease: parts.prerelease)
        return Clause(op: op, version: version, given: given, text: token)
    }

    public func isSatisfied(by v: SemanticVersion) -> Bool {
        alternatives.contains { group in group.allSatisfy { SemverConstraints.check($0, v) } }
    }

    static func check(_ c: Clause, _ v: SemanticVersion) -> Bool {
        // Prereleases match only constraints that carry one.
        if !v.prerelease.isEmpty && c.version.prerelease.isEmpty { return false }
        let cv = c.version
        let base = SemanticVersion(major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease)
        func upper(_ bumpAt: Int) -> SemanticVersion {
            switch bumpAt {
            case 0: return SemanticVersion(major: cv.major + 1)
            case 1: return SemanticVersion(major: cv.major, minor: cv.minor + 1)
            default: return SemanticVersion(major: cv.major, minor: cv.minor, patch: cv.patch + 1)
            }
        }
        /// The range a partial version stands for: 1.2 is [1.2.0, 1.3.0).
        func inRange() -> Bool {
            switch c.given {
            case 0: return true
            case 1: return base >= cv && base < upper(0)
            case 2: return base >= cv && base < upper(1)
            default: return base.compare(cv) == 0
            }
        }
        switch c.op {
        case .eq: return inRange()
        case .ne: return !inRange()
        case .gt:
            switch c.given {
            case 0: return false
            case 1: return base >= upper(0)
            case 2: return base >= upper(1)
            default: return base > cv
            }
        case .ge: return c.given == 0 || base >= cv
        case .lt: return c.given == 0 ? false : base < cv
        case .le:
            switch c.given {
            case 0: return true
            case 1: return base < upper(0)
            case 2: return base < upper(1)
            default: return base <= cv
            }
        case .tilde:
            if c.given == 0 { return true }
            return base >= cv && base < (c.given == 1 ? upper(0) : upper(1))
        case .caret:
            if c.given == 0 { return true }
            if cv.major > 0 || c.given == 1 { return base >= cv && base < upper(0) }
            if cv.minor > 0 || c.given == 2 { return base >= cv && base < upper(1) }
            return base >= cv && base < upper(2)
        }
    }
}

public struct SemverError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
