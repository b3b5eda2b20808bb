import FleetGenerators
import FleetModel
import Testing

/// A generator's own template wins over spec.template where set; the rest comes from spec.template.
@Test func generatorTemplateMerge() throws {
    let apps = try generate(spec("""
    - list:
        elements: [{name: a}]
        template:
          metadata: {name: 'override-{{name}}'}
          spec: {project: special}
    """))
    #expect(names(apps) == ["override-a"])
    #expect(apps[0].project == "special")
    #expect(apps[0].destinationNamespace == "default")
}

/// templatePatch is rendered and merged; it cannot change spec.project.
@Test func templatePatch() throws {
    let apps = try generate(spec("- list: {elements: [{name: a, auto: 'true'}]}", template: "name: '{{ .name }}'", goTemplate: true, extra: """
    templatePatch: |
      spec:
        project: hijacked
        {{- if eq .auto "true" }}
        syncPolicy:
          automated: {prune: true}
        {{- end }}
    """))
    #expect(apps[0].project == "default")
    #expect(apps[0].object.value(at: ["spec", "syncPolicy", "automated", "prune"]) == .bool(true))
}

/// preserveResourcesOnDeletion and explicit finalizers suppress the resources finalizer.
@Test func finalizers() throws {
    let preserved = try generate(spec("- list: {elements: [{name: a}]}", extra: "syncPolicy: {preserveResourcesOnDeletion: true}"))
    #expect(preserved[0].object.value(at: ["metadata", "finalizers"]) == nil)
    let explicit = try generate(spec("- list: {elements: [{name: a}]}", template: "name: '{{name}}'\n      finalizers: [custom]"))
    #expect(explicit[0].object.value(at: ["metadata", "finalizers"]) == .array([.string("custom")]))
}

/// missingkey=error names the key; without it, Go prints <no value>.
@Test func missingKey() throws {
    #expect { try generate(spec("- list: {elements: [{name: a}]}", template: "name: '{{ .nme }}'", goTemplate: true, extra: "goTemplateOptions: [\"missingkey=error\"]")) } throws: {
        "\($0)".contains(#"map has no entry for key "nme""#) && "\($0)".contains("spec.template.metadata.name")
    }
    #expect { try generate(spec("- list: {elements: [{name: a}]}", template: "name: '{{ .nme }}'", goTemplate: true)) } throws: {
        "\($0)".contains("'<no value>' must consist")
    }
}

/// Duplicate names are an error naming both sources; nothing is returned.
@Test func duplicateNames() {
    #expect { try generate(spec("- list: {elements: [{name: a, x: '1'}, {name: a, x: '2'}]}")) } throws: {
        let text = "\($0)"
        return text.contains("duplicate name: a") && text.contains("elements[0]") && text.contains("elements[1]")
    }
}

/// A generated name that is not a Kubernetes name is an error naming the value.
@Test func invalidName() {
    #expect { try generate(spec("- list: {elements: [{name: 'Bad_Name'}]}")) } throws: {
        "\($0)".contains("generated Application name 'Bad_Name' is not a valid Kubernetes name")
    }
}

/// Destinations must be registered clusters (by server or name).
@Test func destinationChecks() throws {
    let ok = try generate(spec("- clusters: {}", template: "name: '{{nameNormalized}}'").replacingOccurrences(of: "server: 'https://kubernetes.default.svc'", with: "server: '{{server}}'"), checkDestinations: true)
    #expect(ok.count == 3)
    #expect { try generate(spec("- list: {elements: [{name: a}]}"), checkDestinations: true) } throws: {
        "\($0)".contains("server 'https://kubernetes.default.svc' is not a registered cluster")
    }
}

/// Spec-level problems are reported with field paths.
@Test func specProblems() {
    #expect { try appSet("kind: ApplicationSet\nmetadata: {}\nspec: {generators: []}") } throws: {
        "\($0)".contains("metadata.name: required field is missing") && "\($0)".contains("spec.generators: must be a non-empty list")
    }
    #expect { try generate(spec("- scmProvider: {}")) } throws: { "\($0)".contains("the scmProvider generator is not supported") }
    #expect { try generate(spec("- lists: {}")) } throws: { "\($0)".contains("spec.generators[0].lists: unknown field 'lists'") }
    #expect { try generate(spec("- list: {elements: [{name: a}]}", extra: "goTemplateOptions: [\"missingkey=boom\"]")) } throws: {
        "\($0)".contains("spec.goTemplateOptions")
    }
}

/// Free-form parts of the template (here `info`, which the CRD leaves open) are rendered and kept in the output.
@Test func freeFormFieldsKept() throws {
    let apps = try generate(spec("- list: {elements: [{name: a}]}").replacingOccurrences(of: "project: default", with: "project: default\n      info: [{name: owner, value: '{{name}}'}]"))
    #expect(apps[0].object.value(at: ["spec", "info"])?.arrayValue?.first?["value"] == .string("a"))
}

/// applicationsSync decides what a generation may create, update and delete.
@Test(arguments: [
    ("sync", ["c"], ["b"], ["a"], [String]()),
    ("create-only", ["c"], [String](), [String](), ["a"]),
    ("create-update", ["c"], ["b"], [String](), ["a"]),
    ("create-delete", ["c"], [String](), ["a"], [String]()),
] as [(String, [String], [String], [String], [String])])
func applicationsSyncPolicies(_ policy: String, _ created: [String], _ updated: [String], _ deleted: [String], _ retained: [String]) throws {
    func app(_ name: String, _ rev: String) -> Application {
        Application(object: .object([("metadata", .object([("name", .string(name))])), ("spec", .object([("rev", .string(rev))]))]), origin: .item(generator: "list", detail: name))
    }
    let existing = ["a": app("a", "1").object, "b": app("b", "1").object]
    let plan = ApplicationsSyncPlan(existing: existing, generated: [app("b", "2"), app("c", "1")], policy: policy, preserveResourcesOnDeletion: false)
    #expect(plan.create.map(\.name) == created)
    #expect(plan.update.map(\.name) == updated)
    #expect(plan.delete == deleted)
    #expect(plan.retained == retained)
    #expect(plan.pruneOnDelete)
    #expect(!ApplicationsSyncPlan(existing: [:], generated: [], policy: policy, preserveResourcesOnDeletion: true).pruneOnDelete)
}

/// The repositories an ApplicationSet reads: git generators (nested too) and template sources, not templated ones.
@Test func repositoriesRead() throws {
    let set = try appSet("""
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: x}
    spec:
      generators:
        - matrix:
            generators:
              - git: {repoURL: 'https://git.example.com/config.git', files: [{path: '*.yaml'}]}
              - merge:
                  mergeKeys: [name]
                  generators:
                    - clusters: {}
                    - git: {repoURL: 'https://git.example.com/overrides.git', files: [{path: '*.yaml'}]}
        - list: {elements: [], template: {spec: {source: {repoURL: 'https://git.example.com/list-apps.git'}}}}
      template:
        metadata: {name: '{{name}}'}
        spec:
          project: default
          sources:
            - {repoURL: 'https://git.example.com/apps.git'}
            - {repoURL: '{{values.repo}}'}
    """)
    #expect(set.repositoryURLs == ["https://git.example.com/config.git", "https://git.example.com/overrides.git",
                                   "https://git.example.com/list-apps.git", "https://git.example.com/apps.git"])
}
