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
