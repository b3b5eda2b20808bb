import Crypto
import FleetConfig
import FleetHelm
import FleetKube
import FleetModel
import Foundation

/// Where a source is rendered for: what Argo CD passes to `helm template` besides the source's own options.
public struct RenderContext: Sendable {
    /// The Application's name: the default Helm release name.
    public var applicationName: String
    /// The destination namespace: the default `--namespace`.
    public var namespace: String
    /// The destination cluster's version (`1.29.3`); nil renders for `HelmRenderer.defaultKubeVersion`.
    public var kubeVersion: String?
    /// The destination cluster's API versions (`apps/v1`, `monitoring.coreos.com/v1`).
    public var apiVersions: [String]
    /// Multi-source `ref:` sources by name, for `$name/path` value files: (repoURL, revision).
    public var references: [String: Reference]
    /// Asks the destination for its version and API versions; called only when a chart is rendered (a plain
    /// source never pays for it).
    public var capabilities: (@Sendable () -> (kubeVersion: String?, apiVersions: [String]))?
    /// Polled while a chart renders: true stops it (the preview's client left).
    public var isCancelled: (@Sendable () -> Bool)?
    /// The Application says an empty render is meant (`syncPolicy.automated.allowEmpty`): a source that renders
    /// nothing is not an error.
    public var allowEmpty = false

    /// The context with `capabilities` asked, once.
    public func resolved() -> RenderContext {
        guard let capabilities else { return self }
        var c = self
        let (version, apis) = capabilities()
        c.kubeVersion = kubeVersion ?? version
        if c.apiVersions.isEmpty { c.apiVersions = apis }
        c.capabilities = nil
        return c
    }

    public struct Reference: Sendable, Equatable {
        public var repoURL: String
        public var revision: String
        public init(repoURL: String, revision: String) {
            self.repoURL = repoURL
            self.revision = revision
        }
    }

    public init(applicationName: String = "", namespace: String = "default", kubeVersion: String? = nil, apiVersions: [String] = [],
                references: [String: Reference] = [:]) {
        self.applicationName = applicationName
        self.namespace = namespace
        self.kubeVersion = kubeVersion
        self.apiVersions = apiVersions
        self.references = references
    }

    /// The `ref:` sources of an Application's `sources`.
    public static func references(in sources: [JSONValue]) -> [String: Reference] {
        var out: [String: Reference] = [:]
        for s in sources {
            if let ref = s["ref"]?.stringValue, let repo = s["repoURL"]?.stringValue {
                out[ref] = Reference(repoURL: repo, revision: s["targetRevision"]?.stringValue ?? "HEAD")
            }
        }
        return out
    }

    /// What a chart's rendering depends on besides the chart and `source.helm` (the release name only when
    /// `source.helm` does not set one, so Applications sharing a release name share a render).
    func cacheKey(releaseNameSet: Bool) -> String {
        [releaseNameSet ? "" : applicationName, namespace, kubeVersion ?? "", apiVersions.joined(separator: ","),
         references.keys.sorted().map { "\($0)=\(references[$0]!.repoURL)@\(references[$0]!.revision)" }.joined(separator: ",")].joined(separator: "\u{1}")
    }
}

/// Argo CD's `source.helm`, read and checked.
public struct HelmSourceOptions: Sendable {
    public var releaseName: String?
    public var valueFiles: [String] = []
    public var values: String?
    public var valuesObject: JSONValue?
    public struct Parameter: Sendable { public var name: String; public var value: String; public var forceString: Bool }
    public var parameters: [Parameter] = []
    public var fileParameters: [(name: String, path: String)] = []
    public var ignoreMissingValueFiles = false
    public var skipCrds = false
    public var skipTests = false
    public var skipSchemaValidation = false
    public var namespace: String?
    public var kubeVersion: String?
    public var apiVersions: [String] = []

    /// The keys of `source.helm` Flotilla applies; any other key set is refused by name.
    public static let supported: Set<String> = [
        "releaseName", "valueFiles", "values", "valuesObject", "parameters", "fileParameters", "ignoreMissingValueFiles",
        "skipCrds", "skipTests", "skipSchemaValidation", "namespace", "kubeVersion", "apiVersions", "passCredentials", "version",
    ]

    public init() {}

