import FleetGenerators
import FleetModel
import Testing

/// Argo CD's list example: one Application per element, in order.
@Test func listGeneratorDocsExample() throws {
    let apps = try generate(spec("""
    - list:
        elements:
          - {cluster: engineering-dev, url: 'https://1.2.3.4'}
          - {cluster: engineering-prod, url: 'https://2.4.6.8'}
          - {cluster: finance-preprod, url: 'https://9.8.7.6'}
    """, template: "name: '{{cluster}}-guestbook'"))
    #expect(names(apps) == ["engineering-dev-guestbook", "engineering-prod-guestbook", "finance-preprod-guestbook"])
    #expect(apps[0].object["apiVersion"] == .string("argoproj.io/v1alpha1"))
    #expect(apps[0].object.value(at: ["metadata", "namespace"]) == .string("argocd"))
    #expect(apps[0].object.value(at: ["metadata", "finalizers"]) == .array([.string("resources-finalizer.argocd.argoproj.io")]))
}

/// Fasttemplate needs string values; Go templates keep types. elementsYaml appends after elements.
@Test func listGeneratorValueTypes() throws {
    #expect { try generate(spec("- list:\n    elements:\n      - {name: a, port: 8080}")) } throws: {
        "\($0)".contains("spec.generators[0].list.elements[0].port: error parsing value as string: 8080")
    }
    let apps = try generate(spec("""
    - list:
        elements:
          - {name: a, port: 8080}
        elementsYaml: |
          - {name: b, port: 9090}
    """, template: "name: '{{ .name }}-{{ .port }}'", goTemplate: true))
    #expect(names(apps) == ["a-8080", "b-9090"])
}

/// Cluster generator: all clusters sorted by name; params name, nameNormalized, server, labels.
@Test func clusterGeneratorParams() throws {
    let apps = try generate(spec("- clusters: {}", template: "name: '{{nameNormalized}}-{{metadata.labels.env}}'\n      labels: {server: '{{server}}', owner: '{{metadata.annotations.owner}}'}"))
    // Sorted by cluster name in byte order: "prod-us" < "prod_eu".
    #expect(names(apps) == ["prod-us-prod", "prod-eu-prod", "staging-staging"])
    #expect(apps[1].object.value(at: ["metadata", "labels", "owner"]) == .string("team-a"))
    #expect(apps[0].object.value(at: ["metadata", "labels", "owner"]) == .string("{{metadata.annotations.owner}}"), "unknown keys stay literal")
}

/// Selectors: matchLabels and matchExpressions; values rendered per cluster.
@Test func clusterGeneratorSelectorAndValues() throws {
    let apps = try generate(spec("""
    - clusters:
        selector:
          matchLabels: {env: prod}
          matchExpressions:
            - {key: region, operator: NotIn, values: [us]}
        values:
          revision: 'release-{{metadata.labels.region}}'
          literal: '{{values.revision}}'
    """, template: "name: 'app-{{nameNormalized}}'\n      annotations: {rev: '{{values.revision}}', lit: '{{values.literal}}'}"))
    #expect(names(apps) == ["app-prod-eu"])
    #expect(apps[0].object.value(at: ["metadata", "annotations", "rev"]) == .string("release-eu"))
    #expect(apps[0].object.value(at: ["metadata", "annotations", "lit"]) == .string("{{values.revision}}"), "values do not see other values")
}

/// Go-template mode: metadata maps with index; a bad selector names the field.
@Test func clusterGeneratorGoTemplate() throws {
    let apps = try generate(spec("- clusters: {selector: {matchLabels: {kafka: 'true'}}}",
                                 template: "name: '{{ .nameNormalized }}-{{ index .metadata.labels \"region\" }}'", goTemplate: true))
    #expect(names(apps) == ["prod-eu-eu"])
    #expect { try generate(spec("- clusters: {selector: {matchExpressions: [{key: env, operator: Exists, values: [x]}]}}")) } throws: {
        "\($0)".contains("spec.generators[0].clusters.selector.matchExpressions[0].values: values set must be empty for exists and does not exist")
    }
}

/// flatList gives one parameter set holding every cluster.
@Test func clusterGeneratorFlatList() throws {
    let apps = try generate(spec("- clusters: {flatList: true}",
                                 template: "name: 'all'\n      annotations: {names: '{{ range .clusters }}{{ .name }},{{ end }}'}", goTemplate: true))
    #expect(apps.count == 1)
    #expect(apps[0].object.value(at: ["metadata", "annotations", "names"]) == .string("prod-us,prod_eu,staging,"))
}

/// A generator-level post-selector filters on flattened params.
@Test func postSelector() throws {
    let apps = try generate(spec("""
    - list:
        elements:
          - {name: a, env: prod}
          - {name: b, env: dev}
      selector:
        matchLabels: {env: prod}
    """))
    #expect(names(apps) == ["a"])
}
