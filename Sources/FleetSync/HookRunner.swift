import FleetDiff
import FleetKube
import FleetModel
import Foundation

/// What became of one hook in a sync.
public struct HookOutcome: Sendable, Equatable {
    public enum Status: String, Sendable { case running = "Running", succeeded = "Succeeded", failed = "Failed" }
    public var ref: ObjectRef
    public var phase: SyncPhase
    public var status: Status
    public var message: String
    /// Deleted after it finished, by its delete policy.
    public var deleted = false

    public init(ref: ObjectRef, phase: SyncPhase, status: Status, message: String, deleted: Bool = false) {
        self.ref = ref
        self.phase = phase
        self.status = status
        self.message = message
        self.deleted = deleted
    }

    /// As kept in a running sync's progress.
    public init(_ record: ApplicationStatus.Hook) {
        self.init(ref: ObjectRef(group: record.group, kind: record.kind, namespace: record.namespace, name: record.name),
                  phase: SyncPhase(rawValue: record.phase) ?? .sync, status: Status(rawValue: record.status) ?? .running,
                  message: record.message, deleted: record.deleted)
    }

    public var record: ApplicationStatus.Hook {
        ApplicationStatus.Hook(kind: ref.kind, group: ref.group, namespace: ref.namespace, name: ref.name, phase: phase.rawValue,
                               status: status.rawValue, message: message, deleted: deleted)
    }
}

/// Creates hook objects on a cluster and reads how they are doing. Hooks carry the annotation
/// `flotilla.io/hook-of` (the Application) but not the inventory labels: they are not the Application's
/// resources and are never pruned as such.
struct HookRunner {
    static let hookOfAnnotation = "flotilla.io/hook-of"
    static let phaseAnnotation = "flotilla.io/hook-phase"

    let client: KubeClient
    let application: String
    let namespace: String
    /// The hub's configured health checks (Lua), asked before the built-in rules.
    var healthChecks: (any HealthCheck)? = nil
    /// A hook's object of the previous sync (BeforeHookCreation) was deleted and is not gone yet: start the
    /// hook again later.
    struct PreviousNotGone: Error {
        let ref: ObjectRef
    }

    /// Creates the hook (after deleting a previous one of the same name under BeforeHookCreation).
    func start(_ object: JSONValue, spec: HookSpec, phase: SyncPhase, seed: UInt64) throws -> (ObjectRef, APIResource) {
        var obj = object
        if obj.value(at: ["metadata", "name"])?.stringValue == nil {
            guard let prefix = obj.value(at: ["metadata", "generateName"])?.stringValue else {
                throw ManifestHookError("\(obj["kind"]?.stringValue ?? "hook"): a hook needs metadata.name or metadata.generateName")
            }
            obj.set(path: ["metadata", "name"], .string(SyncPlan.generatedName(prefix, seed: seed)))
            if var meta = obj["metadata"] { meta.remove("generateName"); obj.set("metadata", meta) }
        }
        let (resource, _, name) = try client.locate(obj)
        var ns: String?
        if resource.namespaced {
            ns = obj.value(at: ["metadata", "namespace"])?.stringValue ?? namespace
            obj.set(path: ["metadata", "namespace"], .string(ns!))
        }
        obj.set(path: ["metadata", "annotations", Self.hookOfAnnotation], .string(application))
        obj.set(path: ["metadata", "annotations", Self.phaseAnnotation], .string(phase.rawValue))
        let ref = ObjectRef(group: resource.group, kind: resource.kind, namespace: ns, name: name)
        if spec.effectiveDeletePolicies.contains(.beforeHookCreation), try client.get(resource, namespace: ns, name: name) != nil {
            try client.delete(resource, namespace: ns, name: name, propagation: .background)
            if try client.get(resource, namespace: ns, name: name) != nil { throw PreviousNotGone(ref: ref) }
        }
        _ = try client.apply(obj)
        return (ref, resource)
    }

    /// The live object's health (nil: not found).
    func health(_ resource: APIResource, _ ref: ObjectRef) throws -> Health? {
        guard let live = try client.get(resource, namespace: ref.namespace, name: ref.name) else { return nil }
        return HealthRules.assess(live, checks: healthChecks)
    }

    /// Whether a hook finished, as Argo CD decides it: a hook Pod has finished only when it terminated (phase
    /// Succeeded or Failed) — a Pod that runs on, ready or not, is still running, whatever its readiness;
    /// other kinds finish when Healthy (a Job completes) or Degraded.
    func hookHealth(_ resource: APIResource, _ ref: ObjectRef) throws -> Health? {
        guard let live = try client.get(resource, namespace: ref.namespace, name: ref.name) else { return nil }
        guard ref.group.isEmpty && ref.kind == "Pod" else { return HealthRules.assess(live, checks: healthChecks) }
        switch live.value(at: ["status", "phase"])?.stringValue {
        case "Succeeded": return Health(.healthy, "Pod completed")
        case "Failed": return Health(.degraded, live.value(at: ["status", "message"])?.stringValue ?? "Pod failed")
        case let phase:
            let health = HealthRules.assess(live, checks: healthChecks)
            if health.status == .degraded { return health }
            return Health(.progressing, "hook Pod is \(phase ?? "Unknown"): a hook Pod finishes when it terminates (phase Succeeded)")
        }
    }

    func delete(_ resource: APIResource, _ ref: ObjectRef) throws {
        try client.delete(resource, namespace: ref.namespace, name: ref.name, propagation: .background)
    }
}

struct ManifestHookError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
