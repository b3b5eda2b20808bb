import FleetKube
import FleetModel
import Foundation

/// Argo CD's `syncPolicy.syncOptions`, sorted into what Flotilla carries out and what it does not. Pure.
///
/// Carried out: `CreateNamespace=true`, `ApplyOutOfSyncOnly=true`, `PruneLast=true` (prune always runs after
/// every wave here), `ServerSideApply=true` (every apply is server-side), `FailOnSharedResource=true` (an object
/// another Application owns is never applied), `PrunePropagationPolicy=foreground|background|orphan`. On objects,
/// the `argocd.argoproj.io/sync-options` annotation's `Prune=false` (never pruned; the Application stays OutOfSync
/// and says why) and `Delete=false` (left in place when the Application is deleted or its copy removed). The same options set to `false` ask for the default and are
/// carried out too, except `ServerSideApply=false` and `FailOnSharedResource=false`, which Flotilla cannot honour.
/// `SkipDryRunOnMissingResource=true` always holds: no dry run is made. `RespectIgnoreDifferences=true` keeps
/// the live values of ignored fields in what a sync applies.
/// Everything else — `Replace`, `Force`, `Validate=false`, an option it does not know — is named in a `SyncOptionNotSupported` condition,
/// never silently ignored.
public enum SyncOptions {
    static let carriedOut: Set<String> = [
        "CreateNamespace=true", "CreateNamespace=false", "ApplyOutOfSyncOnly=true", "ApplyOutOfSyncOnly=false",
        "PruneLast=true", "PruneLast=false", "ServerSideApply=true", "FailOnSharedResource=true",
        "PrunePropagationPolicy=foreground", "PrunePropagationPolicy=background", "PrunePropagationPolicy=orphan",
        // Argo CD dry-runs every object before a sync and fails on a kind the cluster does not serve yet unless
        // this is set; Flotilla makes no dry run (an object of a kind its CRD brings in the same sync is located
        // when its wave is applied), so what the option asks for always holds.
        "SkipDryRunOnMissingResource=true",
        // The fields `ignoreDifferences` ignores keep their live values in what a sync applies.
        "RespectIgnoreDifferences=true", "RespectIgnoreDifferences=false",
    ]

    /// The annotation through which an object carries its own options (`Prune=false`, `Delete=false`, …).
    public static let objectAnnotation = "argocd.argoproj.io/sync-options"

    /// An object's own options: the annotation's comma-separated values.
    public static func of(object: JSONValue?) -> Set<String> {
        guard let text = object?.value(at: ["metadata", "annotations", objectAnnotation])?.stringValue else { return [] }
        return Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    /// How prune deletes (`PrunePropagationPolicy`; background by default, as Argo CD).
    public static func propagation(_ options: Set<String>) -> KubeClient.Propagation {
        if options.contains("PrunePropagationPolicy=foreground") { return .foreground }
        if options.contains("PrunePropagationPolicy=orphan") { return .orphan }
        return .background
    }

    /// Why each option of `options` that is not carried out is not, in the order given.
    public static func notCarriedOut(_ options: [String]) -> [String] {
        var seen: Set<String> = []
        return options.compactMap { option in
            guard !carriedOut.contains(option), seen.insert(option).inserted else { return nil }
            switch option {
            case "ServerSideApply=false": return "\(option) (every apply is server-side)"
            case "FailOnSharedResource=false": return "\(option) (an object another Application owns is never applied)"
            case _ where option.hasPrefix("Replace="), _ where option.hasPrefix("Force="), _ where option.hasPrefix("Validate="),
                 _ where option.hasPrefix("PrunePropagationPolicy="), _ where option.hasPrefix("RespectIgnoreDifferences="),
                 _ where option.hasPrefix("SkipDryRunOnMissingResource="), _ where option.hasPrefix("Delete="), _ where option.hasPrefix("Prune="):
                return "\(option) (not implemented)"
            default: return "\(option) (not an option Flotilla knows)"
            }
        }
    }
}
