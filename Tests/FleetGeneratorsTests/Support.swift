import FleetConfig
import FleetGenerators
import FleetModel
import Foundation

/// Repositories in memory: URL → (path → content). Every revision resolves to one fixed commit, except
/// "missing", which fails like an unknown revision.
struct MemoryGit: GitSource {
    var repos: [String: [String: String]]
    static let commit = String(repeating: "a", count: 40)

    struct Failure: Error, CustomStringConvertible { let description: String }

    func resolve(repoURL: String, revision: String) throws -> String {
        guard repos[repoURL] != nil else { throw Failure(description: "repository \(repoURL) is unreachable: not found") }
        if revision == "missing" { throw Failure(description: "repository \(repoURL): revision '\(revision)' not found") }
        return Self.commit
    }

    func tree(repoURL: String, commit: String) throws -> RepoTree {
        let files = Array(repos[repoURL]!.keys)
        var dirs = Set<String>()
        for f in files {
            var parts = f.split(separator: "/").dropLast()
            while !parts.isEmpty {
                dirs.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        return RepoTree(directories: Array(dirs), files: files)
    }

    func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        guard let text = repos[repoURL]?[path] else { throw Failure(description: "\(path) not found") }
        return Data(text.utf8)
    }
}

let repo = "https://github.com/argoproj/argo-cd.git"

let testClusters: [Cluster] = [
    Cluster(name: "staging", server: "https://staging.example.com", labels: ["env": "staging", "region": "us"]),
    Cluster(name: "prod_eu", server: "https://prod-eu.example.com", labels: ["env": "prod", "region": "eu", "kafka": "true"],
            annotations: ["owner": "team-a"]),
    Cluster(name: "prod-us", server: "https://prod-us.example.com", labels: ["env": "prod", "region": "us"]),
]

func appSet(_ yaml: String) throws -> ApplicationSet {
    try ApplicationSet.parse(yaml, file: "test.yaml")[0]
}

func generate(_ yaml: String, clusters: [Cluster] = testClusters, git: [String: [String: String]] = [:], checkDestinations: Bool = false) throws -> [Application] {
    let context = GeneratorContext(clusters: clusters, git: MemoryGit(repos: git))
    return try Generation.applications(for: try appSet(yaml), context: context, checkDestinations: checkDestinations)
}

func names(_ apps: [Application]) -> [String] { apps.map(\.name) }

/// An ApplicationSet with the given generators (YAML, indented for `generators:`) and template body.
func spec(_ generators: String, template: String = "name: '{{name}}'", goTemplate: Bool = false, extra: String = "") -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: test, namespace: argocd}
    spec:
      goTemplate: \(goTemplate)
    \(extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      generators:
    \(generators.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
      template:
        metadata:
          \(template)
        spec:
          project: default
          source: {repoURL: 'https://github.com/acme/apps.git', targetRevision: HEAD, path: guestbook}
          destination: {server: 'https://kubernetes.default.svc', namespace: default}
    """
}
