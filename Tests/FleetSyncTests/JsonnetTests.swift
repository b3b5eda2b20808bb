import FleetGit
import FleetManifests
import FleetModel
import Foundation
import Testing

/// A directory of jsonnet, rendered as Argo CD renders `directory.jsonnet`: ext vars and TLAs (strings or
/// code), libraries relative to the repository root, objects, lists and `kind: List` all yielding manifests.
@Test func jsonnetSourcesRender() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-jsonnet-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let files = [
        "lib/k.libsonnet": "{ cm(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }",
        "app/main.jsonnet": """
        local k = import 'k.libsonnet';
        function(replicas=1, suffix='x') [
          k.cm('env-' + std.extVar('env'), { replicas: std.toString(replicas) }),
          { apiVersion: 'v1', kind: 'List', items: [k.cm('listed-' + suffix, {})] },
        ]
        """,
        "app/single.jsonnet": "{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' } }",
        "app/helper.libsonnet": "{}",
        "bad/broken.jsonnet": "{ a: error 'boom' }",
    ]
    for (path, text) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let loader = ManifestLoader(git: WorkingTreeGitSource(root: root))
    let source = try JSONParser.parse("""
        {"repoURL": "\(root.path)", "path": "app", "directory": {"jsonnet": {
          "extVars": [{"name": "env", "value": "prod"}],
          "tlas": [{"name": "replicas", "value": "3", "code": true}, {"name": "suffix", "value": "tla"}],
          "libs": ["lib"]}}}
        """)
    let objects = try #require(try loader.load(source: source)?.objects)
    let names = objects.compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
    #expect(names == ["env-prod", "listed-tla", "svc"])
    #expect(objects[0].value(at: ["data", "replicas"])?.stringValue == "3")

    let broken = try JSONParser.parse(#"{"repoURL": "\#(root.path)", "path": "bad"}"#)
    #expect { try loader.load(source: broken) } throws: { "\($0)".contains("jsonnet bad/broken.jsonnet") && "\($0)".contains("boom") }
}

/// Imports are confined to the repository: an absolute path or a `../` escape to a file of the hub (its token,
/// its sealing key) is refused by name, and the file's content appears nowhere; imports inside the repository,
/// by relative path, library path or absolute path into the checkout, still work.
@Test(arguments: [
    ("absolute importstr", "importstr '%SECRET%'"),
    ("absolute import", "import '%SECRET%'"),
    ("relative escape", "importstr '../../../../../../../../../..%SECRET%'"),
    ("relative escape to a system file", "importstr '../../../../../../../../../../etc/hostname'"),
])
func jsonnetImportsStayInTheRepository(_ name: String, _ expression: String) throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-jsonnet-confine-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: base) }
    let root = base.appendingPathComponent("repo")
    let secret = base.appendingPathComponent("outside/secret.txt")
    try FileManager.default.createDirectory(at: secret.deletingLastPathComponent(), withIntermediateDirectories: true)
    try "admin-token-0123456789".write(to: secret, atomically: true, encoding: .utf8)
    let files = [
        "app/leak.jsonnet": "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'leak' }, data: { token: std.toString(\(expression.replacingOccurrences(of: "%SECRET%", with: secret.path))) } }",
        "lib/inner.txt": "inside",
        "ok/fine.jsonnet": "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fine' }, data: { a: importstr '../lib/inner.txt', b: importstr 'inner.txt' } }",
    ]
    for (path, text) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let loader = ManifestLoader(git: WorkingTreeGitSource(root: root))
    let leak = try JSONParser.parse(#"{"repoURL": "\#(root.path)", "path": "app", "directory": {"jsonnet": {"libs": ["lib"]}}}"#)
    #expect(throws: (any Error).self, "\(name)") {
        let objects = try loader.load(source: leak)?.objects ?? []
        Issue.record("\(name): rendered \(objects)")
    }
    do { _ = try loader.load(source: leak) } catch {
        let text = "\(error)"
        #expect(text.contains("outside the repository"), "\(name): \(text)")
        #expect(!text.contains("admin-token"), "\(name): \(text)")
    }
    let fine = try JSONParser.parse(#"{"repoURL": "\#(root.path)", "path": "ok", "directory": {"jsonnet": {"libs": ["lib"]}}}"#)
    let objects = try #require(try loader.load(source: fine)?.objects)
    #expect(objects.first?.value(at: ["data", "a"])?.stringValue == "inside")
    #expect(objects.first?.value(at: ["data", "b"])?.stringValue == "inside")
}
