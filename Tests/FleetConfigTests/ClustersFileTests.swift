import FleetConfig
import FleetModel
import Foundation
import Testing

/// Files named by a clusters file, held in memory: path (resolved against the base) → content.
struct MemoryFiles: FileSource {
    var files: [String: String]

    func read(_ path: String, relativeTo baseDirectory: String?) throws -> Data {
        let full = path.hasPrefix("/") || baseDirectory == nil ? path : "\(baseDirectory!)/\(path)"
        guard let text = files[full] else { throw InputError(field: "", message: "cannot read file '\(full)'") }
        return Data(text.utf8)
    }
}

let pemCert = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
let pemKey = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"

/// Flotilla's own format: every field, with credential files read relative to the clusters file.
@Test func flotillaFormat() throws {
    let yaml = """
    clusters:
      - name: prod-eu
        server: https://10.0.0.1:6443
        labels: {env: prod, region: eu, tier: 1}
        annotations: {owner: "platform team"}
        secondary: prod-us
        auth:
          tokenFile: tokens/prod-eu
          caFile: ca.pem
      - name: prod-us
        server: https://10.0.0.2:6443
        auth: {certFile: /abs/client.crt, keyFile: /abs/client.key, serverName: api.internal}
      - name: lab
        server: http://127.0.0.1:7101
        auth: {insecure: true, caData: ""}
    """
    let files = MemoryFiles(files: ["/etc/fleet/tokens/prod-eu": "tok-123\n", "/etc/fleet/ca.pem": pemCert,
                                    "/abs/client.crt": pemCert, "/abs/client.key": pemKey])
    let entries = try ClustersFile.parse(yaml, file: "/etc/fleet/clusters.yaml", files: files)
    #expect(entries.map(\.cluster.name) == ["prod-eu", "prod-us", "lab"])
    let eu = entries[0].cluster
    #expect(eu.labels == ["env": "prod", "region": "eu", "tier": "1"])
    #expect(eu.annotations == ["owner": "platform team"])
    #expect(eu.secondary == "prod-us")
    #expect(eu.credentials.bearerToken == "tok-123")
    #expect(eu.credentials.caData == Data(pemCert.utf8))
    #expect(entries[0].location == SourceLocation(file: "/etc/fleet/clusters.yaml", line: 2, column: 5))
    #expect(entries[1].cluster.credentials.kind == .clientCertificate)
    #expect(entries[1].cluster.credentials.tlsServerName == "api.internal")
    #expect(entries[2].cluster.credentials.insecureSkipTLSVerify)
}

struct BadFileCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let expected: [String]
    var testDescription: String { name }
}

