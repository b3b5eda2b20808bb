import FleetModel

/// A promotion across environments (docs/progressive.md): ordered stages over one ApplicationSet's Applications.
/// The first stage follows git; every later stage runs only the revision promoted to it, which must be the one the
/// stage before runs Synced and Healthy — for `healthyFor`, and with an approval when the stage requires one. Pure.
public struct Promotion: Sendable, Equatable {
    public struct Stage: Sendable, Equatable {
        public var name: String
        public var selector: LabelSelector
        /// How long the previous stage must have run the revision Synced and Healthy (seconds).
        public var healthyFor: Double
        public var approvalRequired: Bool
        /// Accounts (`alice`) or roles (`role:release-managers`) that may approve.
        public var approvers: [String]
        /// Promoted by the hub as soon as its gate opens (no `flotilla promote` needed).
        public var auto: Bool
        /// When promoting to it is allowed: a cron schedule (as a project's sync windows) and how long each opening lasts.
        public var window: Window?
    }

    public struct Window: Sendable, Equatable {
        public var schedule: String
        public var duration: Double

        public init(schedule: String, duration: Double) {
            self.schedule = schedule
            self.duration = duration
        }
    }

    public var name: String
    public var applicationSet: String
    public var stages: [Stage]
    public var file: String?

    /// A `kind: Promotion` document; problems name the field.
    public static func parse(_ doc: JSONValue, file: String?) throws -> Promotion {
        var problems: [FieldProblem] = []
        func problem(_ field: String, _ message: String) { problems.append(FieldProblem(field: field, message: message)) }
        if doc["kind"]?.stringValue != "Promotion" { problem("kind", "must be Promotion (apiVersion flotilla.io/v1)") }
        let name = doc.value(at: ["metadata", "name"])?.stringValue ?? ""
        if let p = KubernetesNames.dns1123SubdomainProblem(name) { problem("metadata.name", p) }
        let appSet = doc.value(at: ["spec", "applicationSet"])?.stringValue ?? ""
        if appSet.isEmpty { problem("spec.applicationSet", "names the ApplicationSet whose Applications are promoted") }
        var stages: [Stage] = []
        let written = doc.value(at: ["spec", "stages"])?.arrayValue ?? []
        if written.count < 2 { problem("spec.stages", "a promotion needs at least two stages") }
        for (i, s) in written.enumerated() {
            let field = "spec.stages[\(i)]"
            for (key, _) in s.objectValue ?? [] where !["name", "selector", "healthyFor", "approval", "approvers", "auto", "window"].contains(key) {
                problem("\(field).\(key)", "unknown field (known: name, selector, healthyFor, approval, approvers, auto, window)")
            }
            var window: Window?
            if let w = s["window"] {
                let schedule = w["schedule"]?.stringValue ?? ""
                if schedule.isEmpty { problem("\(field).window.schedule", "a cron schedule (0 9 * * 1-5)") }
                let duration = w["duration"]?.stringValue.flatMap(Self.duration)
                if duration == nil || duration == 0 { problem("\(field).window.duration", "a duration (8h)") }
                window = Window(schedule: schedule, duration: duration ?? 0)
            }
            let stageName = s["name"]?.stringValue ?? ""
            if let p = KubernetesNames.dns1123LabelProblem(stageName) { problem("\(field).name", p) }
            if stages.contains(where: { $0.name == stageName }) { problem("\(field).name", "stage \(stageName) is named twice") }
            var selector = LabelSelector.everything
            do { selector = try LabelSelector(json: s["selector"] ?? .object([]), field: "\(field).selector") } catch let e as InputError {
                problems += e.problems
            } catch {}
            if selector.isEmpty { problem("\(field).selector", "selects every Application: give matchLabels or matchExpressions") }
            var healthyFor = 0.0
            if let text = s["healthyFor"]?.stringValue {
                if let d = Self.duration(text) { healthyFor = d } else { problem("\(field).healthyFor", "'\(text)' is not a duration (30s, 10m, 2h)") }
            }
            var approval = false
            if let a = s["approval"]?.stringValue {
                switch a {
                case "required": approval = true
                case "none": approval = false
                default: problem("\(field).approval", "must be required or none")
                }
            }
            let approvers = s["approvers"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if approval && approvers.isEmpty { problem("\(field).approvers", "a stage that requires an approval names who may give it") }
            var auto = false
            if let a = s["auto"] { if let flag = a.boolValue { auto = flag } else { problem("\(field).auto", "must be true or false") } }
            if i == 0 && (approval || healthyFor > 0 || auto) { problem(field, "the first stage follows git: it has no gate") }
            if i == 0 && window != nil { problem("\(field).window", "the first stage follows git: it has no gate") }
            stages.append(Stage(name: stageName, selector: selector, healthyFor: healthyFor, approvalRequired: approval, approvers: approvers, auto: auto, window: window))
        }
        if !problems.isEmpty { throw InputError(problems.map { FieldProblem(field: "Promotion \(name.isEmpty ? "?" : name): \($0.field)", message: $0.message) }) }
        return Promotion(name: name, applicationSet: appSet, stages: stages, file: file)
    }

    static func duration(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Double(text.dropLast()), n >= 0 else { return nil }
        return n * unit
    }

    /// The stage an Application with these labels belongs to (the first that selects it).
    public func stage(of labels: [String: String]) -> Int? { stages.firstIndex { $0.selector.matches(labels) } }

    /// One Application as the gate sees it.
    public struct Member: Sendable, Equatable {
        public var name: String
        public var sync: SyncStatus
        public var health: HealthStatus
        /// The revision it runs (its last sync's).
        public var revision: String?
        /// When that sync finished (RFC 3339).
        public var since: String?

        public init(name: String, sync: SyncStatus, health: HealthStatus, revision: String?, since: String?) {
            self.name = name
            self.sync = sync
            self.health = health
            self.revision = revision
            self.since = since
        }
    }

    /// The revision a stage runs, when all its Applications run one revision Synced and Healthy, with the time the
    /// last of them got there; else why not.
    public static func proven(_ members: [Member]) -> (revision: String, since: String)? {
        guard let first = members.first?.revision, members.allSatisfy({ $0.revision == first && $0.sync == .synced && $0.health == .healthy }) else { return nil }
        return (first, members.compactMap(\.since).max() ?? "")
    }

    /// Why promoting stage `index` to the revision the stage before runs is refused now (nil: it may); `approved`
    /// tells whether an approval of that revision for that stage is recorded. `now` and `since` are RFC 3339.
    public func blocker(promoting index: Int, previous: [Member], approved: (String) -> Bool, now: Double, since: (String) -> Double?,
                        windowOpen: (Window) -> Bool = { _ in true }) -> String? {
        guard index > 0, index < stages.count else { return "stage \(index + 1) cannot be promoted to: the first stage follows git" }
        let before = stages[index - 1], stage = stages[index]
        if previous.isEmpty { return "stage \(before.name) has no Application" }
        guard let (revision, at) = Self.proven(previous) else {
            let bad = previous.filter { !($0.sync == .synced && $0.health == .healthy) }.map(\.name)
            return bad.isEmpty ? "stage \(before.name) does not run one revision everywhere" : "stage \(before.name) is not Synced and Healthy: \(bad.prefix(3).joined(separator: ", "))"
        }
        if stage.healthyFor > 0, let t = since(at), now - t < stage.healthyFor {
            return "stage \(before.name) has run \(revision.prefix(12)) healthy for \(Int(now - t)) s of the \(Int(stage.healthyFor)) s required"
        }
        if let window = stage.window, !windowOpen(window) {
            return "the promotion window of \(stage.name) ('\(window.schedule)' for \(Int(window.duration)) s) is closed"
        }
        if stage.approvalRequired && !approved(revision) {
            return "promoting \(revision.prefix(12)) to \(stage.name) needs an approval by \(stage.approvers.joined(separator: ", ")) (flotilla approve \(name) --stage \(stage.name))"
        }
        return nil
    }
}
