import FleetConfig
import FleetHelm
import FleetKube
import FleetModel
import FleetTemplate
import Foundation

/// Reads the Kubernetes manifests of an Application source at a commit: every `*.yaml`, `*.yml` and `*.json`
/// under the path, recursively, multi-document, in path order. A directory with a `kustomization.yaml` is
/// rendered with `kubectl kustomize` from a copy of the commit's tree.
public struct ManifestLoader: Sendable {
    public let git: any GitSource
    /// The kubectl binary for kustomize directories.
    public var kubectl: String

    /// Rendered sources by repository, commit and path (a commit never changes, so neither does its rendering).
    public let cache: ManifestCache?
    public let limits: Limits
    /// Where jsonnet runs: a hub passes `SubprocessJsonnet`, so a runaway evaluation can be stopped.
    public let jsonnet: any JsonnetEvaluator
    /// Chart repositories for `source.chart` and for dependencies a chart does not vendor in `charts/`.
    public let charts: ChartRepositories
    private let subprocesses: DispatchSemaphore

    /// Bounds on rendering, so one repository cannot take the hub's processes, time or memory.
    public struct Limits: Sendable {
        /// Seconds `kubectl kustomize` may run before it is killed. Default 60.
        public var subprocessTimeout: Double = 60
        /// Subprocesses at once; more renders wait their turn. Default 4.
        public var concurrentSubprocesses = 4
        /// Largest object, serialized, in bytes. Default 1 MiB (etcd refuses requests over about 1.5 MiB).
        public var maxObjectBytes = 1 << 20
        /// Hosts kustomize may fetch remote bases from. Default none: remote bases are refused.
        public var remoteHosts: [String] = []
        /// Where kustomize work copies go (created 0700). Default: the system's temporary directory.
        public var workDirectory: URL?
        /// Bounds on each chart render (steps, depth, bytes; `isCancelled` stops every render, as when the hub
        /// stops). Default: `HelmRenderer.defaultLimits`.
        public var template: TemplateLimits = HelmRenderer.defaultLimits
        /// Seconds one chart render may take before it stops. Default 60.
        public var renderTimeout: Double = 60
        public init() {}
    }

    public init(git: any GitSource, kubectl: String = "kubectl", cache: ManifestCache? = nil, limits: Limits = Limits(),
                jsonnet: any JsonnetEvaluator = InProcessJsonnet(), charts: ChartRepositories = ChartRepositories()) {
        self.git = git
        self.charts = charts
        self.jsonnet = jsonnet
        self.kubectl = kubectl
        self.cache = cache
        self.limits = limits
        subprocesses = DispatchSemaphore(value: max(1, limits.concurrentSubprocesses))
    }

    public struct Rendered: Sendable {
        public let commit: String
        public let objects: [JSONValue]
    }

    /// - Parameter recurse: read the path's subdirectories too (Argo CD's `directory.recurse`, off by default
    ///   for Application sources; `flotilla apply -f DIR` reads the whole tree).
    /// - Parameter kustomize: Argo CD's `source.kustomize` options, applied over the path's kustomization (one
    ///   is made for a plain directory, as Argo CD makes it).
    /// - Parameter filter: Argo CD's `directory.include` and `exclude` globs, on paths relative to `path`.
    /// - Parameter jsonnetOptions: Argo CD's `directory.jsonnet` (ext vars, TLAs, libs) for `*.jsonnet` files.
    /// - Parameter helm: Argo CD's `source.helm` (as JSON) and the render context, for a chart at the path.
    public func load(repoURL: String, revision: String, path: String, recurse: Bool = true, kustomize: JSONValue? = nil,
                     filter: FileFilter = FileFilter(), jsonnetOptions: JsonnetOptions = JsonnetOptions(),
                     helm: JSONValue? = nil, context unresolved: RenderContext = RenderContext()) throws -> Rendered {
        let commit = try git.resolve(repoURL: repoURL, revision: revision)
        // The destination's version and APIs are asked only for a chart.
        let chart = isChart(repoURL: repoURL, commit: commit, path: path, helm: helm)
        let context = chart && unresolved.capabilities != nil ? unresolved.resolved() : unresolved
        let overrides = kustomize.flatMap { $0.isEmptyValue ? nil : $0 }
        let key = repoURL + "\u{0}" + commit + "\u{0}" + path + (recurse ? "\u{0}r" : "") + (overrides.map { "\u{0}" + $0.serialized(pretty: false) } ?? "")
            + "\u{0}" + (filter.include ?? "") + "\u{0}" + (filter.exclude ?? "") + "\u{0}" + jsonnetOptions.cacheKey
            + (chart ? helmKey(helm: helm, context: context) : "")
        func run() throws -> Rendered {
            try render(repoURL: repoURL, commit: commit, path: path, recurse: recurse, overrides: overrides, filter: filter, jsonnetOptions: jsonnetOptions,
                       helm: helm, context: context)
        }
        guard let cache else { return try run() }
        // One render per key at a time: concurrent loads of the same source wait for it instead of starting more.
        let objects = try cache.getOrRender(key) { try run().objects }
        return Rendered(commit: commit, objects: objects)
    }

