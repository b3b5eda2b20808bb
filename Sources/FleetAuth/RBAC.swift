import FleetModel

/// Argo CD-style RBAC: `policy.csv` lines
///
/// ```
/// p, role:dev, applications, sync, team-a/*, allow
/// p, role:dev, clusters, delete, *, deny
/// g, alice, role:dev
/// ```
///
/// over resources `clusters`, `applicationsets`, `applications`, `projects`, `accounts`, `events` and actions
/// `get`, `create`, `update`, `delete`, `sync`, `rollback`, `override`, `proxy` (`*` matches any). Objects are globs
/// (`*` matches any run of characters, `/` included). A subject's roles are its own name, the roles `g` lines
/// give it (transitively) and the default role. **Deny wins**: any matching `deny` refuses, whatever allows.
/// Built in: `role:admin` may do everything; `role:readonly` may `get` everything.
public struct RBACPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var subject: String
        public var resource: String
        public var action: String
        public var object: String
        public var allow: Bool
    }

    public static let resources = ["clusters", "applicationsets", "applications", "projects", "accounts", "events"]
    public static let actions = ["get", "create", "update", "delete", "sync", "rollback", "override", "proxy"]

    public private(set) var rules: [Rule]
    public private(set) var groups: [String: Set<String>]
    /// The role every authenticated subject has (`policy.default`); empty for none.
    public var defaultRole: String

    public static let builtIn: [Rule] = [
        Rule(subject: "role:admin", resource: "*", action: "*", object: "*", allow: true),
    ] + resources.map { Rule(subject: "role:readonly", resource: $0, action: "get", object: "*", allow: true) }

    public init(rules: [Rule] = [], groups: [String: Set<String>] = [:], defaultRole: String = "") {
        self.rules = Self.builtIn + rules
        self.groups = groups
        self.defaultRole = defaultRole
    }

    /// Parses `policy.csv` text. Errors name the line.
    public static func parse(_ text: String, defaultRole: String = "", source: String = "policy.csv") throws -> RBACPolicy {
        var rules: [Rule] = [], groups: [String: Set<String>] = [:], problems: [FieldProblem] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let at = "\(source):\(index + 1)"
            switch fields.first {
            case "p":
                guard fields.count == 6 || fields.count == 5 else {
                    problems.append(.init(field: at, message: "a p line has 5 fields after 'p': subject, resource, action, object, allow|deny"))
                    continue
                }
                let effect = fields.count == 6 ? fields[5] : "allow"
                guard effect == "allow" || effect == "deny" else { problems.append(.init(field: at, message: "effect '\(effect)' is not allow or deny")); continue }
                guard fields[2] == "*" || resources.contains(fields[2]) else {
                    problems.append(.init(field: at, message: "resource '\(fields[2])' is not one of \(resources.joined(separator: ", "))")); continue
                }
                guard fields[3] == "*" || actions.contains(fields[3]) else {
                    problems.append(.init(field: at, message: "action '\(fields[3])' is not one of \(actions.joined(separator: ", "))")); continue
                }
                if fields[1].isEmpty || fields[4].isEmpty { problems.append(.init(field: at, message: "subject and object must not be empty")); continue }
                rules.append(Rule(subject: fields[1], resource: fields[2], action: fields[3], object: fields[4], allow: effect == "allow"))
            case "g":
                guard fields.count == 3, !fields[1].isEmpty, !fields[2].isEmpty else {
                    problems.append(.init(field: at, message: "a g line is 'g, subject, role'")); continue
                }
                groups[fields[1], default: []].insert(fields[2])
            default:
                problems.append(.init(field: at, message: "a line starts with p or g"))
            }
        }
        if !problems.isEmpty { throw InputError(problems) }
        return RBACPolicy(rules: rules, groups: groups, defaultRole: defaultRole)
    }

    /// The subject and every role it has.
    public func roles(of subject: String, extra: [String] = []) -> Set<String> {
        var seen: Set<String> = [subject]
        var queue = [subject] + extra + (defaultRole.isEmpty ? [] : [defaultRole])
        seen.formUnion(queue)
        while let next = queue.popLast() {
            for role in groups[next] ?? [] where seen.insert(role).inserted { queue.append(role) }
        }
        return seen
    }

    /// Whether `subject` (with its account's `role`) may do `action` on `resource` `object`. Deny wins.
    public func allows(_ subject: String, role: String? = nil, _ action: String, _ resource: String, _ object: String) -> Bool {
        allows(roles: roles(of: subject, extra: role.map { [$0] } ?? []), action, resource, object)
    }

    /// Whether a subject with `who` (from `roles(of:)`, computed once for many checks) may do `action`. Deny wins.
    public func allows(roles who: Set<String>, _ action: String, _ resource: String, _ object: String) -> Bool {
        var allowed = false
        for rule in rules where who.contains(rule.subject) {
            guard rule.resource == "*" || rule.resource == resource, rule.action == "*" || rule.action == action,
                  Self.glob(rule.object, matches: object) else { continue }
            if !rule.allow { return false }
            allowed = true
        }
        return allowed
    }

    /// `*` matches any run of characters; everything else literally.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] == UInt8(ascii: "*") { star = pi; mark = ti; pi += 1 }
            else if pi < p.count && p[pi] == t[ti] { pi += 1; ti += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
