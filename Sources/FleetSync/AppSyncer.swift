import FleetDiff
import FleetKube
import FleetManifests
import FleetModel
import Foundation

/// The outcome of reconciling one Application: what is in git, what runs, and what was done about it.
public struct ReconcileResult: Sendable {
    public struct Resource: Sendable, Equatable {
        public let ref: ObjectRef
        public let inSync: Bool
        public let health: Health
        /// What the sync did to it; `.none` when nothing was applied.
        public let action: ResourceAction
        public let message: String
        /// Unified diff live → desired (Secret values redacted), when asked for and out of sync.
        public var diff: String? = nil

        public init(ref: ObjectRef, inSync: Bool, health: Health, action: ResourceAction, message: String, diff: String? = nil) {
            self.ref = ref
            self.inSync = inSync
            self.health = health
            self.action = action
            self.message = message
            self.diff = diff
        }
    }

    public var revisions: [String] = []
    public var syncStatus: SyncStatus = .unknown
    public var health: Health = Health(.unknown)
    /// nil when no sync ran (manual policy, or already in sync).
    public var operation: OperationPhase?
    /// Why it did not sync, when it did not; `message` says it in words.
    public var failure: ReconcileFailure?
    public var message: String = ""
    public var resources: [Resource] = []
    /// The cluster could not be reached (connection refused, timeout, TLS): its other work should wait.
    public var clusterUnreachable = false
    /// Desired objects that another Application already manages on this cluster, with that Application.
    public var foreignOwners: [ObjectRef: String] = [:]
    /// Number of objects the Application's manifests define.
    public var desiredCount = 0
    /// Conditions to show besides the outcome (type, message): what the sync did not do as asked.
    public var warnings: [(type: ConditionType, message: String)] = []
    /// The hooks the sync ran, in order.
    public var hooks: [HookOutcome] = []
    /// Set when the comparison read every desired object from the cluster's cache, as this Application's, and
    /// nothing was applied: the same stamp later means the same comparison.
    public var liveStamp: LiveStamp?
    /// Rendered objects set aside by `AppSyncer.divert` (Argo CD's own kinds for the hub's control plane): not
    /// applied, compared or pruned here.
    public var diverted: [JSONValue] = []
    /// With `operation == .running`: where the sync stands, for the next reconcile to go on from.
    public var progress: SyncProgress?
    /// When the sync that ended here began (seconds since 1970): earlier than this reconcile for a sync that
    /// waited on its waves across reconciles.
    public var syncStartedAt: Double?

    public init() {}

    /// As stored in the Application's status (the hub adds when, where, placement and conditions).
    public var status: ApplicationStatus {
        ApplicationStatus(
            sync: .init(status: syncStatus, revisions: revisions),
            // Health assessed without applying anything is a fact about the revision compared; right after a
            // sync it is not one yet.
            health: .init(status: health.status, message: health.message,
                          revision: operation == nil && syncStatus == .synced ? revisions.joined(separator: ",") : nil),
            operationState: .init(phase: operation, message: message, progress: operation == .running ? progress : nil),
            resources: resources.map { r in
                .init(kind: r.ref.kind, group: r.ref.group, namespace: r.ref.namespace, name: r.ref.name, status: r.inSync ? .synced : .outOfSync,
                      health: r.health.status, action: r.action, message: r.message)
            },
            hooks: hooks.isEmpty ? nil : hooks.map { h in
                .init(kind: h.ref.kind, group: h.ref.group, namespace: h.ref.namespace, name: h.ref.name, phase: h.phase.rawValue, status: h.status.rawValue,
                      message: h.message, deleted: h.deleted)
            })
    }
}

/// The sync engine for one Application: render its sources at the resolved commit, diff them against the
/// cluster, apply wave by wave when the policy says so (`automated`, or a manual sync), prune, and assess health.
///
/// Waves follow `argocd.argoproj.io/sync-wave` (an integer, default 0), lowest first; inside a wave Namespaces
/// and CustomResourceDefinitions go first. Prune runs after every wave succeeded, when `prune: true` (automated)
/// or for a manual sync that asks for it. Honoured sync options: `CreateNamespace=true`,
/// `ApplyOutOfSyncOnly=true`, `PruneLast=true` (prune is always last here).
public struct AppSyncer: Sendable {
    public let client: KubeClient
    public let manifests: ManifestLoader
    public let concurrency: Int
    /// Polled while sources render (a preview whose client left, a hub that stops): the render stops.
    public var isCancelled: (@Sendable () -> Bool)?

