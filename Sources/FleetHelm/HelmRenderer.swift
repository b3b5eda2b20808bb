import FleetConfig
import FleetModel
import FleetTemplate
import Foundation

/// What a render is asked for: helm template's flags (and Argo CD's `source.helm` once resolved).
public struct HelmRenderOptions: Sendable {
    public var releaseName: String
    public var namespace: String
    /// `--kube-version`: `1.20.0`, `v1.29`.
    public var kubeVersion: String
    /// `--api-versions`, on top of the built-in Kubernetes groups.
    public var apiVersions: [String]
    /// Values files' contents, in order (later wins), with the name used in errors.
    public var valueFiles: [(name: String, text: String)]
    /// `--set` expressions, in order.
    public var set: [String]
    /// `--set-string` expressions, in order.
    public var setString: [String]
    /// `--set-json` expressions, in order (after the values files, before `--set`).
    public var setJSON: [String] = []
    /// `--set-literal` assignments, in order (last of all).
    public var setLiteral: [String] = []
    /// Values applied last, already parsed (Argo CD's `values`/`valuesObject`, `parameters`).
    public var overrides: [(path: String?, value: HelmValue)]
    /// `--include-crds` (Argo CD includes them unless `skipCrds`).
    public var includeCRDs: Bool
    /// `--skip-tests`: drop `helm.sh/hook: test` objects.
    public var skipTests: Bool
    /// `--show-only` globs on template paths (`templates/service.yaml`, `charts/sub/templates/*`).
    public var showOnly: [String]
    /// `--name-template`: the release name rendered from a template.
    public var nameTemplate: String?
    /// Check values against the charts' `values.schema.json` (Argo CD's `skipSchemaValidation` turns it off).
    public var validateSchema = true
    public var limits: TemplateLimits

    public init(releaseName: String = "release-name", namespace: String = "default", kubeVersion: String = HelmRenderer.defaultKubeVersion,
                apiVersions: [String] = [], valueFiles: [(name: String, text: String)] = [], set: [String] = [], setString: [String] = [],
                overrides: [(path: String?, value: HelmValue)] = [], includeCRDs: Bool = false, skipTests: Bool = false,
                showOnly: [String] = [], nameTemplate: String? = nil, limits: TemplateLimits = HelmRenderer.defaultLimits) {
        self.releaseName = releaseName
        self.namespace = namespace
        self.kubeVersion = kubeVersion
        self.apiVersions = apiVersions
        self.valueFiles = valueFiles
        self.set = set
        self.setString = setString
        self.overrides = overrides
        self.includeCRDs = includeCRDs
        self.skipTests = skipTests
        self.showOnly = showOnly
        self.nameTemplate = nameTemplate
        self.limits = limits
    }
}

/// One rendered document: where it came from (`chart/templates/svc.yaml`), its text and its object.
public struct RenderedManifest: Sendable {
    public enum Role: Sendable, Equatable { case crd, manifest, hook }
    public var path: String
    public var text: String
    public var object: JSONValue
    public var role: Role
    public var kind: String { object["kind"]?.stringValue ?? "" }
}

/// A chart rendered as `helm template` renders it.
public struct HelmRelease: Sendable {
    public var name: String
    /// CRDs (when asked), then manifests in helm's install order, then hooks.
    public var manifests: [RenderedManifest]
    /// `helm template`'s output: `---\n# Source: PATH\nTEXT` for each document.
    public var text: String {
        manifests.map { "---\n# Source: \($0.path)\n\($0.text)\n" }.joined()
    }
}

/// Renders charts in-process: values (files, `--set`, overrides) over the chart's defaults, dependencies
/// (conditions, tags, aliases, import-values), schema validation, every template of the chart and its
/// subcharts in one template set with Helm's functions, then helm's manifest splitting and install order.
public enum HelmRenderer {
    /// The Kubernetes version helm 3.17 (the helm Argo CD ships) gives `.Capabilities` without `--kube-version`:
    /// what the hub renders for when a cluster's version is not known.
    public static let defaultKubeVersion = "1.32.0"
    /// The same for helm 4: 1.35.0 in helm 4.1, 1.36.0 in helm 4.2 (`flotilla render helm`'s default).
    public static let helm4DefaultKubeVersion = "1.36.0"
    public static let helmVersion = "v3.17.0"
    /// Charts render far more than an ApplicationSet: larger output and more steps than template defaults.
    public static let defaultLimits = TemplateLimits(maxSteps: 50_000_000, maxOutputBytes: 64 << 20, maxValueBytes: 32 << 20, maxDepth: 1000)

