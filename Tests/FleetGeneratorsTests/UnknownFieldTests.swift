import FleetConfig
import FleetGenerators
import FleetModel
import Testing

private func appSet(_ specExtra: String, generator: String = "- list: {elements: [{n: a}]}", template: String = "") -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: s}
    spec:
      generators:
        \(generator)
      template:
        metadata: {name: '{{n}}'}
        spec:
          project: default
          source: {repoURL: 'https://x/y.git', path: a}
          destination: {server: 'https://1.2.3.4', namespace: a}
          \(template)
    \(specExtra)
    """
}

struct UnknownFieldCase: Sendable, CustomTestStringConvertible {
    let yaml: String
    let field: String
    let line: Int
    var testDescription: String { field }
}

/// Fields Argo CD's CRD does not define are errors naming the field and its line, wherever they are.
@Test(arguments: [
    UnknownFieldCase(yaml: appSet("  syncPolicy: {preserveResourcesOnDeletoin: true}"), field: "spec.syncPolicy.preserveResourcesOnDeletoin", line: 14),
    UnknownFieldCase(yaml: appSet("  goTemplat: true"), field: "spec.goTemplat", line: 14),
    UnknownFieldCase(yaml: appSet("", generator: "- list: {elemnts: [{n: a}]}"), field: "spec.generators[0].list.elemnts", line: 6),
    UnknownFieldCase(yaml: appSet("", generator: "- matrix: {generators: [{list: {elements: []}}, {clusters: {selectr: {}}}]}"),
                     field: "spec.generators[0].matrix.generators[1].clusters.selectr", line: 6),
    UnknownFieldCase(yaml: appSet("", template: "syncPolicy: {automated: {prune: true, selfheal: true}}"), field: "spec.template.spec.syncPolicy.automated.selfheal", line: 13),
    UnknownFieldCase(yaml: appSet("", template: "destinaton: {server: x}"), field: "spec.template.spec.destinaton", line: 13),
])
func unknownFieldsAreErrors(_ c: UnknownFieldCase) throws {
    do {
        _ = try ApplicationSet.parse(c.yaml, file: "set.yaml")
        Issue.record("accepted \(c.field)")
    } catch let error as InputError {
        let problem = try #require(error.problems.first)
        #expect(problem.field == c.field, "\(error)")
        #expect(problem.location?.line == c.line, "\(error)")
        #expect("\(error)".contains("set.yaml:\(c.line)"), "\(error)")
    }
}

/// Free-form parts (elements, Helm values, labels) and templated keys are not judged.
@Test func freeFormPartsAreAccepted() throws {
    let yaml = appSet("  strategy: {type: RollingSync, rollingSync: {steps: [{matchExpressions: [], maxUpdate: 1}]}}",
                      generator: "- list: {elements: [{n: a, anything: {goes: here}}]}",
                      template: "syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}")
        .replacingOccurrences(of: "source: {repoURL: 'https://x/y.git', path: a}",
                              with: "source: {repoURL: 'https://x/y.git', path: a, helm: {valuesObject: {whatever: 1}, parameters: [{name: a, value: b}]}}")
    #expect(try ApplicationSet.parse(yaml, file: nil).count == 1)
}
