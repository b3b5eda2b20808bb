/// Where a running sync stands between two reconciles: the revisions it applies, the step of its plan (a phase
/// and wave of `SyncPlan`) it waits on and since when, how many of that step's hooks it started, the hooks it
/// ran, and — once it failed — that it runs the SyncFail hooks. A sync applies a step, and when the step must
/// become healthy first, the reconcile ends here ("Running"); the next one checks the step once and goes on.
public struct SyncProgress: Codable, Sendable, Equatable {
    /// The commit of each source the sync applies (a later commit does not change a running sync's objects).
    public var revisions: [String]
    /// The index of the step waited on: in the plan's steps, or in its SyncFail steps when `failing`.
    public var step: Int
    /// Seconds since 1970 when that step was applied (its wave timeout counts from here).
    public var stepStartedAt: Double
    /// Hooks of that step started so far (a hook whose previous object is still being deleted starts later).
    public var hooksStarted: Int
    /// A manual sync (applies without `automated`, prunes when asked).
    public var force: Bool
    /// The sync failed and its SyncFail hooks run; `failure` says why it failed.
    public var failing: Bool
    public var failure: String?
    /// Every hook the sync started, with the step it belongs to.
    public var hooks: [StartedHook]
    /// When the sync began (seconds since 1970), for its history entry.
    public var startedAt: Double

    public struct StartedHook: Codable, Sendable, Equatable {
        public var step: Int
        /// Started in the SyncFail steps.
        public var failing: Bool
        public var hook: ApplicationStatus.Hook
        public init(step: Int, failing: Bool, hook: ApplicationStatus.Hook) {
            self.step = step
            self.failing = failing
            self.hook = hook
        }
    }

    public init(revisions: [String], step: Int, stepStartedAt: Double, hooksStarted: Int = 0, force: Bool = false, failing: Bool = false,
                failure: String? = nil, hooks: [StartedHook] = [], startedAt: Double) {
        self.revisions = revisions
        self.step = step
        self.stepStartedAt = stepStartedAt
        self.hooksStarted = hooksStarted
        self.force = force
        self.failing = failing
        self.failure = failure
        self.hooks = hooks
        self.startedAt = startedAt
    }
}