    public init(_ json: JSONValue?) throws {
        guard let json, !json.isNull else { return }
        guard json.objectValue != nil else { throw ManifestError("source.helm: expected a map") }
        releaseName = json["releaseName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        valueFiles = json["valueFiles"]?.arrayValue?.compactMap(\.stringValue) ?? []
        values = json["values"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let v = json["valuesObject"], !v.isNull {
            guard v.objectValue != nil else { throw ManifestError("source.helm.valuesObject: expected a map") }
            valuesObject = v
        }
        for (i, p) in (json["parameters"]?.arrayValue ?? []).enumerated() {
            guard let name = p["name"]?.stringValue, !name.isEmpty else { throw ManifestError("source.helm.parameters[\(i)]: name is required") }
            let value: String
            switch p["value"] {
            case .string(let s)?: value = s
            case .int(let n)?: value = String(n)
            case .bool(let b)?: value = String(b)
            case .double(let d)?: value = String(d)
            default: value = ""
            }
            parameters.append(Parameter(name: name, value: value, forceString: p["forceString"]?.boolValue ?? false))
        }
        for (i, p) in (json["fileParameters"]?.arrayValue ?? []).enumerated() {
            guard let name = p["name"]?.stringValue, let path = p["path"]?.stringValue else {
                throw ManifestError("source.helm.fileParameters[\(i)]: name and path are required")
            }
            fileParameters.append((name, path))
        }
        ignoreMissingValueFiles = json["ignoreMissingValueFiles"]?.boolValue ?? false
        skipCrds = json["skipCrds"]?.boolValue ?? false
        skipTests = json["skipTests"]?.boolValue ?? false
        skipSchemaValidation = json["skipSchemaValidation"]?.boolValue ?? false
        namespace = json["namespace"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        kubeVersion = json["kubeVersion"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        apiVersions = json["apiVersions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let version = json["version"]?.stringValue, !version.isEmpty, version != "v3" {
            throw ManifestError("source.helm.version '\(version)': only Helm v3 charts are rendered")
        }
    }
}

/// A chart repository client: `index.yaml` and chart archives over HTTP(S), with credentials from the hub's
/// `repositories:`, archives cached by digest (memory, and the data directory when given).
public final class ChartRepositories: @unchecked Sendable {
    public struct Credentials: Sendable {
        public var urlPrefix: String
        public var username: String?
        public var password: String?
        public init(urlPrefix: String, username: String?, password: String?) {
            self.urlPrefix = urlPrefix
            self.username = username
            self.password = password
        }
    }

    /// The configured repositories (fixed), then those added while running (Argo CD repository Secrets, under
    /// `credentialsLock`), each most specific first.
    let credentials: [(base: RepositoryURL, credentials: Credentials)]
    private let credentialsLock = NSLock()
    private var added: [(base: RepositoryURL, credentials: Credentials)] = []
    let cacheDirectory: URL?
    /// Which URLs sources may make this process fetch (chart repositories, their archives, chart
    /// dependencies, remote value files).
    public enum RemoteValueFiles: Sendable {
        /// Any URL (a command run by its user).
        case any
        /// Only URLs within a repository of `repositories:` (compared parsed: scheme, host, port, whole path
        /// segments), or `https://` URLs on one of `allowedHosts` (a hub: an ApplicationSet or a preview must
        /// not make it fetch an arbitrary address and render what comes back into manifests).
        case configuredRepositories
    }
    public var remoteValueFiles: RemoteValueFiles = .any
    /// Hosts besides the configured repositories that `configuredRepositories` lets sources fetch from over
    /// HTTPS (the hub's `limits.chartRepositoryHosts`).
    public var allowedHosts: [String] = []
    let fetch: @Sendable (_ url: String, _ credentials: Credentials?) throws -> [UInt8]
    /// Fetches at once, whoever asks: a repository that never answers holds a few of them, not every worker.
    private let fetchSlots: DispatchSemaphore
    /// Bytes of chart archives kept in memory (least recently used dropped first), and on disk.
    public let memoryCacheBytes: Int
    public let diskCacheBytes: Int
    /// Seconds an index stays fresh (a new chart version is seen within this time).
    public let indexTTL: Double
    // `lock` guards the caches.
    private let lock = NSLock()
    private var indexes: [String: (fetched: Date, entries: [String: [IndexEntry]])] = [:]
    private var archives: [String: (bytes: [UInt8], used: UInt64)] = [:]
    private var archiveBytes = 0
    private var useCounter: UInt64 = 0

    struct IndexEntry {
        let version: SemanticVersion
        let versionText: String
        let urls: [String]
        let digest: String?
    }

    public init(credentials: [Credentials] = [], cacheDirectory: URL? = nil, indexTTL: Double = 60, concurrentFetches: Int = 4,
                memoryCacheBytes: Int = 256 << 20, diskCacheBytes: Int = 1 << 30,
                fetch: @escaping @Sendable (_ url: String, _ credentials: Credentials?) throws -> [UInt8]) {
        self.credentials = credentials.compactMap { c in RepositoryURL(c.urlPrefix).map { ($0, c) } }.sorted { $0.base.path.count > $1.base.path.count }
        self.cacheDirectory = cacheDirectory
        self.indexTTL = indexTTL
        self.fetchSlots = DispatchSemaphore(value: max(1, concurrentFetches))
        self.memoryCacheBytes = memoryCacheBytes
        self.diskCacheBytes = diskCacheBytes
        self.fetch = fetch
    }

    /// The configured repository `url` lies within (the most specific one), compared parsed; nil for a URL
    /// with user information, which never gets a configured repository's credentials.
    func credentials(for url: String) -> Credentials? {
        guard let parsed = RepositoryURL(url), !parsed.hasUserInfo else { return nil }
        return (credentials.first { parsed.isWithin($0.base) } ?? credentialsLock.withLock { added }.first { parsed.isWithin($0.base) })?.credentials
    }

    /// Replaces the repositories added while running (after the configured ones, which win).
    public func setAdded(_ list: [Credentials]) {
        let parsed = list.compactMap { c in RepositoryURL(c.urlPrefix).map { ($0, c) } }.sorted { $0.0.path.count > $1.0.path.count }
        credentialsLock.withLock { added = parsed }
    }

    /// Why this process may not fetch `url` for a source, or nil when it may.
    func refusal(_ url: String) -> String? {
        guard let parsed = RepositoryURL(url) else { return "'\(url)' is not a valid URL (or its path holds . or .. segments)" }
        if parsed.hasUserInfo { return "'\(url)' holds user information; credentials belong in the hub's repositories:, never in a URL" }
        guard parsed.scheme == "https" || parsed.scheme == "http" else { return "'\(url)' is not an http(s) URL" }
        guard remoteValueFiles == .configuredRepositories else { return nil }
        if credentials.contains(where: { parsed.isWithin($0.base) }) || credentialsLock.withLock({ added }).contains(where: { parsed.isWithin($0.base) }) { return nil }
        if parsed.scheme == "https" && allowedHosts.contains(where: { $0.lowercased() == parsed.bareHost }) { return nil }
        if parsed.scheme == "http" && allowedHosts.contains(where: { $0.lowercased() == parsed.bareHost }) {
            return "'\(url)' is plain http: only a repository configured with an http:// URL in repositories: is fetched without TLS"
        }
        return "'\(url)' is neither within a repository of the hub's repositories: nor on limits.chartRepositoryHosts (\(allowedHosts.isEmpty ? "none configured" : allowedHosts.joined(separator: ", ")))"
    }

    /// Fetches `url` for a source once the rules allow it, a few at a time.
    func get(_ url: String) throws -> [UInt8] {
        if let why = refusal(url) { throw ManifestError(why) }
        fetchSlots.wait()
        defer { fetchSlots.signal() }
        return try fetch(url, credentials(for: url))
    }

    /// The newest chart version in `repoURL` matching `constraint` (an exact version, a range, `*`), and its archive.
    public func chart(repoURL: String, name: String, constraint: String) throws -> (version: String, tgz: [UInt8]) {
        if repoURL.hasPrefix("oci://") {
            throw ManifestError("chart '\(name)' from \(repoURL): OCI registries are not supported yet; use an HTTP chart repository")
        }
        let base = repoURL.hasSuffix("/") ? String(repoURL.dropLast()) : repoURL
        let entries = try index(base)
        guard let versions = entries[name], !versions.isEmpty else {
            throw ManifestError("chart '\(name)' not found in chart repository \(base)")
        }
        let wanted = constraint.isEmpty || constraint == "latest" ? "*" : constraint
        let match: IndexEntry?
        if let exact = versions.first(where: { $0.versionText == wanted || "v" + $0.versionText == wanted }) {
            match = exact
        } else {
            let c: SemverConstraints
            do { c = try SemverConstraints(wanted) } catch {
                throw ManifestError("chart '\(name)' from \(base): targetRevision '\(constraint)' is neither a version nor a semver range")
            }
            match = versions.filter { c.isSatisfied(by: $0.version) }.max { $0.version < $1.version }
        }
        guard let entry = match else {
            let shown = versions.sorted { $0.version > $1.version }.prefix(5).map(\.versionText).joined(separator: ", ")
            throw ManifestError("chart '\(name)' from \(base): no version matches '\(constraint)' (newest: \(shown))")
        }
        return (entry.versionText, try archive(entry, base: base, name: name))
    }

    func index(_ base: String) throws -> [String: [IndexEntry]] {
        if let hit = lock.withLock({ indexes[base] }), Date().timeIntervalSince(hit.fetched) < indexTTL { return hit.entries }
        let bytes: [UInt8]
        do { bytes = try get(base + "/index.yaml") } catch {
            throw ManifestError("chart repository \(base): cannot read index.yaml: \(error)")
        }
        let doc: JSONValue
        do { doc = try YAMLValue.parse(String(decoding: bytes, as: UTF8.self), file: "\(base)/index.yaml") } catch {
            throw ManifestError("chart repository \(base): index.yaml is not valid YAML: \(error)")
        }
        var entries: [String: [IndexEntry]] = [:]
        for (chart, list) in doc["entries"]?.objectValue ?? [] {
            for item in list.arrayValue ?? [] {
                guard let text = item["version"]?.stringValue, let v = SemanticVersion(text) else { continue }
                entries[chart, default: []].append(IndexEntry(version: v, versionText: text, urls: item["urls"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                                              digest: item["digest"]?.stringValue))
            }
        }
        lock.withLock { indexes[base] = (Date(), entries) }
        return entries
    }

    func archive(_ entry: IndexEntry, base: String, name: String) throws -> [UInt8] {
        let key = entry.digest ?? "\(base)/\(name)-\(entry.versionText)"
        if let hit = cached(key) { return hit }
        // Digests name files: anything else in one is not used as a name.
        let safeDigest = entry.digest.flatMap { d in d.count == 64 && d.allSatisfy(\.isHexDigit) ? d.lowercased() : nil }
        let file = safeDigest.flatMap { d in cacheDirectory?.appendingPathComponent("\(d).tgz") }
        if let file, let data = FileManager.default.contents(atPath: file.path), Self.sha256(data) == safeDigest {
            let bytes = [UInt8](data)
            remember(key, bytes)
            return bytes
        }
        guard let first = entry.urls.first else { throw ManifestError("chart '\(name)' \(entry.versionText) in \(base) has no download URL") }
        let url = first.contains("://") ? first : base + "/" + first
        let bytes: [UInt8]
        do { bytes = try get(url) } catch {
            throw ManifestError("chart '\(name)' \(entry.versionText): cannot download \(url): \(error)")
        }
        if let digest = entry.digest, Self.sha256(Data(bytes)) != digest {
            throw ManifestError("chart '\(name)' \(entry.versionText) from \(url): the archive's sha256 does not match the digest in index.yaml")
        }
        // Only an archive that opens as a chart is kept.
        _ = try ChartLoader.load(tgz: bytes, origin: "\(name)-\(entry.versionText).tgz")
        if let file { store(file, bytes) }
        remember(key, bytes)
        return bytes
    }

    private func cached(_ key: String) -> [UInt8]? {
        lock.withLock {
            guard let hit = archives[key] else { return nil }
            useCounter += 1
            archives[key]?.used = useCounter
            return hit.bytes
        }
    }

    /// Keeps an archive in memory, dropping the least recently used ones past `memoryCacheBytes`.
    private func remember(_ key: String, _ bytes: [UInt8]) {
        guard bytes.count <= memoryCacheBytes / 2 else { return }
        lock.withLock {
            useCounter += 1
            if let old = archives.updateValue((bytes, useCounter), forKey: key) { archiveBytes -= old.bytes.count }
            archiveBytes += bytes.count
            while archiveBytes > memoryCacheBytes, let oldest = archives.min(by: { $0.value.used < $1.value.used }) {
                archiveBytes -= oldest.value.bytes.count
                archives.removeValue(forKey: oldest.key)
            }
        }
    }

    /// Bytes of archives held in memory.
    public var memoryCacheSize: Int { lock.withLock { archiveBytes } }

    /// Writes an archive to the disk cache (0600), then removes the oldest files past `diskCacheBytes`.
    private func store(_ file: URL, _ bytes: [UInt8]) {
        let fm = FileManager.default
        let dir = file.deletingLastPathComponent()
        try? fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard (try? Data(bytes).write(to: file, options: .atomic)) != nil else { return }
        try? fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        let names = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
        var files: [(path: String, size: Int, modified: Date)] = names.filter { $0.hasSuffix(".tgz") }.compactMap { name in
            let path = dir.appendingPathComponent(name).path
            guard let attributes = try? fm.attributesOfItem(atPath: path) else { return nil }
            return (path, (attributes[.size] as? Int) ?? 0, (attributes[.modificationDate] as? Date) ?? .distantPast)
        }
        var total = files.reduce(0) { $0 + $1.size }
        files.sort { $0.modified < $1.modified }
        for f in files where total > diskCacheBytes && f.path != file.path {
            try? fm.removeItem(atPath: f.path)
            total -= f.size
        }
    }

    static func sha256(_ data: Data) -> String { SHA256Digest.hex(data) }
}

extension ChartRepositories {
    /// Chart repositories over libcurl (HTTPS verified with the system's CAs; basic auth from `repositories:`).
    public convenience init(credentials: [Credentials] = [], cacheDirectory: URL? = nil, indexTTL: Double = 60, timeout: Double = 60) {
        self.init(credentials: credentials, cacheDirectory: cacheDirectory, indexTTL: indexTTL) { url, creds in
            guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host, scheme == "http" || scheme == "https" else {
                throw ManifestError("'\(url)' is not an http(s) URL")
            }
            let origin = "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? "")
            let path = (parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath) + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
            let transport = HTTPTransport(server: origin, credentials: ClusterCredentials(username: creds?.username, password: creds?.password),
                                          timeout: timeout, connectTimeout: min(10, timeout), maxBodyBytes: ChartArchive.maxExpandedBytes)
            let response: HTTPResponse
            do { response = try transport.request("GET", path, accept: "*/*") } catch { throw ManifestError("GET \(url): \(error)") }
            guard response.status == 200 else { throw ManifestError("GET \(url): HTTP \(response.status)") }
            return response.body
        }
    }
}

enum SHA256Digest {
    static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}

extension ManifestLoader {
    /// The part of a render's cache key that a chart adds: `source.helm` and the context, only when the path
    /// holds a chart (so plain sources keep one render per commit for every Application).
    func helmKey(helm: JSONValue?, context: RenderContext) -> String {
        let releaseNameSet = helm?["releaseName"]?.stringValue.map { !$0.isEmpty } ?? false
        return "\u{0}helm\u{0}" + (helm?.serialized(pretty: false) ?? "") + "\u{0}" + context.cacheKey(releaseNameSet: releaseNameSet)
    }

    /// Whether the source at `path` is rendered as a chart (`source.helm` set, or a Chart.yaml there).
    func isChart(repoURL: String, commit: String, path: String, helm: JSONValue?) -> Bool {
        let dir = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
        let chartFile = dir.isEmpty ? "Chart.yaml" : dir + "/Chart.yaml"
        if helm != nil { return true }
        let key = repoURL + "\u{0}" + commit + "\u{0}" + dir
        if let known = cache?.isChart(key) { return known }
        guard let tree = try? git.tree(repoURL: repoURL, commit: commit) else { return true }
        let found = tree.containsFile(chartFile)
        cache?.setChart(key, found)
        return found
    }

    /// A chart at `dir` of a git commit, rendered with `source.helm` as Argo CD renders it.
    func renderGitChart(repoURL: String, commit: String, dir: String, files: [String], helm: JSONValue?, context: RenderContext) throws -> [JSONValue] {
        let prefix = dir.isEmpty ? "" : dir + "/"
        let at = "path '\(dir.isEmpty ? "." : dir)' in \(repoURL) at \(commit.prefix(12))"
        guard files.contains("Chart.yaml") else { throw ManifestError("\(at): source.helm is set but there is no Chart.yaml") }
        var chartFiles: [String: [UInt8]] = [:]
        var total = 0
        for file in files {
            let data = try git.readFile(repoURL: repoURL, commit: commit, path: prefix + file)
            total += data.count
            if total > HelmChartFiles.maxChartBytes { throw ManifestError("\(at): the chart is larger than \(HelmChartFiles.maxChartBytes >> 20) MiB") }
            chartFiles[file] = [UInt8](data)
        }
        let options = try HelmSourceOptions(helm)
        do {
            var chart = try ChartLoader.load(files: chartFiles, origin: dir.isEmpty ? "." : dir)
            try vendorDependencies(&chart) { relative in
                // file://../other-chart: another chart of the same commit.
                let target = try Self.join(dir, relative, repoURL: repoURL)
                let tpfx = target.isEmpty ? "" : target + "/"
                let tree = try git.tree(repoURL: repoURL, commit: commit)
                var sub: [String: [UInt8]] = [:]
                for f in tree.files where f.hasPrefix(tpfx) {
                    sub[String(f.dropFirst(tpfx.count))] = [UInt8](try git.readFile(repoURL: repoURL, commit: commit, path: f))
                }
                return try ChartLoader.load(files: sub, origin: target)
            }
            return try renderChart(chart, options: options, context: context) { path in
                // Value files: relative to the chart, `$ref/…` from a multi-source reference, or an http(s) URL.
                try self.readValueFile(path, chartDir: dir, repoURL: repoURL, commit: commit, context: context)
            }
        } catch let error as HelmError {
            throw ManifestError("Helm chart at \(at): \(error.message)")
        } catch let error as ManifestError {
            throw ManifestError("Helm chart at \(at): \(error)")
        }
    }

    /// `source.chart` from a chart repository, at the newest version matching `constraint`.
    func loadRepositoryChart(repoURL: String, chart name: String, constraint: String, helm: JSONValue?, context unresolved: RenderContext) throws -> Rendered {
        let context = unresolved.resolved()
        let (version, tgz) = try charts.chart(repoURL: repoURL, name: name, constraint: constraint)
        let options = try HelmSourceOptions(helm)
        let digest = SHA256Digest.hex(Data(tgz))
        let key = "chart\u{0}" + digest + "\u{0}" + (helm?.serialized(pretty: false) ?? "") + "\u{0}" + context.cacheKey(releaseNameSet: options.releaseName != nil)
        func run() throws -> [JSONValue] {
            do {
                var chart = try ChartLoader.load(tgz: tgz, origin: "\(name)-\(version).tgz")
                try vendorDependencies(&chart) { relative in
                    throw ManifestError("chart '\(name)' \(version) names a local dependency (\(relative)) that its archive does not hold")
                }
                return try renderChart(chart, options: options, context: context) { path in
                    if let text = chart.files[path] { return String(decoding: text, as: UTF8.self) }
                    return try self.readValueFile(path, chartDir: nil, repoURL: repoURL, commit: nil, context: context)
                }
            } catch let error as HelmError {
                throw ManifestError("Helm chart '\(name)' \(version) from \(repoURL): \(error.message)")
            }
        }
        let objects = try cache.map { try $0.getOrRender(key, run) } ?? run()
        return Rendered(commit: version, objects: objects)
    }

    /// Fetches what `Chart.yaml` declares but `charts/` lacks, as `helm dependency build` would.
    func vendorDependencies(_ chart: inout Chart, local: (String) throws -> Chart) throws {
        for dep in chart.metadata.dependencies where !chart.dependencies.contains(where: { $0.name == dep.name }) {
            let repo = dep.repository
            if repo.hasPrefix("file://") {
                chart.dependencies.append(try local(String(repo.dropFirst("file://".count))))
            } else if repo.hasPrefix("http://") || repo.hasPrefix("https://") || repo.hasPrefix("oci://") {
                let (version, tgz) = try charts.chart(repoURL: repo, name: dep.name, constraint: dep.version)
                chart.dependencies.append(try ChartLoader.load(tgz: tgz, origin: "\(dep.name)-\(version).tgz"))
            } else if repo.isEmpty {
                throw ManifestError("dependency '\(dep.name)' is not in charts/ and names no repository")
            } else {
                throw ManifestError("dependency '\(dep.name)': repository '\(repo)' is a helm repo alias; name its URL instead")
            }
        }
    }

    func renderChart(_ chart: Chart, options: HelmSourceOptions, context: RenderContext, read: (String) throws -> String?) throws -> [JSONValue] {
        var render = HelmRenderOptions()
        render.releaseName = options.releaseName ?? (context.applicationName.isEmpty ? "release-name" : context.applicationName)
        render.namespace = options.namespace ?? context.namespace
        render.kubeVersion = options.kubeVersion ?? context.kubeVersion ?? HelmRenderer.defaultKubeVersion
        render.apiVersions = options.apiVersions + context.apiVersions
        render.includeCRDs = !options.skipCrds
        render.skipTests = options.skipTests
        render.validateSchema = !options.skipSchemaValidation
        render.limits = limits.template
        render.limits.deadline = .now + .milliseconds(Int(limits.renderTimeout * 1000))
        let stopAll = limits.template.isCancelled, stopThis = context.isCancelled
        if stopAll != nil || stopThis != nil {
            render.limits.isCancelled = { stopAll?() == true || stopThis?() == true }
        }
        for file in options.valueFiles {
            guard let text = try read(file) else {
                if options.ignoreMissingValueFiles { continue }
                throw ManifestError("value file '\(file)' not found (set ignoreMissingValueFiles to skip missing files)")
            }
            render.valueFiles.append((file, text))
        }
        if let object = options.valuesObject {
            render.overrides.append((nil, HelmValue(json: object)))
        } else if let values = options.values {
            render.valueFiles.append(("source.helm.values", values))
        }
        for p in options.parameters {
            // Argo CD escapes commas in a value unless it is a {list}.
            let value = p.value.hasPrefix("{") && p.value.hasSuffix("}") ? p.value : Self.escapeCommas(p.value)
            if p.forceString { render.setString.append("\(p.name)=\(value)") } else { render.set.append("\(p.name)=\(value)") }
        }
        for (name, path) in options.fileParameters {
            guard let text = try read(path) else { throw ManifestError("fileParameters \(name): file '\(path)' not found") }
            render.overrides.append((name, .string(text)))
        }
        let release = try HelmRenderer.render(chart, options: render)
        if release.manifests.isEmpty && !context.allowEmpty {
            throw ManifestError("chart '\(chart.name)' \(chart.metadata.version) rendered no objects with these values")
        }
        for m in release.manifests {
            if m.object["kind"]?.stringValue == nil || m.object["apiVersion"]?.stringValue == nil {
                let missing = m.object["kind"]?.stringValue == nil ? "kind" : "apiVersion"
                throw ManifestError("\(m.path): Object '\(missing)' is missing: not a Kubernetes manifest")
            }
            try checkSize(m.object, in: m.path)
        }
        return release.manifests.map(\.object)
    }

    static func escapeCommas(_ s: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in s {
            if c == "," && previous != "\\" { out.append("\\") }
            out.append(c)
            previous = c
        }
        return out
    }

    func readValueFile(_ path: String, chartDir: String?, repoURL: String, commit: String?, context: RenderContext) throws -> String? {
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
            if charts.remoteValueFiles == .configuredRepositories && charts.credentials(for: path) == nil {
                throw ManifestError("value file '\(path)': remote value files are read only from repositories listed in the hub's repositories:")
            }
            do { return String(decoding: try charts.get(path), as: UTF8.self) } catch let error as ManifestError {
                throw ManifestError("value file '\(path)': \(error)")
            }
        }
        if path.hasPrefix("$") {
            let name = String(path.dropFirst().prefix { $0 != "/" })
            guard let ref = context.references[name] else {
                throw ManifestError("value file '\(path)': no source of the Application has ref '\(name)'")
            }
            let rest = String(path.dropFirst(1 + name.count))
            let target = try Self.join("", rest, repoURL: ref.repoURL)
            let refCommit = try git.resolve(repoURL: ref.repoURL, revision: ref.revision)
            guard let data = try? git.readFile(repoURL: ref.repoURL, commit: refCommit, path: target) else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
        guard let chartDir, let commit else { return nil }
        let target = try Self.join(chartDir, path, repoURL: repoURL)
        guard let data = try? git.readFile(repoURL: repoURL, commit: commit, path: target) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// `base/relative`, cleaned; refuses a path that leaves the repository.
    static func join(_ base: String, _ relative: String, repoURL: String) throws -> String {
        var parts = relative.hasPrefix("/") ? [] : base.split(separator: "/").map(String.init)
        for part in relative.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                guard !parts.isEmpty else { throw ManifestError("'\(relative)' leaves the repository \(repoURL)") }
                parts.removeLast()
            } else {
                parts.append(String(part))
            }
        }
        return parts.joined(separator: "/")
    }
}
