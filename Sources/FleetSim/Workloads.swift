import FleetModel
import Foundation

/// The simulated controllers: the status of workloads is computed when it is read, from how long ago the
/// object's spec last changed. After `readyAfter` seconds a workload is ready, unless one of its images
/// matches `failImage`, in which case it reports the failure Argo CD's health rules read as Degraded.
enum Workloads {
    static let kinds: Set<String> = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod", "Service", "Ingress", "PersistentVolumeClaim"]

    static func computes(_ kind: String) -> Bool { kinds.contains(kind) }

    /// Kinds with a `/scale` subresource (`kubectl scale`, autoscalers).
    static func scalable(_ kind: String) -> Bool { ["Deployment", "StatefulSet", "ReplicaSet"].contains(kind) }

    /// The `autoscaling/v1` Scale of a workload: its replicas and its selector as a string.
    static func scale(of object: JSONValue) -> JSONValue {
        let meta = object["metadata"] ?? .object([])
        let selector = (object.value(at: ["spec", "selector", "matchLabels"])?.objectValue ?? [])
            .map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ",")
        let replicas = intValue(object.value(at: ["spec", "replicas"])) ?? 1
        return .object([("kind", "Scale"), ("apiVersion", "autoscaling/v1"),
                        ("metadata", .object(["name", "namespace", "uid", "resourceVersion", "creationTimestamp"].compactMap { k in meta[k].map { (k, $0) } })),
                        ("spec", .object([("replicas", .int(replicas))])),
                        ("status", .object([("replicas", .int(intValue(object.value(at: ["status", "replicas"])) ?? replicas)), ("selector", .string(selector))]))])
    }

    static func withStatus(_ stored: SimCluster.Stored, now: Date, options: SimCluster.Options) -> JSONValue {
        let kind = stored.type.kind
        guard computes(kind) else { return stored.object }
        var object = stored.object
        let ready = now.timeIntervalSince(stored.changedAt) >= options.readyAfter
        let failing = options.failImage.map { pattern in images(object).contains { $0.contains(pattern) } } ?? false
        let generation = object.value(at: ["metadata", "generation"]) ?? .int(1)
        let replicas = intValue(object.value(at: ["spec", "replicas"])) ?? 1
        let ok = ready && !failing
        let since: JSONValue = .string(SimCluster.timestamp(stored.changedAt))
        func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String) -> JSONValue {
            .object([("type", .string(type)), ("status", .string(status ? "True" : "False")), ("lastUpdateTime", since),
                     ("lastTransitionTime", since), ("reason", .string(reason)), ("message", .string(message))])
        }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        var status: [(String, JSONValue)]
        switch kind {
        case "Deployment":
            status = [("observedGeneration", generation), ("replicas", .int(replicas)), ("updatedReplicas", .int(replicas)),
                      ("readyReplicas", .int(ok ? replicas : 0)), ("availableReplicas", .int(ok ? replicas : 0))]
            if !ok { status.append(("unavailableReplicas", .int(replicas))) }
            let progressing: JSONValue = failing && ready
                ? condition("Progressing", false, "ProgressDeadlineExceeded", "ReplicaSet \"\(name)\" has timed out progressing.")
                : condition("Progressing", true, ok ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", "ReplicaSet \"\(name)\" \(ok ? "has successfully progressed" : "is progressing").")
            status.append(("conditions", .array([condition("Available", ok, ok ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", ok ? "Deployment has minimum availability." : "Deployment does not have minimum availability."), progressing])))
        case "StatefulSet":
            status = [("observedGeneration", generation), ("replicas", .int(replicas)), ("readyReplicas", .int(ok ? replicas : 0)),
                      ("currentReplicas", .int(replicas)), ("updatedReplicas", .int(replicas)), ("availableReplicas", .int(ok ? replicas : 0)),
                      ("currentRevision", .string("\(name)-1")), ("updateRevision", .string("\(name)-1"))]
        case "DaemonSet":
            status = [("observedGeneration", generation), ("desiredNumberScheduled", 1), ("currentNumberScheduled", 1),
                      ("updatedNumberScheduled", 1), ("numberReady", .int(ok ? 1 : 0)), ("numberAvailable", .int(ok ? 1 : 0)), ("numberMisscheduled", 0)]
            if !ok { status.append(("numberUnavailable", 1)) }
        case "ReplicaSet":
            status = [("observedGeneration", generation), ("replicas", .int(replicas)), ("readyReplicas", .int(ok ? replicas : 0)),
                      ("availableReplicas", .int(ok ? replicas : 0)), ("fullyLabeledReplicas", .int(replicas))]
        case "Job":
            if !ready {
                status = [("active", 1), ("startTime", since)]
            } else if failing {
                status = [("failed", 1), ("startTime", since), ("conditions", .array([condition("Failed", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit")]))]
            } else {
                let completions = intValue(object.value(at: ["spec", "completions"])) ?? 1
                status = [("succeeded", .int(completions)), ("startTime", since), ("completionTime", since),
                          ("conditions", .array([condition("Complete", true, "Completed", "Job completed")]))]
            }
        case "Pod":
            let containers = object.value(at: ["spec", "containers"])?.arrayValue ?? []
            // A Pod that does not restart its containers runs to completion, as a kubelet runs it: Succeeded
            // once "ready" (Failed when its image fails); with `restartPolicy: Always` (the default) it runs on.
            let restart = object.value(at: ["spec", "restartPolicy"])?.stringValue ?? "Always"
            if restart != "Always" && ready {
                let statuses: [JSONValue] = containers.map { c in
                    .object([("name", c["name"] ?? ""), ("image", c["image"] ?? ""), ("ready", false), ("restartCount", 0),
                             ("state", .object([("terminated", .object([("exitCode", .int(failing ? 1 : 0)), ("reason", .string(failing ? "Error" : "Completed")),
                                                                         ("startedAt", since), ("finishedAt", since)]))]))])
                }
                status = [("phase", .string(failing ? "Failed" : "Succeeded")), ("containerStatuses", .array(statuses)),
                          ("conditions", .array([condition("Ready", false, "PodCompleted", "")]))]
                break
            }
            let statuses: [JSONValue] = containers.map { c in
                let cname = c["name"] ?? ""
                let image = c["image"] ?? ""
                if failing && ready {
                    return .object([("name", cname), ("image", image), ("ready", false), ("restartCount", 0),
                                    ("state", .object([("waiting", .object([("reason", "ImagePullBackOff"), ("message", .string("Back-off pulling image \(image.stringValue ?? "")"))]))]))])
                }
                return .object([("name", cname), ("image", image), ("ready", .bool(ok)), ("restartCount", 0),
                                ("state", ok ? .object([("running", .object([("startedAt", since)]))]) : .object([("waiting", .object([("reason", "ContainerCreating")]))]))])
            }
            status = [("phase", .string(ok ? "Running" : "Pending")), ("containerStatuses", .array(statuses)),
                      ("conditions", .array([condition("Ready", ok, ok ? "PodReady" : "ContainersNotReady", "")]))]
        case "Service":
            guard object.value(at: ["spec", "type"])?.stringValue == "LoadBalancer" else { return object }
            status = [("loadBalancer", ready ? .object([("ingress", .array([.object([("ip", "10.96.0.10")])]))]) : .object([]))]
        case "Ingress":
            status = [("loadBalancer", ready ? .object([("ingress", .array([.object([("ip", "10.96.0.20")])]))]) : .object([]))]
        case "PersistentVolumeClaim":
            status = [("phase", .string(ready ? "Bound" : "Pending"))]
        default:
            return object
        }
        object.set("status", .object(status))
        return object
    }

    static func images(_ object: JSONValue) -> [String] {
        let specs = [object.value(at: ["spec", "template", "spec"]), object["spec"], object.value(at: ["spec", "jobTemplate", "spec", "template", "spec"])]
        return specs.compactMap { $0 }.flatMap { spec in
            ((spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])).compactMap { $0["image"]?.stringValue }
        }
    }

    static func intValue(_ v: JSONValue?) -> Int? {
        switch v {
        case .int(let i)?: return i
        case .double(let d)?: return Int(d)
        case .string(let s)?: return Int(s)
        default: return nil
        }
    }
}
