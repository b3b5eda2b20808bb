import FleetConfig
import FleetModel

/// A policy: typed rules checked on an Application's rendered manifests before anything is applied
/// (docs/policy.md). `deny` blocks the sync with a `PolicyViolation` condition; `warn` reports and lets it run.
public struct Policy: Sendable, Equatable {
    public enum Enforcement: String, Sendable, CaseIterable { case deny, warn }

    /// Which Applications a policy applies to. Empty lists match everything.
    public struct Match: Sendable, Equatable {
        /// Project names (globs).
        public var projects: [String] = []
        /// Labels of the cluster the Application runs on.
        public var clusterSelector: LabelSelector = .everything
        /// Destination namespaces of the objects (globs).
        public var namespaces: [String] = []

        public init() {}
    }

    public var name: String
    public var enforcement: Enforcement
    public var match: Match
    public var rules: [Rule]
    /// Where it was read from (for messages).
    public var file: String?

    public init(name: String, enforcement: Enforcement = .deny, match: Match = Match(), rules: [Rule], file: String? = nil) {
        self.name = name
        self.enforcement = enforcement
        self.match = match
        self.rules = rules
        self.file = file
    }
}

/// One rule of a policy.
public enum Rule: Sendable, Equatable {
    /// Every object has these labels (keys; `key=value` also fixes the value).
    case requiredLabels([String])
    case requiredAnnotations([String])
    /// Every container sets these requests and limits (`cpu`, `memory`, …), and its limits are at most `max`.
    case resources(requests: [String], limits: [String], max: [String: Quantity])
    /// Every container's image comes from a registry matching one of these globs (`registry.example.com/*`).
    case allowedRegistries([String])
    /// No image is `:latest` or untagged (without a digest).
    case forbidLatestTag
    /// Pods run as non-root: `runAsNonRoot: true` on the pod or on every container.
    case runAsNonRoot
    /// No container is `privileged`.
    case noPrivileged
    /// No pod mounts a `hostPath` volume.
    case noHostPath
    /// Per namespace glob, the kinds allowed there (the first matching glob decides; a namespace no glob matches
    /// allows every kind).
    case allowedKinds([(namespace: String, kinds: [String])])
    /// Deployments and StatefulSets run at least this many replicas.
    case minReplicas(Int)

    /// The rule's name as policies write it and violations name it.
    public var id: RuleID {
        switch self {
        case .requiredLabels: .requiredLabels
        case .requiredAnnotations: .requiredAnnotations
        case .resources: .resources
        case .allowedRegistries: .allowedRegistries
        case .forbidLatestTag: .forbidLatestTag
        case .runAsNonRoot: .runAsNonRoot
        case .noPrivileged: .noPrivileged
        case .noHostPath: .noHostPath
        case .allowedKinds: .allowedKinds
        case .minReplicas: .minReplicas
        }
    }

    public static func == (a: Rule, b: Rule) -> Bool {
        switch (a, b) {
        case let (.requiredLabels(x), .requiredLabels(y)), let (.requiredAnnotations(x), .requiredAnnotations(y)), let (.allowedRegistries(x), .allowedRegistries(y)):
            return x == y
        case let (.resources(r1, l1, m1), .resources(r2, l2, m2)): return r1 == r2 && l1 == l2 && m1 == m2
        case (.forbidLatestTag, .forbidLatestTag), (.runAsNonRoot, .runAsNonRoot), (.noPrivileged, .noPrivileged), (.noHostPath, .noHostPath): return true
        case let (.allowedKinds(x), .allowedKinds(y)): return x.map(\.namespace) == y.map(\.namespace) && x.map(\.kinds) == y.map(\.kinds)
        case let (.minReplicas(x), .minReplicas(y)): return x == y
        default: return false
        }
    }
}

public enum RuleID: String, Sendable, CaseIterable {
    case requiredLabels, requiredAnnotations, resources, allowedRegistries, forbidLatestTag, runAsNonRoot, noPrivileged, noHostPath
    case allowedKinds, minReplicas
}

extension Policy {
    /// The policies of a YAML file (`kind: Policy` documents; other kinds are refused). Every problem names the
    /// file, the document and the field.
    public static func parse(_ text: String, file: String?) throws -> [Policy] {
        var policies: [Policy] = []
        var problems: [FieldProblem] = []
        for (index, doc) in try YAMLValue.documents(text, file: file).enumerated() where doc != .null {
            let at = "document \(index + 1)"
            do { policies.append(try parse(doc, file: file)) } catch let error as InputError {
                problems += error.problems.map { FieldProblem(field: "\(at): \($0.field)", message: $0.message, location: $0.location ?? file.map { SourceLocation(file: $0, line: 1, column: 1) }) }
            }
        }
        if !problems.isEmpty { throw InputError(problems) }
        return policies
    }

