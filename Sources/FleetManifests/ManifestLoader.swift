import FleetConfig
import FleetModel
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

    public init(git: any GitSource, kubectl: String = "kubectl", cache: ManifestCache? = nil) {
        self.git = git
        self.kubectl = kubectl
        self.cache = cache
    }

    public struct Rendered: Sendable {
        public let commit: String
        public let objects: [JSONValue]
    }

    public func load(repoURL: String, revision: String, path: String) throws -> Rendered {
        let commit = try git.resolve(repoURL: repoURL, revision: revision)
        let key = repoURL + "\u{0}" + commit + "\u{0}" + path
        if let hit = cache?.get(key) { return Rendered(commit: commit, objects: hit) }
        let rendered = try render(repoURL: repoURL, commit: commit, path: path)
        cache?.put(key, rendered.objects)
        return rendered
    }

    private func render(repoURL: String, commit: String, path: String) throws -> Rendered {
        let tree = try git.tree(repoURL: repoURL, commit: commit)
        let dir = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
        if dir.split(separator: "/").contains("..") {
            throw ManifestError("source path '\(path)' leaves the repository \(repoURL)")
        }
        let prefix = dir.isEmpty ? "" : dir + "/"
        if !dir.isEmpty && !tree.directories.contains(dir) {
            throw ManifestError("path '\(path)' not found in \(repoURL) at \(commit.prefix(12))")
        }
        let kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map { prefix + $0 }.first { tree.files.contains($0) }
        if kustomization != nil {
            return Rendered(commit: commit, objects: try kustomize(repoURL: repoURL, commit: commit, tree: tree, dir: dir))
        }
        var objects: [JSONValue] = []
        for file in tree.files where file.hasPrefix(prefix) && (file.hasSuffix(".yaml") || file.hasSuffix(".yml") || file.hasSuffix(".json")) {
            let text = String(decoding: try git.readFile(repoURL: repoURL, commit: commit, path: file), as: UTF8.self)
            let docs: [JSONValue]
            do {
                docs = file.hasSuffix(".json") ? [try JSONParser.parse(text)] : try YAMLValue.documents(text, file: file)
            } catch {
                throw ManifestError("\(repoURL) at \(commit.prefix(12)): \(error)")
            }
            for doc in docs where !doc.isNull {
                if doc["kind"]?.stringValue == "List", let items = doc["items"]?.arrayValue { objects += items } else { objects.append(doc) }
            }
        }
        return Rendered(commit: commit, objects: objects)
    }

    private func kustomize(repoURL: String, commit: String, tree: RepoTree, dir: String) throws -> [JSONValue] {
        try Self.checkKustomizationPaths(repoURL: repoURL, commit: commit, tree: tree, from: dir, git: git)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-kustomize-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for file in tree.files {
            let target = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try git.readFile(repoURL: repoURL, commit: commit, path: file).write(to: target)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [kubectl, "kustomize", root.appendingPathComponent(dir).path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw ManifestError("cannot run '\(kubectl) kustomize' for \(dir) in \(repoURL): \(error). Install kubectl (which includes kustomize) or put it on PATH")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw ManifestError("kubectl was not found: \(dir) in \(repoURL) has a kustomization.yaml, which needs 'kubectl kustomize'. Install kubectl or put it on PATH")
        }
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self).replacingOccurrences(of: root.path + "/", with: "")
            throw ManifestError("kustomize failed for \(dir) in \(repoURL) at \(commit.prefix(12)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return try YAMLValue.documents(String(decoding: data, as: UTF8.self), file: "kustomize output").filter { !$0.isNull }
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

    func get(_ key: String) -> [JSONValue]? { lock.withLock { entries[key] } }

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
    /// Kustomizations may name other directories (`resources: [../base]`); one that leaves the repository
    /// would make kustomize read the hub's own files. Every local path a kustomization names is resolved
    /// against its directory and must stay inside the repository. Remote resources (`https://…`) are left to
    /// kustomize.
    static func checkKustomizationPaths(repoURL: String, commit: String, tree: RepoTree, from dir: String, git: any GitSource) throws {
        // The kustomization of `dir`, and of every local directory it names, transitively.
        var queue = [dir], seen: Set<String> = [dir]
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
            for path in paths where !path.contains("://") && !path.hasPrefix("github.com/") {
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
            }
        }
    }
}