/// Every problem in a file is reported at once, with line, column and field path.
@Test(arguments: [
    BadFileCase(name: "syntax error", yaml: "clusters:\n  - name: a\n    server: [x\n",
                expected: ["c.yaml:4:1: YAML syntax error"]),
    BadFileCase(name: "tab indentation", yaml: "clusters:\n\t- name: a\n",
                expected: ["c.yaml:2:1: YAML syntax error"]),
    BadFileCase(name: "missing fields", yaml: "clusters:\n  - labels: {}\n",
                expected: ["c.yaml:2:5: clusters[0].name: required field is missing", "clusters[0].server: required field is missing"]),
    BadFileCase(name: "typo in field", yaml: "clusters:\n  - name: a\n    server: http://h\n    lables: {env: x}\n",
                expected: ["c.yaml:4:5: clusters[0].lables: unknown field 'lables'"]),
    BadFileCase(name: "bad values", yaml: "clusters:\n  - name: ' Bad'\n    server: ftp://h\n    labels: {env: 'a b'}\n",
                expected: ["c.yaml:2:11: clusters[0]( Bad).name: cluster name must not start or end with a space",
                           "c.yaml:3:13: clusters[0]( Bad).server: 'ftp://h' must use https",
                           "c.yaml:4:13: clusters[0]( Bad).labels.env: value 'a b'"]),
    BadFileCase(name: "duplicate names", yaml: "clusters:\n  - {name: a, server: 'http://h'}\n  - {name: a, server: 'http://i'}\n",
                expected: ["c.yaml:3:5: clusters: duplicate cluster name 'a' (first defined at line 2)"]),
    BadFileCase(name: "labels as list", yaml: "clusters:\n  - {name: a, server: 'http://h', labels: [x]}\n",
                expected: ["clusters[0].labels: expected a mapping (key: value), found a list"]),
    BadFileCase(name: "token and tokenFile", yaml: "clusters:\n  - {name: a, server: 'http://h', auth: {token: t, tokenFile: f}}\n",
                expected: ["clusters[0].auth.token: set token or tokenFile, not both", "cannot read file 'f'"]),
    BadFileCase(name: "unknown auth field", yaml: "clusters:\n  - {name: a, server: 'http://h', auth: {bearer: t}}\n",
                expected: ["clusters[0].auth.bearer: unknown auth field 'bearer'"]),
    BadFileCase(name: "not a clusters file", yaml: "apps: []\n",
                expected: ["not a clusters file"]),
    BadFileCase(name: "other kind", yaml: "apiVersion: v1\nkind: ConfigMap\n",
                expected: ["kind 'ConfigMap' is not a cluster definition"]),
    BadFileCase(name: "alias bomb", yaml: """
        a: &a [x, x, x, x, x, x, x, x, x, x]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
        clusters: [{name: a, server: 'http://h', labels: {x: y}}, *g]
        """, expected: ["c.yaml:1:1: a: unknown top-level field 'a'", "clusters[1]: expected a mapping (key: value), found a list"]),
])
func badFiles(_ c: BadFileCase) {
    do {
        _ = try ClustersFile.parse(c.yaml, file: "c.yaml", files: MemoryFiles(files: [:]))
        Issue.record("expected an error")
    } catch {
        let text = "\(error)"
        for expected in c.expected {
            #expect(text.contains(expected), "missing '\(expected)' in:\n\(text)")
        }
    }
}

/// Argo CD cluster Secrets, as one document each, with `data` or `stringData`, or as a `kind: List`.
@Test func argoClusterSecrets() throws {
    let config = #"{"bearerToken":"argo-token","tlsClientConfig":{"insecure":false,"caData":"\#(Data(pemCert.utf8).base64EncodedString())"}}"#
    let yaml = """
    apiVersion: v1
    kind: Secret
    metadata:
      name: cluster-prod-eu
      namespace: argocd
      labels:
        argocd.argoproj.io/secret-type: cluster
        env: prod
      annotations:
        flotilla.io/secondary: staging
    type: Opaque
    stringData:
      name: prod-eu
      server: https://prod-eu.example.com
      config: '\(config)'
    ---
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Secret
        metadata:
          name: cluster-staging
          labels: {argocd.argoproj.io/secret-type: cluster, env: staging}
        data:
          name: \(Data("staging".utf8).base64EncodedString())
          server: \(Data("https://staging.example.com".utf8).base64EncodedString())
          config: \(Data(#"{"username":"admin","password":"pw"}"#.utf8).base64EncodedString())
    """
    let entries = try ClustersFile.parse(yaml, file: "argo.yaml", files: MemoryFiles(files: [:]))
    #expect(entries.map(\.cluster.name) == ["prod-eu", "staging"])
    let prod = entries[0].cluster
    #expect(prod.server == "https://prod-eu.example.com")
    #expect(prod.labels == ["env": "prod"], "the secret-type label is not a cluster label")
    #expect(prod.secondary == "staging")
    #expect(prod.annotations.isEmpty)
    #expect(prod.credentials.bearerToken == "argo-token")
    #expect(prod.credentials.caData == Data(pemCert.utf8))
    #expect(entries[1].cluster.credentials.kind == .basic)
}

