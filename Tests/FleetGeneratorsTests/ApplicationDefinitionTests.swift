import FleetConfig
import FleetGenerators
import FleetModel
import Testing

/// An Argo CD Application as a person writes it, optionally after an ApplicationSet in the same file.
private let guestbook = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: helm-guestbook
    helm:
      values: |
        greeting: "{{ .Values.name }}"
  destination: {server: 'https://prod-us.example.com', namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
status:
  sync: {status: Synced}
"""

@Test func anApplicationGeneratesExactlyItselfUntemplated() throws {
    let set = try appSet(guestbook)
    #expect(set.standalone && set.name == "Application/guestbook" && set.objectName == "guestbook")
    #expect(!set.preserveResourcesOnDeletion, "the resources finalizer means cascade deletion")
    #expect(set.repositoryURLs == ["https://github.com/argoproj/argocd-example-apps.git"])
    let apps = try Generation.applications(for: set, context: GeneratorContext(clusters: testClusters, git: MemoryGit(repos: [:])))
    #expect(apps.count == 1)
    let app = try #require(apps.first)
    #expect(app.name == "guestbook")
    // Its Helm values reach the chart as written: an Application is never a template.
    #expect(app.object.value(at: ["spec", "source", "helm", "values"])?.stringValue?.contains("{{ .Values.name }}") == true)
    #expect(app.object["status"] == nil, "the status it was exported with is not kept")
    #expect(app.object.value(at: ["metadata", "finalizers"])?.arrayValue?.count == 1)
}

@Test func anApplicationWithoutTheFinalizerLeavesItsResources() throws {
    let set = try appSet(guestbook.replacingOccurrences(of: "  finalizers: [resources-finalizer.argocd.argoproj.io]\n", with: ""))
    #expect(set.preserveResourcesOnDeletion)
    let apps = try Generation.applications(for: set, context: GeneratorContext(clusters: testClusters, git: MemoryGit(repos: [:])))
    #expect(apps.first?.object.value(at: ["metadata", "finalizers"]) == nil, "no finalizer is added to an Application written directly")
}

@Test func applicationsAndApplicationSetsShareAFile() throws {
    let text = spec("- list: {elements: [{name: a}]}") + "\n---\n" + guestbook
    let sets = try ApplicationSet.parse(text, file: "mixed.yaml")
    #expect(sets.map(\.name) == ["test", "Application/guestbook"])
    #expect(sets.map(\.standalone) == [false, true])
}

/// A destination that is not registered skips the Application with Argo CD's reason, as for a generated one.
@Test func anApplicationOnAnUnknownClusterIsSkipped() throws {
    let set = try appSet(guestbook.replacingOccurrences(of: "https://prod-us.example.com", with: "https://nowhere.example.com"))
    let (apps, result) = try Generation.outcome(for: set, context: GeneratorContext(clusters: testClusters, git: MemoryGit(repos: [:])))
    #expect(apps.isEmpty)
    #expect(result.problems.first?.reason == .invalidDestination)
}

struct BadApplication: Sendable, CustomTestStringConvertible {
    let replace: String, with: String, field: String
    var testDescription: String { field }
}

private let badApplications: [BadApplication] = [
    .init(replace: "  project: default\n", with: "", field: "spec.project"),
    .init(replace: "  destination: {server: 'https://prod-us.example.com', namespace: guestbook}\n", with: "", field: "spec.destination"),
    .init(replace: "  destination: {server: 'https://prod-us.example.com', namespace: guestbook}", with: "  destination: {namespace: guestbook}", field: "spec.destination"),
    .init(replace: "  name: guestbook\n", with: "  name: Guest_Book\n", field: "metadata.name"),
    .init(replace: "  source:\n    repoURL: https://github.com/argoproj/argocd-example-apps.git\n    targetRevision: HEAD\n    path: helm-guestbook\n    helm:\n      values: |\n        greeting: \"{{ .Values.name }}\"\n",
          with: "", field: "spec.source"),
]

/// Each problem names its field; nothing is generated from a refused Application.
@Test(arguments: badApplications)
func badApplicationsAreRefusedByField(_ bad: BadApplication) throws {
    let text = guestbook.replacingOccurrences(of: bad.replace, with: bad.with)
    #expect(text != guestbook)
    do {
        _ = try ApplicationSet.parse(text, file: "app.yaml")
        Issue.record("accepted: \(bad.field)")
    } catch let error as InputError {
        #expect(error.problems.contains { $0.field == bad.field && $0.location?.file == "app.yaml" }, "\(error)")
    }
}

/// A field Argo CD's Application CRD does not define is refused with its line, as for ApplicationSets.
@Test func unknownApplicationFieldsAreRefusedWithTheirLine() throws {
    let text = guestbook.replacingOccurrences(of: "  syncPolicy:\n", with: "  syncPolcy:\n")
    do {
        _ = try ApplicationSet.parse(text, file: "app.yaml")
        Issue.record("accepted a misspelt field")
    } catch let error as InputError {
        let problem = try #require(error.problems.first { $0.field == "spec.syncPolcy" })
        #expect(problem.location?.line == 17, "\(problem)")
    }
}
