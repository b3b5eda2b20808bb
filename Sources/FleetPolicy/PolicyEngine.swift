import FleetModel

/// Where an Application goes: what a policy's `match` is checked against.
public struct PolicyTarget: Sendable {
    public var project: String
    /// The labels of the cluster it runs on; nil when unknown (then policies with a cluster selector are not
    /// applied, and the evaluation says so).
    public var clusterLabels: [String: String]?
    /// The destination namespace, for objects that name none.
    public var namespace: String

    public init(project: String, clusterLabels: [String: String]?, namespace: String) {
        self.project = project
        self.clusterLabels = clusterLabels
        self.namespace = namespace
    }
}

/// One object that breaks one rule.
public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var policy: String
    public var enforcement: Policy.Enforcement
    public var rule: RuleID
    /// `Deployment shop/web`
    public var object: String
    /// `spec.template.spec.containers[0].image`
    public var field: String
    public var message: String

    public var description: String { "\(object) \(field): \(message) (policy \(policy), rule \(rule.rawValue))" }
}

/// What the policies say of an Application's objects.
public struct PolicyOutcome: Sendable, Equatable {
    public var violations: [Violation] = []
    /// Policies not applied because the cluster's labels are unknown (a local check without a clusters file).
    public var skipped: [String] = []
    /// Policies that applied to the Application, and how many objects were checked.
    public var applied: [String] = []
    public var checked = 0

    /// Per applied policy, how many distinct objects break it.
    public var violatingObjects: [(policy: String, objects: Int)] {
        applied.sorted().map { name in (name, Set(violations.filter { $0.policy == name }.map(\.object)).count) }
    }

    public var denied: [Violation] { violations.filter { $0.enforcement == .deny } }
    public var warnings: [Violation] { violations.filter { $0.enforcement == .warn } }

    /// One line per violation, at most `limit` (then how many more).
    public static func summary(_ violations: [Violation], limit: Int = 5) -> String {
        violations.prefix(limit).map(\.description).joined(separator: "; ") + (violations.count > limit ? "; and \(violations.count - limit) more" : "")
    }
}

/// Evaluates policies on rendered manifests. Pure.
public enum PolicyEngine {
    public static func evaluate(_ policies: [Policy], objects: [JSONValue], target: PolicyTarget) -> PolicyOutcome {
        var outcome = PolicyOutcome()
        outcome.checked = objects.count
        for policy in policies {
            if !policy.match.projects.isEmpty && !policy.match.projects.contains(where: { Glob.pathMatch($0, target.project) }) { continue }
            if !policy.match.clusterSelector.isEmpty {
                guard let labels = target.clusterLabels else {
                    outcome.skipped.append(policy.name)
                    continue
                }
                if !policy.match.clusterSelector.matches(labels) { continue }
            }
            outcome.applied.append(policy.name)
            for object in objects {
                let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? target.namespace
                if !policy.match.namespaces.isEmpty && !policy.match.namespaces.contains(where: { Glob.pathMatch($0, namespace) }) { continue }
                for rule in policy.rules {
                    for (field, message) in check(rule, object, namespace: namespace) {
                        outcome.violations.append(Violation(policy: policy.name, enforcement: policy.enforcement, rule: rule.id,
                                                            object: describe(object, namespace: namespace), field: field, message: message))
                    }
                }
            }
        }
        return outcome
    }

    static func describe(_ object: JSONValue, namespace: String) -> String {
        let kind = object["kind"]?.stringValue ?? "?"
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? "?"
        return "\(kind) \(clusterScoped.contains(kind) ? name : "\(namespace)/\(name)")"
    }

    static let clusterScoped: Set<String> = ["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                                             "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]

    /// Every pod spec an object carries, with its path: a Pod's `spec`, a PodTemplate's `template.spec`, and
    /// `spec.template.spec` and `spec.jobTemplate.spec.template.spec` of any kind (workloads, and custom
    /// resources shaped like them: Argo Rollouts, Knative Services, …).
    static func podSpecs(_ object: JSONValue) -> [(JSONValue, String)] {
        var out: [(JSONValue, String)] = []
        func add(_ path: [String]) {
            if let spec = object.value(at: path), spec.objectValue != nil { out.append((spec, path.joined(separator: "."))) }
        }
        switch object["kind"]?.stringValue {
        case "Pod": add(["spec"])
        case "PodTemplate": add(["template", "spec"])
        default: break
        }
        add(["spec", "template", "spec"])
        add(["spec", "jobTemplate", "spec", "template", "spec"])
        return out
    }

