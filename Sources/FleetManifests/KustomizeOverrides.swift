import FleetModel

/// Argo CD's `source.kustomize` options, applied to a kustomization as Argo CD's `kustomize edit` calls do:
/// name prefix and suffix, images, common labels and annotations, namespace, replicas, patches, components.
/// Pure: kustomization in, kustomization out.
public enum KustomizeOverrides {
    /// The options Flotilla applies; any other key of `source.kustomize` is refused by name.
    public static let supported: Set<String> = [
        "namePrefix", "nameSuffix", "images", "commonLabels", "commonAnnotations", "namespace", "replicas", "patches",
        "components", "forceCommonLabels", "forceCommonAnnotations",
    ]

    /// A kustomization for a directory without one, as `kustomize create --autodetect` writes it: every
    /// manifest file directly in the directory is a resource.
    public static func autodetected(files: [String]) -> JSONValue {
        let resources = files.filter { !$0.contains("/") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json")) }.sorted()
        return .object([("apiVersion", "kustomize.config.k8s.io/v1beta1"), ("kind", "Kustomization"),
                        ("resources", .array(resources.map(JSONValue.string)))])
    }

    /// `kustomization` with `options` applied. Throws on a malformed option, naming it.
    public static func apply(_ options: JSONValue, to kustomization: JSONValue) throws -> JSONValue {
        var k = kustomization
        func fail(_ field: String, _ message: String) -> ManifestError { ManifestError("source.kustomize.\(field): \(message)") }
        for key in ["namePrefix", "nameSuffix", "namespace"] {
            guard let value = options[key], !value.isEmptyValue else { continue }
            guard let text = value.stringValue else { throw fail(key, "must be a string") }
            k.set(key, .string(text))
        }
        for (key, target) in [("commonLabels", "commonLabels"), ("commonAnnotations", "commonAnnotations")] {
            guard let value = options[key], !value.isEmptyValue else { continue }
            guard let pairs = value.objectValue else { throw fail(key, "must be a map of strings") }
            var merged = k[target]?.objectValue ?? []
            for (name, v) in pairs {
                guard let text = v.stringValue else { throw fail("\(key).\(name)", "must be a string") }
                if let i = merged.firstIndex(where: { $0.0 == name }) { merged[i].1 = .string(text) } else { merged.append((name, .string(text))) }
            }
            k.set(target, .object(merged))
        }
        if let images = options["images"], !images.isEmptyValue {
            guard let list = images.arrayValue else { throw fail("images", "must be a list of image overrides") }
            var entries = k["images"]?.arrayValue ?? []
            for (i, item) in list.enumerated() {
                guard let text = item.stringValue, let image = parseImage(text) else {
                    throw fail("images[\(i)]", "expected [OLD=]NAME[:TAG][@DIGEST], found \(item.stringValue.map { "'\($0)'" } ?? "a non-string")")
                }
                entries.removeAll { $0["name"]?.stringValue == image["name"]?.stringValue }
                entries.append(image)
            }
            k.set("images", .array(entries))
        }
        if let replicas = options["replicas"], !replicas.isEmptyValue {
            guard let list = replicas.arrayValue else { throw fail("replicas", "must be a list of {name, count}") }
            var entries = k["replicas"]?.arrayValue ?? []
            for (i, item) in list.enumerated() {
                guard let name = item["name"]?.stringValue else { throw fail("replicas[\(i)].name", "required field is missing") }
                let count: Int
                switch item["count"] {
                case .int(let n)?: count = n
                case .string(let s)? where Int(s) != nil: count = Int(s)!
                default: throw fail("replicas[\(i)].count", "must be an integer")
                }
                entries.removeAll { $0["name"]?.stringValue == name }
                entries.append(.object([("name", .string(name)), ("count", .int(count))]))
            }
            k.set("replicas", .array(entries))
        }
        for key in ["patches", "components"] {
            guard let value = options[key], !value.isEmptyValue else { continue }
            guard let list = value.arrayValue else { throw fail(key, "must be a list") }
            k.set(key, .array((k[key]?.arrayValue ?? []) + list))
        }
        return k
    }

    /// `[old=]name[:tag][@digest]` as `kustomize edit set image` reads it.
    static func parseImage(_ text: String) -> JSONValue? {
        var rest = Substring(text)
        var old: Substring?
        if let eq = rest.firstIndex(of: "=") {
            old = rest[..<eq]
            rest = rest[rest.index(after: eq)...]
        }
        var digest: Substring?
        if let at = rest.firstIndex(of: "@") {
            digest = rest[rest.index(after: at)...]
            rest = rest[..<at]
        }
        var tag: Substring?
        // A colon after the last slash is a tag (a colon before it is a registry port).
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        guard !rest.isEmpty, old.map({ !$0.isEmpty }) ?? true, tag.map({ !$0.isEmpty }) ?? true else { return nil }
        var entry: [(String, JSONValue)] = [("name", .string(String(old ?? rest)))]
        if old != nil { entry.append(("newName", .string(String(rest)))) }
        if let tag { entry.append(("newTag", .string(String(tag)))) }
        if let digest { entry.append(("digest", .string(String(digest)))) }
        return .object(entry)
    }
}