    /// Seconds one wave (its resources healthy, its hooks finished) may take before the sync fails.
    public var waveTimeout: Double
    /// Seconds between looks at a wave that is waited on: when the caller should reconcile again.
    public var pollInterval: Double
    /// Seconds since 1970 (wave timeouts are measured with it); tests may pass their own.
    public var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    /// Health checks of the hub's configuration (Lua), asked before the built-in rules.
    public var healthChecks: (any HealthCheck)?
    /// Objects the caller takes itself (the hub's own kinds on its control plane): left out of the sync and
    /// returned in `ReconcileResult.diverted`.
    public var divert: (@Sendable (JSONValue) -> Bool)?
    /// Whether an object another Application owns may be taken over from it: true for a failed-over copy on this
    /// cluster when this Application is native here (the copy yields, and is then covered by this one). Nothing
    /// else is ever taken over.
    public var mayTakeOver: (@Sendable (_ owner: String) -> Bool)?

    public init(client: KubeClient, manifests: ManifestLoader, concurrency: Int = 16, waveTimeout: Double = 300, pollInterval: Double = 0.5) {
        self.client = client
        self.manifests = manifests
        self.concurrency = concurrency
        self.waveTimeout = waveTimeout
        self.pollInterval = pollInterval
    }

    public static let waveAnnotation = "argocd.argoproj.io/sync-wave"

    /// What a diff shows for an object that exists on the cluster but is not managed by this Application.
    public static func unmanagedNotice(_ ref: ObjectRef) -> String {
        "\(ref) exists on the cluster, not managed by this Application: its live content is not shown\n"
    }

