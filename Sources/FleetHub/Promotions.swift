import FleetAuth
import FleetAPI
import FleetModel
import FleetReconcile
import Foundation

/// Promotions across environments (docs/progressive.md): the first stage follows git; a later stage runs the
/// revision promoted to it (its Applications are pinned to it), once the stage before runs that revision Synced
/// and Healthy for long enough, and approved when the stage requires it. Approvals are events
/// (`PromotionApproved`, on the subject `promotion/NAME/STAGE`): audited, and kept by every store.
extension Hub {
    func promotion(named name: String) throws -> Promotion {
        guard let p = context.promotions.first(where: { $0.name == name }) else { throw HubError(.notFound, "promotion '\(name)' not found") }
        return p
    }

    static func approvalSubject(_ p: Promotion, _ stage: Promotion.Stage) -> String { "promotion/\(p.name)/\(stage.name)" }

    /// The Applications of each stage, as the gate sees them.
    func promotionMembers(_ p: Promotion) throws -> [[(Promotion.Member, pinned: String?)]] {
        let rows = try context.board.read(store) { board, _ in board.rows.filter { $0.appSet == p.applicationSet } }
        var stages = Array(repeating: [(Promotion.Member, pinned: String?)](), count: p.stages.count)
        for e in rows {
            guard let i = p.stage(of: e.labels) else { continue }
            let app = try store.application(named: e.name)
            let last = try store.history(e.name).max { $0.id < $1.id }
            // Healthy counts only when assessed after the sync that brought the revision (never a health left
            // over from the revision before).
            let health: HealthStatus = e.health == .healthy && !(app.map { ApplicationReconciler.isDone($0.status) } ?? false) ? .progressing : e.health
            stages[i].append((Promotion.Member(name: e.name, sync: e.sync, health: health, revision: e.revision, since: last?.finishedAt), app?.pinnedRevision))
        }
        return stages
    }

    func isApproved(_ p: Promotion, stage: Promotion.Stage, revision: String) throws -> Bool {
        try store.events(cluster: nil, application: Self.approvalSubject(p, stage), after: 0, limit: 1000)
            .contains { $0.kind == .promotionApproved && $0.payload(PromotionApproval.self)?.revision == revision }
    }

    func promotionBlocker(_ p: Promotion, stage index: Int, members: [[(Promotion.Member, pinned: String?)]]) throws -> String? {
        let now = context.now().timeIntervalSince1970
        return p.blocker(promoting: index, previous: members[index - 1].map(\.0), approved: { [self] revision in
            // Unreadable approvals count as none: the gate stays closed.
            context.attempt(.storeRead, "read the approvals of \(p.name)", metadata: ["promotion": "\(p.name)"]) {
                try isApproved(p, stage: p.stages[index], revision: revision)
            } ?? false
        }, now: now, since: { Timestamp.seconds($0) }, windowOpen: { [context] window in
            // try? is right here: schedules were validated at start; a window that cannot be read is closed.
            ((try? CronSchedule(window.schedule))?.activeWindow(containing: context.now(), duration: window.duration)) ?? false
        })
    }

    /// Pins every Application of `stage` to the revision the stage before runs, after checking its gate.
    public func promote(_ name: String, to stageName: String, by caller: Caller?) throws -> (revision: String, applications: [String]) {
        let p = try promotion(named: name)
        guard let index = p.stages.firstIndex(where: { $0.name == stageName }) else { throw HubError(.notFound, "promotion \(name) has no stage \(stageName)") }
        guard index > 0 else { throw HubError(.badRequest, "stage \(stageName) is the first: it follows git, nothing is promoted to it") }
        let members = try promotionMembers(p)
        // Promoting syncs the stage's Applications: the caller must be allowed to sync each of them (by their
        // project), not the whole fleet.
        if let caller {
            for member in members[index] { try authorize(caller, "sync", "applications", rbacObject(application: member.0.name)) }
        }
        if let blocker = try promotionBlocker(p, stage: index, members: members) { throw HubError(.conflict, "cannot promote to \(stageName): \(blocker)") }
        guard let (revision, _) = Promotion.proven(members[index - 1].map(\.0)) else { throw HubError(.conflict, "stage \(p.stages[index - 1].name) runs no single revision") }
        let targets = members[index].map(\.0.name)
        for app in targets {
            try store.pin(app, revision: revision)
            try sync(app, by: caller?.account ?? "promotion")
        }
        try store.appendEvent(HubEvent(.promoted, application: Self.approvalSubject(p, p.stages[index]),
                                       message: "\(caller?.account ?? "the hub") promoted \(revision) to stage \(stageName) of \(name): \(targets.count) Applications"))
        return (revision, targets)
    }

