import FleetModel
import FleetStore
import Foundation

/// Writes placement changes: compare-and-set in one transaction with the event and the prunes the change makes
/// due, and, when the Application moves, a status that says where it goes until its first reconcile there.
struct PlacementWriter: Sendable {
    enum Outcome: Sendable {
        case written
        /// Another path changed the placement since the decision: nothing was written.
        case conflict(fresh: StoredApplication?)
        /// The Application was deleted meanwhile.
        case gone
        /// The store failed (logged).
        case failed
    }

    let context: HubContext

    func write(_ app: StoredApplication, to placement: Placement?, prune: [String], event: HubEvent) -> Outcome {
        let store = context.store
        do {
            switch try store.setPlacement(app.name, expected: app.placement, to: placement, prune: prune, event: event) {
            case .written: break
            case .gone: return .gone
            case .conflict: return .conflict(fresh: try store.application(named: app.name))
            }
        } catch {
            context.logger.error("cannot change the placement of \(app.name): \(error)")
            return .failed
        }
        let target: String? = placement == nil ? app.cluster : placement!.active
        if target != app.activeCluster {
            // The status described the cluster it left: until the first reconcile where it runs now, say so.
            var status = ApplicationStatus(app.status)
            status.sync = .init(status: .unknown)
            status.health = .init(status: target == nil ? .missing : .progressing, message: target.map { "placed on \($0); syncing there" } ?? "Unplaced")
            status.cluster = target
            status.placement = placement
            // The placement itself is written; this status only describes it until the next reconcile rewrites it.
            do { try store.setStatus(app.name, status.json) } catch {
                context.logger.error("cannot write the status of a moved Application; its next reconcile writes it", metadata: ["application": "\(app.name)", "error": "\(error)"])
            }
            context.metrics.record(app: app.name, status: status)
        }
        return .written
    }

}
