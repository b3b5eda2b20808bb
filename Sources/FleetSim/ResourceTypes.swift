import FleetModel

/// A kind the simulated API serves: built in, or defined by an applied CustomResourceDefinition.
public struct ResourceType: Sendable, Hashable {
    public let group: String
    public let version: String
    public let kind: String
    /// Plural, lower-case resource name used in URLs (`deployments`).
    public let plural: String
    public let singular: String
    public let namespaced: Bool
    public let shortNames: [String]
    /// Groups of resources a client can name at once (`all`: what `kubectl get all` lists).
    public let categories: [String]

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The URL prefix of the group version: `/api/v1` or `/apis/apps/v1`.
    public var basePath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    public init(_ group: String, _ version: String, _ kind: String, _ plural: String, namespaced: Bool, shortNames: [String] = [],
                categories: [String] = []) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lowercased()
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
    }

    static let verbs: [JSONValue] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"].map(JSONValue.string)

    /// The built-in kinds: core, apps, batch, networking, RBAC, apiextensions, autoscaling, policy; short names and
    /// categories as kube-apiserver lists them.
    public static let builtIn: [ResourceType] = [
        ResourceType("", "v1", "Namespace", "namespaces", namespaced: false, shortNames: ["ns"]),
        ResourceType("", "v1", "ConfigMap", "configmaps", namespaced: true, shortNames: ["cm"]),
        ResourceType("", "v1", "Secret", "secrets", namespaced: true),
        ResourceType("", "v1", "Service", "services", namespaced: true, shortNames: ["svc"], categories: ["all"]),
        ResourceType("", "v1", "ServiceAccount", "serviceaccounts", namespaced: true, shortNames: ["sa"]),
        ResourceType("", "v1", "Pod", "pods", namespaced: true, shortNames: ["po"], categories: ["all"]),
        ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespaced: true, shortNames: ["pvc"]),
        ResourceType("", "v1", "PersistentVolume", "persistentvolumes", namespaced: false, shortNames: ["pv"]),
        ResourceType("", "v1", "Node", "nodes", namespaced: false, shortNames: ["no"]),
        ResourceType("", "v1", "Event", "events", namespaced: true, shortNames: ["ev"]),
        ResourceType("", "v1", "Endpoints", "endpoints", namespaced: true, shortNames: ["ep"]),
        ResourceType("", "v1", "ResourceQuota", "resourcequotas", namespaced: true, shortNames: ["quota"]),
        ResourceType("", "v1", "LimitRange", "limitranges", namespaced: true, shortNames: ["limits"]),
        ResourceType("apps", "v1", "Deployment", "deployments", namespaced: true, shortNames: ["deploy"], categories: ["all"]),
        ResourceType("apps", "v1", "StatefulSet", "statefulsets", namespaced: true, shortNames: ["sts"], categories: ["all"]),
        ResourceType("apps", "v1", "DaemonSet", "daemonsets", namespaced: true, shortNames: ["ds"], categories: ["all"]),
        ResourceType("apps", "v1", "ReplicaSet", "replicasets", namespaced: true, shortNames: ["rs"], categories: ["all"]),
        ResourceType("batch", "v1", "Job", "jobs", namespaced: true, categories: ["all"]),
        ResourceType("batch", "v1", "CronJob", "cronjobs", namespaced: true, shortNames: ["cj"], categories: ["all"]),
        ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", namespaced: true, shortNames: ["ing"]),
        ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", namespaced: true, shortNames: ["netpol"]),
        ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced: false),
        ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", namespaced: true),
        ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", namespaced: true),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced: false),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced: false),
        ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced: false, shortNames: ["crd", "crds"]),
        ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", namespaced: true, shortNames: ["hpa"], categories: ["all"]),
        ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", namespaced: true, shortNames: ["pdb"]),
    ]

    /// The resource types a CustomResourceDefinition object defines (one per served version).
    static func fromCRD(_ crd: JSONValue) -> [ResourceType] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue,
              let kind = spec.value(at: ["names", "kind"])?.stringValue,
              let plural = spec.value(at: ["names", "plural"])?.stringValue else { return [] }
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        let shortNames = spec.value(at: ["names", "shortNames"])?.arrayValue?.compactMap(\.stringValue) ?? []
        let categories = spec.value(at: ["names", "categories"])?.arrayValue?.compactMap(\.stringValue) ?? []
        let versions = (spec["versions"]?.arrayValue ?? []).filter { $0["served"]?.boolValue ?? true }.compactMap { $0["name"]?.stringValue }
        return versions.map { ResourceType(group, $0, kind, plural, namespaced: namespaced, shortNames: shortNames, categories: categories) }
    }
}
