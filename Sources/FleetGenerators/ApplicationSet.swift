import FleetConfig
import FleetModel

/// An Argo CD ApplicationSet (`argoproj.io/v1alpha1`), read unchanged. The whole document is kept in
/// `object`, unknown fields included; typed accessors cover what generation needs.
///
/// A plain Argo CD Application (`kind: Application`, written by a person) is read as the source of exactly
/// itself: it generates that one Application, untemplated, and owns it as an ApplicationSet owns its own. Its
/// key (`name`) is `Application/NAME`, so an Application and an ApplicationSet of one name never clash.
public struct ApplicationSet: Sendable {
    public let object: JSONValue
    /// The key of its Applications' owner: the ApplicationSet's name, or `Application/NAME` for an Application.
    public let name: String
    public let namespace: String?
    /// The file it was read from, for messages.
    public let file: String?
    /// A plain Application rather than an ApplicationSet.
    public let standalone: Bool

    public static let standalonePrefix = "Application/"
    /// The owner key of a plain Application named `name`.
    public static func standaloneKey(_ name: String) -> String { standalonePrefix + name }

    /// An owner key for messages: `ApplicationSet x`, or `its own definition (Application x)`.
    public static func ownerTitle(_ key: String) -> String {
        key.hasPrefix(standalonePrefix) ? "Application \(key.dropFirst(standalonePrefix.count)) (written directly)" : "ApplicationSet \(key)"
    }

    /// The name in its metadata (for an Application, without the `Application/` of its key).
    public var objectName: String { object.value(at: ["metadata", "name"])?.stringValue ?? "" }
    /// What it is, for messages: `ApplicationSet 'x'` or `Application 'x'`.
    public var title: String { "\(standalone ? "Application" : "ApplicationSet") '\(objectName)'" }