    /// Renders on a thread with a large stack (`LargeStack`): a chart may nest `include` and `tpl` as deep as
    /// `limits.maxDepth` (1,000, as Helm), which the caller's stack may not hold.
    public static func render(_ chart: Chart, options: HelmRenderOptions) throws -> HelmRelease {
        try LargeStack.run { try renderOnThisThread(chart, options: options) }
    }

    static func renderOnThisThread(_ chartIn: Chart, options: HelmRenderOptions) throws -> HelmRelease {
        var chart = chartIn
        if chart.metadata.isLibrary {
            throw HelmError(.libraryChart, "validation: chart.metadata.type \"library\" is not installable (library charts are not installable)")
        }
        guard let kube = parseKubeVersion(options.kubeVersion) else {
            throw HelmError(.kubeVersion, "invalid kube version '\(options.kubeVersion)': Invalid Semantic Version")
        }
        if !chart.metadata.kubeVersion.isEmpty {
            let ok = (try? SemverConstraints(chart.metadata.kubeVersion))?.isSatisfied(by: kube) ?? false
            if !ok {
                throw HelmError(.kubeVersion, "chart requires kubeVersion: \(chart.metadata.kubeVersion) which is incompatible with Kubernetes v\(kube.major).\(kube.minor).\(kube.patch)")
            }
        }
        let user = try userValues(options)
        try Dependencies.processEnabled(&chart, values: user, path: "")
        Dependencies.importValues(&chart)
        let values = Coalesce.values(chart, user: user)
        var problems = ""
        if options.validateSchema { schemaProblems(chart, values, into: &problems) }
        if !problems.isEmpty {
            throw HelmError(.schema, "values don't meet the specifications of the schema(s) in the following chart(s):\n" + problems)
        }
        var releaseName = options.releaseName
        if let nameTemplate = options.nameTemplate {
            do {
                releaseName = try GoTemplate(nameTemplate, name: "name-template", functions: .helm).render(TemplateValue.map(TemplateMap()), limits: options.limits)
            } catch { throw HelmError(.template, "\(error)") }
        }
        let rendered = try renderTemplates(chart, values: values, release: releaseName, options: options, kube: kube)
        var out: [RenderedManifest] = []
        if options.includeCRDs {
            for (path, text) in allCRDs(chart, prefix: chart.name) {
                out += try split(text, path: path).map { var m = $0; m.role = .crd; return m }
            }
        }
        var manifests: [RenderedManifest] = []
        var hooks: [RenderedManifest] = []
        for (path, text) in rendered.sorted(by: { $0.path < $1.path }) {
            for m in try split(text, path: path) {
                let annotations = m.object["metadata"]?["annotations"]
                if let hook = annotations?["helm.sh/hook"]?.stringValue {
                    if options.skipTests && hook.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("test") }) { continue }
                    var h = m; h.role = .hook
                    hooks.append(h)
                } else {
                    manifests.append(m)
                }
            }
        }
        out += sortByKind(manifests) + sortByKind(hooks)
        if !options.showOnly.isEmpty {
            var kept: [RenderedManifest] = []
            for pattern in options.showOnly {
                let hits = out.filter { Glob.pathMatch(pattern, withoutChartName($0.path)) }
                if hits.isEmpty { throw HelmError(.template, "could not find template \(pattern) in chart") }
                kept += hits.filter { h in !kept.contains { $0.path == h.path && $0.text == h.text } }
            }
            out = kept
        }
        return HelmRelease(name: releaseName, manifests: out)
    }

    static func withoutChartName(_ path: String) -> String {
        guard let slash = path.firstIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Values files, then `--set-json`, `--set`, `--set-string`, then overrides (`--set-file`; Argo CD's values
    /// and parameters), then `--set-literal` (helm's `MergeValues` order).
    static func userValues(_ options: HelmRenderOptions) throws -> [String: HelmValue] {
        var base: [String: HelmValue] = [:]
        for file in options.valueFiles {
            guard case .map(let m) = try HelmValue.parseFile(file.text, file: file.name) else { continue }
            base = mergeValueMaps(base, m)
        }
        for expression in options.setJSON { try SetValues.applyJSON(expression, to: &base) }
        for expression in options.set { try SetValues.apply(expression, to: &base) }
        for expression in options.setString { try SetValues.apply(expression, to: &base, asString: true) }
        for (path, value) in options.overrides {
            if let path {
                try SetValues.set(path, value, in: &base)
            } else if case .map(let m) = value {
                base = mergeValueMaps(base, m)
            }
        }
        for expression in options.setLiteral { try SetValues.applyLiteral(expression, to: &base) }
        return base
    }

    static func parseKubeVersion(_ text: String) -> SemanticVersion? {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("v") { t.removeFirst() }
        let parts = t.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = UInt64(parts[0]) else { return nil }
        let minorDigits = parts[1].prefix { $0.isNumber }
        guard let minor = UInt64(minorDigits) else { return nil }
        var patch: UInt64 = 0
        if parts.count == 3 { patch = UInt64(parts[2].prefix { $0.isNumber }) ?? 0 }
        return SemanticVersion(major: major, minor: minor, patch: patch)
    }

    static func schemaProblems(_ chart: Chart, _ values: [String: HelmValue], into out: inout String) {
        if let schema = chart.schema {
            let problems = ValuesSchema.problems(HelmValue.map(values).json, schema: schema)
            if !problems.isEmpty { out += "\(chart.name):\n" + problems.joined(separator: "\n") + "\n" }
        }
        for sub in chart.dependencies {
            schemaProblems(sub, values[sub.name]?.mapValue ?? [:], into: &out)
        }
    }

    static func allCRDs(_ chart: Chart, prefix: String) -> [(String, String)] {
        var out = chart.crds.map { ("\(prefix)/\($0.path)", $0.text) }
        for sub in chart.dependencies { out += allCRDs(sub, prefix: "\(prefix)/charts/\(sub.name)") }
        return out
    }

    // MARK: Templates

    struct Scoped {
        let path: String
        let text: String
        let chart: String
        let isLibrary: Bool
        let data: TemplateMap
        let basePath: String
    }

    static func renderTemplates(_ chart: Chart, values: [String: HelmValue], release: String, options: HelmRenderOptions,
                                kube: SemanticVersion) throws -> [(path: String, text: String)] {
        let releaseMap = TemplateMap([
            "Name": .string(release), "Namespace": .string(options.namespace), "IsUpgrade": .bool(false), "IsInstall": .bool(true),
            "Revision": .int(1), "Service": .string("Helm"),
        ])
        let caps = CapabilitiesObject(kube: KubeVersionObject(version: kube),
                                      apis: APIVersionsObject(versions: builtinAPIVersions + options.apiVersions))
        var all: [Scoped] = []
        collect(chart, prefix: chart.name, values: HelmValue.map(values).template, release: releaseMap, caps: caps, into: &all)
        // helm parses deeper paths first, so parent charts' definitions win.
        let ordered = all.sorted { a, b in
            let da = a.path.split(separator: "/").count, db = b.path.split(separator: "/").count
            return da != db ? da > db : a.path > b.path
        }
        let set: GoTemplateSet
        do {
            // Parsed once per chart and set of enabled subcharts (and depth limit), whatever the values.
            let key = "\(options.limits.maxDepth)\u{0}" + ordered.map(\.path).joined(separator: "\u{0}")
            set = try chart.parsed.set(key: key) {
                try GoTemplateSet(ordered.map { ($0.path, $0.text) }, options: [.missingKeyZero], maxDepth: options.limits.maxDepth, functions: .helm)
            }
        } catch let e as TemplateError {
            throw HelmError(.template, "parse error at (\(e.message.replacingOccurrences(of: "template: ", with: "")))")
        }
        var out: [(String, String)] = []
        // In helm's order (deeper paths first, then reverse lexical), each template with its chart's objects —
        // one map per chart, as helm's: `.Template` is set on it before each render, so a parent sees in
        // `.Subcharts.sub.Template` the subchart's template rendered last, and a value one template `set`s is
        // seen by the templates rendered after it.
        for t in ordered {
            let base = t.path.split(separator: "/").last.map(String.init) ?? ""
            if base.hasPrefix("_") || t.isLibrary || base == "NOTES.txt" { continue }
            t.data["Template"] = .map(TemplateMap(["Name": .string(t.path), "BasePath": .string(t.basePath)]))
            do {
                let text = try set.render(t.path, .map(t.data), limits: options.limits)
                out.append((t.path, text.replacingOccurrences(of: "<no value>", with: "")))
            } catch let e as TemplateError {
                throw HelmError(.template, executionMessage(e.message))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// helm's `reformatExecErrorMsg`: `fail` and `required` read as `execution error at (PATH:LINE): message`.
    static func executionMessage(_ message: String) -> String {
        for marker in ["error calling fail: ", "error calling required: "] {
            if let r = message.range(of: marker), message.hasPrefix("template: ") {
                let location = message.dropFirst("template: ".count).prefix { $0 != " " }.dropLast()
                return "execution error at (\(location)): \(message[r.upperBound...])"
            }
        }
        return message
    }

    /// helm's `recAllTpls`: each chart's templates with the chart's own top-level objects, which it returns — its
    /// parent keeps them in `.Subcharts` under the subchart's name (or alias): `Values`, `Chart`, `Files`,
    /// `Release`, `Capabilities` and its own `Subcharts`. Every chart's `.Values` is a `chartutil.Values` (its
    /// methods: `AsMap`, `YAML`, `Table`, `PathValue`).
    @discardableResult
    static func collect(_ chart: Chart, prefix: String, values: TemplateValue, release: TemplateMap, caps: CapabilitiesObject,
                        isRoot: Bool = true, into out: inout [Scoped]) -> TemplateMap {
        let ownValues: TemplateMap
        if case .map(let m) = values { ownValues = m } else { ownValues = TemplateMap() }
        ownValues.methods = ValuesMethods()
        let subcharts = TemplateMap()
        let data = TemplateMap([
            "Values": .map(ownValues),
            "Release": .map(release),
            "Chart": chartValue(chart.metadata, isRoot: isRoot),
            "Capabilities": .object(caps),
            "Files": .object(FilesObject(files: chart.files)),
            "Subcharts": .map(subcharts),
        ])
        for t in chart.templates {
            out.append(Scoped(path: "\(prefix)/\(t.path)", text: t.text, chart: chart.name, isLibrary: chart.metadata.isLibrary,
                              data: data, basePath: "\(prefix)/templates"))
        }
        for sub in chart.dependencies {
            var subValues: TemplateValue = .map(TemplateMap())
            if case .map(let m) = values, let v = m[sub.name], case .map = v { subValues = v }
            subcharts[sub.name] = .map(collect(sub, prefix: "\(prefix)/charts/\(sub.name)", values: subValues, release: release, caps: caps,
                                                   isRoot: false, into: &out))
        }
        return data
    }

    /// `.Chart`: the metadata's fields by their Go names, and `IsRoot` (true for the chart being rendered, false
    /// for its subcharts).
    static func chartValue(_ m: ChartMetadata, isRoot: Bool) -> TemplateValue {
        var entries: [String: TemplateValue] = [
            "Name": .string(m.name), "Version": .string(m.version), "AppVersion": .string(m.appVersion),
            "Description": .string(m.description), "APIVersion": .string(m.apiVersion), "KubeVersion": .string(m.kubeVersion),
            "Type": .string(m.type), "Home": .string(m.home), "Icon": .string(m.icon), "Deprecated": .bool(m.deprecated),
            "Keywords": .list(TemplateList(m.keywords.map { .string($0) }, element: "string")),
            "Sources": .list(TemplateList(m.sources.map { .string($0) }, element: "string")),
            "Annotations": .map(TemplateMap(m.annotations.mapValues { .string($0) }, element: "string")),
            "Maintainers": TemplateValue(.array(m.maintainers)),
        ]
        entries["IsRoot"] = .bool(isRoot)
        return .map(TemplateMap(entries))
    }

    // MARK: Manifests

    /// helm's `SplitManifests`: documents separated by `---` lines; blank ones dropped; each parsed.
    static func split(_ text: String, path: String) throws -> [RenderedManifest] {
        var docs: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("---") && line.dropFirst(3).allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                docs.append(current.joined(separator: "\n"))
                current = []
            } else {
                current.append(line)
            }
        }
        docs.append(current.joined(separator: "\n"))
        var out: [RenderedManifest] = []
        for doc in docs {
            let trimmed = trim(doc)
            if trimmed.isEmpty { continue }
            let object: JSONValue
            do {
                object = try YAMLValue.parse(doc, file: path)
            } catch {
                throw HelmError(.badManifest, "YAML parse error on \(path): \(error)")
            }
            if object.isNull { continue }
            guard object.objectValue != nil else {
                throw HelmError(.badManifest, "YAML parse error on \(path): error unmarshaling JSON: json: cannot unmarshal \(YAMLValue.kind(object)) into Go value of type releaseutil.SimpleHead")
            }
            out.append(RenderedManifest(path: path, text: trimmed, object: object, role: .manifest))
        }
        return out
    }

    /// Whitespace and newlines off both ends (without Foundation's bridging).
    static func trim(_ s: String) -> String {
        let u = s.utf8
        func space(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        guard let first = u.firstIndex(where: { !space($0) }) else { return "" }
        let last = u.lastIndex(where: { !space($0) })!
        return String(s[first...last])
    }

    /// helm's `InstallOrder`; unknown kinds last, alphabetically; stable otherwise.
    public static let installOrder = [
        "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
        "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
        "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
        "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
        "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    ]
    static let orderIndex: [String: Int] = Dictionary(uniqueKeysWithValues: installOrder.enumerated().map { ($0.element, $0.offset) })

    static func sortByKind(_ ms: [RenderedManifest]) -> [RenderedManifest] {
        ms.enumerated().sorted { a, b in
            let ka = a.element.kind, kb = b.element.kind
            let oa = orderIndex[ka], ob = orderIndex[kb]
            switch (oa, ob) {
            case let (x?, y?): return x != y ? x < y : a.offset < b.offset
            case (nil, nil): return ka != kb ? ka < kb : a.offset < b.offset
            case (_?, nil): return true
            case (nil, _?): return false
            }
        }.map(\.element)
    }

    /// The API groups a cluster of any supported version serves (helm's default version set), with kinds.
    static let builtinAPIVersions: [String] = {
        let groups: [(String, [String])] = [
            ("v1", ["ConfigMap", "Secret", "Service", "ServiceAccount", "Pod", "Namespace", "PersistentVolumeClaim", "PersistentVolume", "Endpoints", "LimitRange", "ResourceQuota", "ReplicationController", "Event"]),
            ("apps/v1", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"]),
            ("batch/v1", ["Job", "CronJob"]),
            ("autoscaling/v1", ["HorizontalPodAutoscaler"]), ("autoscaling/v2", ["HorizontalPodAutoscaler"]),
            ("networking.k8s.io/v1", ["Ingress", "IngressClass", "NetworkPolicy"]),
            ("policy/v1", ["PodDisruptionBudget"]),
            ("rbac.authorization.k8s.io/v1", ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]),
            ("storage.k8s.io/v1", ["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"]),
            ("apiextensions.k8s.io/v1", ["CustomResourceDefinition"]),
            ("admissionregistration.k8s.io/v1", ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]),
            ("apiregistration.k8s.io/v1", ["APIService"]),
            ("scheduling.k8s.io/v1", ["PriorityClass"]),
            ("coordination.k8s.io/v1", ["Lease"]),
            ("discovery.k8s.io/v1", ["EndpointSlice"]),
            ("certificates.k8s.io/v1", ["CertificateSigningRequest"]),
            ("node.k8s.io/v1", ["RuntimeClass"]),
            ("events.k8s.io/v1", ["Event"]),
            ("flowcontrol.apiserver.k8s.io/v1", ["FlowSchema", "PriorityLevelConfiguration"]),
            ("authentication.k8s.io/v1", ["TokenReview"]), ("authorization.k8s.io/v1", ["SubjectAccessReview"]),
        ]
        return groups.flatMap { g in [g.0] + g.1.map { "\(g.0)/\($0)" } }
    }()
}
