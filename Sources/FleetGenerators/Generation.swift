import FleetConfig
import FleetModel
import FleetTemplate

/// An Application of an ApplicationSet that is skipped, as Argo CD skips it (bad name, duplicate name,
/// destination not registered): the others are still created.
public struct ApplicationProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        case invalidName
        case duplicateName
        case invalidDestination
        /// The name belongs to an Application of another ApplicationSet.
        case ownedElsewhere
        /// A setting of the ApplicationSet the hub does not carry out (named, never silently ignored); the
        /// Applications are generated.
        case unsupportedSetting
        /// The Application names an AppProject the hub does not have (Argo CD skips it at generation).
        case unknownProject
    }

    public let reason: Reason
    /// The Application's name as rendered (may be empty or invalid).
    public let application: String
    public let message: String
    public var description: String { message }

    public init(reason: Reason, application: String, message: String) {
        self.reason = reason
        self.application = application
        self.message = message
    }
}

/// What generating an ApplicationSet produced: how many valid Applications were emitted and the problems of
/// the ones skipped.
public struct GenerationResult: Sendable {
    public var count: Int = 0
    public var problems: [ApplicationProblem] = []

    /// Names of skipped Applications: an existing Application by one of these names is left as it is.
    public var skippedNames: Set<String> { Set(problems.map(\.application).filter { !$0.isEmpty }) }

    /// The problems as one message, for a CLI or a condition.
    public var summary: String {
        let shown = problems.prefix(10).map(\.message).joined(separator: "\n  - ")
        let more = problems.count > 10 ? "\n  (and \(problems.count - 10) more)" : ""
        return problems.count == 1 ? problems[0].message : "\(problems.count) problems:\n  - \(shown)\(more)"
    }
}

/// Turns an ApplicationSet into Applications: runs the generators in order, renders the (generator-merged)
/// template for each parameter set, applies `templatePatch`, and checks the results.
///
/// ```swift
/// let apps = try Generation.applications(for: appSet, context: GeneratorContext(clusters: registry.clusters, git: git))
/// ```
/// A generator or template error fails the whole ApplicationSet: nothing is returned for it. An Application
/// that fails a check (its name is not a valid Kubernetes name, another one has the same name, its
/// destination is not a registered cluster) is skipped and reported, as Argo CD skips it — with every other
/// Application of its name, as Argo CD keys the problems by name —; the rest are emitted.
public enum Generation {
    /// Generates every Application; throws on the first generator or template error, and on any skipped
    /// Application (strict: for callers that want all or nothing).
    public static func applications(for appSet: ApplicationSet, context: GeneratorContext, checkDestinations: Bool = true,
                                    executor: ParallelExecutor = .serial) throws -> [Application] {
        let (apps, result) = try outcome(for: appSet, context: context, checkDestinations: checkDestinations, executor: executor)
        if !result.problems.isEmpty {
            let code: GenerationError.Code = result.problems.first!.reason == .duplicateName ? .duplicateName : .invalidApplication
            throw GenerationError(code, field: "", result.summary, appSet: appSet.name)
        }
        return apps
    }

    /// The valid Applications and the problems of the skipped ones.
    public static func outcome(for appSet: ApplicationSet, context: GeneratorContext, checkDestinations: Bool = true,
                               executor: ParallelExecutor = .serial) throws -> ([Application], GenerationResult) {
        var apps: [Application] = []
        let result = try generate(appSet, context: context, checkDestinations: checkDestinations, executor: executor) { apps.append($0) }
        return (apps, result)
    }

    /// Gives the valid Applications to `emit` in generation order, once every name is known; returns their count and the problems
    /// of the skipped ones.
    @discardableResult
    public static func generate(_ appSet: ApplicationSet, context base: GeneratorContext, checkDestinations: Bool = true,
                                executor: ParallelExecutor = .serial, emit: (Application) throws -> Void) throws -> GenerationResult {
        do {
            return try run(appSet, context: base, checkDestinations: checkDestinations, executor: executor, emit: emit)
        } catch var error as GenerationError {
            error.appSet = appSet.name
            throw error
        }
    }

