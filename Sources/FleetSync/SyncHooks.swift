import FleetKube
import FleetModel

/// A phase of a sync operation, as Argo CD runs them.
public enum SyncPhase: String, Sendable, CaseIterable, Comparable {
    case preSync = "PreSync"
    case sync = "Sync"
    case postSync = "PostSync"
    /// Runs only when an earlier phase failed.
    case syncFail = "SyncFail"

    public static func < (a: SyncPhase, b: SyncPhase) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// When a hook object is deleted (`argocd.argoproj.io/hook-delete-policy`, `helm.sh/hook-delete-policy`).
public enum HookDeletePolicy: String, Sendable {
    case hookSucceeded = "HookSucceeded"
    case hookFailed = "HookFailed"
    case beforeHookCreation = "BeforeHookCreation"
}

/// What an object's annotations say about it as a hook.
public struct HookSpec: Sendable, Equatable {
    /// The phases it runs in; empty with `notRun` set for hook types Flotilla does not run.
    public var phases: Set<SyncPhase>
    public var deletePolicies: Set<HookDeletePolicy>
    /// `Skip`: never applied.
    public var skip: Bool
    /// Hook types named that no phase runs (Helm's `test`, `pre-delete`, `post-rollback`, Argo CD's `PreDelete`…).
    public var notRun: [String]
    /// The wave inside its phase: `argocd.argoproj.io/sync-wave`, or `helm.sh/hook-weight` for Helm hooks.
    public var wave: Int

    public static let argoHook = "argocd.argoproj.io/hook"
    public static let argoDeletePolicy = "argocd.argoproj.io/hook-delete-policy"
    public static let helmHook = "helm.sh/hook"
    public static let helmDeletePolicy = "helm.sh/hook-delete-policy"
    public static let helmWeight = "helm.sh/hook-weight"

    /// The hook an object's annotations declare, or nil when it is an ordinary resource. Argo CD's annotation
    /// wins over Helm's; Helm types map as Argo CD maps them (pre-install/pre-upgrade → PreSync,
    /// post-install/post-upgrade → PostSync, crd-install → an ordinary resource).
    public static func parse(_ object: JSONValue) -> HookSpec? {
        let annotations = object.value(at: ["metadata", "annotations"])
        func list(_ key: String) -> [String]? {
            annotations?[key]?.stringValue.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        let wave = Int(annotations?[AppSyncer.waveAnnotation]?.stringValue?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        if let types = list(argoHook) {
            var spec = HookSpec(phases: [], deletePolicies: [], skip: false, notRun: [], wave: wave)
            for t in types {
                switch t {
                case "Skip": spec.skip = true
                default:
                    if let phase = SyncPhase(rawValue: t) { spec.phases.insert(phase) } else { spec.notRun.append(t) }
                }
            }
            spec.deletePolicies = Set((list(argoDeletePolicy) ?? list(helmDeletePolicy)?.compactMap(helmPolicy) ?? []).compactMap(HookDeletePolicy.init(rawValue:)))
            return spec
        }
        guard let types = list(helmHook) else { return nil }
        var spec = HookSpec(phases: [], deletePolicies: [], skip: false, notRun: [],
                            wave: Int(annotations?[helmWeight]?.stringValue?.trimmingCharacters(in: .whitespaces) ?? "") ?? wave)
        for t in types {
            switch t {
            case "pre-install", "pre-upgrade": spec.phases.insert(.preSync)
            case "post-install", "post-upgrade": spec.phases.insert(.postSync)
            case "crd-install": return nil
            default: spec.notRun.append(t)
            }
        }
        spec.deletePolicies = Set((list(helmDeletePolicy) ?? []).compactMap(helmPolicy).compactMap(HookDeletePolicy.init(rawValue:)))
        return spec
    }

    static func helmPolicy(_ p: String) -> String? {
        switch p {
        case "before-hook-creation": return "BeforeHookCreation"
        case "hook-succeeded": return "HookSucceeded"
        case "hook-failed": return "HookFailed"
        default: return p
        }
    }

    /// Argo CD deletes a hook before creating it again when no policy is given.
    public var effectiveDeletePolicies: Set<HookDeletePolicy> { deletePolicies.isEmpty ? [.beforeHookCreation] : deletePolicies }
}

/// One step of a sync: the resources and hooks of one wave of one phase, applied together, then waited on.
public struct SyncStep: Sendable {
    public var phase: SyncPhase
    public var wave: Int
    public var resources: [(ObjectRef, JSONValue)]
    public var hooks: [JSONValue]
}

/// Orders a sync as Argo CD does: PreSync hooks, then resources and Sync hooks, then PostSync hooks, each
/// phase wave by wave (lowest first). SyncFail hooks are returned apart, for a failed sync.
public enum SyncPlan {
    public static func steps(resources: [(ObjectRef, JSONValue)], hooks: [(HookSpec, JSONValue)]) -> (steps: [SyncStep], onFail: [SyncStep]) {
        var buckets: [SyncPhase: [Int: SyncStep]] = [:]
        func step(_ phase: SyncPhase, _ wave: Int) -> SyncStep { buckets[phase]?[wave] ?? SyncStep(phase: phase, wave: wave, resources: [], hooks: []) }
        for (ref, object) in resources {
            let wave = Int(object.value(at: ["metadata", "annotations", AppSyncer.waveAnnotation])?.stringValue?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
            var s = step(.sync, wave)
            s.resources.append((ref, object))
            buckets[.sync, default: [:]][wave] = s
        }
        for (spec, object) in hooks where !spec.skip {
            for phase in spec.phases {
                var s = step(phase, spec.wave)
                s.hooks.append(object)
                buckets[phase, default: [:]][spec.wave] = s
            }
        }
        func ordered(_ phase: SyncPhase) -> [SyncStep] { (buckets[phase] ?? [:]).keys.sorted().map { buckets[phase]![$0]! } }
        return ([SyncPhase.preSync, .sync, .postSync].flatMap(ordered), ordered(.syncFail))
    }

    /// A name for a hook that has only `generateName` (the API server would pick one; server-side apply needs it).
    public static func generatedName(_ prefix: String, seed: UInt64) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var x = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
        var suffix = ""
        for _ in 0..<5 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            suffix.append(alphabet[Int(x % UInt64(alphabet.count))])
        }
        return prefix + suffix
    }
}
