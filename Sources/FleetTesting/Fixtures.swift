import Foundation

/// The fleet the hub's tests and benchmarks are built from: clusters files, a three-object application, and an
/// ApplicationSet of git directories × clusters.
public enum FleetFixtures {
    public struct ClusterEntry: Sendable {
        public var name: String
        /// The simulator's port; 1 for a cluster that does not answer (nothing listens there).
        public var port: Int
        public var labels: [String: String]
        public var secondary: String?

        public init(name: String, port: Int, labels: [String: String] = ["env": "prod"], secondary: String? = nil) {
            self.name = name
            self.port = port
            self.labels = labels
            self.secondary = secondary
        }
    }

    /// A clusters file (`flotilla cluster apply -f`, `clusters:` of the hub) for clusters on loopback.
    public static func clustersYAML(_ clusters: [ClusterEntry]) -> String {
        var yaml = "clusters:\n"
        for c in clusters {
            let labels = c.labels.keys.sorted().map { "\($0): \(c.labels[$0]!)" }.joined(separator: ", ")
            let secondary = c.secondary.map { ", secondary: \($0)" } ?? ""
            yaml += "  - {name: \(c.name), server: 'http://127.0.0.1:\(c.port)', labels: {\(labels)}\(secondary)}\n"
        }
        return yaml
    }

    /// Three objects under `apps/NAME/`: a ConfigMap, a Service and a Deployment.
    public static func application(_ name: String) -> [String: Data] {
        [
            "apps/\(name)/config.yaml": Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(name)}\ndata: {level: info}\n".utf8),
            "apps/\(name)/service.yaml": Data("apiVersion: v1\nkind: Service\nmetadata: {name: \(name)}\nspec: {selector: {app: \(name)}, ports: [{port: 80}]}\n".utf8),
            "apps/\(name)/deployment.yaml": Data("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: \(name)}
            spec:
              replicas: 1
              selector: {matchLabels: {app: \(name)}}
              template:
                metadata: {labels: {app: \(name)}}
                spec: {containers: [{name: app, image: 'nginx:1.27'}]}
            """.utf8),
        ]
    }

    /// An app directory `DIR/` with two waves: a Deployment in wave 0 (ready only after the simulator's
    /// `readyAfter`) and a ConfigMap `after` in wave 1, which a sync applies once the Deployment is healthy.
    public static func twoWaveApp(_ directory: String) -> [String: String] {
        ["\(directory)/deploy.yaml": """
         apiVersion: apps/v1
         kind: Deployment
         metadata: {name: slow}
         spec:
           replicas: 1
           selector: {matchLabels: {app: slow}}
           template:
             metadata: {labels: {app: slow}}
             spec: {containers: [{name: c, image: 'registry.example.com/slow:1'}]}
         """,
         "\(directory)/after.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after, annotations: {argocd.argoproj.io/sync-wave: '1'}}\n"]
    }

    /// An ApplicationSet: every `apps/*` directory of `repoURL` on every cluster labelled `env=ENV`, automated sync
    /// with prune and self-heal, one namespace per directory.
    public static func matrixApplicationSet(name: String, repoURL: String, env: String = "prod") -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: \(name)}
        spec:
          generators:
            - matrix:
                generators:
                  - git: {repoURL: '\(repoURL)', revision: HEAD, directories: [{path: 'apps/*'}]}
                  - clusters: {selector: {matchLabels: {env: \(env)}}}
          template:
            metadata: {name: '{{path.basename}}-{{name}}'}
            spec:
              project: default
              source: {repoURL: '\(repoURL)', targetRevision: HEAD, path: '{{path}}'}
              destination: {server: '{{server}}', namespace: '{{path.basename}}'}
              syncPolicy: {automated: {prune: true, selfHeal: true}, syncOptions: [CreateNamespace=true]}
        """
    }

    /// Waits until `condition` holds, polling every 5 ms; returns the seconds waited, or nil after `timeout`.
    public static func wait(timeout: Double, _ condition: () -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }
}
