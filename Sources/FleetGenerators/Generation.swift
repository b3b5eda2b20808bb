import FleetConfig
import FleetModel
import FleetTemplate

/// Turns an ApplicationSet into Applications: runs the generators in order, renders the (generator-merged)
/// template for each parameter set, applies `templatePatch`, and checks the results.
///
/// ```swift
/// let apps = try Generation.applications(for: appSet, context: GeneratorContext(clusters: registry.clusters, git: git))
/// ```
/// Any error fails the whole ApplicationSet: nothing is returned for it. Checks: every name is a valid
/// Kubernetes name; no two Applications share a name (both sources named); the destination is a
/// registered cluster (by server or name).
public enum Generation {
    /// Generates every Application; throws on the first generator or template error, or on any check.
    public static func applications(for appSet: ApplicationSet, context: GeneratorContext, checkDestinations: Bool = true) throws -> [Application] {
        var apps: [Application] = []
        try generate(appSet, context: context, checkDestinations: checkDestinations) { apps.append($0) }
        return apps
    }

    /// Streams Applications to `emit` in generation order, then throws if any check failed.
    /// Returns the number generated.
    @discardableResult
    public static func generate(_ appSet: ApplicationSet, context base: GeneratorContext, checkDestinations: Bool = true,
                                emit: (Application) throws -> Void) throws -> Int {
        do {
            return try run(appSet, context: base, checkDestinations: checkDestinations, emit: emit)
        } catch var error as GenerationError {
            error.appSet = appSet.name
            throw error
        }
    }

    private static func run(_ appSet: ApplicationSet, context base: GeneratorContext, checkDestinations: Bool,
                            emit: (Application) throws -> Void) throws -> Int {
        let options: GoTemplate.Options
        do { options = try GoTemplate.Options(goTemplateOptions: appSet.goTemplateOptions) } catch {
            throw GenerationError(.invalidSpec, field: "spec.goTemplateOptions", "\(error)")
        }
        let go = appSet.goTemplate
        let context = base.with(goTemplate: go, options: options)
        let patch = try appSet.templatePatch.map { try CompiledString.compile($0, goTemplate: go, options: options, field: "spec.templatePatch") }
        let servers = Set(context.clusters.map(\.server)), clusterNames = Set(context.clusters.map(\.name))

        var seen: [String: Origin] = [:]
        seen.reserveCapacity(1024)
        var problems: [String] = []
        var count = 0
        for (i, entry) in appSet.generators.enumerated() {
            let field = "spec.generators[\(i)]"
            let sets = try GeneratorRegistry.run(entry: entry, field: field, depth: 0, context: context)
            if sets.isEmpty { continue }
            let template = mergedTemplate(generatorTemplate(entry), appSet.template)
            let compiled = try CompiledValue.compile(template, goTemplate: go, options: options, field: "spec.template")
            let hasFinalizers = !(template.value(at: ["metadata", "finalizers"])?.arrayValue?.isEmpty ?? true)
            for set in sets {
                var app: JSONValue
                do {
                    app = try render(set, compiled: compiled, patch: patch, goTemplate: go)
                } catch let e as GenerationError {
                    throw GenerationError(e.code, field: e.field, "\(e.message) (params from \(set.origin))", appSet: e.appSet)
                }
                let addFinalizer = !set.params.isEmpty && !hasFinalizers && !appSet.preserveResourcesOnDeletion
                app = shape(app, namespace: appSet.namespace, addFinalizer: addFinalizer)
                let application = Application(object: app, origin: set.origin)
                let name = application.name
                if name.isEmpty {
                    problems.append("generated an Application with an empty name (params from \(set.origin))")
                } else if let p = KubernetesNames.dns1123SubdomainProblem(name) {
                    problems.append("generated Application name '\(name)' is not a valid Kubernetes name: \(p) (params from \(set.origin))")
                }
                if let first = seen[name] {
                    problems.append("contains applications with duplicate name: \(name) (from \(first) and from \(set.origin))")
                } else {
                    seen[name] = set.origin
                }
                if checkDestinations {
                    if let p = destinationProblem(application, servers: servers, names: clusterNames) { problems.append(p) }
                }
                count += 1
                try emit(application)
            }
        }
        if !problems.isEmpty {
            let shown = problems.prefix(10).joined(separator: "\n  - ")
            let more = problems.count > 10 ? "\n  (and \(problems.count - 10) more)" : ""
            let code: GenerationError.Code = problems.first!.contains("duplicate name") ? .duplicateName : .invalidApplication
            throw GenerationError(code, field: "", problems.count == 1 ? problems[0] : "\(problems.count) problems:\n  - \(shown)\(more)")
        }
        return count
    }

    static func destinationProblem(_ app: Application, servers: Set<String>, names: Set<String>) -> String? {
        let server = app.destinationServer ?? "", name = app.destinationName ?? ""
        if server.isEmpty && name.isEmpty {
            return "application destination spec for \(app.name) is invalid: set spec.destination.server or spec.destination.name"
        }
        if !server.isEmpty && !name.isEmpty {
            return "application destination spec for \(app.name) is invalid: application destination can't have both name and server defined: \(name) \(server)"
        }
        if !server.isEmpty && !servers.contains(server) {
            return "application destination spec for \(app.name) is invalid: server '\(server)' is not a registered cluster"
        }
        if !name.isEmpty && !names.contains(name) {
            return "application destination spec for \(app.name) is invalid: cluster '\(name)' is not registered"
        }
        return nil
    }

    private static func render(_ set: ParamSet, compiled: CompiledValue, patch: CompiledString?, goTemplate: Bool) throws -> JSONValue {
        let params = RenderParams(set.params, goTemplate: goTemplate)
        // Argo CD quirk kept: an empty parameter map skips rendering.
        var app = set.params.isEmpty ? (try CompiledValue.constantValue(compiled)) : try compiled.render(params)
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
    static func shape(_ rendered: JSONValue, namespace: String?, addFinalizer: Bool) -> JSONValue {
        var metadata = rendered["metadata"] ?? .object([])
        if let namespace { metadata.set("namespace", .string(namespace)) }
        if addFinalizer { metadata.set("finalizers", .array([.string(ApplicationSet.finalizer)])) }
        let order = ["name", "namespace", "labels", "annotations", "finalizers"]
        let pairs = metadata.objectValue ?? []
        let ordered = order.compactMap { k in pairs.first { $0.0 == k } } + pairs.filter { !order.contains($0.0) }
        var out: [(String, JSONValue)] = [
            ("apiVersion", .string("argoproj.io/v1alpha1")), ("kind", .string("Application")), ("metadata", .object(ordered)),
            ("spec", rendered["spec"] ?? .object([])),
        ]
        for (k, v) in rendered.objectValue ?? [] where !["apiVersion", "kind", "metadata", "spec"].contains(k) { out.append((k, v)) }
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

    static func isEmpty(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return true
        case .string(let s): return s.isEmpty
        case .object(let o): return o.isEmpty
        case .array(let a): return a.isEmpty
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        }
    }
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