    /// Renders one source of an Application spec (`repoURL`, `path` or `chart`, options) at `revision` (its
    /// `targetRevision` when nil). Returns nil for a `ref:` source, which only lends files to another. A source
    /// Flotilla cannot render, or that renders nothing where the user named something, is an error naming it.
    public func load(source: JSONValue, revision: String? = nil, context: RenderContext = RenderContext()) throws -> Rendered? {
        let repo = source["repoURL"]?.stringValue ?? ""
        let where_ = source["path"]?.stringValue.map { "path '\($0)' of \(repo)" } ?? source["chart"]?.stringValue.map { "chart '\($0)' from \(repo)" } ?? repo
        if let declared = SourceType.declared(source) {
            if declared == .reference { return nil }
            if let reason = declared.unsupportedReason {
                let name = declared == .plugin ? " '\(source.value(at: ["plugin", "name"])?.stringValue ?? "")'" : ""
                throw ManifestError("\(declared.rawValue)\(name) source (\(where_)): \(reason)")
            }
        }
        // Options Flotilla does not apply yet are refused by name: ignoring them would deploy something else.
        let ignored = SourceType.unappliedOptions(source)
        if !ignored.isEmpty {
            throw ManifestError("source (\(where_)) sets \(ignored.joined(separator: ", ")), which Flotilla does not apply yet")
        }
        guard !repo.isEmpty else { throw ManifestError("source has no repoURL") }
        if let chart = source["chart"]?.stringValue, source["path"] == nil {
            // A rollback pin is a chart version for a chart source (a git commit pins the git sources only).
            let pinned = revision.flatMap { SemanticVersion($0) != nil ? $0 : nil }
            return try loadRepositoryChart(repoURL: repo, chart: chart, constraint: pinned ?? source["targetRevision"]?.stringValue ?? "",
                                           helm: source["helm"], context: context)
        }
        guard let path = source["path"]?.stringValue else { throw ManifestError("source \(repo) has no path (and no chart)") }
        return try load(repoURL: repo, revision: revision ?? source["targetRevision"]?.stringValue ?? "HEAD", path: path,
                        recurse: source.value(at: ["directory", "recurse"])?.boolValue ?? false, kustomize: source["kustomize"],
                        filter: FileFilter(include: source.value(at: ["directory", "include"])?.stringValue,
                                           exclude: source.value(at: ["directory", "exclude"])?.stringValue),
                        jsonnetOptions: try JsonnetOptions(source.value(at: ["directory", "jsonnet"])),
                        helm: source["helm"] ?? (SourceType.declared(source) == .helm ? .object([]) : nil), context: context)
    }

    /// Refuses an object larger than `limits.maxObjectBytes` before anything is sent to a cluster.
    func checkSize(_ object: JSONValue, in file: String) throws {
        let bytes = object.serialized(pretty: false).utf8.count
        if bytes > limits.maxObjectBytes {
            let kind = object["kind"]?.stringValue ?? "object", name = object.value(at: ["metadata", "name"])?.stringValue ?? "?"
            throw ManifestError("\(kind)/\(name) in \(file) is \(bytes) bytes, over the limit of \(limits.maxObjectBytes) bytes per object (limits.manifestBytes)")
        }
    }

    /// What stops a render's subprocesses: the loader's (the hub stops) or the caller's (a preview's client left).
    func stopCheck(_ context: RenderContext) -> (@Sendable () -> Bool)? {
        let stopAll = limits.template.isCancelled, stopThis = context.isCancelled
        if stopAll == nil && stopThis == nil { return nil }
        return { stopAll?() == true || stopThis?() == true }
    }