    /// The first pod spec (for rules on the pod itself: security context, volumes).
    static func podSpec(_ object: JSONValue) -> (JSONValue, String)? { podSpecs(object).first }

    /// Every container (init and ephemeral containers too) of every pod spec, with its path.
    static func containers(_ object: JSONValue) -> [(JSONValue, String)] {
        var out: [(JSONValue, String)] = []
        for (spec, path) in podSpecs(object) {
            for list in ["initContainers", "containers", "ephemeralContainers"] {
                for (i, c) in (spec[list]?.arrayValue ?? []).enumerated() { out.append((c, "\(path).\(list)[\(i)]")) }
            }
        }
        return out
    }

    /// Paths of `containers` lists the object holds outside every pod spec found: containers the rules on
    /// pods cannot see (a custom resource of another shape), reported rather than passed.
    static func unseenContainers(_ object: JSONValue) -> [String] {
        let seen = Set(podSpecs(object).map(\.1))
        var out: [String] = []
        var stack: [(JSONValue, [String])] = [(object, [])]
        while let (value, path) = stack.popLast() {
            if seen.contains(path.joined(separator: ".")) { continue }
            if let entries = value.objectValue {
                for (key, child) in entries {
                    if (key == "containers" || key == "initContainers" || key == "ephemeralContainers"), child.arrayValue != nil {
                        out.append((path + [key]).joined(separator: "."))
                    } else if child.objectValue != nil || child.arrayValue != nil {
                        stack.append((child, path + [key]))
                    }
                }
            } else if let items = value.arrayValue {
                for (i, child) in items.enumerated() where child.objectValue != nil || child.arrayValue != nil {
                    var p = path
                    if p.isEmpty { p = ["[\(i)]"] } else { p[p.count - 1] += "[\(i)]" }
                    stack.append((child, p))
                }
            }
        }
        return out.sorted()
    }

    /// Rules that read pod specs.
    static func readsPods(_ rule: Rule) -> Bool {
        switch rule {
        case .resources, .allowedRegistries, .forbidLatestTag, .runAsNonRoot, .noPrivileged, .noHostPath: return true
        case .requiredLabels, .requiredAnnotations, .allowedKinds, .minReplicas: return false
        }
    }

    /// The problems of one object with one rule: (field, message) each.
    static func check(_ rule: Rule, _ object: JSONValue, namespace: String) -> [(String, String)] {
        if readsPods(rule) {
            let unseen = unseenContainers(object)
            if !unseen.isEmpty {
                let kind = object["kind"]?.stringValue ?? "?"
                return unseen.map { ($0, "kind \(kind) not checked: it holds containers at \($0), outside any pod spec this rule can read") }
                    + checkSeen(rule, object, namespace: namespace)
            }
        }
        return checkSeen(rule, object, namespace: namespace)
    }

