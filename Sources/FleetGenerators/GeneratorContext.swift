import FleetModel
import FleetTemplate
import Foundation

/// Everything a generator may read: the registry and git, through ports. Generators do no other I/O.
public final class GeneratorContext: @unchecked Sendable {
    public let clusters: [Cluster]
    public let git: (any GitSource)?
    public let goTemplate: Bool
    public let templateOptions: GoTemplate.Options
    /// Include directories whose name starts with `.` (Argo CD's `--include-hidden-directories`).
    public let includeHiddenDirectories: Bool
    /// Bounds on every template render of the run, with its deadline and cancellation.
    public let templateLimits: TemplateLimits
    /// Most parameter sets (so Applications) one ApplicationSet may generate.
    public let maxApplications: Int
    /// The hub's own control plane, a valid destination though no cluster is registered there (app-of-apps).
    public let controlPlane: ControlPlane?
    public static let defaultMaxApplications = 10_000

    // Per-run memo of revision resolution: one resolve per repository and revision per run.
    // `lock` guards `resolved`.
    private let lock = NSLock()
    private var resolved: [String: String] = [:]

    public init(clusters: [Cluster], git: (any GitSource)?, goTemplate: Bool = false,
                templateOptions: GoTemplate.Options = [], includeHiddenDirectories: Bool = false,
                templateLimits: TemplateLimits = .default, maxApplications: Int = GeneratorContext.defaultMaxApplications,
                controlPlane: ControlPlane? = nil) {
        self.controlPlane = controlPlane
        self.templateLimits = templateLimits
        self.maxApplications = maxApplications
        self.clusters = clusters.sorted { $0.name < $1.name }
        self.git = git
        self.goTemplate = goTemplate
        self.templateOptions = templateOptions
        self.includeHiddenDirectories = includeHiddenDirectories
    }

    func with(goTemplate: Bool, options: GoTemplate.Options) -> GeneratorContext {
        GeneratorContext(clusters: clusters, git: git, goTemplate: goTemplate, templateOptions: options,
                         includeHiddenDirectories: includeHiddenDirectories, templateLimits: templateLimits, maxApplications: maxApplications,
                         controlPlane: controlPlane)
    }

    /// Throws when the run's deadline passed or it was cancelled.
    func checkpoint(field: String) throws {
        do { try templateLimits.checkpoint() } catch let e as TemplateError { throw GenerationError(e, field: field) }
    }

    /// Throws when `count` parameter sets exceed `maxApplications`.
    func checkCount(_ count: Int, field: String) throws {
        if count > maxApplications {
            throw GenerationError(.limit, field: field,
                                  "generates \(count) parameter sets, over the limit of \(maxApplications) Applications per ApplicationSet (generation.maxApplications)")
        }
    }

    func resolve(repoURL: String, revision: String, field: String) throws -> String {
        let key = repoURL + "\u{0}" + revision
        if let hit = lock.withLock({ resolved[key] }) { return hit }
        guard let git else { throw GenerationError(.git, field: field, "git is not available to this generation run") }
        do {
            let commit = try git.resolve(repoURL: repoURL, revision: revision)
            lock.withLock { resolved[key] = commit }
            return commit
        } catch {
            throw GenerationError(.git, field: field, "\(error)")
        }
    }

    /// Renders one string with `params` in the run's template mode (used for values and matrix interpolation).
    func render(_ text: String, params: Params, field: String) throws -> String {
        guard text.contains("{{") else { return text }
        do {
            if goTemplate {
                return try GoTemplate(text, name: field, options: templateOptions, maxDepth: templateLimits.maxDepth)
                    .render(.object(params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }), limits: templateLimits)
            }
            return try FastTemplate(text).render { params[$0]?.stringValue }
        } catch let error as TemplateError {
            throw GenerationError(error, field: field)
        }
    }
}
