import FleetSync
import Testing

/// Every sync option is carried out or named — never silently ignored.
@Test(arguments: [
    (["CreateNamespace=true", "PruneLast=true", "ApplyOutOfSyncOnly=true", "ServerSideApply=true", "FailOnSharedResource=true"], [String]()),
    (["CreateNamespace=false", "PruneLast=false"], []),
    (["Replace=true"], ["Replace=true (not implemented)"]),
    (["ServerSideApply=false", "Validate=false"], ["ServerSideApply=false (every apply is server-side)", "Validate=false (not implemented)"]),
    (["PrunePropagationPolicy=orphan", "PrunePropagationPolicy=orphan"], ["PrunePropagationPolicy=orphan (not implemented)"]),
    (["Frobnicate=true", "CreateNamespace=true"], ["Frobnicate=true (not an option Flotilla knows)"]),
    (["FailOnSharedResource=false"], ["FailOnSharedResource=false (an object another Application owns is never applied)"]),
])
func syncOptionsAreCarriedOutOrNamed(options: [String], named: [String]) {
    #expect(SyncOptions.notCarriedOut(options) == named)
}
