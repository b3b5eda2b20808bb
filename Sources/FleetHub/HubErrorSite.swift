import Logging
import ServiceLifecycle

/// Where an error the hub went on past happened: the label of `flotilla_hub_errors_total`.
public enum HubErrorSite: String, Sendable, CaseIterable {
    /// Reading Applications, ApplicationSets, placements, history or events from the store.
    case storeRead = "store_read"
    /// Writing a status, placement, prune record or event to the store.
    case storeWrite = "store_write"
    /// Reading the cluster registry.
    case registryRead = "registry_read"
    /// Fetching or reading a git repository.
    case git
    /// A file of the hub's own (its data directory, its configuration's files).
    case file
}

extension HubContext {
    /// Runs `body`; an error is logged (warning) with `metadata` and the error, counted in
    /// `flotilla_hub_errors_total{site}`, and nil is returned: for work whose failure the caller can go on past —
    /// each caller says what it does instead (a later round retries, a default holds) — but never silently.
    func attempt<T>(_ site: HubErrorSite, _ what: @autoclosure () -> String, metadata: Logger.Metadata = [:],
                    _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch {
            metrics.observeError(site)
            var metadata = metadata
            metadata["error"] = "\(error)"
            metadata["site"] = "\(site.rawValue)"
            logger.warning("cannot \(what())", metadata: metadata)
            return nil
        }
    }
}

/// Waits for the service group's graceful shutdown. A cancelled wait is the same signal (the group cancels its
/// services when it stops), so it ends the wait too.
func untilShutdown() async {
    do { try await gracefulShutdown() } catch { return }
}