/// A Secret that is not a cluster secret is rejected by name; `awsAuthConfig` is refused with the way round it;
/// `execProviderConfig` is read as Argo CD reads it (the hub decides whether the command may run).
@Test func argoSecretProblems() throws {
    let notCluster = "kind: Secret\nmetadata: {name: s, labels: {a: b}}\nstringData: {name: x, server: 'https://x'}\n"
    #expect { try ClustersFile.parse(notCluster, file: "f", files: MemoryFiles(files: [:])) } throws: {
        "\($0)".contains("Secret s.metadata.labels: not an Argo CD cluster secret")
    }
    func secret(_ config: String) -> String {
        """
        kind: Secret
        metadata: {name: gke, labels: {argocd.argoproj.io/secret-type: cluster}}
        stringData:
          name: gke
          server: 'https://gke'
          config: '\(config)'
        """
    }
    #expect { try ClustersFile.parse(secret(#"{"awsAuthConfig":{"clusterName":"prod"}}"#), file: "f", files: MemoryFiles(files: [:])) } throws: {
        "\($0)".contains("awsAuthConfig (EKS) is not supported yet") && "\($0)".contains("aws eks get-token")
    }
    let gke = #"{"execProviderConfig":{"command":"gke-gcloud-auth-plugin","args":["--use_application_default_credentials"],"env":{"CLOUDSDK_CORE_PROJECT":"p1"},"apiVersion":"client.authentication.k8s.io/v1beta1","installHint":"gcloud components install gke-gcloud-auth-plugin"},"tlsClientConfig":{"insecure":false}}"#
    let entry = try #require(try ClustersFile.parse(secret(gke), file: "f", files: MemoryFiles(files: [:])).first)
    let exec = try #require(entry.cluster.credentials.exec)
    #expect(exec.command == "gke-gcloud-auth-plugin" && exec.args == ["--use_application_default_credentials"] && exec.env == [.init(name: "CLOUDSDK_CORE_PROJECT", value: "p1")])
    #expect(exec.apiVersion == ExecCredentialConfig.v1beta1 && exec.interactiveMode == .never && entry.cluster.credentials.kind == .exec)
    #expect { try ClustersFile.parse(secret(#"{"execProviderConfig":{"command":"aws","args":"eks"}}"#), file: "f", files: MemoryFiles(files: [:])) } throws: {
        "\($0)".contains("execProviderConfig.args: must be a list of strings") && "\($0)".contains("execProviderConfig.apiVersion: required field is missing")
    }
}

/// Flotilla's clusters file and kubeconfig name a plugin as kubeconfig does (`exec`).
@Test func execPluginsInClustersFilesAndKubeconfigs() throws {
    let file = """
    clusters:
      - name: aks
        server: https://aks:443
        auth:
          exec:
            command: kubelogin
            args: [get-token, --login, azurecli, --server-id, 6dae42f8]
            env: [{name: AAD_LOGIN_METHOD, value: azurecli}]
            apiVersion: client.authentication.k8s.io/v1beta1
            provideClusterInfo: true
    """
    let aks = try #require(try ClustersFile.parse(file, file: "c.yaml", files: MemoryFiles(files: [:])).first?.cluster.credentials.exec)
    #expect(aks.command == "kubelogin" && aks.args.count == 5 && aks.env.map(\.name) == ["AAD_LOGIN_METHOD"] && aks.provideClusterInfo)
    let bad = file.replacingOccurrences(of: "provideClusterInfo: true", with: "interactiveMode: Always")
    #expect { try ClustersFile.parse(bad, file: "c.yaml", files: MemoryFiles(files: [:])) } throws: { "\($0)".contains("interactiveMode Always") }

    let kubeconfig = """
    apiVersion: v1
    kind: Config
    current-context: gke
    clusters: [{name: gke, cluster: {server: 'https://gke:443'}}]
    users:
      - name: gke-user
        user:
          exec:
            apiVersion: client.authentication.k8s.io/v1beta1
            command: gke-gcloud-auth-plugin
            installHint: Install gke-gcloud-auth-plugin for use with kubectl
            provideClusterInfo: true
            interactiveMode: IfAvailable
    contexts: [{name: gke, context: {cluster: gke, user: gke-user}}]
    """
    let cluster = try Kubeconfig.cluster(from: kubeconfig, file: "k", context: nil, name: nil, files: MemoryFiles(files: [:]))
    #expect(cluster.credentials.exec?.command == "gke-gcloud-auth-plugin" && cluster.credentials.exec?.interactiveMode == .ifAvailable)
}

