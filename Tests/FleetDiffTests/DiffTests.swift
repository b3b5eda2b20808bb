import FleetConfig
@testable import FleetDiff
import FleetModel
import Testing

private func yaml(_ s: String) throws -> JSONValue { try YAMLValue.parse(s, file: nil) }

private let desiredDeployment = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: web, image: 'nginx:1.27'}]
"""

/// Server-populated fields and defaults the desired object does not set are not differences.
@Test func normalizationIgnoresServerFields() throws {
    let live = try yaml("""
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: shop
      labels: {app: web}
      uid: 1234
      resourceVersion: "99"
      generation: 4
      creationTimestamp: "2026-01-01T00:00:00Z"
      managedFields: [{manager: flotilla}]
      annotations: {deployment.kubernetes.io/revision: "3"}
    spec:
      replicas: 2
      progressDeadlineSeconds: 600
      revisionHistoryLimit: 10
      template:
        spec:
          containers: [{name: web, image: 'nginx:1.27', imagePullPolicy: IfNotPresent, terminationMessagePath: /dev/termination-log}]
          restartPolicy: Always
    status: {replicas: 2}
    """)
    let diff = Differ.compare(desired: try yaml(desiredDeployment), live: live)
    #expect(diff.inSync, "\(diff.unified(label: "x"))")
}

/// A real change shows as a unified diff with the changed line, and the verdict is OutOfSync.
@Test func changeShowsAsUnifiedDiff() throws {
    var live = try yaml(desiredDeployment)
    live.set(path: ["spec", "replicas"], .int(5))
    let diff = Differ.compare(desired: try yaml(desiredDeployment), live: live)
    #expect(!diff.inSync)
    let text = diff.unified(label: "Deployment.apps shop/web")
    #expect(text.contains("===== Deployment.apps shop/web ====="))
    #expect(text.contains("-  replicas: 5\n+  replicas: 2\n"), "removed before added, as diff -u: \(text)")
    #expect(text.contains("@@ "))
}

/// A diff of two large, wholly different objects stays bounded in memory: past the table's limit the changed
/// middle is shown removed, then added; the common head and tail stay context.
@Test func largeDiffsStayBounded() {
    let a = ["apiVersion: v1", "kind: ConfigMap"] + (0..<2_500).map { "  a\($0): x" } + ["metadata: {}"]
    let b = ["apiVersion: v1", "kind: ConfigMap"] + (0..<2_500).map { "  b\($0): y" } + ["metadata: {}"]
    let text = LineDiff.unified(a, b, context: 1)
    #expect(text.contains("-  a0: x") && text.contains("+  b2499: y"))
    #expect(text.range(of: "-  a2499: x")!.lowerBound < text.range(of: "+  b0: y")!.lowerBound)
    #expect(text.hasPrefix("@@ -2,2502 +2,2502 @@"), "\(text.prefix(80))")
}

/// ignoreDifferences: JSON pointers, simple jq paths and managed-field managers remove paths from both sides.
@Test func ignoreDifferences() throws {
    var live = try yaml(desiredDeployment)
    live.set(path: ["spec", "replicas"], .int(9))
    live.set(path: ["spec", "template", "spec", "containers"], .array([.object([("name", "web"), ("image", "nginx:1.28")])]))
    let desired = try yaml(desiredDeployment)
    #expect(!Differ.compare(desired: desired, live: live).inSync)

    let rules = IgnoreDifference.parse(try yaml("""
    - group: apps
      kind: Deployment
      jsonPointers: [/spec/replicas]
      jqPathExpressions: ['.spec.template.spec.containers[].image']
    """))
    #expect(Differ.compare(desired: desired, live: live, ignore: rules).inSync)

    var hpaOwned = try yaml(desiredDeployment)
    hpaOwned.set(path: ["spec", "replicas"], .int(7))
    hpaOwned.set(path: ["metadata", "managedFields"], .array([.object([("manager", "hpa-controller"), ("fieldsV1", .object([("f:spec", .object([("f:replicas", .object([]))]))]))])]))
    let managers = [IgnoreDifference(group: "apps", kind: "Deployment", managedFieldsManagers: ["hpa-controller"])]
    #expect(Differ.compare(desired: desired, live: hpaOwned, ignore: managers).inSync)
    let otherKind = [IgnoreDifference(group: "", kind: "ConfigMap", jsonPointers: ["/spec/replicas"])]
    #expect(!Differ.compare(desired: desired, live: hpaOwned, ignore: otherKind).inSync)
}

/// Secret values never appear in a diff; the diff still says which key changed.
@Test func secretsRedacted() throws {
    let desired = try yaml("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: c2VjcmV0LW5ldw==, user: YWRtaW4=}\n")
    let live = try yaml("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: c2VjcmV0LW9sZA==, user: YWRtaW4=}\n")
    let diff = Differ.compare(desired: desired, live: live)
    #expect(!diff.inSync)
    let text = diff.unified(label: "Secret s")
    #expect(!text.contains("c2VjcmV0") && !text.contains("YWRtaW4="))
    #expect(text.contains("-  password: ++++++++ (live, redacted)") && text.contains("+  password: ++++++++ (desired, redacted)"), "\(text)")
    #expect(!"\(diff)".contains("c2VjcmV0"))
}

/// A missing live object is all additions.
@Test func missingLiveObject() throws {
    let diff = Differ.compare(desired: try yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"), live: nil)
    #expect(!diff.inSync)
    #expect(diff.unified(label: "ConfigMap c").contains("+data:"))
}