    public var spec: JSONValue { object["spec"] ?? .object([]) }
    public var generators: [JSONValue] { standalone ? [] : spec["generators"]?.arrayValue ?? [] }
    /// The Application template; a plain Application is its own.
    public var template: JSONValue { standalone ? object : spec["template"] ?? .object([]) }
    public var templatePatch: String? { spec["templatePatch"]?.stringValue }
    public var goTemplate: Bool { spec["goTemplate"]?.boolValue ?? false }
    public var goTemplateOptions: [String] { spec["goTemplateOptions"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var syncPolicy: JSONValue? { standalone ? nil : spec["syncPolicy"] }
    /// Whether deleting its Applications leaves their resources. A plain Application deletes them only with
    /// Argo CD's `resources-finalizer.argocd.argoproj.io` finalizer (cascade), as Argo CD does; without it they
    /// are orphaned.
    public var preserveResourcesOnDeletion: Bool {
        if standalone {
            return !(object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).contains { $0.stringValue?.hasPrefix(Self.finalizer) ?? false }
        }
        return syncPolicy?["preserveResourcesOnDeletion"]?.boolValue ?? false
    }
    /// `sync` (default), `create-only`, `create-update` or `create-delete`.
    public var applicationsSync: String { syncPolicy?["applicationsSync"]?.stringValue ?? "sync" }
    public var strategy: JSONValue? { standalone ? nil : spec["strategy"] }

    public static let finalizer = "resources-finalizer.argocd.argoproj.io"
    static let applicationsSyncPolicies = ["sync", "create-only", "create-update", "create-delete"]

    /// Validates the shape of the document; every problem at once.
    public init(_ object: JSONValue, file: String? = nil) throws {
        self.object = object
        self.file = file
        var problems: [FieldProblem] = []
        let where_ = file.map { SourceLocation(file: $0, line: 1, column: 1) }
        func problem(_ field: String, _ message: String) { problems.append(FieldProblem(field: field, message: message, location: where_)) }
        guard object.objectValue != nil else {
            throw InputError(field: "", message: "an ApplicationSet or Application must be a YAML mapping", location: where_)
        }
        standalone = object["kind"]?.stringValue == "Application"
        if let api = object["apiVersion"]?.stringValue, api != "argoproj.io/v1alpha1" {
            problem("apiVersion", "expected argoproj.io/v1alpha1, found \(api)")
        }
        let objectName = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        name = standalone ? Self.standaloneKey(objectName) : objectName
        namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        if objectName.isEmpty { problem("metadata.name", "required field is missing") }
        let spec = object["spec"] ?? .null
        if spec.objectValue == nil { problem("spec", "required field is missing") }
        if standalone {
            Self.applicationProblems(object, problem)
        } else {
            if object["kind"]?.stringValue != "ApplicationSet" {
                problem("kind", "expected kind: ApplicationSet or Application, found \(object["kind"].map { $0.stringValue ?? $0.serialized(pretty: false) } ?? "none")")
            }
            Self.applicationSetProblems(spec, problem)
        }
        if !problems.isEmpty { throw InputError(problems) }
    }

    private static func applicationSetProblems(_ spec: JSONValue, _ problem: (String, String) -> Void) {
        if let generators = spec["generators"] {
            if generators.arrayValue?.isEmpty ?? true { problem("spec.generators", "must be a non-empty list") }
        } else if spec.objectValue != nil {
            problem("spec.generators", "required field is missing")
        }
        if let goTemplate = spec["goTemplate"], goTemplate.boolValue == nil { problem("spec.goTemplate", "must be true or false") }
        if let policy = spec.value(at: ["syncPolicy", "applicationsSync"])?.stringValue, !Self.applicationsSyncPolicies.contains(policy) {
            problem("spec.syncPolicy.applicationsSync", "'\(policy)' is not one of \(Self.applicationsSyncPolicies.joined(separator: ", "))")
        }
        if let patch = spec["templatePatch"], patch.stringValue == nil { problem("spec.templatePatch", "must be a string (a YAML document, usually written with |)") }
        // Argo CD's CRD requires the template's project (it may be a template expression).
        if spec.objectValue != nil && spec.value(at: ["template", "spec", "project"]) == nil {
            problem("spec.template.spec.project", "required field is missing (Argo CD's ApplicationSet CRD refuses a template without a project; write project: default)")
        }
    }

    /// What Argo CD's Application CRD requires (a project and a destination), and a source to render: an
    /// Application written by hand is never templated, so a `{{` in its name is refused as any bad name is.
    private static func applicationProblems(_ object: JSONValue, _ problem: (String, String) -> Void) {
        let spec = object["spec"] ?? .null
        guard spec.objectValue != nil else { return }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        if !name.isEmpty, let p = KubernetesNames.dns1123SubdomainProblem(name) { problem("metadata.name", "'\(name)' is not a valid Kubernetes name: \(p)") }
        if (spec["project"]?.stringValue ?? "").isEmpty { problem("spec.project", "required field is missing (write project: default)") }
        if spec["destination"]?.objectValue == nil {
            problem("spec.destination", "required field is missing")
        } else if spec.value(at: ["destination", "server"]) == nil && spec.value(at: ["destination", "name"]) == nil {
            problem("spec.destination", "names neither a server nor a name")
        }
        if spec["source"] == nil && (spec["sources"]?.arrayValue?.isEmpty ?? true) {
            problem(spec["sourceHydrator"] != nil ? "spec.sourceHydrator" : "spec.source",
                    spec["sourceHydrator"] != nil ? "source hydrator Applications are not supported: write spec.source or spec.sources"
                                                  : "required field is missing (spec.source or spec.sources)")
        }
    }

    /// Every ApplicationSet and Application in a YAML text (multi-document allowed; other kinds are an error naming them).
    /// Fields the ApplicationSet CRD does not define are errors with their line.
    public static func parse(_ text: String, file: String?) throws -> [ApplicationSet] {
        let sets = try YAMLValue.documents(text, file: file).filter { !$0.isNull }.map { try ApplicationSet($0, file: file) }
        let unknown = try FieldSchema.unknownFields(in: text, file: file, schema: ApplicationSetSchema.document)
        if !unknown.isEmpty { throw InputError(unknown) }
        return sets
    }
}

/// A generated Argo CD Application, in Argo CD's shape, and where its parameters came from.
public struct Application: Sendable {
    public var object: JSONValue
    public var origin: Origin

    public init(object: JSONValue, origin: Origin) {
        self.object = object
        self.origin = origin
    }

    public var name: String { object.value(at: ["metadata", "name"])?.stringValue ?? "" }
    public var project: String { object.value(at: ["spec", "project"])?.stringValue ?? "" }
    public var destinationServer: String? { object.value(at: ["spec", "destination", "server"])?.stringValue }
    public var destinationName: String? { object.value(at: ["spec", "destination", "name"])?.stringValue }
    public var destinationNamespace: String? { object.value(at: ["spec", "destination", "namespace"])?.stringValue }

    /// `spec.source`, or every entry of `spec.sources`.
    public var sources: [JSONValue] {
        if let many = object.value(at: ["spec", "sources"])?.arrayValue { return many }
        if let one = object.value(at: ["spec", "source"]) { return [one] }
        return []
    }
}

extension ApplicationSet {
    /// Repositories this ApplicationSet reads: every git generator's `repoURL` (inside matrix and merge too)
    /// and the sources of its template. A new commit in one of them means regenerating and re-syncing.
    /// Templated URLs (`{{…}}`) are left out: they are known only after generation.
    public var repositoryURLs: [String] {
        var urls: [String] = []
        func add(_ url: String?) {
            guard let url, !url.isEmpty, !url.contains("{{"), !urls.contains(url) else { return }
            urls.append(url)
        }
        func walk(_ generator: JSONValue) {
            for (kind, spec) in generator.objectValue ?? [] {
                switch kind {
                case "git": add(spec["repoURL"]?.stringValue)
                case "matrix", "merge": for child in spec["generators"]?.arrayValue ?? [] { walk(child) }
                default: break
                }
                if let template = spec["template"] { sources(template) }
            }
        }
        func sources(_ template: JSONValue) {
            add(template.value(at: ["spec", "source", "repoURL"])?.stringValue)
            for s in template.value(at: ["spec", "sources"])?.arrayValue ?? [] { add(s["repoURL"]?.stringValue) }
        }
        for generator in generators { walk(generator) }
        sources(template)
        return urls
    }
}
