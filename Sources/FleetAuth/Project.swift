import FleetModel
import Foundation

/// An Argo CD AppProject: which repositories an Application may read, where it may deploy, which kinds it
/// may create, and when it may sync. Read unchanged from Argo CD YAML (`kind: AppProject`).
///
/// Rules, as Argo CD applies them:
/// - `sourceRepos`: globs of repository URLs; `*` allows any. Empty allows none.
/// - `destinations`: `{server, name, namespace}` globs; an Application must match one (server *or* name, and
///   namespace). Empty allows none.
/// - `clusterResourceWhitelist`: `{group, kind}` of cluster-scoped kinds allowed (empty: none).
///   `clusterResourceBlacklist`: cluster-scoped kinds refused.
/// - `namespaceResourceWhitelist` (when given, only these) and `namespaceResourceBlacklist` for namespaced kinds.
/// - `syncWindows`: `{kind: allow|deny, schedule: cron, duration, applications, namespaces, clusters, manualSync}`.
///   A deny window that is active blocks syncs; when allow windows apply to the Application, a sync needs one
///   of them active. `manualSync: true` lets a manual sync through a window that blocks.
public struct Project: Sendable, Equatable {
    public struct GroupKind: Sendable, Equatable {
        public var group: String
        public var kind: String
        func matches(group g: String, kind k: String) -> Bool { RBACPolicy.glob(group, matches: g) && RBACPolicy.glob(kind, matches: k) }
    }

    public struct Destination: Sendable, Equatable {
        public var server: String?
        public var name: String?
        public var namespace: String
    }

    public struct SyncWindow: Sendable, Equatable {
        public var allow: Bool
        public var schedule: CronSchedule
        public var scheduleText: String
        public var duration: Double
        public var applications: [String]
        public var namespaces: [String]
        public var clusters: [String]
        public var manualSync: Bool

        func applies(application: String, namespace: String, cluster: String) -> Bool {
            if applications.isEmpty && namespaces.isEmpty && clusters.isEmpty { return false }
            return applications.contains { RBACPolicy.glob($0, matches: application) } || namespaces.contains { RBACPolicy.glob($0, matches: namespace) }
                || clusters.contains { RBACPolicy.glob($0, matches: cluster) }
        }

        func isActive(at date: Date) -> Bool { schedule.activeWindow(containing: date, duration: duration) }
    }

    public var name: String
    public var sourceRepos: [String]
    public var destinations: [Destination]
    public var clusterResourceWhitelist: [GroupKind]
    public var clusterResourceBlacklist: [GroupKind]
    public var namespaceResourceWhitelist: [GroupKind]?
    public var namespaceResourceBlacklist: [GroupKind]
    public var syncWindows: [SyncWindow]

    /// Argo CD's `default` project when none is defined: everything allowed.
    public static func permissive(_ name: String = "default") -> Project {
        Project(name: name, sourceRepos: ["*"], destinations: [Destination(server: "*", name: nil, namespace: "*")],
                clusterResourceWhitelist: [GroupKind(group: "*", kind: "*")], clusterResourceBlacklist: [],
                namespaceResourceWhitelist: nil, namespaceResourceBlacklist: [], syncWindows: [])
    }

