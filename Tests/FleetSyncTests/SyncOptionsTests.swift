import FleetKube
import FleetModel
import FleetSync
import Testing

/// Every sync option is carried out or named — never silently ignored.
@Test(arguments: [
    (["CreateNamespace=true", "PruneLast=true", "ApplyOutOfSyncOnly=true", "ServerSideApply=true", "FailOnSharedResource=true"], [String]()),
    (["CreateNamespace=false", "PruneLast=false"], []),
    (["SkipDryRunOnMissingResource=true"], []),
    (["Replace=true"], ["Replace=true (not implemented)"]),
    (["ServerSideApply=false", "Validate=false"], ["ServerSideApply=false (every apply is server-side)", "Validate=false (not implemented)"]),
    (["PrunePropagationPolicy=orphan", "PrunePropagationPolicy=foreground", "PrunePropagationPolicy=background"], []),
    (["PrunePropagationPolicy=sideways", "PrunePropagationPolicy=sideways"], ["PrunePropagationPolicy=sideways (not implemented)"]),
    (["Frobnicate=true", "CreateNamespace=true"], ["Frobnicate=true (not an option Flotilla knows)"]),
    (["FailOnSharedResource=false"], ["FailOnSharedResource=false (an object another Application owns is never applied)"]),
])
func syncOptionsAreCarriedOutOrNamed(options: [String], named: [String]) {
    #expect(SyncOptions.notCarriedOut(options) == named)
}

/// An object's own options (`argocd.argoproj.io/sync-options`, comma-separated) and the prune propagation.
@Test func objectOptionsAndPropagation() throws {
    let object = try JSONParser.parse(#"{"metadata":{"annotations":{"argocd.argoproj.io/sync-options":"Prune=false, Delete=false,,"}}}"#)
    #expect(SyncOptions.of(object: object) == ["Prune=false", "Delete=false"])
    #expect(SyncOptions.of(object: .object([])).isEmpty && SyncOptions.of(object: nil).isEmpty)
    #expect(SyncOptions.propagation(["PrunePropagationPolicy=orphan"]) == .orphan)
    #expect(SyncOptions.propagation(["PrunePropagationPolicy=foreground"]) == .foreground)
    #expect(SyncOptions.propagation([]) == .background)
}