    static func parse(_ doc: JSONValue, file: String?) throws -> Policy {
        var problems: [FieldProblem] = []
        func problem(_ field: String, _ message: String) { problems.append(FieldProblem(field: field, message: message)) }
        if doc["kind"]?.stringValue != "Policy" { problem("kind", "must be Policy (apiVersion flotilla.io/v1), not \(doc["kind"]?.stringValue ?? "missing")") }
        let name = doc.value(at: ["metadata", "name"])?.stringValue ?? ""
        if let p = KubernetesNames.dns1123SubdomainProblem(name) { problem("metadata.name", p) }
        let spec = doc["spec"] ?? .object([])
        for (key, _) in spec.objectValue ?? [] where !["enforcement", "match", "rules"].contains(key) {
            problem("spec.\(key)", "unknown field (known: enforcement, match, rules)")
        }
        var enforcement = Enforcement.deny
        if let text = spec["enforcement"] {
            if let e = text.stringValue.flatMap(Enforcement.init(rawValue:)) { enforcement = e } else { problem("spec.enforcement", "must be deny or warn") }
        }
        var match = Match()
        if let m = spec["match"] {
            for (key, value) in m.objectValue ?? [] {
                switch key {
                case "projects": match.projects = strings(value, "spec.match.projects", &problems)
                case "namespaces": match.namespaces = strings(value, "spec.match.namespaces", &problems)
                case "clusterSelector":
                    do { match.clusterSelector = try LabelSelector(json: value, field: "spec.match.clusterSelector") } catch let error as InputError {
                        problems += error.problems
                    } catch {}
                default: problem("spec.match.\(key)", "unknown field (known: projects, namespaces, clusterSelector)")
                }
            }
        }
        var rules: [Rule] = []
        let ruleFields = spec["rules"]?.objectValue ?? []
        if ruleFields.isEmpty { problem("spec.rules", "a policy needs at least one rule") }
        for (key, value) in ruleFields {
            let field = "spec.rules.\(key)"
            switch key {
            case "requiredLabels": rules.append(.requiredLabels(strings(value, field, &problems)))
            case "requiredAnnotations": rules.append(.requiredAnnotations(strings(value, field, &problems)))
            case "resources":
                var max: [String: Quantity] = [:]
                for (resource, q) in value["max"]?.objectValue ?? [] {
                    let text = q.stringValue ?? q.intValue.map(String.init) ?? ""
                    if let quantity = Quantity(text) { max[resource] = quantity } else { problem("\(field).max.\(resource)", "'\(text)' is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)") }
                }
                for (k, _) in value.objectValue ?? [] where !["requests", "limits", "max"].contains(k) { problem("\(field).\(k)", "unknown field (known: requests, limits, max)") }
                rules.append(.resources(requests: strings(value["requests"] ?? .array([]), "\(field).requests", &problems),
                                        limits: strings(value["limits"] ?? .array([]), "\(field).limits", &problems), max: max))
            case "images":
                for (k, v) in value.objectValue ?? [] {
                    switch k {
                    case "allowedRegistries": rules.append(.allowedRegistries(strings(v, "\(field).allowedRegistries", &problems)))
                    case "forbidLatest": if v.boolValue == true { rules.append(.forbidLatestTag) } else if v.boolValue == nil { problem("\(field).forbidLatest", "must be true or false") }
                    default: problem("\(field).\(k)", "unknown field (known: allowedRegistries, forbidLatest)")
                    }
                }
            case "security":
                for (k, v) in value.objectValue ?? [] {
                    guard let flag = v.boolValue else { problem("\(field).\(k)", "must be true or false"); continue }
                    switch k {
                    case "runAsNonRoot": if flag { rules.append(.runAsNonRoot) }
                    case "privileged": if !flag { rules.append(.noPrivileged) }
                    case "hostPath": if !flag { rules.append(.noHostPath) }
                    default: problem("\(field).\(k)", "unknown field (known: runAsNonRoot, privileged, hostPath)")
                    }
                }
            case "allowedKinds":
                var list: [(String, [String])] = []
                for (ns, kinds) in value.objectValue ?? [] { list.append((ns, strings(kinds, "\(field).\(ns)", &problems))) }
                if value.objectValue == nil { problem(field, "must map namespace globs to lists of kinds") }
                rules.append(.allowedKinds(list.map { (namespace: $0.0, kinds: $0.1) }))
            case "minReplicas":
                if let n = value.intValue, n >= 0 { rules.append(.minReplicas(n)) } else { problem(field, "must be a non-negative integer") }
            default:
                problem(field, "unknown rule (known: requiredLabels, requiredAnnotations, resources, images, security, allowedKinds, minReplicas)")
            }
        }
        if !problems.isEmpty { throw InputError(problems.map { FieldProblem(field: "Policy \(name.isEmpty ? "?" : name): \($0.field)", message: $0.message) }) }
        return Policy(name: name, enforcement: enforcement, match: match, rules: rules, file: file)
    }

    static func strings(_ value: JSONValue, _ field: String, _ problems: inout [FieldProblem]) -> [String] {
        guard let items = value.arrayValue else {
            problems.append(FieldProblem(field: field, message: "must be a list of strings"))
            return []
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            if let s = item.stringValue, !s.isEmpty { out.append(s) } else { problems.append(FieldProblem(field: "\(field)[\(i)]", message: "must be a non-empty string")) }
        }
        return out
    }
}
