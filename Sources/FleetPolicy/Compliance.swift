import FleetModel

/// The compliance report (docs/policy.md): per cluster and per group (a label, `team` by default), how many objects
/// pass the policies, each policy's violations, drift, the last successful sync, and the Applications that have
/// run their revision for longer than `staleDays`. Pure: the hub gives it one row per Application.
public struct ComplianceReport: Codable, Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var application: String
        public var cluster: String
        /// The value of the grouping label (`(none)` without it).
        public var group: String
        public var sync: String
        public var health: String
        public var policy: ApplicationStatus.PolicyResult?
        /// When its last successful sync finished (RFC 3339).
        public var lastSuccess: String?
        /// Since when it runs its current revision (its first successful sync of it), RFC 3339.
        public var revisionSince: String?

        public init(application: String, cluster: String, group: String, sync: String, health: String, policy: ApplicationStatus.PolicyResult?,
                    lastSuccess: String?, revisionSince: String?) {
            self.application = application
            self.cluster = cluster
            self.group = group
            self.sync = sync
            self.health = health
            self.policy = policy
            self.lastSuccess = lastSuccess
            self.revisionSince = revisionSince
        }
    }

    public struct PolicyCount: Codable, Sendable, Equatable {
        public var policy: String
        public var checked: Int
        public var violating: Int
    }

    public struct Group: Codable, Sendable, Equatable {
        public var name: String
        public var applications: Int
        public var checked: Int
        public var passing: Int
        /// Percentage of checked objects that pass every policy (100 when none was checked).
        public var compliance: Double
        public var policies: [PolicyCount]
        public var outOfSync: Int
        public var lastSuccessfulSync: String?
        public var stale: Int
    }

    public struct Finding: Codable, Sendable, Equatable {
        public var application: String
        public var finding: String
    }

    public struct StaleApplication: Codable, Sendable, Equatable {
        public var application: String
        public var since: String
        public var days: Int
    }

    /// One day's fleet-wide compliance (the hub keeps one a day).
    public struct Point: Codable, Sendable, Equatable {
        public var date: String
        public var compliance: Double
        public var checked: Int

        public init(date: String, compliance: Double, checked: Int) {
            self.date = date
            self.compliance = compliance
            self.checked = checked
        }

        /// The event message a snapshot is recorded as: `2026-12-02 97.5% of 120 objects pass`.
        public var message: String { "\(date) \(Self.percent(compliance))% of \(checked) objects pass" }

        public init?(message: String) {
            let parts = message.split(separator: " ")
            guard parts.count >= 4, parts[0].count == 10, parts[1].hasSuffix("%"), let c = Double(parts[1].dropLast()), let n = Int(parts[3]) else { return nil }
            self.init(date: String(parts[0]), compliance: c, checked: n)
        }

        static func percent(_ v: Double) -> String { String((v * 10).rounded() / 10) }
    }

    public var generatedAt: String
    public var groupedBy: String
    public var staleDays: Int
    public var total: Group
    public var clusters: [Group]
    public var groups: [Group]
    public var violations: [Finding]
    public var staleApplications: [StaleApplication]
    public var history: [Point]

    public static func build(_ rows: [Row], groupedBy: String, staleDays: Int, now: Double, history: [Point], generatedAt: String) -> ComplianceReport {
        func stale(_ r: Row) -> StaleApplication? {
            guard let since = r.revisionSince, let t = Timestamp.seconds(since) else { return nil }
            let days = Int((now - t) / 86400)
            return days > staleDays ? StaleApplication(application: r.application, since: since, days: days) : nil
        }
        func group(_ name: String, _ members: [Row]) -> Group {
            let checked = members.reduce(0) { $0 + ($1.policy?.checked ?? 0) }
            let passing = checked - members.reduce(0) { $0 + ($1.policy?.failing ?? 0) }
            var perPolicy: [String: (checked: Int, violating: Int)] = [:]
            for m in members {
                for c in m.policy?.violating ?? [] {
                    perPolicy[c.policy, default: (0, 0)].checked += m.policy?.checked ?? 0
                    perPolicy[c.policy, default: (0, 0)].violating += c.objects
                }
            }
            return Group(name: name, applications: members.count, checked: checked, passing: passing,
                         compliance: checked == 0 ? 100 : Double(passing) * 100 / Double(checked),
                         policies: perPolicy.keys.sorted().map { PolicyCount(policy: $0, checked: perPolicy[$0]!.checked, violating: perPolicy[$0]!.violating) },
                         outOfSync: members.filter { $0.sync != "Synced" }.count, lastSuccessfulSync: members.compactMap(\.lastSuccess).max(),
                         stale: members.filter { stale($0) != nil }.count)
        }
        let byCluster = Dictionary(grouping: rows, by: \.cluster), byGroup = Dictionary(grouping: rows, by: \.group)
        return ComplianceReport(
            generatedAt: generatedAt, groupedBy: groupedBy, staleDays: staleDays, total: group("fleet", rows),
            clusters: byCluster.keys.sorted().map { group($0, byCluster[$0]!) }, groups: byGroup.keys.sorted().map { group($0, byGroup[$0]!) },
            violations: rows.sorted { $0.application < $1.application }.flatMap { r in (r.policy?.findings ?? []).map { Finding(application: r.application, finding: $0) } },
            staleApplications: rows.compactMap(stale).sorted { ($0.days, $0.application) > ($1.days, $1.application) },
            history: history.sorted { $0.date < $1.date })
    }
}