    private static func run(_ appSet: ApplicationSet, context base: GeneratorContext, checkDestinations: Bool,
                            executor: ParallelExecutor, emit: (Application) throws -> Void) throws -> GenerationResult {
        let options: GoTemplate.Options
        do { options = try GoTemplate.Options(goTemplateOptions: appSet.goTemplateOptions) } catch {
            throw GenerationError(.invalidSpec, field: "spec.goTemplateOptions", "\(error)")
        }
        let go = appSet.goTemplate
        let context = base.with(goTemplate: go, options: options)
        let patch = try appSet.templatePatch.map { try CompiledString.compile($0, goTemplate: go, options: options, field: "spec.templatePatch") }
        var servers = Set(context.clusters.map(\.server)), clusterNames = Set(context.clusters.map(\.name))
        if let plane = context.controlPlane {
            servers.insert(Cluster.normalizeServer(plane.server))
            clusterNames.insert(plane.name)
        }

        var seen: [String: Origin] = [:]
        seen.reserveCapacity(1024)
        var result = GenerationResult()
        var generated = 0
        // Argo CD keys its validation errors by the Application's name: a name with a problem (a duplicate
        // above all) skips every Application of that name, the first one too. So the valid ones are emitted once
        // every name is known.
        var passed: [Application] = []
        var refused: Set<String> = []
        func accept(_ rendered: [Application]) {
            for application in rendered {
                let name = application.name
                if name.isEmpty {
                    result.problems.append(.init(reason: .invalidName, application: name,
                                                 message: "generated an Application with an empty name (params from \(application.origin))"))
                    continue
                }
                if let p = KubernetesNames.dns1123SubdomainProblem(name) {
                    result.problems.append(.init(reason: .invalidName, application: name,
                                                 message: "generated Application name '\(name)' is not a valid Kubernetes name: \(p) (params from \(application.origin))"))
                    refused.insert(name)
                    continue
                }
                if let namespace = application.object.value(at: ["spec", "destination", "namespace"])?.stringValue, !namespace.isEmpty,
                   let p = KubernetesNames.dns1123LabelProblem(namespace) {
                    result.problems.append(.init(reason: .invalidDestination, application: name,
                                                 message: "application destination spec for \(name) is invalid: namespace '\(namespace)' is not a valid namespace name: \(p) (params from \(application.origin))"))
                    refused.insert(name)
                    continue
                }
                if let first = seen[name] {
                    result.problems.append(.init(reason: .duplicateName, application: name,
                                                 message: "contains applications with duplicate name: \(name) (from \(first) and from \(application.origin)); every Application of that name is skipped"))
                    refused.insert(name)
                    continue
                }
                seen[name] = application.origin
                if checkDestinations, let p = destinationProblem(application, servers: servers, names: clusterNames) {
                    result.problems.append(.init(reason: .invalidDestination, application: name, message: p))
                    refused.insert(name)
                    continue
                }
                passed.append(application)
            }
        }
        func finish() throws -> GenerationResult {
            for application in passed where refused.isEmpty || !refused.contains(application.name) {
                result.count += 1
                try emit(application)
            }
            return result
        }
        if appSet.standalone {
            // Written by a person: taken as it is (no template), in Argo CD's shape, without its status.
            var object = appSet.object
            object.remove("status")
            object.remove("operation")
            let origin = Origin.item(generator: "application", detail: appSet.file ?? "api")
            accept([Application(object: shape(object, namespace: appSet.namespace, addFinalizer: false), origin: origin)])
            return try finish()
        }
        for (i, entry) in appSet.generators.enumerated() {
            let field = "spec.generators[\(i)]"
            let sets = try GeneratorRegistry.run(entry: entry, field: field, depth: 0, context: context)
            if sets.isEmpty { continue }
            try context.checkCount(generated + sets.count, field: field)
            generated += sets.count
            let template = mergedTemplate(generatorTemplate(entry), appSet.template)
            let compiled = try CompiledValue.compile(template, goTemplate: go, options: options, field: "spec.template")
            let hasFinalizers = !(template.value(at: ["metadata", "finalizers"])?.arrayValue?.isEmpty ?? true)
            seen.reserveCapacity(seen.count + sets.count)
            // Rendering is independent per parameter set: the executor may spread it over cores.
            // Checks and emission then run in generation order.
            let rendered = try renderAll(sets, executor: executor) { set in
                var app: JSONValue
                do {
                    try context.checkpoint(field: field)
                    app = try render(set, compiled: compiled, patch: patch, goTemplate: go, limits: context.templateLimits)
                } catch let e as GenerationError {
                    throw GenerationError(e.code, field: e.field, "\(e.message) (params from \(set.origin))", appSet: e.appSet)
                }
                let addFinalizer = !set.isEmpty && !hasFinalizers && !appSet.preserveResourcesOnDeletion
                return Application(object: shape(app, namespace: appSet.namespace, addFinalizer: addFinalizer), origin: set.origin)
            }
            accept(rendered)
        }
        return try finish()
    }