    private func render(repoURL: String, commit: String, path: String, recurse: Bool, overrides: JSONValue?, filter: FileFilter,
                        jsonnetOptions: JsonnetOptions, helm: JSONValue?, context: RenderContext) throws -> Rendered {
        let tree = try git.tree(repoURL: repoURL, commit: commit)
        let dir = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
        if dir.split(separator: "/").contains("..") {
            throw ManifestError("source path '\(path)' leaves the repository \(repoURL)")
        }
        let prefix = dir.isEmpty ? "" : dir + "/"
        if !dir.isEmpty && !tree.directories.contains(dir) {
            throw ManifestError("path '\(path)' not found in \(repoURL) at \(commit.prefix(12))")
        }
        // Links are never followed (one could point at the hub's own files): a source holding one is refused.
        let links = tree.symlinks.filter { prefix.isEmpty || $0.hasPrefix(prefix) }
        if !links.isEmpty {
            throw ManifestError("path '\(path)' in \(repoURL) at \(commit.prefix(12)) holds symbolic links, which Flotilla does not follow: \(links.prefix(5).joined(separator: ", "))\(links.count > 5 ? " and \(links.count - 5) more" : "")")
        }
        let inDir = tree.files.filter { prefix.isEmpty || $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        let type = helm != nil ? .helm : SourceType.detected(files: inDir)
        if type == .helm {
            return Rendered(commit: commit, objects: try renderGitChart(repoURL: repoURL, commit: commit, dir: dir, files: inDir,
                                                                        helm: helm, context: context))
        }
        if let reason = type.unsupportedReason {
            throw ManifestError("path '\(path)' in \(repoURL) at \(commit.prefix(12)) is a \(type.rawValue) source: \(reason)")
        }
        if type == .kustomize || overrides != nil {
            return Rendered(commit: commit, objects: try kustomize(repoURL: repoURL, commit: commit, tree: tree, dir: dir, overrides: overrides,
                                                                   isCancelled: stopCheck(context),
                                                                   autodetect: type != .kustomize ? inDir : nil))
        }
        var objects: [JSONValue] = []
        // A work copy of the commit, made once, for jsonnet files (their imports read the repository).
        var workCopy: URL?
        defer { if let workCopy { try? FileManager.default.removeItem(at: workCopy) } }
        for file in tree.files where file.hasPrefix(prefix) && (file.hasSuffix(".yaml") || file.hasSuffix(".yml") || file.hasSuffix(".json") || file.hasSuffix(".jsonnet"))
            && (recurse || !file.dropFirst(prefix.count).contains("/")) && filter.admits(String(file.dropFirst(prefix.count))) {
            if file.hasSuffix(".jsonnet") {
                // Imports may reach anywhere in the repository: the source path, the libraries, and every file
                // jsonnet usually imports are copied.
                let libs = jsonnetOptions.libs.map { $0.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/") }
                let root = try workCopy ?? makeWorkCopy(repoURL: repoURL, commit: commit, tree: tree) { f in
                    f.hasPrefix(prefix) || libs.contains { $0.isEmpty || f.hasPrefix($0 + "/") }
                        || [".jsonnet", ".libsonnet", ".json", ".yaml", ".yml", ".txt"].contains { f.hasSuffix($0) }
                }
                workCopy = root
                let jpaths = jsonnetOptions.libs.map { lib in
                    root.appendingPathComponent(lib.split(separator: "/").filter { $0 != ".." && $0 != "." }.joined(separator: "/")).path
                }
                subprocesses.wait()
                let output: String
                do {
                    defer { subprocesses.signal() }
                    output = try jsonnet.evaluate(file: root.appendingPathComponent(file).path, options: jsonnetOptions, jpaths: jpaths,
                                                  root: root.path, timeout: limits.subprocessTimeout, isCancelled: stopCheck(context))
                } catch let error as ManifestError {
                    throw ManifestError("jsonnet \(file) in \(repoURL) at \(commit.prefix(12)): \(error.description.replacingOccurrences(of: root.path + "/", with: ""))")
                }
                for item in try Jsonnet.manifests(output, file: file) {
                    if item["kind"]?.stringValue == nil || item["apiVersion"]?.stringValue == nil {
                        throw ManifestError("\(file) in \(repoURL) at \(commit.prefix(12)): an object of the jsonnet output has no kind or apiVersion: not a Kubernetes manifest")
                    }
                    try checkSize(item, in: file)
                    objects.append(item)
                }
                continue
            }
            let text = String(decoding: try git.readFile(repoURL: repoURL, commit: commit, path: file), as: UTF8.self)
            let docs: [JSONValue]
            do {
                docs = file.hasSuffix(".json") ? [try JSONParser.parse(text)] : try YAMLValue.documents(text, file: file)
            } catch {
                throw ManifestError("\(repoURL) at \(commit.prefix(12)): \(error)")
            }
            for doc in docs where !doc.isNull {
                let items = doc["kind"]?.stringValue == "List" ? doc["items"]?.arrayValue ?? [] : [doc]
                for item in items {
                    // As Argo CD: a document that is not a Kubernetes object is an error, not a silent skip.
                    if item.objectValue == nil || item["kind"]?.stringValue == nil || item["apiVersion"]?.stringValue == nil {
                        let missing = item["kind"]?.stringValue == nil ? "kind" : "apiVersion"
                        throw ManifestError("\(file) in \(repoURL) at \(commit.prefix(12)): Object '\(missing)' is missing: not a Kubernetes manifest")
                    }
                    try checkSize(item, in: file)
                }
                objects += items
            }
        }
        if objects.isEmpty && !inDir.isEmpty && !context.allowEmpty {
            let shown = inDir.prefix(5).joined(separator: ", ") + (inDir.count > 5 ? " and \(inDir.count - 5) more" : "")
            throw ManifestError("path '\(path)' in \(repoURL) at \(commit.prefix(12)) rendered no objects: no YAML or JSON manifests among \(shown)")
        }
        return Rendered(commit: commit, objects: objects)
    }

    /// - Parameters:
    ///   - overrides: `source.kustomize` options to apply over the kustomization.
    ///   - autodetect: for a directory without a kustomization, its files: one is made listing them.
    private func kustomize(repoURL: String, commit: String, tree: RepoTree, dir: String, overrides: JSONValue? = nil,
                           isCancelled: (@Sendable () -> Bool)? = nil, autodetect: [String]? = nil) throws -> [JSONValue] {
        var needed: Set<String> = [dir]
        if autodetect == nil {
            needed = try Self.checkKustomizationPaths(repoURL: repoURL, commit: commit, tree: tree, from: dir, git: git, remoteHosts: limits.remoteHosts)
        }
        // Only what kustomize reads is copied (a checkout may hold build directories of any size).
        let root = try makeWorkCopy(repoURL: repoURL, commit: commit, tree: tree) { file in
            needed.contains(file) || needed.contains { $0.isEmpty || file.hasPrefix($0 + "/") }
        }
        defer { try? FileManager.default.removeItem(at: root) }
        if let overrides {
            let appDir = root.appendingPathComponent(dir)
            let names = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            let existing = names.map { appDir.appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0.path) }
            let file = existing ?? appDir.appendingPathComponent("kustomization.yaml")
            let current: JSONValue
            if let existing {
                current = try YAMLValue.parse(String(decoding: try Data(contentsOf: existing), as: UTF8.self), file: "\(dir)/\(existing.lastPathComponent)")
            } else {
                current = KustomizeOverrides.autodetected(files: autodetect ?? [])
            }
            try YAMLOutput.render(try KustomizeOverrides.apply(overrides, to: current)).write(to: file, atomically: true, encoding: .utf8)
        }
        subprocesses.wait()
        defer { subprocesses.signal() }
        let result: Subprocess.Result
        do {
            result = try Subprocess.run("/usr/bin/env", [kubectl, "kustomize", root.appendingPathComponent(dir).path], timeout: limits.subprocessTimeout,
                                        isCancelled: isCancelled)
        } catch let error as Subprocess.Failure {
            switch error {
            case .timedOut(let seconds):
                throw ManifestError("kustomize for \(dir) in \(repoURL) at \(commit.prefix(12)) did not finish within \(Int(seconds)) s and was stopped (limits.subprocessTimeout)")
            case .cannotStart(let why):
                throw ManifestError("cannot run '\(kubectl) kustomize' for \(dir) in \(repoURL): \(why). Install kubectl (which includes kustomize) or put it on PATH")
            case .cancelled:
                throw ManifestError("kustomize for \(dir) in \(repoURL) was stopped: the render was cancelled")
            }
        }
        if result.status == 127 {
            throw ManifestError("kubectl was not found: \(dir) in \(repoURL) has a kustomization.yaml, which needs 'kubectl kustomize'. Install kubectl or put it on PATH")
        }
        guard result.status == 0 else {
            let message = String(decoding: result.stderr, as: UTF8.self).replacingOccurrences(of: root.path + "/", with: "")
            throw ManifestError("kustomize failed for \(dir) in \(repoURL) at \(commit.prefix(12)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let objects = try YAMLValue.documents(String(decoding: result.stdout, as: UTF8.self), file: "kustomize output").filter { !$0.isNull }
        for object in objects { try checkSize(object, in: "the kustomize output of \(dir)") }
        return objects
    }

    /// The commit's files in a new directory. Work copies may hold Secret manifests: a directory only the hub's
    /// user can read; the caller removes it.
    private func makeWorkCopy(repoURL: String, commit: String, tree: RepoTree, including: (String) -> Bool) throws -> URL {
        let base = limits.workDirectory ?? FileManager.default.temporaryDirectory
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let root = base.appendingPathComponent("flotilla-kustomize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            for file in tree.files where including(file) {
                let target = root.appendingPathComponent(file)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try git.readFile(repoURL: repoURL, commit: commit, path: file).write(to: target)
            }
        } catch {
            try? FileManager.default.removeItem(at: root)
            throw error
        }
        return root
    }

    /// Removes work copies a killed hub left behind in `directory`.
    public static func cleanWorkDirectory(_ directory: URL) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix("flotilla-kustomize-") {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

/// Argo CD's `directory.include` and `directory.exclude`: globs on a file's path relative to the source path
/// (`*` crosses `/`; `{a,b}` alternatives). A file is read when it matches `include` (if set) and not `exclude`.
public struct FileFilter: Sendable, Equatable {
    public var include: String?
    public var exclude: String?

    public init(include: String? = nil, exclude: String? = nil) {
        self.include = include.flatMap { $0.isEmpty ? nil : $0 }
        self.exclude = exclude.flatMap { $0.isEmpty ? nil : $0 }
    }

    public func admits(_ relativePath: String) -> Bool {
        if let exclude, Glob.anyMatch(exclude, relativePath) { return false }
        if let include, !Glob.anyMatch(include, relativePath) { return false }
        return true
    }
}

public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// A bounded cache of rendered sources, shared by the reconciles of a hub. Oldest entries go first.
public final class ManifestCache: @unchecked Sendable {
    public let capacity: Int
    // `lock` guards `entries` and `order`.
    private let lock = NSLock()
    private var entries: [String: [JSONValue]] = [:]
    private var order: [String] = []
    private var head = 0

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    private var inFlight: [String: DispatchGroup] = [:]
    /// Whether a path of a commit holds a chart (`repo\0commit\0path`): a commit never changes, so neither does
    /// the answer. Emptied when it grows past 16 × `capacity`.
    private var charts: [String: Bool] = [:]

    func get(_ key: String) -> [JSONValue]? { lock.withLock { entries[key] } }

    func isChart(_ key: String) -> Bool? { lock.withLock { charts[key] } }

    func setChart(_ key: String, _ value: Bool) {
        lock.withLock {
            if charts.count >= 16 * capacity { charts.removeAll(keepingCapacity: true) }
            charts[key] = value
        }
    }

    /// The cached objects of `key`, rendering them when missing; a render already running for `key` is waited for.
    func getOrRender(_ key: String, _ render: () throws -> [JSONValue]) throws -> [JSONValue] {
        while true {
            let state = lock.withLock { () -> (hit: [JSONValue]?, wait: DispatchGroup?) in
                if let hit = entries[key] { return (hit, nil) }
                if let running = inFlight[key] { return (nil, running) }
                let mine = DispatchGroup()
                mine.enter()
                inFlight[key] = mine
                return (nil, nil)
            }
            if let hit = state.hit { return hit }
            if let running = state.wait {
                running.wait()
                // The render finished (or failed: then this caller renders, and reports its own error).
                if let hit = get(key) { return hit }
                continue
            }
            defer {
                let group = lock.withLock { inFlight.removeValue(forKey: key) }
                group?.leave()
            }
            let objects = try render()
            put(key, objects)
            return objects
        }
    }

    func put(_ key: String, _ objects: [JSONValue]) {
        lock.withLock {
            if entries.updateValue(objects, forKey: key) != nil { return }
            order.append(key)
            if order.count - head > capacity {
                entries.removeValue(forKey: order[head])
                head += 1
                if head > capacity { order.removeFirst(head); head = 0 }
            }
        }
    }

    public var count: Int { lock.withLock { entries.count } }
}

extension ManifestLoader {
    /// `https://host/…`, `git@host:…`, `github.com/org/repo//path`: what kustomize fetches over the network.
    static func isRemote(_ path: String) -> Bool {
        path.contains("://") || path.hasPrefix("git@") || path.hasPrefix("github.com/") || path.hasPrefix("gitlab.com/") || path.hasPrefix("bitbucket.org/")
    }

    static func remoteHost(_ path: String) -> String {
        var rest = Substring(path)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let at = rest.firstIndex(of: "@"), !rest[..<at].contains("/") { rest = rest[rest.index(after: at)...] }
        let end = rest.firstIndex { $0 == "/" || $0 == ":" || $0 == "?" } ?? rest.endIndex
        return String(rest[..<end])
    }

    /// Kustomizations may name other directories (`resources: [../base]`); one that leaves the repository
    /// would make kustomize read the hub's own files. Every local path a kustomization names is resolved
    /// against its directory and must stay inside the repository. Remote resources (`https://…`) are left to
    /// kustomize.
    /// Returns the paths kustomize will read (directories and files), so that only those are copied.
    @discardableResult
    static func checkKustomizationPaths(repoURL: String, commit: String, tree: RepoTree, from dir: String, git: any GitSource,
                                        remoteHosts: [String] = []) throws -> Set<String> {
        // The kustomization of `dir`, and of every local directory it names, transitively.
        var queue = [dir], seen: Set<String> = [dir]
        var files: Set<String> = []
        while let current = queue.popLast() {
            let prefix = current.isEmpty ? "" : current + "/"
            guard let file = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map({ prefix + $0 }).first(where: { tree.files.contains($0) }) else { continue }
            let base = file.split(separator: "/").dropLast().map(String.init)
            let text = String(decoding: try git.readFile(repoURL: repoURL, commit: commit, path: file), as: UTF8.self)
            guard let doc = try? YAMLValue.parse(text, file: file) else { continue }
            var paths: [String] = []
            for key in ["resources", "bases", "components", "patchesStrategicMerge", "crds"] {
                paths += doc[key]?.arrayValue?.compactMap(\.stringValue) ?? []
            }
            for patch in (doc["patches"]?.arrayValue ?? []) + (doc["patchesJson6902"]?.arrayValue ?? []) {
                if let path = patch["path"]?.stringValue { paths.append(path) }
            }
            for generator in (doc["configMapGenerator"]?.arrayValue ?? []) + (doc["secretGenerator"]?.arrayValue ?? []) {
                for entry in (generator["files"]?.arrayValue ?? []) + (generator["envs"]?.arrayValue ?? []) {
                    if let text = entry.stringValue { paths.append(text.split(separator: "=", maxSplits: 1).last.map(String.init) ?? text) }
                }
            }
            for path in paths where Self.isRemote(path) {
                let host = Self.remoteHost(path)
                if !remoteHosts.contains(where: { $0.lowercased() == host.lowercased() }) {
                    throw ManifestError("\(file) names the remote base '\(path)': remote kustomize bases are loaded only from the hosts in limits.kustomizeRemoteHosts (\(remoteHosts.isEmpty ? "none configured" : remoteHosts.joined(separator: ", ")))")
                }
            }
            for path in paths where !Self.isRemote(path) {
                if path.hasPrefix("/") { throw ManifestError("\(file) names '\(path)': an absolute path leaves the repository \(repoURL)") }
                var stack = base
                for segment in path.split(separator: "/") {
                    if segment == ".." {
                        if stack.isEmpty { throw ManifestError("\(file) names '\(path)', which leaves the repository \(repoURL)") }
                        stack.removeLast()
                    } else if segment != "." {
                        stack.append(String(segment))
                    }
                }
                let resolved = stack.joined(separator: "/")
                if tree.directories.contains(resolved) && seen.insert(resolved).inserted { queue.append(resolved) }
                if !tree.directories.contains(resolved) { files.insert(resolved) }
            }
        }
        return seen.union(files)
    }
}