/// Kubeconfig: the current context's server, CA and user; files relative to the kubeconfig.
@Test func kubeconfigContexts() throws {
    let kubeconfig = """
    apiVersion: v1
    kind: Config
    current-context: dev
    clusters:
      - name: dev-cluster
        cluster: {server: 'https://dev:6443', certificate-authority: ca.crt}
      - name: prod-cluster
        cluster: {server: 'https://prod:6443', certificate-authority-data: \(Data(pemCert.utf8).base64EncodedString())}
    users:
      - name: dev-user
        user: {token: dev-token}
      - name: prod-user
        user: {client-certificate-data: \(Data(pemCert.utf8).base64EncodedString()), client-key: keys/prod.key}
      - name: sso
        user: {exec: {command: kubelogin}}
    contexts:
      - name: dev
        context: {cluster: dev-cluster, user: dev-user}
      - name: prod
        context: {cluster: prod-cluster, user: prod-user}
      - name: sso
        context: {cluster: prod-cluster, user: sso}
      - name: Admin@Prod
        context: {cluster: prod-cluster, user: prod-user}
    """
    let files = MemoryFiles(files: ["/home/u/.kube/ca.crt": pemCert, "/home/u/.kube/keys/prod.key": pemKey])
    let dev = try Kubeconfig.cluster(from: kubeconfig, file: "/home/u/.kube/config", context: nil, name: nil, files: files)
    #expect(dev.name == "dev" && dev.server == "https://dev:6443")
    #expect(dev.credentials.bearerToken == "dev-token")
    #expect(dev.credentials.caData == Data(pemCert.utf8))

    let prod = try Kubeconfig.cluster(from: kubeconfig, file: "/home/u/.kube/config", context: "prod", name: "prod-eu", files: files)
    #expect(prod.name == "prod-eu")
    #expect(prod.credentials.kind == .clientCertificate)
    #expect(prod.credentials.keyData == Data(pemKey.utf8))

    #expect { try Kubeconfig.cluster(from: kubeconfig, file: "k", context: "nope", name: nil, files: files) } throws: {
        "\($0)".contains("context 'nope' not found in the kubeconfig (available: Admin@Prod, dev, prod, sso)")
    }
    #expect { try Kubeconfig.cluster(from: kubeconfig, file: "k", context: "sso", name: nil, files: files) } throws: {
        "\($0)".contains("users.sso.exec.apiVersion: required field is missing")
    }
    // Context names are cluster names as given: free text, as `argocd cluster add` keeps them.
    let admin = try Kubeconfig.cluster(from: kubeconfig, file: "/home/u/.kube/config", context: "Admin@Prod", name: nil, files: files)
    #expect(admin.name == "Admin@Prod" && admin.normalizedName == "admin-prod")
}

/// YAML output quotes strings that would read back as another type, and keeps key order.
@Test func yamlOutputQuoting() throws {
    let value = JSONValue.object([("z", .string("true")), ("a", .string("1")), ("m", .string("plain")), ("e", .string("")), ("n", .null)])
    let yaml = YAMLOutput.render(value)
    #expect(yaml == "z: \"true\"\na: \"1\"\nm: plain\ne: \"\"\nn: null\n")
}
