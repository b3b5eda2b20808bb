import FleetConfig
import FleetDiff
import FleetModel
import Testing

struct HealthCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let status: HealthStatus
    var message: String = ""
    var testDescription: String { name }
}

/// Argo CD's health rules on real object shapes (status blocks as the API server reports them).
@Test(arguments: [
    HealthCase(name: "deployment available", yaml: """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, generation: 2}
    spec: {replicas: 3}
    status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}
    """, status: .healthy),
    HealthCase(name: "deployment rolling", yaml: """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, generation: 2}
    spec: {replicas: 3}
    status: {observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2}
    """, status: .progressing, message: "1 out of 3 new replicas have been updated"),
    HealthCase(name: "deployment old generation", yaml: """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, generation: 3}
    spec: {replicas: 1}
    status: {observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1}
    """, status: .progressing, message: "observed deployment generation less than desired generation"),
    HealthCase(name: "deployment deadline exceeded", yaml: """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, generation: 1}
    spec: {replicas: 1}
    status:
      observedGeneration: 1
      conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded}]
    """, status: .degraded, message: "exceeded its progress deadline"),
    HealthCase(name: "deployment paused", yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {paused: true}\n", status: .suspended),
    HealthCase(name: "statefulset updating", yaml: """
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db, generation: 1}
    spec: {replicas: 2}
    status: {observedGeneration: 1, readyReplicas: 2, currentRevision: db-1, updateRevision: db-2}
    """, status: .progressing, message: "rolling update"),
    HealthCase(name: "statefulset ready", yaml: """
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db, generation: 1}
    spec: {replicas: 2}
    status: {observedGeneration: 1, readyReplicas: 2, currentRevision: db-1, updateRevision: db-1}
    """, status: .healthy),
    HealthCase(name: "daemonset unavailable", yaml: """
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent, generation: 1}
    status: {observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2}
    """, status: .progressing),
    HealthCase(name: "replicaset failure", yaml: """
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: rs, generation: 1}
    spec: {replicas: 1}
    status: {observedGeneration: 1, conditions: [{type: ReplicaFailure, status: "True", message: quota exceeded}]}
    """, status: .degraded, message: "quota exceeded"),
    HealthCase(name: "job complete", yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {conditions: [{type: Complete, status: \"True\"}]}\n", status: .healthy),
    HealthCase(name: "job failed", yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {conditions: [{type: Failed, status: \"True\", message: BackoffLimitExceeded}]}\n", status: .degraded),
    HealthCase(name: "job running", yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {active: 1}\n", status: .progressing),
    HealthCase(name: "job suspended", yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {suspend: true}\n", status: .suspended),
    HealthCase(name: "cronjob suspended", yaml: "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {suspend: true}\n", status: .suspended),
    HealthCase(name: "pod image pull", yaml: """
    apiVersion: v1
    kind: Pod
    metadata: {name: p}
    status:
      phase: Pending
      containerStatuses: [{name: c, ready: false, state: {waiting: {reason: ImagePullBackOff, message: Back-off pulling image}}}]
    """, status: .degraded, message: "Back-off pulling image"),
    HealthCase(name: "pod running ready", yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Running, containerStatuses: [{name: c, ready: true}]}\n", status: .healthy),
    HealthCase(name: "pod running not ready", yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Running, containerStatuses: [{name: c, ready: false}]}\n", status: .progressing),
    HealthCase(name: "pod succeeded", yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Succeeded}\n", status: .healthy),
    HealthCase(name: "pod failed", yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Failed}\n", status: .degraded),
    HealthCase(name: "service load balancer pending", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\nstatus: {loadBalancer: {}}\n", status: .progressing),
    HealthCase(name: "service load balancer ready", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}\n", status: .healthy),
    HealthCase(name: "service cluster ip", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: ClusterIP}\n", status: .healthy),
    HealthCase(name: "ingress without address", yaml: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n", status: .progressing),
    HealthCase(name: "pvc bound", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: v}\nstatus: {phase: Bound}\n", status: .healthy),
    HealthCase(name: "pvc pending", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: v}\nstatus: {phase: Pending}\n", status: .progressing),
    HealthCase(name: "pvc lost", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: v}\nstatus: {phase: Lost}\n", status: .degraded),
    HealthCase(name: "configmap", yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", status: .healthy),
])
func health(_ c: HealthCase) throws {
    let health = HealthRules.assess(try YAMLValue.parse(c.yaml, file: nil))
    #expect(health.status == c.status, "\(health)")
    #expect(c.message.isEmpty || health.message.contains(c.message), "\(health.message)")
}

/// A missing object is Missing; an application is as healthy as its worst resource.
@Test func missingAndAggregate() {
    #expect(HealthRules.assess(nil).status == .missing)
    #expect(HealthRules.aggregate([Health(.healthy), Health(.progressing), Health(.suspended)]).status == .progressing)
    #expect(HealthRules.aggregate([Health(.healthy), Health(.degraded), Health(.missing)]).status == .degraded)
    #expect(HealthRules.aggregate([]).status == .healthy)
}
