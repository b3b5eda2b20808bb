import FleetGenerators
import FleetModel
import Testing

private let addons: [String: String] = [
    "applicationset/examples/git-generator-directory/cluster-addons/argo-workflows/kustomization.yaml": "",
    "applicationset/examples/git-generator-directory/cluster-addons/prometheus-operator/Chart.yaml": "",
    "applicationset/examples/git-generator-directory/cluster-addons/exclude-me/x.yaml": "",
    "applicationset/examples/git-generator-directory/cluster-addons/.hidden/x.yaml": "",
    "a/b/x/f": "", "a/b-c/f": "", "a/b/f": "",
]

/// Argo CD's directory example with an exclude rule: exclude wins regardless of order; hidden directories skipped.
@Test func gitDirectoriesDocsExample() throws {
    let apps = try generate(spec("""
    - git:
        repoURL: \(repo)
        revision: HEAD
        directories:
          - {path: applicationset/examples/git-generator-directory/cluster-addons/exclude-me, exclude: true}
          - path: applicationset/examples/git-generator-directory/cluster-addons/*
    """, template: "name: '{{path.basename}}'\n      labels: {seg: '{{path[3]}}', norm: '{{path.basenameNormalized}}'}"), git: [repo: addons])
    #expect(names(apps) == ["argo-workflows", "prometheus-operator"])
    #expect(apps[0].object.value(at: ["metadata", "labels", "seg"]) == .string("cluster-addons"))
}

/// Walk order: pre-order with siblings in byte order, not a full-path sort; `*` never crosses `/`.
@Test func gitDirectoriesWalkOrder() throws {
    let apps = try generate(spec("""
    - git: {repoURL: \(repo), revision: HEAD, directories: [{path: 'a/*'}, {path: 'a/*/*'}]}
    """, template: "name: '{{path[1]}}-{{path.basename}}'"), git: [repo: addons])
    #expect(names(apps) == ["b-b", "b-x", "b-c-b-c"])
}

/// Go-template mode: `.path.segments`, pathParamPrefix nests the object.
@Test func gitDirectoriesGoTemplateAndPrefix() throws {
    let apps = try generate(spec("""
    - git: {repoURL: \(repo), revision: HEAD, pathParamPrefix: app, directories: [{path: 'a/b'}]}
    """, template: "name: '{{ index .app.path.segments 1 }}-{{ .app.path.basename }}'", goTemplate: true), git: [repo: addons])
    #expect(names(apps) == ["b-b"])
    let fast = try generate(spec("""
    - git: {repoURL: \(repo), revision: HEAD, pathParamPrefix: app, directories: [{path: 'a/b'}]}
    """, template: "name: '{{app.path[0]}}-{{app.path.basename}}'"), git: [repo: addons])
    #expect(names(fast) == ["a-b"])
}

/// Files: JSON and YAML flattened (fasttemplate) with path params; lists give one set per item; sorted by path.
@Test func gitFilesDocsExample() throws {
    let files: [String: String] = [
        "applicationset/examples/git-generator-files-discovery/cluster-config/engineering/prod/config.json":
            #"{"aws_account": "123456", "asset_id": "11223344", "cluster": {"owner": "cluster-admin@company.com", "name": "engineering-prod", "address": "https://1.2.3.4"}}"#,
        "applicationset/examples/git-generator-files-discovery/cluster-config/engineering/dev/config.json":
            #"{"aws_account": "123456", "asset_id": "11223344", "cluster": {"owner": "cluster-admin@company.com", "name": "engineering-dev", "address": "https://1.2.3.5"}}"#,
        "list/apps.yaml": "- {name: one, replicas: 1000000}\n- {name: two, enabled: true}\n",
        "root.yaml": "name: root\n",
    ]
    let apps = try generate(spec("""
    - git:
        repoURL: \(repo)
        revision: HEAD
        files:
          - path: applicationset/examples/git-generator-files-discovery/cluster-config/**/config.json
    """, template: "name: '{{cluster.name}}'\n      labels: {dir: '{{path.basename}}', file: '{{path.filename}}', seg: '{{path[5]}}', acct: '{{aws_account}}'}"),
        git: [repo: files])
    #expect(names(apps) == ["engineering-dev", "engineering-prod"])
    #expect(apps[0].object.value(at: ["metadata", "labels"]) == .object([("dir", .string("dev")), ("file", .string("config.json")), ("seg", .string("dev")), ("acct", .string("123456"))]))

    let list = try generate(spec("- git: {repoURL: \(repo), revision: HEAD, files: [{path: 'list/*.yaml'}, {path: '*.yaml'}]}",
                                 template: "name: '{{name}}'\n      labels: {r: '{{replicas}}', p: '{{path}}', b: '{{path.basenameNormalized}}'}"), git: [repo: files])
    #expect(names(list) == ["one", "two", "root"])
    #expect(list[0].object.value(at: ["metadata", "labels", "r"]) == .string("1000000"), "integers print as written")
    #expect(list[2].object.value(at: ["metadata", "labels", "p"]) == .string("."))
    #expect(list[2].object.value(at: ["metadata", "labels", "b"]) == .string(""))
}

/// An unreachable repository or unknown revision fails the ApplicationSet, naming both.
@Test func gitErrorsNameRepoAndRevision() {
    #expect { try generate(spec("- git: {repoURL: 'https://nowhere.example/x.git', revision: main, directories: [{path: '*'}]}")) } throws: {
        "\($0)".contains("ApplicationSet test: spec.generators[0].git: repository https://nowhere.example/x.git is unreachable")
    }
    #expect { try generate(spec("- git: {repoURL: \(repo), revision: missing, directories: [{path: '*'}]}"), git: [repo: addons]) } throws: {
        "\($0)".contains("revision 'missing' not found") && "\($0)".contains(repo)
    }
    #expect { try generate(spec("- git: {repoURL: \(repo), files: [{path: 'bad.yaml'}]}"), git: [repo: ["bad.yaml": "a: [1"]]) } throws: {
        "\($0)".contains("unable to process file 'bad.yaml'")
    }
}