    /// Reads an AppProject object. Problems name the field.
    public init(object: JSONValue, file: String = "") throws {
        var problems: [FieldProblem] = []
        let at = file.isEmpty ? "" : "\(file): "
        name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        if object["kind"]?.stringValue != "AppProject" { problems.append(.init(field: "\(at)kind", message: "expected AppProject")) }
        if let p = KubernetesNames.dns1123LabelProblem(name) { problems.append(.init(field: "\(at)metadata.name", message: p)) }
        // Verifying commit signatures is a promise a project makes: one the hub cannot keep is refused, not ignored.
        if !(object.value(at: ["spec", "signatureKeys"])?.arrayValue?.isEmpty ?? true) {
            problems.append(.init(field: "\(at)spec.signatureKeys", message: "GnuPG commit signature verification is not supported: a project that requires it is refused"))
        }
        let spec = object["spec"] ?? .object([])
        sourceRepos = spec["sourceRepos"]?.arrayValue?.compactMap(\.stringValue) ?? []
        destinations = (spec["destinations"]?.arrayValue ?? []).map {
            Destination(server: $0["server"]?.stringValue, name: $0["name"]?.stringValue, namespace: $0["namespace"]?.stringValue ?? "*")
        }
        func kinds(_ key: String) -> [GroupKind] {
            (spec[key]?.arrayValue ?? []).map { GroupKind(group: $0["group"]?.stringValue ?? "", kind: $0["kind"]?.stringValue ?? "*") }
        }
        clusterResourceWhitelist = kinds("clusterResourceWhitelist")
        clusterResourceBlacklist = kinds("clusterResourceBlacklist")
        namespaceResourceWhitelist = spec["namespaceResourceWhitelist"] == nil ? nil : kinds("namespaceResourceWhitelist")
        namespaceResourceBlacklist = kinds("namespaceResourceBlacklist")
        var windows: [SyncWindow] = []
        for (i, w) in (spec["syncWindows"]?.arrayValue ?? []).enumerated() {
            let field = "\(at)spec.syncWindows[\(i)]"
            let kind = w["kind"]?.stringValue ?? ""
            if kind != "allow" && kind != "deny" { problems.append(.init(field: "\(field).kind", message: "'\(kind)' is not allow or deny")) }
            let scheduleText = w["schedule"]?.stringValue ?? ""
            guard let schedule = try? CronSchedule(scheduleText) else {
                problems.append(.init(field: "\(field).schedule", message: "'\(scheduleText)' is not a cron schedule (minute hour day month weekday)")); continue
            }
            let durationText = w["duration"]?.stringValue ?? ""
            guard let duration = Self.duration(durationText), duration > 0 else {
                problems.append(.init(field: "\(field).duration", message: "'\(durationText)' is not a duration (e.g. 1h, 30m)")); continue
            }
            func list(_ k: String) -> [String] { w[k]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            windows.append(SyncWindow(allow: kind == "allow", schedule: schedule, scheduleText: scheduleText, duration: duration,
                                      applications: list("applications"), namespaces: list("namespaces"), clusters: list("clusters"),
                                      manualSync: w["manualSync"]?.boolValue ?? false))
        }
        syncWindows = windows
        if !problems.isEmpty { throw InputError(problems) }
    }

    init(name: String, sourceRepos: [String], destinations: [Destination], clusterResourceWhitelist: [GroupKind], clusterResourceBlacklist: [GroupKind],
         namespaceResourceWhitelist: [GroupKind]?, namespaceResourceBlacklist: [GroupKind], syncWindows: [SyncWindow]) {
        self.name = name
        self.sourceRepos = sourceRepos
        self.destinations = destinations
        self.clusterResourceWhitelist = clusterResourceWhitelist
        self.clusterResourceBlacklist = clusterResourceBlacklist
        self.namespaceResourceWhitelist = namespaceResourceWhitelist
        self.namespaceResourceBlacklist = namespaceResourceBlacklist
        self.syncWindows = syncWindows
    }

    static func duration(_ text: String) -> Double? {
        for (suffix, scale) in [("h", 3600.0), ("m", 60.0), ("s", 1.0)] where text.hasSuffix(suffix) {
            if let n = Double(text.dropLast()), n >= 0 { return n * scale }
        }
        return nil
    }

    // MARK: Rules

    /// Why the repository is refused, or nil.
    public func sourceProblem(_ repoURL: String) -> String? {
        sourceRepos.contains { RBACPolicy.glob($0, matches: repoURL) } ? nil
            : "project \(name) does not allow source repository \(repoURL) (sourceRepos)"
    }

    /// Why the destination is refused, or nil.
    public func destinationProblem(server: String, name cluster: String, namespace: String) -> String? {
        let ok = destinations.contains { d in
            let target = (d.server.map { RBACPolicy.glob($0, matches: server) } ?? false) || (d.name.map { RBACPolicy.glob($0, matches: cluster) } ?? false)
            return target && RBACPolicy.glob(d.namespace, matches: namespace)
        }
        return ok ? nil : "project \(name) does not allow destination \(cluster) (\(server)) namespace \(namespace) (destinations)"
    }

    /// Why an object of this kind is refused, or nil.
    public func resourceProblem(group: String, kind: String, namespaced: Bool) -> String? {
        let gk = group.isEmpty ? kind : "\(kind).\(group)"
        if namespaced {
            if let white = namespaceResourceWhitelist, !white.contains(where: { $0.matches(group: group, kind: kind) }) {
                return "project \(name) does not allow namespaced kind \(gk) (namespaceResourceWhitelist)"
            }
            if namespaceResourceBlacklist.contains(where: { $0.matches(group: group, kind: kind) }) {
                return "project \(name) forbids kind \(gk) (namespaceResourceBlacklist)"
            }
        } else {
            if !clusterResourceWhitelist.contains(where: { $0.matches(group: group, kind: kind) }) {
                return "project \(name) does not allow cluster-scoped kind \(gk) (clusterResourceWhitelist)"
            }
            if clusterResourceBlacklist.contains(where: { $0.matches(group: group, kind: kind) }) {
                return "project \(name) forbids cluster-scoped kind \(gk) (clusterResourceBlacklist)"
            }
        }
        return nil
    }

    /// Why a sync is not allowed now, or nil.
    public func syncWindowProblem(application: String, namespace: String, cluster: String, manual: Bool, at date: Date = Date()) -> String? {
        let relevant = syncWindows.filter { $0.applies(application: application, namespace: namespace, cluster: cluster) }
        if relevant.isEmpty { return nil }
        if let deny = relevant.first(where: { !$0.allow && $0.isActive(at: date) }) {
            if manual && deny.manualSync { return nil }
            return "project \(name): deny sync window '\(deny.scheduleText)' is active"
        }
        let allows = relevant.filter(\.allow)
        if !allows.isEmpty && !allows.contains(where: { $0.isActive(at: date) }) {
            if manual && allows.contains(where: \.manualSync) { return nil }
            return "project \(name): no allow sync window is active (\(allows.map(\.scheduleText).joined(separator: "; ")))"
        }
        return nil
    }
}

/// A five-field cron schedule (minute hour day-of-month month day-of-week), UTC, with `*`, lists, ranges and
/// steps (`*/15`, `1-5`, `0,30`).
public struct CronSchedule: Sendable, Equatable {
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let anyDay: Bool, anyWeekday: Bool

