import FleetModel
import Foundation

/// Identity of a Kubernetes object: group, kind, namespace, name.
public struct ObjectRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let group: String
    public let kind: String
    public let namespace: String?
    public let name: String

    public init(group: String, kind: String, namespace: String?, name: String) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String {
        let k = group.isEmpty ? kind : "\(kind).\(group)"
        return namespace.map { "\(k) \($0)/\(name)" } ?? "\(k) \(name)"
    }

    public static func < (a: ObjectRef, b: ObjectRef) -> Bool { a.description < b.description }
}

/// What one sync did.
public struct SyncResult: Sendable {
    public var created: [ObjectRef] = []
    public var configured: [ObjectRef] = []
    public var unchanged: [ObjectRef] = []
    public var pruned: [ObjectRef] = []
    public var failed: [(ObjectRef, KubeError)] = []
    /// Objects as the server returned them after apply.
    public var applied: [ObjectRef: JSONValue] = [:]
}

/// Applies a set of manifests for one Application with server-side apply, many at once, and prunes what the
/// Application applied before but no longer has.
///
/// Every applied object carries the label `app.kubernetes.io/managed-by=flotilla`, a label `flotilla.io/app`
/// (the application name, or a hash of it when it is too long for a label) and the annotation
/// `flotilla.io/application` with the exact name. Prune deletes only objects whose label and annotation both
/// name this Application.
public struct Syncer: Sendable {
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    public static let managedByValue = "flotilla"
    public static let appLabel = "flotilla.io/app"
    public static let appAnnotation = "flotilla.io/application"

    public let client: KubeClient
    public let application: String
    public let concurrency: Int

    public init(client: KubeClient, application: String, concurrency: Int = 16) {
        self.client = client
        self.application = application
        self.concurrency = concurrency
    }

    /// The `flotilla.io/app` label value for an application name.
    public static func labelValue(_ application: String) -> String {
        if KubernetesNames.labelValueProblem(application) == nil { return application }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in application.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "h-" + String(h, radix: 16)
    }

    public var selector: String { "\(Self.managedByLabel)=\(Self.managedByValue),\(Self.appLabel)=\(Self.labelValue(application))" }

    /// Every live object this Application owns, across all kinds that can be listed and deleted and that
    /// hold a managed object on this cluster (`KubeClient.managedKinds`), plus the kinds in `including` (those
    /// the Application is about to apply).
    public func inventory(including: Set<String> = []) throws -> [ObjectRef: JSONValue] {
        let listable = try client.discover().filter { $0.verbs.contains("list") && $0.verbs.contains("delete") && $0.kind != "Event" }
        let managed = try client.managedKinds(among: listable, selector: "\(Self.managedByLabel)=\(Self.managedByValue)")
        let kinds = listable.filter {
            let key = KubeClient.kindKey(group: $0.group, kind: $0.kind)
            return managed.contains(key) || including.contains(key)
        }
        let selector = self.selector, client = self.client, application = self.application
        // From the cluster's cache when it follows these kinds and is synced; else from the API server.
        if let cache = client.cache {
            cache.follow(kinds)
            if let live = cache.inventory(application: application, kinds: kinds.map { KubeClient.kindKey(group: $0.group, kind: $0.kind) }) {
                return live
            }
        }
        let results = ConcurrentRunner.map(kinds, width: concurrency) { resource in
            try client.list(resource, labelSelector: selector).filter {
                $0.value(at: ["metadata", "annotations", Self.appAnnotation])?.stringValue == application
            }.map { (ObjectRef(group: resource.group, kind: resource.kind, namespace: $0.value(at: ["metadata", "namespace"])?.stringValue,
                               name: $0.value(at: ["metadata", "name"])?.stringValue ?? ""), $0) }
        }
        var live: [ObjectRef: JSONValue] = [:]
        for result in results {
            for (ref, object) in try result.get() { live[ref] = object }
        }
        return live
    }

    /// Adds the inventory label and annotation, and the namespace for namespaced objects that have none.
    public func prepare(_ object: JSONValue, defaultNamespace: String) throws -> (ObjectRef, JSONValue) {
        var obj = object
        let (resource, _, name) = try client.locate(object)
        var namespace: String?
        if resource.namespaced {
            namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? defaultNamespace
            obj.set(path: ["metadata", "namespace"], .string(namespace!))
        } else if var meta = obj["metadata"] {
            meta.remove("namespace")
            obj.set("metadata", meta)
        }
        obj.set(path: ["metadata", "labels", Self.managedByLabel], .string(Self.managedByValue))
        obj.set(path: ["metadata", "labels", Self.appLabel], .string(Self.labelValue(application)))
        obj.set(path: ["metadata", "annotations", Self.appAnnotation], .string(application))
        return (ObjectRef(group: resource.group, kind: resource.kind, namespace: namespace, name: name), obj)
    }

    /// Deletes owned objects that are not in `keep` (the refs of every object the Application still has).
    public func prune(keeping keep: Set<ObjectRef>, propagation: KubeClient.Propagation = .background) throws -> SyncResult {
        try prune(try inventory().keys.filter { !keep.contains($0) }, propagation: propagation)
    }

