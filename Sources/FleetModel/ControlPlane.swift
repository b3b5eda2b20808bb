/// The hub's own control plane, as Argo CD Applications name it: an Application whose destination is
/// `https://kubernetes.default.svc` (or the cluster named `in-cluster`) and that renders `argoproj.io`
/// Applications and ApplicationSets hands them to the hub, which takes them as its own (app-of-apps), owned by
/// that parent. When no cluster is registered at that server, the control plane is the hub alone: objects of
/// other kinds rendered for it have nowhere to go and are an error.
public struct ControlPlane: Sendable, Equatable {
    public var server = "https://kubernetes.default.svc"
    public var name = "in-cluster"

    public init(server: String = "https://kubernetes.default.svc", name: String = "in-cluster") {
        self.server = server
        self.name = name
    }

    /// Whether an Application's destination is the control plane.
    public func isDestination(_ application: JSONValue) -> Bool {
        if let server = application.value(at: ["spec", "destination", "server"])?.stringValue, !server.isEmpty {
            return Cluster.normalizeServer(server) == Cluster.normalizeServer(self.server)
        }
        return application.value(at: ["spec", "destination", "name"])?.stringValue == name
    }

    /// The kinds the hub takes as its own when rendered for it.
    public enum Kind: String, Sendable, CaseIterable {
        case application = "Application"
        case applicationSet = "ApplicationSet"
        case appProject = "AppProject"
    }

    /// The kind of an `argoproj.io` object the hub takes, or nil for any other object.
    public static func kind(of object: JSONValue) -> Kind? {
        guard let api = object["apiVersion"]?.stringValue, api.hasPrefix("argoproj.io/") else { return nil }
        return object["kind"]?.stringValue.flatMap(Kind.init(rawValue:))
    }

    /// The annotation that names the Application a definition came from (its parent).
    public static let parentAnnotation = "flotilla.io/parent-application"
}