    /// Maps `sets` through `body` in chunks on the executor; results keep their order, and the error of the
    /// earliest failing set is thrown.
    static func renderAll(_ sets: [ParamSet], executor: ParallelExecutor, _ body: @escaping @Sendable (ParamSet) throws -> Application) throws -> [Application] {
        let count = sets.count
        let chunkSize = max(256, count / (executor.width * 8) + 1)
        let chunks = (count + chunkSize - 1) / chunkSize
        if executor.width <= 1 || chunks <= 1 { return try sets.map(body) }
        let results = IndexedSlots<Application>(count: count)
        executor.run(chunks) { chunk in
            let start = chunk * chunkSize, end = min(count, start + chunkSize)
            for i in start..<end {
                do { results.store(i, .success(try body(sets[i]))) } catch {
                    results.store(i, .failure(error))
                    return
                }
            }
        }
        var out: [Application] = []
        out.reserveCapacity(count)
        for slot in results.results() {
            switch slot {
            case .success(let app)?: out.append(app)
            case .failure(let error)?: throw error
            case nil: continue  // after a failure earlier in the same chunk
            }
        }
        return out
    }

    static func destinationProblem(_ app: Application, servers: Set<String>, names: Set<String>) -> String? {
        let server = app.destinationServer ?? "", name = app.destinationName ?? ""
        if server.isEmpty && name.isEmpty {
            return "application destination spec for \(app.name) is invalid: set spec.destination.server or spec.destination.name"
        }
        if !server.isEmpty && !name.isEmpty {
            return "application destination spec for \(app.name) is invalid: application destination can't have both name and server defined: \(name) \(server)"
        }
        if !server.isEmpty && !servers.contains(Cluster.normalizeServer(server)) {
            return "application destination spec for \(app.name) is invalid: server '\(server)' is not a registered cluster"
        }
        if !name.isEmpty && !names.contains(name) {
            return "application destination spec for \(app.name) is invalid: cluster '\(name)' is not registered"
        }
        return nil
    }

    private static func render(_ set: ParamSet, compiled: CompiledValue, patch: CompiledString?, goTemplate: Bool,
                               limits: TemplateLimits) throws -> JSONValue {
        let params = RenderParams(set, goTemplate: goTemplate, limits: limits)
        // Argo CD quirk kept: an empty parameter map skips rendering.
        var app = set.isEmpty ? (try CompiledValue.constantValue(compiled)) : try compiled.render(params)
        if let patch {
            let text = try patch.render(params, field: "spec.templatePatch")
            let value: JSONValue
            do { value = try YAMLValue.parse(text, file: nil) } catch {
                throw GenerationError(.template, field: "spec.templatePatch", "rendered patch is not valid YAML: \(error)")
            }
            if !value.isNull {
                guard value.objectValue != nil else { throw GenerationError(.template, field: "spec.templatePatch", "rendered patch must be a mapping") }
                let project = app.value(at: ["spec", "project"])
                app = app.merging(patch: value)
                // The patch cannot move an Application to another project.
                if let project {
                    app.set(path: ["spec", "project"], project)
                } else if var spec = app["spec"] {
                    spec.remove("project")
                    app.set("spec", spec)
                }
            }
        }
        return app
    }

