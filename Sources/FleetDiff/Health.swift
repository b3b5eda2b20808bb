import FleetModel

/// A health verdict and the reason for it.
public struct Health: Sendable, Equatable, CustomStringConvertible {
    public let status: HealthStatus
    public let message: String

    public init(_ status: HealthStatus, _ message: String = "") {
        self.status = status
        self.message = message
    }

    public var description: String { message.isEmpty ? status.rawValue : "\(status.rawValue): \(message)" }
}

/// Health checks of an operator's (Argo CD's Lua resource customizations): asked before the built-in rules, as
/// Argo CD asks its overrides first; nil when none covers the object's kind.
public protocol HealthCheck: Sendable {
    func health(of object: JSONValue) -> Health?
}

/// Argo CD's health rules for built-in kinds. Pure: reads the object, nothing else.
public enum HealthRules {
    /// The object's health: a configured check for its kind when there is one, else the built-in rules.
    public static func assess(_ object: JSONValue?, checks: (any HealthCheck)?) -> Health {
        if let object, let checks, let health = checks.health(of: object) { return health }
        return assess(object)
    }

    /// The health of one live object; nil (absent) is Missing. Kinds without a rule are Healthy when present.
    public static func assess(_ object: JSONValue?) -> Health {
        guard let object else { return Health(.missing, "object does not exist") }
        let group = (object["apiVersion"]?.stringValue ?? "").split(separator: "/").dropLast().first.map(String.init) ?? ""
        switch (group, object["kind"]?.stringValue ?? "") {
        case ("apps", "Deployment"): return deployment(object)
        case ("apps", "StatefulSet"): return statefulSet(object)
        case ("apps", "DaemonSet"): return daemonSet(object)
        case ("apps", "ReplicaSet"): return replicaSet(object)
        case ("batch", "Job"): return job(object)
        case ("batch", "CronJob"):
            return bool(object.value(at: ["spec", "suspend"])) ? Health(.suspended, "CronJob is suspended") : Health(.healthy)
        case ("", "Pod"): return pod(object)
        case ("", "Service"): return service(object)
        case ("networking.k8s.io", "Ingress"), ("extensions", "Ingress"): return loadBalanced(object, what: "Ingress")
        case ("", "PersistentVolumeClaim"): return pvc(object)
        default: return Health(.healthy)
        }
    }

    /// The application's health: the worst of its resources (Healthy when it has none).
    public static func aggregate(_ healths: [Health]) -> Health {
        healths.max { $0.status < $1.status } ?? Health(.healthy)
    }

    static func int(_ v: JSONValue?) -> Int? {
        switch v {
        case .int(let i)?: return i
        case .double(let d)?: return Int(d)
        default: return nil
        }
    }

    static func bool(_ v: JSONValue?) -> Bool { v?.boolValue ?? false }

