/// Argo CD's `syncPolicy.syncOptions`, sorted into what Flotilla carries out and what it does not. Pure.
///
/// Carried out: `CreateNamespace=true`, `ApplyOutOfSyncOnly=true`, `PruneLast=true` (prune always runs after
/// every wave here), `ServerSideApply=true` (every apply is server-side), `FailOnSharedResource=true` (an object
/// another Application owns is never applied). The same options set to `false` ask for the default and are
/// carried out too, except `ServerSideApply=false` and `FailOnSharedResource=false`, which Flotilla cannot honour.
/// Everything else — `Replace`, `Force`, `Validate=false`, `PrunePropagationPolicy`, `RespectIgnoreDifferences`,
/// `SkipDryRunOnMissingResource`, an option it does not know — is named in a `SyncOptionNotSupported` condition,
/// never silently ignored.
public enum SyncOptions {
    static let carriedOut: Set<String> = [
        "CreateNamespace=true", "CreateNamespace=false", "ApplyOutOfSyncOnly=true", "ApplyOutOfSyncOnly=false",
        "PruneLast=true", "PruneLast=false", "ServerSideApply=true", "FailOnSharedResource=true",
    ]

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
