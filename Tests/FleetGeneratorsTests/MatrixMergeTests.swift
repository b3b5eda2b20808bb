import FleetGenerators
import FleetModel
import Testing

private let files: [String: String] = [
    "apps/guestbook/a.yaml": "", "apps/helm-guestbook/a.yaml": "",
    "infra/eu/a.yaml": "", "infra/us/a.yaml": "",
]

/// Argo CD's matrix example: git directories × clusters, in order (each directory, then each cluster).
@Test func matrixGitTimesClusters() throws {
    let apps = try generate(spec("""
    - matrix:
        generators:
          - git: {repoURL: \(repo), revision: HEAD, directories: [{path: 'apps/*'}]}
          - clusters: {selector: {matchLabels: {env: prod}}}
    """, template: "name: '{{path.basename}}-{{nameNormalized}}'"), git: [repo: files])
    #expect(names(apps) == ["guestbook-prod-us", "guestbook-prod-eu", "helm-guestbook-prod-us", "helm-guestbook-prod-eu"])
}

/// The second child may use the first child's params: a git path built from a cluster label.
@Test func matrixSecondChildUsesFirstParams() throws {
    let apps = try generate(spec("""
    - matrix:
        generators:
          - clusters: {}
          - git: {repoURL: \(repo), revision: HEAD, directories: [{path: 'infra/{{metadata.labels.region}}'}]}
    """, template: "name: '{{nameNormalized}}-{{path.basename}}'"), git: [repo: files])
    #expect(names(apps) == ["prod-us-us", "prod-eu-eu", "staging-us"])
}

/// Conflicting keys: fasttemplate rejects different values; Go templates let the first child win.
@Test func matrixKeyConflicts() throws {
    let conflicting = """
    - matrix:
        generators:
          - list: {elements: [{name: a, x: '1'}]}
          - list: {elements: [{name: b, x: '1'}]}
    """
    #expect { try generate(spec(conflicting)) } throws: { "\($0)".contains("found duplicate key name with different value, a: a ,b: b") }
    let apps = try generate(spec(conflicting, template: "name: '{{ .name }}'", goTemplate: true))
    #expect(names(apps) == ["a"])
}

/// Matrix needs exactly two children and nests one level deep.
@Test func matrixShapeErrors() {
    #expect { try generate(spec("- matrix: {generators: [{list: {elements: []}}]}")) } throws: { "\($0)".contains("Matrix support only two") }
    #expect { try generate(spec("- matrix: {generators: [{list: {elements: [{name: a}]}}, {list: {elements: []}}, {list: {elements: []}}]}")) } throws: {
        "\($0)".contains("found more than two generators, Matrix support only two")
    }
    let deep = """
    - matrix:
        generators:
          - matrix:
              generators:
                - matrix: {generators: [{list: {elements: [{a: '1'}]}}, {list: {elements: [{b: '2'}]}}]}
                - list: {elements: [{c: '3'}]}
          - list: {elements: [{name: x}]}
    """
    #expect { try generate(spec(deep)) } throws: { "\($0)".contains("nested only one level deep") }
    let oneLevel = """
    - matrix:
        generators:
          - matrix: {generators: [{list: {elements: [{a: '1'}]}}, {list: {elements: [{b: '2'}]}}]}
          - list: {elements: [{name: x}]}
    """
    #expect((try? generate(spec(oneLevel)))?.count == 1)
}

/// Argo CD's merge example: clusters base, a kafka override by label, a list override by server.
@Test func mergeDocsExample() throws {
    let apps = try generate(spec("""
    - merge:
        mergeKeys: [server]
        generators:
          - clusters: {values: {kafka: 'true', redis: 'false'}}
          - clusters:
              selector: {matchLabels: {kafka: 'true'}}
              values: {kafka: 'false'}
          - list:
              elements:
                - {server: 'https://staging.example.com', values.redis: 'true'}
    """, template: "name: '{{nameNormalized}}'\n      labels: {kafka: '{{values.kafka}}', redis: '{{values.redis}}'}"))
    #expect(names(apps) == ["prod-us", "prod-eu", "staging"])
    let labels = apps.map { [$0.object.value(at: ["metadata", "labels", "kafka"])!, $0.object.value(at: ["metadata", "labels", "redis"])!] }
    #expect(labels == [[.string("true"), .string("false")], [.string("false"), .string("false")], [.string("true"), .string("true")]])
}

/// Merge errors: no keys, fewer than two children, keys not unique within a child.
@Test func mergeErrors() {
    #expect { try generate(spec("- merge: {mergeKeys: [], generators: [{clusters: {}}, {clusters: {}}]}")) } throws: { "\($0)".contains("no merge keys were specified") }
    #expect { try generate(spec("- merge: {mergeKeys: [a], generators: [{clusters: {}}]}")) } throws: { "\($0)".contains("Merge requires two or more") }
    #expect { try generate(spec("- merge: {mergeKeys: [a], generators: [{list: {elements: [{name: x}]}}, {list: {elements: [{a: '1'}, {a: '1'}]}}]}")) } throws: {
        "\($0)".contains("not unique by the given mergeKeys")
    }
}