    static func condition(_ object: JSONValue, _ type: String) -> JSONValue? {
        object.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    static func generations(_ object: JSONValue) -> (generation: Int, observed: Int) {
        (int(object.value(at: ["metadata", "generation"])) ?? 0, int(object.value(at: ["status", "observedGeneration"])) ?? 0)
    }

    static func deployment(_ o: JSONValue) -> Health {
        if bool(o.value(at: ["spec", "paused"])) { return Health(.suspended, "Deployment is paused") }
        let (generation, observed) = generations(o)
        guard generation <= observed else {
            return Health(.progressing, "Waiting for rollout to finish: observed deployment generation less than desired generation")
        }
        let name = o.value(at: ["metadata", "name"])?.stringValue ?? ""
        if condition(o, "Progressing")?["reason"]?.stringValue == "ProgressDeadlineExceeded" {
            return Health(.degraded, "Deployment \"\(name)\" exceeded its progress deadline")
        }
        let desired = int(o.value(at: ["spec", "replicas"]))
        let updated = int(o.value(at: ["status", "updatedReplicas"])) ?? 0
        let replicas = int(o.value(at: ["status", "replicas"])) ?? 0
        let available = int(o.value(at: ["status", "availableReplicas"])) ?? 0
        if let desired, updated < desired {
            return Health(.progressing, "Waiting for rollout to finish: \(updated) out of \(desired) new replicas have been updated...")
        }
        if replicas > updated {
            return Health(.progressing, "Waiting for rollout to finish: \(replicas - updated) old replicas are pending termination...")
        }
        if available < updated {
            return Health(.progressing, "Waiting for rollout to finish: \(available) of \(updated) updated replicas are available...")
        }
        return Health(.healthy)
    }

    static func statefulSet(_ o: JSONValue) -> Health {
        let (generation, observed) = generations(o)
        if observed == 0 || generation > observed {
            return Health(.progressing, "Waiting for statefulset spec update to be observed...")
        }
        let ready = int(o.value(at: ["status", "readyReplicas"])) ?? 0
        if let desired = int(o.value(at: ["spec", "replicas"])), ready < desired {
            return Health(.progressing, "Waiting for \(desired - ready) pods to be ready...")
        }
        if o.value(at: ["spec", "updateStrategy", "type"])?.stringValue == "OnDelete" {
            return Health(.healthy, "statefulset has OnDelete update strategy")
        }
        let current = o.value(at: ["status", "currentRevision"])?.stringValue, update = o.value(at: ["status", "updateRevision"])?.stringValue
        if let update, current != update {
            return Health(.progressing, "waiting for statefulset rolling update to complete")
        }
        return Health(.healthy)
    }

    static func daemonSet(_ o: JSONValue) -> Health {
        let (generation, observed) = generations(o)
        if generation > observed { return Health(.progressing, "Waiting for rollout to finish: observed daemon set generation less than desired generation") }
        if o.value(at: ["spec", "updateStrategy", "type"])?.stringValue == "OnDelete" { return Health(.healthy, "daemon set has OnDelete update strategy") }
        let desired = int(o.value(at: ["status", "desiredNumberScheduled"])) ?? 0
        let updated = int(o.value(at: ["status", "updatedNumberScheduled"])) ?? 0
        let available = int(o.value(at: ["status", "numberAvailable"])) ?? 0
        if updated < desired { return Health(.progressing, "Waiting for daemon set rollout to finish: \(updated) out of \(desired) new pods have been updated...") }
        if available < desired { return Health(.progressing, "Waiting for daemon set rollout to finish: \(available) of \(desired) updated pods are available...") }
        return Health(.healthy)
    }

    static func replicaSet(_ o: JSONValue) -> Health {
        let (generation, observed) = generations(o)
        guard generation <= observed else { return Health(.progressing, "Waiting for rollout to finish: observed replica set generation less than desired generation") }
        if let failure = condition(o, "ReplicaFailure"), failure["status"]?.stringValue == "True" {
            return Health(.degraded, failure["message"]?.stringValue ?? "ReplicaFailure")
        }
        let available = int(o.value(at: ["status", "availableReplicas"])) ?? 0
        if let desired = int(o.value(at: ["spec", "replicas"])), available < desired {
            return Health(.progressing, "Waiting for rollout to finish: \(available) out of \(desired) new replicas are available...")
        }
        return Health(.healthy)
    }

    static func job(_ o: JSONValue) -> Health {
        for c in o.value(at: ["status", "conditions"])?.arrayValue ?? [] where c["status"]?.stringValue == "True" {
            switch c["type"]?.stringValue {
            case "Failed": return Health(.degraded, c["message"]?.stringValue ?? "Job failed")
            case "Complete": return Health(.healthy, c["message"]?.stringValue ?? "Job completed")
            default: break
            }
        }
        if bool(o.value(at: ["spec", "suspend"])) { return Health(.suspended, "Job is suspended") }
        return Health(.progressing, "Job is running")
    }

    static let badWaitingReasons: Set<String> = ["CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
                                                 "InvalidImageName", "CreateContainerError", "RunContainerError"]

    static func pod(_ o: JSONValue) -> Health {
        let statuses = (o.value(at: ["status", "initContainerStatuses"])?.arrayValue ?? []) + (o.value(at: ["status", "containerStatuses"])?.arrayValue ?? [])
        for s in statuses {
            if let reason = s.value(at: ["state", "waiting", "reason"])?.stringValue, badWaitingReasons.contains(reason) {
                return Health(.degraded, s.value(at: ["state", "waiting", "message"])?.stringValue ?? reason)
            }
        }
        switch o.value(at: ["status", "phase"])?.stringValue {
        case "Pending": return Health(.progressing, o.value(at: ["status", "message"])?.stringValue ?? "Pod is pending")
        case "Succeeded": return Health(.healthy, "Pod completed")
        case "Failed": return Health(.degraded, o.value(at: ["status", "message"])?.stringValue ?? "Pod failed")
        case "Running":
            let containers = o.value(at: ["status", "containerStatuses"])?.arrayValue ?? []
            if !containers.isEmpty && containers.allSatisfy({ bool($0["ready"]) }) { return Health(.healthy) }
            return Health(.progressing, "Pod is running but not all containers are ready")
        default: return Health(.unknown, "Pod phase is unknown")
        }
    }

    static func service(_ o: JSONValue) -> Health {
        guard o.value(at: ["spec", "type"])?.stringValue == "LoadBalancer" else { return Health(.healthy) }
        return loadBalanced(o, what: "Service")
    }

    static func loadBalanced(_ o: JSONValue, what: String) -> Health {
        if let ingress = o.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue, !ingress.isEmpty { return Health(.healthy) }
        return Health(.progressing, "Waiting for the \(what)'s load balancer address")
    }

    static func pvc(_ o: JSONValue) -> Health {
        switch o.value(at: ["status", "phase"])?.stringValue {
        case "Lost": return Health(.degraded, "PersistentVolumeClaim lost its volume")
        case "Pending": return Health(.progressing, "PersistentVolumeClaim is pending")
        case "Bound": return Health(.healthy)
        default: return Health(.unknown)
        }
    }
}
