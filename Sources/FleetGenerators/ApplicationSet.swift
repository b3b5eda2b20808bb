import FleetConfig
import FleetModel

/// An Argo CD ApplicationSet (`argoproj.io/v1alpha1`), read unchanged. The whole document is kept in
/// `object`, unknown fields included; typed accessors cover what generation needs.
public struct ApplicationSet: Sendable {
    public let object: JSONValue
    public let name: String
    public let namespace: String?
    /// The file it was read from, for messages.
    public let file: String?

    public var spec: JSONValue { object["spec"] ?? .object([]) }
    public var generators: [JSONValue] { spec["generators"]?.arrayValue ?? [] }
    public var template: JSONValue { spec["template"] ?? .object([]) }
    public var templatePatch: String? { spec["templatePatch"]?.stringValue }
    public var goTemplate: Bool { spec["goTemplate"]?.boolValue ?? false }
    public var goTemplateOptions: [String] { spec["goTemplateOptions"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var syncPolicy: JSONValue? { spec["syncPolicy"] }
    public var preserveResourcesOnDeletion: Bool { syncPolicy?["preserveResourcesOnDeletion"]?.boolValue ?? false }
    /// `sync` (default), `create-only`, `create-update` or `create-delete`.
    public var applicationsSync: String { syncPolicy?["applicationsSync"]?.stringValue ?? "sync" }
    public var strategy: JSONValue? { spec["strategy"] }

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
            throw InputError(field: "", message: "an ApplicationSet must be a YAML mapping", location: where_)
        }
        if object["kind"]?.stringValue != "ApplicationSet" {
            problem("kind", "expected kind: ApplicationSet, found \(object["kind"].map { $0.stringValue ?? $0.serialized(pretty: false) } ?? "none")")
        }
        if let api = object["apiVersion"]?.stringValue, api != "argoproj.io/v1alpha1" {
            problem("apiVersion", "expected argoproj.io/v1alpha1, found \(api)")
        }
        name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        if name.isEmpty { problem("metadata.name", "required field is missing") }
        let spec = object["spec"] ?? .null
        if spec.objectValue == nil { problem("spec", "required field is missing") }
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
        if !problems.isEmpty { throw InputError(problems) }
    }

    /// Every ApplicationSet in a YAML text (multi-document allowed; other kinds are an error naming them).
    /// Fields the ApplicationSet CRD does not define are errors with their line.
    public static func parse(_ text: String, file: String?) throws -> [ApplicationSet] {
        let sets = try YAMLValue.documents(text, file: file).filter { !$0.isNull }.map { try ApplicationSet($0, file: file) }
        let unknown = try FieldSchema.unknownFields(in: text, file: file, schema: ApplicationSetSchema.applicationSet)
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
