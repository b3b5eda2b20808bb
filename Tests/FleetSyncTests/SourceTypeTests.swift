import FleetGit
import FleetManifests
import FleetModel
import Foundation
import Testing

/// The source type Argo CD would pick: explicit options first, then the files at the path.
@Test(arguments: [
    (#"{"repoURL": "r", "path": "p"}"#, [String](), nil as SourceType?),
    (#"{"repoURL": "r", "chart": "nginx", "targetRevision": "1.2.3"}"#, [], .helm),
    (#"{"repoURL": "r", "path": "p", "helm": {"valueFiles": ["v.yaml"]}}"#, [], .helm),
    (#"{"repoURL": "r", "path": "p", "plugin": {"name": "kasane"}}"#, [], .plugin),
    (#"{"repoURL": "r", "path": "p", "kustomize": {"namePrefix": "x-"}}"#, [], .kustomize),
    (#"{"repoURL": "r", "path": "p", "directory": {"jsonnet": {"tlas": []}}}"#, [], .jsonnet),
    (#"{"repoURL": "r", "ref": "values"}"#, [], .reference),
] as [(String, [String], SourceType?)])
func declaredSourceTypes(_ json: String, _ files: [String], _ expected: SourceType?) throws {
    #expect(SourceType.declared(try JSONParser.parse(json)) == expected)
}

@Test(arguments: [
    (["deployment.yaml", "service.yaml"], SourceType.directory),
    (["kustomization.yaml", "deployment.yaml"], .kustomize),
    (["Chart.yaml", "values.yaml", "templates/deployment.yaml"], .helm),
    (["guestbook.jsonnet", "params.libsonnet"], .jsonnet),
    (["sub/Chart.yaml", "cm.yaml"], .directory),
])
func detectedSourceTypes(_ files: [String], _ expected: SourceType) {
    #expect(SourceType.detected(files: files) == expected)
}

/// Sources Flotilla cannot render, or that render nothing, are errors naming the source: never an empty
/// success that a hub would report Synced and Healthy.
@Test(arguments: [
    (#"{"repoURL": "REPO", "chart": "nginx", "targetRevision": "15.*"}"#, "chart repository REPO: cannot read index.yaml"),
    (#"{"repoURL": "REPO", "path": "chart", "helm": {"valueFiles": ["missing.yaml"]}}"#, "value file 'missing.yaml' not found"),
    (#"{"repoURL": "REPO", "path": "chart", "helm": {"postRenderer": "x"}}"#, "sets helm.postRenderer, which Flotilla does not apply"),
    (#"{"repoURL": "REPO", "path": "plain", "plugin": {"name": "kustomized-helm"}}"#, "Plugin 'kustomized-helm' source (path 'plain' of REPO): config management plugins are not supported"),
    (#"{"repoURL": "REPO", "path": "chart"}"#, "Helm chart at path 'chart' in REPO at 000000000000: c/templates/cm.yaml: Object 'apiVersion' is missing"),
    (#"{"repoURL": "REPO", "path": "jsonnet"}"#, "jsonnet/app.jsonnet in REPO at 000000000000: an object of the jsonnet output has no kind or apiVersion"),
    (#"{"repoURL": "REPO", "path": "values"}"#, "values.yaml in REPO at"),
    (#"{"repoURL": "REPO", "path": "docs"}"#, "rendered no objects: no YAML or JSON manifests among README.md"),
    (#"{"repoURL": "REPO"}"#, "has no path (and no chart)"),
])
func unrenderableSourcesAreErrors(_ json: String, _ message: String) throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-sources-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let files = [
        "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n", "chart/templates/cm.yaml": "kind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n",
        "jsonnet/app.jsonnet": "{}", "values/values.yaml": "replicas: 2\n", "docs/README.md": "# docs\n",
    ]
    for (path, text) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let loader = ManifestLoader(git: WorkingTreeGitSource(root: root))
    let source = try JSONParser.parse(json.replacingOccurrences(of: "REPO", with: root.path))
    do {
        let rendered = try loader.load(source: source)
        Issue.record("rendered \(rendered?.objects.count ?? -1) objects instead of an error")
    } catch {
        #expect("\(error)".replacingOccurrences(of: root.path, with: "REPO").contains(message), "\(error)")
    }
    // A plain directory still renders, and a ref source lends files without rendering.
    #expect(try loader.load(source: .object([("repoURL", .string(root.path)), ("path", "plain")]))?.objects.count == 1)
    #expect(try loader.load(source: .object([("repoURL", .string(root.path)), ("ref", "values")])) == nil)
}

/// Options Flotilla does not apply yet are named, never silently dropped.
@Test(arguments: [
    (#"{"kustomize": {"namePrefix": "staging-", "images": ["x:0.2"], "version": "v5"}}"#, ["kustomize.version"]),
    (#"{"directory": {"recurse": true}}"#, []),
    (#"{"directory": {"recurse": false, "include": "*.yaml"}}"#, []),
    (#"{"directory": {"jsonnet": {}, "exclude": "x", "unknownOption": true}}"#, ["directory.unknownOption"]),
    (#"{"kustomize": {}}"#, []),
] as [(String, [String])])
func unappliedSourceOptions(_ json: String, _ expected: [String]) throws {
    #expect(SourceType.unappliedOptions(try JSONParser.parse(json)) == expected)
}

/// Argo CD's `source.kustomize` options over a kustomization, as its `kustomize edit` calls leave it.
@Test func kustomizeOverridesEditTheKustomization() throws {
    let base = try JSONParser.parse(#"{"resources": ["d.yaml"], "commonLabels": {"team": "a"}, "images": [{"name": "nginx", "newTag": "1.0"}]}"#)
    let options = try JSONParser.parse("""
        {"namePrefix": "staging-", "nameSuffix": "-v2", "namespace": "web", "commonLabels": {"env": "staging"},
         "commonAnnotations": {"owner": "a"}, "images": ["nginx:1.27", "old=registry:5000/new:2@sha256:abc"],
         "replicas": [{"name": "web", "count": "3"}], "components": ["../c"], "patches": [{"path": "p.yaml"}]}
        """)
    let k = try KustomizeOverrides.apply(options, to: base)
    #expect(k["namePrefix"]?.stringValue == "staging-" && k["nameSuffix"]?.stringValue == "-v2" && k["namespace"]?.stringValue == "web")
    #expect(k["commonLabels"] == .object([("team", "a"), ("env", "staging")]))
    #expect(k["images"] == .array([.object([("name", "nginx"), ("newTag", "1.27")]),
                                  .object([("name", "old"), ("newName", "registry:5000/new"), ("newTag", "2"), ("digest", "sha256:abc")])]))
    #expect(k["replicas"] == .array([.object([("name", "web"), ("count", .int(3))])]))
    #expect(k["components"]?.arrayValue?.count == 1 && k["patches"]?.arrayValue?.count == 1)
    #expect(throws: ManifestError.self) { try KustomizeOverrides.apply(try JSONParser.parse(#"{"replicas": [{"name": "w", "count": "many"}]}"#), to: base) }
    #expect(KustomizeOverrides.autodetected(files: ["b.yaml", "a.yml", "sub/c.yaml", "README.md"])["resources"] == .array(["a.yml", "b.yaml"]))
}

/// Argo CD's include/exclude globs: `*` crosses `/`, braces list alternatives, exclude wins.
@Test(arguments: [
    (nil, nil, "a.yaml", true),
    ("*.yaml", nil, "sub/a.yaml", true),
    ("{a.yaml,b.yml}", nil, "b.yml", true),
    ("{a.yaml,b.yml}", nil, "c.yaml", false),
    (nil, "*-secret.yaml", "db-secret.yaml", false),
    ("*.yaml", "test/*", "test/x.yaml", false),
] as [(String?, String?, String, Bool)])
func directoryFilters(_ include: String?, _ exclude: String?, _ path: String, _ admitted: Bool) {
    #expect(FileFilter(include: include, exclude: exclude).admits(path) == admitted)
}