    static func checkSeen(_ rule: Rule, _ object: JSONValue, namespace: String) -> [(String, String)] {
        switch rule {
        case .requiredLabels(let keys):
            return required(keys, in: object.value(at: ["metadata", "labels"]), field: "metadata.labels", what: "label")
        case .requiredAnnotations(let keys):
            return required(keys, in: object.value(at: ["metadata", "annotations"]), field: "metadata.annotations", what: "annotation")
        case .resources(let requests, let limits, let max):
            var out: [(String, String)] = []
            for (c, path) in containers(object) {
                let name = c["name"]?.stringValue ?? "?"
                for r in requests where c.value(at: ["resources", "requests", r]) == nil {
                    out.append(("\(path).resources.requests.\(r)", "container \(name) sets no \(r) request"))
                }
                for r in limits where c.value(at: ["resources", "limits", r]) == nil {
                    out.append(("\(path).resources.limits.\(r)", "container \(name) sets no \(r) limit"))
                }
                for (r, maximum) in max.sorted(by: { $0.key < $1.key }) {
                    guard let v = c.value(at: ["resources", "limits", r]) else { continue }
                    let text = v.stringValue ?? v.intValue.map(String.init) ?? ""
                    guard let q = Quantity(text) else {
                        out.append(("\(path).resources.limits.\(r)", "container \(name)'s \(r) limit '\(text)' is not a quantity"))
                        continue
                    }
                    if q > maximum { out.append(("\(path).resources.limits.\(r)", "container \(name)'s \(r) limit \(text) is above the maximum \(maximum)")) }
                }
            }
            return out
        case .allowedRegistries(let patterns):
            return containers(object).compactMap { c, path in
                let image = c["image"]?.stringValue ?? ""
                let repository = ImageReference(image).repository
                return patterns.contains(where: { Glob.anyMatch($0, repository) || Glob.anyMatch($0, image) }) ? nil
                    : ("\(path).image", "image \(image) is not from an approved registry (\(patterns.joined(separator: ", ")))")
            }
        case .forbidLatestTag:
            return containers(object).compactMap { c, path in
                let image = c["image"]?.stringValue ?? ""
                let ref = ImageReference(image)
                if ref.digest != nil { return nil }
                if ref.tag == nil { return ("\(path).image", "image \(image) has no tag (it means :latest)") }
                return ref.tag == "latest" ? ("\(path).image", "image \(image) uses :latest") : nil
            }
        case .runAsNonRoot:
            guard let (spec, path) = podSpec(object) else { return [] }
            if spec.value(at: ["securityContext", "runAsNonRoot"])?.boolValue == true {
                // The pod sets it; a container may still turn it off.
                return containers(object).compactMap { c, cpath in
                    c.value(at: ["securityContext", "runAsNonRoot"])?.boolValue == false
                        ? ("\(cpath).securityContext.runAsNonRoot", "container \(c["name"]?.stringValue ?? "?") sets runAsNonRoot: false") : nil
                }
            }
            let missing = containers(object).filter { c, _ in c.value(at: ["securityContext", "runAsNonRoot"])?.boolValue != true }
            return missing.isEmpty ? [] : [("\(path).securityContext.runAsNonRoot",
                                            "runAsNonRoot is not true for the pod nor for container\(missing.count == 1 ? "" : "s") "
                                                + missing.map { $0.0["name"]?.stringValue ?? "?" }.joined(separator: ", "))]
        case .noPrivileged:
            return containers(object).compactMap { c, path in
                c.value(at: ["securityContext", "privileged"])?.boolValue == true
                    ? ("\(path).securityContext.privileged", "container \(c["name"]?.stringValue ?? "?") is privileged") : nil
            }
        case .noHostPath:
            return podSpecs(object).flatMap { spec, path in
                (spec["volumes"]?.arrayValue ?? []).enumerated().compactMap { i, v in
                    v["hostPath"] != nil ? ("\(path).volumes[\(i)].hostPath", "volume \(v["name"]?.stringValue ?? "?") mounts the host's \(v.value(at: ["hostPath", "path"])?.stringValue ?? "path")") : nil
                }
            }
        case .allowedKinds(let table):
            let kind = object["kind"]?.stringValue ?? ""
            guard !clusterScoped.contains(kind), let entry = table.first(where: { Glob.pathMatch($0.namespace, namespace) }) else { return [] }
            return entry.kinds.contains(kind) ? []
                : [("kind", "\(kind) is not allowed in namespace \(namespace) (allowed: \(entry.kinds.isEmpty ? "none" : entry.kinds.joined(separator: ", ")))")]
        case .minReplicas(let minimum):
            guard ["Deployment", "StatefulSet"].contains(object["kind"]?.stringValue ?? "") else { return [] }
            let replicas = object.value(at: ["spec", "replicas"])?.intValue ?? 1
            return replicas >= minimum ? [] : [("spec.replicas", "\(replicas) replica\(replicas == 1 ? "" : "s"), fewer than the minimum \(minimum)")]
        }
    }

    static func required(_ keys: [String], in map: JSONValue?, field: String, what: String) -> [(String, String)] {
        keys.compactMap { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0]
            guard let value = map?[key]?.stringValue else { return ("\(field).\(key)", "no \(what) \(key)") }
            if parts.count == 2, value != parts[1] { return ("\(field).\(key)", "\(what) \(key) is '\(value)', not '\(parts[1])'") }
            return nil
        }
    }
}

/// A container image reference: `[registry/]repository[:tag][@digest]`.
public struct ImageReference: Sendable, Equatable {
    /// Registry and path, without tag or digest (`docker.io/library/nginx` for `nginx`).
    public var repository: String
    public var tag: String?
    public var digest: String?

    public init(_ image: String) {
        var rest = image
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = String(rest[..<at])
        }
        // A tag follows the last ':' after the last '/' (a registry's port comes before a '/').
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        // Docker's defaults: no registry is docker.io, a single name is in library/.
        let first = rest.split(separator: "/").first.map(String.init) ?? ""
        let hasRegistry = rest.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        if !hasRegistry { rest = "docker.io/" + (rest.contains("/") ? rest : "library/" + rest) }
        repository = rest
    }
}