    /// Argo CD's Application shape: apiVersion, kind, metadata (name, namespace, labels, annotations,
    /// finalizers first), spec, then anything else the template carried.
    static let finalizers = JSONValue.array([.string(ApplicationSet.finalizer)])
    static let apiVersion = JSONValue.string("argoproj.io/v1alpha1"), kind = JSONValue.string("Application")
    static let metadataOrder = ["name", "namespace", "labels", "annotations", "finalizers"]

    static func shape(_ rendered: JSONValue, namespace: String?, addFinalizer: Bool) -> JSONValue {
        let pairs = rendered["metadata"]?.objectValue ?? []
        var ordered: [(String, JSONValue)] = []
        ordered.reserveCapacity(pairs.count + 2)
        for key in metadataOrder {
            switch key {
            case "namespace" where namespace != nil: ordered.append((key, .string(namespace!)))
            case "finalizers" where addFinalizer: ordered.append((key, finalizers))
            default: if let hit = pairs.first(where: { $0.0 == key }) { ordered.append(hit) }
            }
        }
        for pair in pairs where !metadataOrder.contains(pair.0) { ordered.append(pair) }
        var out: [(String, JSONValue)] = [("apiVersion", apiVersion), ("kind", kind), ("metadata", .object(ordered)),
                                          ("spec", rendered["spec"] ?? .object([]))]
        for (k, v) in rendered.objectValue ?? [] where k != "apiVersion" && k != "kind" && k != "metadata" && k != "spec" { out.append((k, v)) }
        return .object(out)
    }

    static func generatorTemplate(_ entry: JSONValue) -> JSONValue? {
        guard let (_, spec) = entry.objectValue?.first(where: { $0.0 != "selector" }) else { return nil }
        return spec["template"]
    }

    /// The generator's template over `spec.template`: fields set in the generator's template win; empty or
    /// missing ones come from `spec.template` (mergo.Merge without override).
    static func mergedTemplate(_ generator: JSONValue?, _ spec: JSONValue) -> JSONValue {
        guard let generator, !isEmpty(generator) else { return spec }
        guard case .object(var pairs) = generator, case .object(let base) = spec else { return generator }
        for (k, v) in base {
            if let i = pairs.firstIndex(where: { $0.0 == k }) {
                pairs[i].1 = isEmpty(pairs[i].1) ? v : mergedTemplate(pairs[i].1, v)
            } else {
                pairs.append((k, v))
            }
        }
        return .object(pairs)
    }

    static func isEmpty(_ v: JSONValue) -> Bool { v.isEmptyValue }
}

extension CompiledValue {
    /// The template as written, for the empty-params quirk.
    static func constantValue(_ c: CompiledValue) throws -> JSONValue {
        switch c {
        case .constant(let v): return v
        case .string(let s, _):
            switch s {
            case .constant(let t): return .string(t)
            case .fast(let f): return .string(f.source)
            case .go(let g): return .string(g.source)
            }
        case .array(let items): return .array(try items.map(constantValue))
        case .object(let pairs):
            return .object(try pairs.map { k, v in
                let key: String
                switch k {
                case .constant(let t): key = t
                case .fast(let f): key = f.source
                case .go(let g): key = g.source
                }
                return (key, try constantValue(v))
            })
        }
    }
}


/// Runs `count` independent jobs, possibly at once. `serial` runs them in order on the calling thread;
/// callers that may use cores pass their own (the CLI uses `DispatchQueue.concurrentPerform`).
public struct ParallelExecutor: Sendable {
    public let width: Int
    let perform: @Sendable (Int, @Sendable (Int) -> Void) -> Void

    public init(width: Int, perform: @escaping @Sendable (Int, @Sendable (Int) -> Void) -> Void) {
        self.width = width
        self.perform = perform
    }

    public static let serial = ParallelExecutor(width: 1) { count, body in for i in 0..<count { body(i) } }

    func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) { perform(count, body) }
}
