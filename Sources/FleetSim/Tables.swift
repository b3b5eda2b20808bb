import FleetModel
import Foundation

/// Server-side tables (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), so `kubectl get` prints the
/// usual columns (READY, STATUS, AGE …) for the kinds people look at most.
enum Tables {
    static func wanted(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").first.map { $0.contains("as=Table") } ?? false
    }

    static func table(kind: String, items: [JSONValue], resourceVersion: String, now: Date) -> JSONValue {
        let (columns, cells) = layout(kind)
        let definitions = (["Name"] + columns + ["Age"]).enumerated().map { i, name in
            JSONValue.object([("name", .string(name)), ("type", "string"), ("format", .string(i == 0 ? "name" : "")),
                              ("description", ""), ("priority", 0)])
        }
        let rows = items.map { item -> JSONValue in
            var meta = item["metadata"] ?? .object([])
            meta.remove("managedFields")
            let name = item.value(at: ["metadata", "name"]) ?? ""
            let row = [name] + cells(item).map(JSONValue.string) + [.string(age(item, now: now))]
            return .object([("cells", .array(row)),
                            ("object", .object([("kind", "PartialObjectMetadata"), ("apiVersion", "meta.k8s.io/v1"), ("metadata", meta)]))])
        }
        return .object([("kind", "Table"), ("apiVersion", "meta.k8s.io/v1"), ("metadata", .object([("resourceVersion", .string(resourceVersion))])),
                        ("columnDefinitions", .array(definitions)), ("rows", .array(rows))])
    }

    static func int(_ o: JSONValue, _ path: String...) -> Int { Workloads.intValue(o.value(at: path)) ?? 0 }

    static func layout(_ kind: String) -> ([String], (JSONValue) -> [String]) {
        switch kind {
        case "Deployment":
            return (["Ready", "Up-to-date", "Available"], { o in
                ["\(int(o, "status", "readyReplicas"))/\(Workloads.intValue(o.value(at: ["spec", "replicas"])) ?? 1)",
                 "\(int(o, "status", "updatedReplicas"))", "\(int(o, "status", "availableReplicas"))"]
            })
        case "StatefulSet":
            return (["Ready"], { o in ["\(int(o, "status", "readyReplicas"))/\(Workloads.intValue(o.value(at: ["spec", "replicas"])) ?? 1)"] })
        case "DaemonSet":
            return (["Desired", "Current", "Ready", "Up-to-date", "Available"], { o in
                ["desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable"].map { "\(int(o, "status", $0))" }
            })
        case "Pod":
            return (["Ready", "Status", "Restarts"], { o in
                let statuses = o.value(at: ["status", "containerStatuses"])?.arrayValue ?? []
                let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
                let waiting = statuses.compactMap { $0.value(at: ["state", "waiting", "reason"])?.stringValue }.first
                return ["\(ready)/\(statuses.count)", waiting ?? o.value(at: ["status", "phase"])?.stringValue ?? "Unknown", "0"]
            })
        case "Job":
            return (["Completions"], { o in ["\(int(o, "status", "succeeded"))/\(Workloads.intValue(o.value(at: ["spec", "completions"])) ?? 1)"] })
        case "ConfigMap":
            return (["Data"], { o in ["\((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))"] })
        case "Secret":
            return (["Type", "Data"], { o in [o["type"]?.stringValue ?? "Opaque", "\(o["data"]?.objectValue?.count ?? 0)"] })
        case "Namespace":
            return (["Status"], { _ in ["Active"] })
        case "Service":
            return (["Type", "Ports"], { o in
                let ports = (o.value(at: ["spec", "ports"])?.arrayValue ?? []).map { "\(Workloads.intValue($0["port"]) ?? 0)/\($0["protocol"]?.stringValue ?? "TCP")" }
                return [o.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP", ports.isEmpty ? "<none>" : ports.joined(separator: ",")]
            })
        default:
            return ([], { _ in [] })
        }
    }

    /// kubectl's short age: 45s, 12m, 3h, 2d.
    static func age(_ o: JSONValue, now: Date) -> String {
        guard let text = o.value(at: ["metadata", "creationTimestamp"])?.stringValue,
              let created = ISO8601DateFormatter().date(from: text) else { return "<unknown>" }
        let s = max(0, Int(now.timeIntervalSince(created)))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