    /// Records `caller`'s approval of promoting the revision the previous stage runs to `stage`.
    public func approve(_ name: String, stage stageName: String, by caller: Caller) throws -> String {
        let p = try promotion(named: name)
        guard let index = p.stages.firstIndex(where: { $0.name == stageName }), index > 0 else {
            throw HubError(.notFound, "promotion \(name) has no stage \(stageName) to approve")
        }
        let stage = p.stages[index]
        guard stage.approvalRequired else { throw HubError(.badRequest, "stage \(stageName) of \(name) needs no approval") }
        let roles = Set(policy.roles(of: caller.account, extra: [caller.role]))
        guard stage.approvers.contains(where: { $0 == caller.account || roles.contains($0) }) else {
            throw HubError(.forbidden, "\(caller.account) may not approve stage \(stageName) of \(name) (approvers: \(stage.approvers.joined(separator: ", ")))")
        }
        guard let (revision, _) = Promotion.proven(try promotionMembers(p)[index - 1].map(\.0)) else {
            throw HubError(.conflict, "stage \(p.stages[index - 1].name) runs no single revision Synced and Healthy: nothing to approve yet")
        }
        try store.appendEvent(HubEvent(.promotionApproved, application: Self.approvalSubject(p, stage),
                                       message: "approved \(revision) by \(caller.account) (token \(caller.tokenID)) for stage \(stageName) of \(name)",
                                       payload: PromotionApproval(revision: revision, by: caller.account)))
        return revision
    }

    /// Promotes every `auto` stage whose gate is open and that does not run the revision the stage before proves
    /// (run every few seconds by the replica that generates).
    public func autoPromote() {
        guard context.shard.holdsGeneration else { return }
        for p in context.promotions where p.stages.contains(where: \.auto) {
            // Automatic promotion waits for the next tick.
            guard let members = context.attempt(.storeRead, "read the members of promotion \(p.name)", metadata: ["promotion": "\(p.name)"],
                                                { try promotionMembers(p) }) else { continue }
            for (i, stage) in p.stages.enumerated() where i > 0 && stage.auto {
                guard let (revision, _) = Promotion.proven(members[i - 1].map(\.0)), members[i].contains(where: { $0.pinned != revision }) else { continue }
                do {
                    guard try promotionBlocker(p, stage: i, members: members) == nil else { continue }
                    _ = try promote(p.name, to: stage.name, by: nil)
                } catch {
                    logger.warning("automatic promotion of \(p.name) to \(stage.name): \(error)")
                }
            }
        }
    }

    public func promotionStatus(_ name: String) throws -> PromotionInfo {
        let p = try promotion(named: name)
        let members = try promotionMembers(p)
        let stages = try p.stages.enumerated().map { i, stage -> PromotionInfo.Stage in
            let proven = Promotion.proven(members[i].map(\.0))
            let revisions = Set(members[i].compactMap(\.0.revision))
            return PromotionInfo.Stage(name: stage.name, applications: members[i].map(\.0.name),
                                       revision: proven?.revision ?? (revisions.count == 1 ? revisions.first : nil), healthy: proven != nil,
                                       since: proven?.since, pinned: Set(members[i].compactMap(\.pinned)).sorted(),
                                       gate: i == 0 ? "follows git" : [stage.healthyFor > 0 ? "healthy for \(Int(stage.healthyFor)) s" : nil,
                                                                        stage.approvalRequired ? "approval by \(stage.approvers.joined(separator: ", "))" : nil,
                                                                        stage.window.map { "window '\($0.schedule)' for \(Int($0.duration)) s" },
                                                                        stage.auto ? "automatic" : "flotilla promote"]
                                           .compactMap { $0 }.joined(separator: ", "),
                                       blockedBy: i == 0 ? nil : try promotionBlocker(p, stage: i, members: members))
        }
        return PromotionInfo(name: p.name, applicationSet: p.applicationSet, stages: stages)
    }
}

extension ApplicationReconciler {
    /// Why `app` may not apply now because its promotion stage runs promoted revisions only (nil: it may).
    func promotionWait(_ app: StoredApplication) -> String? {
        guard app.pinnedRevision == nil, let p = context.promotions.first(where: { $0.applicationSet == app.appSet }) else { return nil }
        let labels = Dictionary((app.object.value(at: ["metadata", "labels"])?.objectValue ?? []).map { ($0.0, $0.1.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
        guard let i = p.stage(of: labels), i > 0 else { return nil }
        return "stage \(p.stages[i].name) of promotion \(p.name) runs promoted revisions only: `flotilla promote \(p.name) --to \(p.stages[i].name)`"
    }
}

extension HubAPI {
    func promotionCall(_ c: RouteCall, action: String?) throws -> APIResponse {
        let p = try hub.promotion(named: c.name)
        if let caller = c.caller { try hub.authorize(caller, "get", "applicationsets", p.applicationSet) }
        guard let action else { return .json(try hub.promotionStatus(c.name)) }
        guard let body = try jsonBody(c.request), let stage = body["stage"]?.stringValue else { throw HubError(.badRequest, "body must be {\"stage\": NAME}") }
        switch action {
        case "promote":
            let (revision, apps) = try hub.promote(c.name, to: stage, by: c.caller)
            return .json(.object([("promotion", .string(c.name)), ("stage", .string(stage)), ("revision", .string(revision)),
                                  ("applications", .array(apps.map(JSONValue.string)))]), status: 202)
        default:
            guard let caller = c.caller else { throw HubError(.unauthorized, "an approval needs an authenticated caller") }
            let revision = try hub.approve(c.name, stage: stage, by: caller)
            return .json(.object([("promotion", .string(c.name)), ("stage", .string(stage)), ("approved", .string(revision)), ("by", .string(caller.account))]))
        }
    }
}