    /// - Parameters:
    ///   - application: the Application object (Argo CD shape).
    ///   - force: a manual sync: apply even without `automated`.
    ///   - pinnedRevision: a rollback pin, used instead of each source's `targetRevision`.
    ///   - dryRun: compare only; nothing is applied or pruned (previews and `app diff`).
    ///   - includeDiff: fill each out-of-sync resource's `diff`.
    ///   - objectProblem: why an object of this group and kind, in this namespace (nil: cluster-scoped), may not
    ///     be applied (a project's resource rules, a namespace-scoped cluster); any refused object refuses the
    ///     whole sync, with its message.
    ///   - policyCheck: the policies' verdict on the rendered objects (hooks included): what `deny` refuses
    ///     refuses the whole sync before anything is applied (a dry run reports it as a warning and compares);
    ///     `warn` findings become warnings.
    ///   - holdBack: once the revisions are known, why this sync may not apply them now (a progressive rollout's
    ///     earlier steps are not done): then it only compares, and the reason is a warning of that condition
    ///     (`RolloutWaiting`, `SyncTerminated`).
    ///   - willApply: called once, with the revisions, just before the first change is applied (so that the
    ///     caller can record that a sync is running before the cluster changes).
    ///   - resume: the progress of a sync an earlier reconcile left Running: it goes on from its step, at its
    ///     revisions, whatever the rollout or a comparison say now (it was let start); nil starts afresh.
    public func reconcile(_ application: JSONValue, force: Bool = false, pinnedRevision: String? = nil,
                          dryRun: Bool = false, includeDiff: Bool = false,
                          objectProblem: ((_ group: String, _ kind: String, _ namespace: String?) -> String?)? = nil,
                          policyCheck: ((_ objects: [JSONValue]) -> PolicyVerdict)? = nil,
                          holdBack: ((_ revisions: [String]) -> (condition: ConditionType, reason: String)?)? = nil,
                          willApply: ((_ revisions: [String]) -> Void)? = nil, resume resumed: SyncProgress? = nil) -> ReconcileResult {
        var dryRun = dryRun
        var resume = dryRun ? nil : resumed
        // A running sync renders the revision it applies (one source: that commit).
        let pinnedRevision = resume.flatMap { $0.revisions.count == 1 ? $0.revisions.first : nil } ?? pinnedRevision
        var result = ReconcileResult()
        let name = application.value(at: ["metadata", "name"])?.stringValue ?? ""
        let spec = application["spec"] ?? .object([])
        let namespace = spec.value(at: ["destination", "namespace"])?.stringValue ?? "default"
        let automated = spec.value(at: ["syncPolicy", "automated"])
        let options = Set(spec.value(at: ["syncPolicy", "syncOptions"])?.arrayValue?.compactMap(\.stringValue) ?? [])
        let sources = spec["sources"]?.arrayValue ?? spec["source"].map { [$0] } ?? []
        let ignore = IgnoreDifference.parse(spec["ignoreDifferences"])
        let syncer = Syncer(client: client, application: name, concurrency: concurrency)

        // 1. Render every source at its commit.
        var desired: [(ObjectRef, JSONValue)] = []
        // Resource hooks (Argo CD's `argocd.argoproj.io/hook`, Helm's `helm.sh/hook` mapped as Argo CD maps it):
        // run in their phase by the sync, never compared, listed or pruned as the Application's resources.
        var hookObjects: [(HookSpec, JSONValue)] = []
        do {
            // A source Flotilla cannot render is a ComparisonError naming it, never an empty success.
            if sources.isEmpty { throw ManifestError("the Application has no source") }
            // What Argo CD passes to helm: the release name, namespace, cluster version and APIs, `$ref` sources.
            var context = RenderContext(applicationName: name, namespace: namespace, references: RenderContext.references(in: sources))
            context.isCancelled = isCancelled
            context.allowEmpty = automated?["allowEmpty"]?.boolValue ?? false
            let client = self.client
            context.capabilities = {
                let resources = (try? client.discover()) ?? []
                let apis = Set(resources.map { $0.group.isEmpty ? $0.version : "\($0.group)/\($0.version)" }
                    + resources.map { ($0.group.isEmpty ? $0.version : "\($0.group)/\($0.version)") + "/\($0.kind)" })
                return (client.serverVersion(), apis.sorted())
            }
            for source in sources {
                guard let rendered = try manifests.load(source: source, revision: pinnedRevision, context: context) else { continue }
                result.revisions.append(rendered.commit)
                for object in rendered.objects {
                    if let divert, divert(object) {
                        result.diverted.append(object)
                        continue
                    }
                    if let spec = HookSpec.parse(object) {
                        hookObjects.append((spec, object))
                        continue
                    }
                    if let (ref, prepared) = try? syncer.prepare(object, defaultNamespace: namespace) {
                        desired.append((ref, prepared))
                    } else {
                        // A kind the cluster does not serve yet (its CRD comes in this sync): it is located when
                        // applied; its status converges on the next reconcile.
                        let ref = ObjectRef(group: "", kind: object["kind"]?.stringValue ?? "", namespace: object.value(at: ["metadata", "namespace"])?.stringValue ?? namespace,
                                            name: object.value(at: ["metadata", "name"])?.stringValue ?? "")
                        desired.append((ref, object))
                    }
                }
            }
        } catch {
            result.syncStatus = .unknown
            result.operation = .failed
            result.failure = .comparisonError
            result.message = "ComparisonError: \(error)"
            return result
        }

        // Hook types no phase runs (Helm's test, pre-delete, …) are named, never silently dropped or applied.
        var notRun: [String] = []
        hookObjects.removeAll { spec, object in
            if spec.skip { return true }
            guard spec.phases.isEmpty else { return false }
            let name = object.value(at: ["metadata", "name"])?.stringValue ?? object.value(at: ["metadata", "generateName"])?.stringValue ?? "?"
            notRun.append("\(object["kind"]?.stringValue ?? "?") \(name) (\(spec.notRun.joined(separator: ",")))")
            return true
        }
        let optionList = spec.value(at: ["syncPolicy", "syncOptions"])?.arrayValue?.compactMap(\.stringValue) ?? []
        let unsupported = SyncOptions.notCarriedOut(optionList)
        if !unsupported.isEmpty {
            result.warnings.append((type: .syncOptionNotSupported, message: "syncOptions not carried out: " + unsupported.joined(separator: ", ")
                + "; the sync goes on without them"))
        }
        if spec.value(at: ["syncPolicy", "managedNamespaceMetadata"]) != nil {
            result.warnings.append((type: .syncOptionNotSupported, message: "syncPolicy.managedNamespaceMetadata is not carried out: "
                + "a namespace CreateNamespace makes has no labels or annotations from it"))
        }
        if !notRun.isEmpty {
            result.warnings.append((type: .syncHooksNotRun, message: "\(notRun.count) hook\(notRun.count == 1 ? " is" : "s are") of a type no sync phase runs "
                + "(Argo CD runs PreSync, Sync, PostSync and SyncFail; Helm's pre/post-install and pre/post-upgrade map to them): not applied: "
                + notRun.prefix(5).joined(separator: ", ") + (notRun.count > 5 ? " and \(notRun.count - 5) more" : "")))
        }

        if let objectProblem {
            var refused = desired.compactMap { ref, _ in objectProblem(ref.group, ref.kind, ref.namespace).map { "\(ref): \($0)" } }
            for (_, hook) in hookObjects {
                var probe = hook
                if probe.value(at: ["metadata", "name"]) == nil { probe.set(path: ["metadata", "name"], .string("hook")) }
                guard let (resource, ns, _) = try? client.locate(probe) else { continue }
                let hookNamespace = resource.namespaced ? (ns ?? namespace) : nil
                if let problem = objectProblem(resource.group, resource.kind, hookNamespace) {
                    refused.append("hook \(hook["kind"]?.stringValue ?? "") \(hook.value(at: ["metadata", "name"])?.stringValue ?? ""): \(problem)")
                }
            }
            if !refused.isEmpty {
                result.syncStatus = .outOfSync
                result.operation = .failed
                result.failure = .projectViolation
                result.message = "ProjectViolation: " + refused.joined(separator: "; ")
                return result
            }
        }

        // Sources that moved on (several sources, one of them at another commit): the running sync ends, and
        // a sync of what git holds now starts.
        if let running = resume, running.revisions != result.revisions { resume = nil }
        if !dryRun, resume == nil, let holdBack, let (condition, reason) = holdBack(result.revisions) {
            dryRun = true
            result.warnings.append((type: condition, message: reason + ": compared only, nothing applied"))
        }
        if let policyCheck {
            let verdict = policyCheck(desired.map(\.1) + hookObjects.map(\.1))
            if !verdict.warnings.isEmpty { result.warnings.append((type: .policyWarning, message: verdict.warnings)) }
            if let denied = verdict.denied {
                if dryRun {
                    result.warnings.append((type: .policyViolation, message: denied + ": a sync would be refused"))
                } else {
                    result.syncStatus = .outOfSync
                    result.operation = .failed
                    result.failure = .policyViolation
                    result.message = "PolicyViolation: " + denied
                    return result
                }
            }
        }

        // 2. Compare with what runs.
        let desiredKinds = Set(desired.map { KubeClient.kindKey(group: $0.0.group, kind: $0.0.kind) }).sorted()
        // Taken before the live state is read: any change after it makes a later stamp differ.
        let stampBefore = client.cache?.stamp(application: name, kinds: desiredKinds)
        let live: [ObjectRef: JSONValue]
        do { live = try syncer.inventory(including: Set(desiredKinds)) } catch {
            result.operation = .failed
            result.failure = .clusterUnreadable
            result.message = "cannot read the cluster: \(error)"
            if let kube = error as? KubeError, [.unreachable, .timeout, .tls].contains(kube.code) { result.clusterUnreachable = true }
            return result
        }
        let client = self.client
        // A desired object this Application does not hold: another Application's is in the cluster's cache (every
        // Flotilla object carries the managed-by label), so when a sync only needs to know whether the object
        // belongs to someone else, the cache answers. An object without the label (made by hand or another tool)
        // is not cached: it is read from the API server when the diff is shown or nothing is going to be applied
        // (its health is reported), else applied over as a new one.
        let cache = includeDiff || dryRun || (automated == nil && !force) ? nil : client.cache
        let current = ConcurrentRunner.map(desired, width: concurrency) { ref, object -> JSONValue? in
            if let owned = live[ref] { return owned }
            if let cache, let known = cache.object(ref) { return known }
            guard let (resource, ns, n) = try? client.locate(object) else { return nil }
            return try client.get(resource, namespace: ns, name: n)
        }
        var diffs: [ObjectRef: Bool] = [:]
        var texts: [ObjectRef: String] = [:]
        // Objects that another Application manages are never taken over: two owners would overwrite each
        // other on every sync. They are reported and left alone.
        var foreign: [ObjectRef: String] = [:]
        var yielding: [String: Bool] = [:]
        for ((ref, _), now) in zip(desired, current) where live[ref] == nil {
            if let object = (try? now.get()) ?? nil,
               let owner = object.value(at: ["metadata", "annotations", Syncer.appAnnotation])?.stringValue, owner != name {
                if yielding[owner] == nil { yielding[owner] = mayTakeOver?(owner) ?? false }
                if yielding[owner] == true { continue }
                foreign[ref] = owner
            }
        }
        let respectIgnored = options.contains("RespectIgnoreDifferences=true")
        var liveByRef: [ObjectRef: JSONValue] = [:]
        for ((ref, object), now) in zip(desired, current) {
            let liveObject = (try? now.get()) ?? nil
            if respectIgnored, let liveObject { liveByRef[ref] = liveObject }
            let d = Differ.compare(desired: object, live: liveObject, ignore: ignore)
            diffs[ref] = d.inSync
            guard includeDiff && !d.inSync else { continue }
            if live[ref] == nil && liveObject != nil {
                // An object this Application does not manage: its content is not the caller's to read (a diff
                // shows the live side, e.g. another team's ConfigMap with a password in it).
                texts[ref] = Self.unmanagedNotice(ref)
            } else {
                texts[ref] = d.unified(label: ref.description)
            }
        }
        result.foreignOwners = foreign
        result.desiredCount = desired.count
        let keep = Set(desired.map(\.0))
        let extra = live.keys.filter { !keep.contains($0) }
        let outOfSync = diffs.values.contains(false) || !extra.isEmpty

        // Automated sync never empties an Application (its sources rendering nothing, by a mistake in git) unless
        // `automated.allowEmpty` says it may, as Argo CD; a sync by hand does.
        if automated != nil && !force && resume == nil && !dryRun && desired.isEmpty && hookObjects.isEmpty && !live.isEmpty
            && !(automated?["allowEmpty"]?.boolValue ?? false) {
            dryRun = true
            result.warnings.append((type: .syncError, message: "automated sync would delete every resource (the sources render nothing): "
                + "not done without syncPolicy.automated.allowEmpty: true, as Argo CD; a sync by hand does it"))
        }

        // 3. Apply when allowed and needed — one step (a phase's wave) after another. A step that must become
        // healthy before the next is checked once: when it is not yet, the reconcile ends with the sync Running
        // and its `progress`; the next reconcile (`resume`) checks it again and goes on. No worker waits.
        var actions: [ObjectRef: (ResourceAction, String)] = [:]
        var applied: [ObjectRef: JSONValue] = [:]
        let force = force || (resume?.force ?? false)
        if (outOfSync && (automated != nil || force) && !dryRun) || resume != nil {
            if resume == nil { willApply?(result.revisions) }
            let now = clock()
            var progress = resume ?? SyncProgress(revisions: result.revisions, step: 0, stepStartedAt: now, force: force, startedAt: now)
            // The hooks the sync started in earlier reconciles, with the step each belongs to.
            var hookSteps: [HookStep] = []
            for record in progress.hooks {
                result.hooks.append(HookOutcome(record.hook))
                hookSteps.append(HookStep(step: record.step, failing: record.failing))
            }
            let onlyChanged = options.contains("ApplyOutOfSyncOnly=true")
            let (steps, onFail) = SyncPlan.steps(resources: desired, hooks: hookObjects)
            // With hooks or several waves, each wave waits for the previous one to be healthy (Argo CD's gating).
            let gated = !hookObjects.isEmpty || Set(steps.map { "\($0.phase)/\($0.wave)" }).count > 1
            let runner = HookRunner(client: client, application: name, namespace: namespace, healthChecks: healthChecks)
            var failed = progress.failing
            var waiting: String?
            func fail(_ message: String) {
                failed = true
                if progress.failure == nil { progress.failure = message }
            }
            // CreateNamespace=true creates the destination namespace first, so PreSync hooks can run in it.
            if resume == nil && !hookObjects.isEmpty && options.contains("CreateNamespace=true") {
                do { try client.ensureNamespace(namespace) } catch { fail("CreateNamespace: \(error)") }
            }
            if failed && !progress.failing { progress.failing = true; progress.step = 0; progress.hooksStarted = 0 }
            var seed = UInt64(UInt(bitPattern: name.hashValue)) ^ UInt64(now * 1000)
            stages: while waiting == nil {
                let list = progress.failing ? onFail : steps
                while waiting == nil && progress.step < list.count {
                    let i = progress.step, step = list[i], failing = progress.failing
                    let here = HookStep(step: i, failing: failing)
                    let label = "\(step.phase.rawValue) wave \(step.wave)"
                    // Applied by an earlier reconcile of this sync: only looked at again.
                    let resumed = resume.map { $0.step == i && $0.failing == failing } ?? false
                    let objects = failing ? [] : step.resources.filter { (!onlyChanged || diffs[$0.0] != true) && foreign[$0.0] == nil }
                    var waitOn: [(ObjectRef, APIResource?, Bool)] = []
                    if resumed {
                        waitOn += objects.map { ($0.0, nil, false) }
                    } else {
                        progress.stepStartedAt = clock()
                        progress.hooksStarted = 0
                        if !objects.isEmpty {
                            do {
                                // RespectIgnoreDifferences=true: ignored fields keep what runs.
                                let toApply = respectIgnored ? objects.map { Differ.keepingIgnored(desired: $0.1, live: liveByRef[$0.0], ignore: ignore) } : objects.map(\.1)
                                let r = try syncer.sync(toApply, defaultNamespace: namespace, createNamespace: options.contains("CreateNamespace=true"), live: live)
                                for ref in r.created { actions[ref] = (.created, "") }
                                for ref in r.configured { actions[ref] = (.configured, "") }
                                for ref in r.unchanged { actions[ref] = (.unchanged, "") }
                                for (ref, error) in r.failed { actions[ref] = (.failed, "\(error)"); fail("\(error)") }
                                applied.merge(r.applied) { _, new in new }
                                waitOn += r.applied.keys.sorted().map { ($0, nil, false) }
                            } catch {
                                fail("\(label): \(error)")
                            }
                            if failed { break }
                        }
                    }
                    // The step's hooks, from the first not started yet.
                    while progress.hooksStarted < step.hooks.count {
                        let hook = step.hooks[progress.hooksStarted]
                        seed = seed &* 6364136223846793005 &+ 1442695040888963407
                        do {
                            let (ref, _) = try runner.start(hook, spec: HookSpec.parse(hook)!, phase: step.phase, seed: seed)
                            result.hooks.append(HookOutcome(ref: ref, phase: step.phase, status: .running, message: ""))
                            hookSteps.append(here)
                            progress.hooksStarted += 1
                        } catch let notYet as HookRunner.PreviousNotGone {
                            if clock() - progress.stepStartedAt > waveTimeout {
                                progress.hooksStarted += 1
                                if !failing { fail("\(label): the previous object of hook \(notYet.ref) was not gone \(Int(waveTimeout)) s after its deletion (BeforeHookCreation)") }
                                if failing { continue }
                                break
                            }
                            waiting = "\(notYet.ref) (its previous object is being deleted: BeforeHookCreation)"
                            break
                        } catch {
                            let message = "\(step.phase.rawValue) hook \(hook["kind"]?.stringValue ?? "") \(hook.value(at: ["metadata", "name"])?.stringValue ?? hook.value(at: ["metadata", "generateName"])?.stringValue ?? ""): \(error)"
                            progress.hooksStarted += 1
                            // A SyncFail hook that cannot start is passed over: the sync has failed already.
                            if failing { continue }
                            fail(message)
                            break
                        }
                    }
                    if failed && !failing { break }
                    for (index, hook) in result.hooks.enumerated() where hookSteps[index] == here && hook.status == .running {
                        waitOn.append((hook.ref, nil, true))
                    }
                    if waiting == nil && (gated || failing) {
                        switch checkWave(label, waitOn, runner: runner, result: &result) {
                        case .done: break
                        case .failed(let message): if !failing { fail(message) }
                        case .pending(let what): waiting = what
                        }
                    }
                    if failed && !failing { break }
                    if let what = waiting {
                        guard clock() - progress.stepStartedAt > waveTimeout else { break }
                        // Past the wave timeout: the step failed (a SyncFail step is given up).
                        for index in result.hooks.indices where hookSteps[index] == here && result.hooks[index].status == .running {
                            result.hooks[index].message = "still running at the wave timeout"
                        }
                        waiting = nil
                        if !failing {
                            fail("\(label): not healthy within \(Int(waveTimeout)) s (waveTimeout): \(what)")
                            break
                        }
                    }
                    finishHooks(runner: runner, result: &result)
                    progress.step += 1
                    progress.hooksStarted = 0
                }
                // A failed sync runs its SyncFail hooks, once.
                if failed && !progress.failing && waiting == nil {
                    progress.failing = true
                    progress.step = 0
                    progress.hooksStarted = 0
                    continue stages
                }
                break
            }
            finishHooks(runner: runner, result: &result)
            if let what = waiting {
                // Not done: the sync goes on in the next reconcile, from where it stands.
                progress.hooks = zip(result.hooks, hookSteps).map { SyncProgress.StartedHook(step: $1.step, failing: $1.failing, hook: $0.record) }
                result.operation = .running
                result.progress = progress
                result.syncStartedAt = progress.startedAt
                let list = progress.failing ? onFail : steps
                let label = progress.step < list.count ? "\(list[progress.step].phase.rawValue) wave \(list[progress.step].wave)" : "the sync"
                result.message = (progress.failing ? "failed (\(progress.failure ?? "")); running SyncFail hooks: " : "") + "waiting for \(label): \(what)"
            } else {
                let prune = force || (automated?["prune"]?.boolValue ?? false)
                // Objects that say `Prune=false` are left where they are (and keep the Application OutOfSync).
                let prunable = extra.filter { !SyncOptions.of(object: live[$0]).contains("Prune=false") }
                for ref in extra where !prunable.contains(ref) {
                    actions[ref] = (.none, "not pruned: the object says Prune=false (\(SyncOptions.objectAnnotation))")
                }
                if !failed && prune && !prunable.isEmpty {
                    do {
                        let r = try syncer.prune(prunable, propagation: SyncOptions.propagation(options))
                        for ref in r.pruned { actions[ref] = (.pruned, "") }
                        for (ref, error) in r.failed { actions[ref] = (.failed, "\(error)"); fail("\(error)") }
                    } catch { fail("prune: \(error)") }
                }
                for (ref, owner) in foreign {
                    actions[ref] = (.failed, "\(ref) is managed by Application \(owner): not applied (an object has one owner)")
                    failed = true
                }
                result.operation = failed ? .failed : .succeeded
                if failed { result.failure = .syncError }
                if failed {
                    result.message = progress.failure ?? actions.values.first { $0.0 == .failed }?.1 ?? "sync failed"
                }
                result.syncStartedAt = progress.startedAt
            }
        }

        // 4. Status and health of each resource.
        var stillOut = false
        for ((ref, _), now) in zip(desired, current) {
            let liveObject = applied[ref] ?? ((try? now.get()) ?? nil)
            let inSync = foreign[ref] != nil ? false : applied[ref] != nil ? actions[ref]?.0 != .failed : diffs[ref] ?? false
            if !inSync { stillOut = true }
            let health = HealthRules.assess(liveObject, checks: healthChecks)
            let message = actions[ref]?.1 ?? foreign[ref].map { "managed by Application \($0)" } ?? ""
            result.resources.append(.init(ref: ref, inSync: inSync, health: health, action: actions[ref]?.0 ?? .none, message: message,
                                          diff: applied[ref] == nil ? texts[ref] : nil))
        }
        for ref in extra.sorted() {
            if actions[ref]?.0 == .pruned {
                result.resources.append(.init(ref: ref, inSync: true, health: Health(.missing, "pruned"), action: .pruned, message: ""))
                continue
            }
            stillOut = true
            result.resources.append(.init(ref: ref, inSync: false, health: HealthRules.assess(live[ref], checks: healthChecks),
                                          action: actions[ref]?.0 ?? .none, message: actions[ref]?.1 ?? "not in git: pruned when prune is enabled",
                                          diff: includeDiff ? Differ.compare(desired: nil, live: live[ref], ignore: ignore).unified(label: ref.description) : nil))
        }
        result.syncStatus = stillOut ? .outOfSync : .synced
        result.health = HealthRules.aggregate(result.resources.filter { $0.action != .pruned }.map(\.health))
        if let stampBefore, result.operation == nil, result.failure == nil, result.hooks.isEmpty, foreign.isEmpty,
           desired.allSatisfy({ live[$0.0] != nil }) {
            result.liveStamp = LiveStamp(kinds: desiredKinds, stamp: stampBefore)
        }
        return result
    }