    /// Deletes these owned objects (from an inventory just taken).
    public func prune(_ stale: [ObjectRef], propagation: KubeClient.Propagation = .background) throws -> SyncResult {
        var result = SyncResult()
        delete(stale.sorted(), propagation: propagation, into: &result)
        return result
    }

    /// Deletes `stale` objects, many at once, recording each outcome.
    private func delete(_ stale: [ObjectRef], propagation: KubeClient.Propagation, into result: inout SyncResult) {
        let client = self.client
        let cache = client.cache
        let outcomes = ConcurrentRunner.map(stale, width: concurrency) { ref -> Void in
            guard let resource = try client.discover().first(where: { $0.group == ref.group && $0.kind == ref.kind }) else { return }
            cache?.willWrite(ref)
            do {
                try client.delete(resource, namespace: ref.namespace, name: ref.name, propagation: propagation)
                cache?.observeWrite(ref, .deleted)
            } catch {
                cache?.observeWrite(ref, .failed)
                throw error
            }
        }
        for (ref, outcome) in zip(stale, outcomes) {
            switch outcome {
            case .success: result.pruned.append(ref)
            case .failure(let error):
                result.failed.append((ref, error as? KubeError ?? KubeError(code: .other, cluster: client.cluster.name, object: ref.description,
                                                                             message: "\(error)", causes: [], status: 0)))
            }
        }
    }

    /// The same object but for what controllers write (status, and the resourceVersion and managedFields that
    /// change with it): an apply that answers with it changed nothing. A workload's status may move between the
    /// inventory and the apply.
    static func sameApartFromStatus(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if a.value(at: ["metadata", "resourceVersion"]) == b.value(at: ["metadata", "resourceVersion"]) { return true }
        func stripped(_ o: JSONValue) -> JSONValue {
            var copy = o
            copy.remove("status")
            if var meta = copy["metadata"] {
                meta.remove("resourceVersion")
                meta.remove("managedFields")
                copy.set("metadata", meta)
            }
            return copy
        }
        return stripped(a) == stripped(b)
    }

    /// Applies `objects`; with `prune`, deletes owned objects that are not among them. `live` is the
    /// Application's inventory when the caller has just taken it.
    public func sync(_ objects: [JSONValue], defaultNamespace: String = "default", createNamespace: Bool = false,
                     prune: Bool = false, propagation: KubeClient.Propagation = .background,
                     live known: [ObjectRef: JSONValue]? = nil) throws -> SyncResult {
        let live = try known ?? inventory()
        // Namespaces and CustomResourceDefinitions first: later objects may live in them or be of their kinds,
        // so the rest is located (discovery) only after they are applied.
        func early(_ o: JSONValue) -> Bool {
            (o["kind"]?.stringValue == "Namespace" && o["apiVersion"]?.stringValue == "v1")
                || o["kind"]?.stringValue == "CustomResourceDefinition"
        }
        var seen = Set<ObjectRef>()
        var result = SyncResult()
        let client = self.client
        var createdNamespaces = false
        for phase in [objects.filter(early), objects.filter { !early($0) }] where !phase.isEmpty {
            var batch: [(ObjectRef, JSONValue)] = []
            for object in phase {
                let (ref, prepared) = try prepare(object, defaultNamespace: defaultNamespace)
                if !seen.insert(ref).inserted {
                    throw KubeError(code: .badRequest, cluster: client.cluster.name, object: ref.description,
                                    message: "the manifests define this object twice", causes: [], status: 0)
                }
                batch.append((ref, prepared))
            }
            if createNamespace && !createdNamespaces && !batch.contains(where: { $0.0.kind == "CustomResourceDefinition" || $0.0.kind == "Namespace" }) {
                createdNamespaces = true
                let own = Set(seen.filter { $0.kind == "Namespace" && $0.group.isEmpty }.map(\.name))
                for ns in Set(batch.compactMap(\.0.namespace)) where !own.contains(ns) { try client.ensureNamespace(ns) }
            }
            let cache = client.cache
            let outcomes = ConcurrentRunner.map(batch, width: concurrency) { item in
                cache?.willWrite(item.0)
                do {
                    let answer = try client.apply(item.1)
                    cache?.observeWrite(item.0, .applied(answer.object))
                    return answer
                } catch {
                    cache?.observeWrite(item.0, .failed)
                    throw error
                }
            }
            for ((ref, _), outcome) in zip(batch, outcomes) {
                switch outcome {
                case .success(let (object, created)):
                    client.noteManaged(group: ref.group, kind: ref.kind)
                    result.applied[ref] = object
                    if created {
                        result.created.append(ref)
                    } else if let before = live[ref], Self.sameApartFromStatus(before, object) {
                        result.unchanged.append(ref)
                    } else {
                        result.configured.append(ref)
                    }
                case .failure(let error as KubeError):
                    result.failed.append((ref, error))
                case .failure(let error):
                    result.failed.append((ref, KubeError(code: .other, cluster: client.cluster.name, object: ref.description, message: "\(error)", causes: [], status: 0)))
                }
            }
            if batch.contains(where: { $0.0.kind == "CustomResourceDefinition" }) { _ = try client.discover(refresh: true) }
        }
        if prune && result.failed.isEmpty {
            delete(live.keys.filter { !seen.contains($0) }.sorted(), propagation: propagation, into: &result)
        }
        return result
    }
}
