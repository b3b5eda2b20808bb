import FleetAPI
import FleetModel
import FleetPolicy
import Foundation

/// The compliance report over the Applications' last policy verdicts, and its daily snapshots (`ComplianceSnapshot`
/// events on the subject `compliance/fleet`, one a day, by the replica that generates).
extension Hub {
    static let complianceSubject = "compliance/fleet"

    public func complianceReport(selector: LabelSelector = .everything, by label: String = "team", staleDays: Int = 30) throws -> ComplianceReport {
        var rows: [ComplianceReport.Row] = []
        for app in try store.applications() {
            var labels: [String: String] = [:]
            for (k, v) in app.object.value(at: ["metadata", "labels"])?.objectValue ?? [] { labels[k] = v.stringValue }
            guard selector.matches(labels) else { continue }
            let status = ApplicationStatus(app.status)
            let history = try store.history(app.name).filter { $0.result == "Succeeded" }
            let revision = status.sync?.revisions.first
            let since = history.filter { $0.revision.split(separator: ",").first.map(String.init) == revision }.map(\.finishedAt).min()
            rows.append(ComplianceReport.Row(application: app.name, cluster: app.activeCluster ?? app.cluster ?? "(none)", group: labels[label] ?? "(none)",
                                             sync: (status.sync?.status ?? .unknown).rawValue, health: (status.health?.status ?? .unknown).rawValue, policy: status.policy,
                                             lastSuccess: history.map(\.finishedAt).max(), revisionSince: since))
        }
        let points = try store.events(cluster: nil, application: Self.complianceSubject, after: 0, limit: 400)
            .filter { $0.kind == .complianceSnapshot }.compactMap { ComplianceReport.Point(message: $0.message) }
        return ComplianceReport.build(rows, groupedBy: label, staleDays: staleDays, now: context.now().timeIntervalSince1970, history: points,
                                      generatedAt: HubContext.timestamp(context.now()))
    }

    /// Records today's fleet-wide compliance, once a day.
    public func recordComplianceSnapshot() {
        guard !context.policies.isEmpty, context.shard.holdsGeneration else { return }
        do {
            let today = String(Timestamp.rfc3339(context.now()).prefix(10))
            let recorded = try store.events(cluster: nil, application: Self.complianceSubject, after: 0, limit: 5)
                .contains { $0.kind == .complianceSnapshot && $0.message.hasPrefix(today) }
            if recorded { return }
            let total = try complianceReport().total
            let point = ComplianceReport.Point(date: today, compliance: total.compliance, checked: total.checked)
            try store.appendEvent(HubEvent(.complianceSnapshot, application: Self.complianceSubject, message: point.message))
        } catch {
            logger.warning("compliance snapshot: \(error)")
        }
    }
}

extension HubAPI {
    func compliance(_ r: APIRequest) throws -> APIResponse {
        let selector = try r.query["selector"].map { text -> LabelSelector in
            do { return try LabelSelector(parsing: text) } catch { throw HubError(.badRequest, "selector: \(error)") }
        } ?? .everything
        var staleDays = 30
        if let text = r.query["staleDays"] {
            guard let n = Int(text), n >= 0 else { throw HubError(.badRequest, "staleDays must be a non-negative integer, not '\(text)'") }
            staleDays = n
        }
        let by = r.query["by"] ?? "team"
        if let problem = KubernetesNames.qualifiedNameProblem(by) { throw HubError(.badRequest, "by: \(problem)") }
        return .json(try hub.complianceReport(selector: selector, by: by, staleDays: staleDays))
    }
}
