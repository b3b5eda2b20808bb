/// What the hub's reconcile pool runs: one Application's reconcile, or the prune of what an Application left on
/// a cluster. Defined here, beside the pool, so that the pool and its scheduler are compiled for it (a generic
/// scheduler called across modules would look up its types at run time on every queue operation).
public enum ReconcileWork: Hashable, Sendable {
    case app(String)
    case prune(app: String, cluster: String)
}