    /// The step of the sync plan a hook belongs to.
    struct HookStep: Equatable {
        var step: Int
        var failing: Bool
    }

    enum WaveState {
        case done
        case pending(String)
        case failed(String)
    }

    /// One look at a wave (Argo CD's gating between waves): its resources healthy and its hooks finished, a
    /// hook failed or a resource Degraded, or still going (what it waits on). Never waits.
    func checkWave(_ label: String, _ objects: [(ObjectRef, APIResource?, Bool)], runner: HookRunner, result: inout ReconcileResult) -> WaveState {
        var pending: [ObjectRef] = []
        for (ref, known, isHook) in objects {
            guard let resource = known ?? (try? client.discover().first { $0.group == ref.group && $0.kind == ref.kind }) ?? nil else { continue }
            let health: Health?
            do { health = try isHook ? runner.hookHealth(resource, ref) : runner.health(resource, ref) } catch { pending.append(ref); continue }
            if isHook, let i = result.hooks.lastIndex(where: { $0.ref == ref && $0.status == .running }) {
                switch health?.status {
                case .healthy?: result.hooks[i].status = .succeeded; result.hooks[i].message = health?.message ?? ""
                case .degraded?:
                    result.hooks[i].status = .failed
                    result.hooks[i].message = health?.message ?? ""
                    return .failed("\(label): hook \(ref) failed: \(health?.message ?? "degraded")")
                case nil:
                    result.hooks[i].status = .failed
                    result.hooks[i].message = "deleted before it finished"
                    return .failed("\(label): hook \(ref) was deleted before it finished")
                default: pending.append(ref)
                }
                continue
            }
            switch health?.status {
            case .healthy?, .suspended?, nil: continue
            case .degraded?: return .failed("\(label): \(ref) is Degraded: \(health?.message ?? "")")
            default: pending.append(ref)
            }
        }
        return pending.isEmpty ? .done : .pending(pending.prefix(5).map(\.description).joined(separator: ", "))
    }

    /// Applies the delete policies of hooks that finished (HookSucceeded, HookFailed).
    func finishHooks(runner: HookRunner, result: inout ReconcileResult) {
        for i in result.hooks.indices where !result.hooks[i].deleted && result.hooks[i].status != .running {
            let hook = result.hooks[i]
            guard let resource = (try? client.discover().first { $0.group == hook.ref.group && $0.kind == hook.ref.kind }) ?? nil else { continue }
            guard let live = try? client.get(resource, namespace: hook.ref.namespace, name: hook.ref.name),
                  let spec = HookSpec.parse(live) else { continue }
            let policies = spec.effectiveDeletePolicies
            if (hook.status == .succeeded && policies.contains(.hookSucceeded)) || (hook.status == .failed && policies.contains(.hookFailed)) {
                if (try? runner.delete(resource, hook.ref)) != nil { result.hooks[i].deleted = true }
            }
        }
    }
}