    public init(_ text: String) throws {
        let fields = text.split(separator: " ").map(String.init)
        struct Bad: Error {}
        guard fields.count == 5 else { throw Bad() }
        func parse(_ f: String, _ range: ClosedRange<Int>) throws -> Set<Int> {
            var out = Set<Int>()
            for part in f.split(separator: ",") {
                let stepParts = part.split(separator: "/")
                let step = stepParts.count == 2 ? Int(stepParts[1]) ?? 0 : 1
                guard step > 0, stepParts.count <= 2 else { throw Bad() }
                var lo = range.lowerBound, hi = range.upperBound
                if stepParts[0] != "*" {
                    let bounds = stepParts[0].split(separator: "-").map { Int($0) }
                    guard let a = bounds.first ?? nil, bounds.count <= 2 else { throw Bad() }
                    lo = a
                    hi = bounds.count == 2 ? (bounds[1] ?? -1) : (stepParts.count == 2 ? range.upperBound : a)
                }
                guard range.contains(lo), range.contains(hi), lo <= hi else { throw Bad() }
                out.formUnion(stride(from: lo, through: hi, by: step))
            }
            return out
        }
        minutes = try parse(fields[0], 0...59)
        hours = try parse(fields[1], 0...23)
        days = try parse(fields[2], 1...31)
        months = try parse(fields[3], 1...12)
        weekdays = Set(try parse(fields[4], 0...7).map { $0 % 7 })
        anyDay = fields[2] == "*"
        anyWeekday = fields[4] == "*"
    }

    /// Whether the schedule fires at this minute (UTC).
    public func fires(at date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
        guard minutes.contains(c.minute!), hours.contains(c.hour!), months.contains(c.month!) else { return false }
        let dayOK = days.contains(c.day!), weekdayOK = weekdays.contains(c.weekday! - 1)
        // Cron: when both day fields are restricted, either matches.
        if anyDay && anyWeekday { return true }
        if anyDay { return weekdayOK }
        if anyWeekday { return dayOK }
        return dayOK || weekdayOK
    }

    /// Whether a window of `duration` seconds that starts when the schedule fires contains `date`.
    public func activeWindow(containing date: Date, duration: Double) -> Bool {
        let start = floor(date.timeIntervalSince1970 / 60) * 60
        var t = start
        while start - t < duration {
            if fires(at: Date(timeIntervalSince1970: t)) { return true }
            t -= 60
            if start - t > 8 * 86400 { break }
        }
        return false
    }
}
