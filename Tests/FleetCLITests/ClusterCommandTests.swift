import Foundation
import Testing

private let exampleFleet = CLI.packageRoot.appendingPathComponent("fleet/clusters.yaml").path

/// The README's promise: apply the example fleet, list prod clusters as JSON, with no credentials.
@Test func applyExampleFleetAndListProd() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let apply = try cli.run(["cluster", "apply", "-f", exampleFleet])
    #expect(apply.status == 0, "\(apply.stderr)")
    #expect(apply.stdout.contains("cluster/prod-eu created"))

    let again = try cli.run(["cluster", "apply", "-f", exampleFleet])
    #expect(again.status == 0)
    #expect(!again.stdout.contains("created") && !again.stdout.contains("configured"))
    #expect(again.stdout.contains("cluster/prod-eu unchanged"))

    let list = try cli.run(["cluster", "list", "-l", "env=prod", "-o", "json"])
    #expect(list.status == 0, "\(list.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as! [[String: Any]]
    #expect(json.map { $0["name"] as! String } == ["prod-ap", "prod-eu", "prod-us"])
    #expect(json.allSatisfy { $0["auth"] as? String == "token" })
    #expect((json[1]["labels"] as? [String: String])?["region"] == "eu")
    #expect(json[1]["secondary"] as? String == "dr-eu")
    #expect(!list.stdout.contains("sim-token"), "a credential leaked into the output")

    let yaml = try cli.run(["cluster", "get", "prod-eu"])
    #expect(yaml.stdout.contains("secondary: dr-eu"))
    #expect(!yaml.stdout.contains("sim-token"))

    let table = try cli.run(["cluster", "list", "-l", "region in (eu),env!=dev"])
    #expect(table.stdout.split(separator: "\n").count == 4, "header plus staging-eu, prod-eu and dr-eu:\n\(table.stdout)")
}

/// A bad file is rejected with its line and field, and the registry stays as it was.
@Test func badFileChangesNothing() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    try cli.run(["cluster", "apply", "-f", exampleFleet])
    let before = try cli.run(["cluster", "list", "-o", "json"]).stdout

    let bad = cli.write("bad.yaml", """
    clusters:
      - name: ok-one
        server: https://10.1.1.1
      - name: broken
        server: https://10.1.1.2
        labels: {env: "not valid!"}
    """)
    let r = try cli.run(["cluster", "apply", "-f", bad, "--prune"])
    #expect(r.status != 0)
    #expect(r.stderr.contains("bad.yaml:6:13: clusters[1](broken).labels.env: value 'not valid!'"), "\(r.stderr)")
    #expect(r.stdout.isEmpty)
    #expect(try cli.run(["cluster", "list", "-o", "json"]).stdout == before)

    let cycle = cli.write("cycle.yaml", """
    clusters:
      - {name: x, server: "http://127.0.0.1:1", secondary: y}
      - {name: y, server: "http://127.0.0.1:2", secondary: x}
    """)
    let c = try cli.run(["cluster", "apply", "-f", cycle])
    #expect(c.status != 0)
    #expect(c.stderr.contains("cycle.yaml:2:5: clusters.x.secondary: secondaries form a cycle: x -> y -> x"), "\(c.stderr)")
    #expect(try cli.run(["cluster", "list", "-o", "json"]).stdout == before)
}

/// --prune removes clusters the file no longer lists; --dry-run only reports.
@Test func pruneAndDryRun() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let two = cli.write("two.yaml", "clusters:\n  - {name: a, server: 'http://127.0.0.1:1'}\n  - {name: b, server: 'http://127.0.0.1:2'}\n")
    let one = cli.write("one.yaml", "clusters:\n  - {name: a, server: 'http://127.0.0.1:9', labels: {env: dev}}\n")
    try cli.run(["cluster", "apply", "-f", two])
    let dry = try cli.run(["cluster", "apply", "-f", one, "--prune", "--dry-run"])
    #expect(dry.stdout == "cluster/a configured (dry run)\ncluster/b pruned (dry run)\n")
    #expect(try cli.run(["cluster", "list", "-o", "json"]).stdout.contains("\"b\""))
    let real = try cli.run(["cluster", "apply", "-f", one, "--prune"])
    #expect(real.stdout == "cluster/a configured\ncluster/b pruned\n")
    let names = try cli.run(["cluster", "list", "-o", "json"]).stdout
    #expect(names.contains("\"a\"") && !names.contains("\"b\""))
    #expect(names.contains("127.0.0.1:9"))
}

/// `cluster add` from flags and from a kubeconfig; credentials read from files and never printed.
@Test func addFromFlagsAndKubeconfig() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let tokenFile = cli.write("token", "flag-token-123\n")
    let add = try cli.run(["cluster", "add", "edge-1", "--server", "https://10.9.0.1:6443", "--label", "env=edge",
                           "--annotation", "owner=iot team", "--token-file", tokenFile])
    #expect(add.status == 0, "\(add.stderr)")
    let dup = try cli.run(["cluster", "add", "edge-1", "--server", "https://10.9.0.1:6443"])
    #expect(dup.status != 0 && dup.stderr.contains("cluster 'edge-1' already exists"))

    let kubeconfig = cli.write("kube/config", """
    apiVersion: v1
    kind: Config
    current-context: lab
    clusters: [{name: lab, cluster: {server: "https://lab:6443", insecure-skip-tls-verify: true}}]
    users: [{name: lab, user: {token: kube-token-456}}]
    contexts: [{name: lab, context: {cluster: lab, user: lab}}]
    """)
    let fromKube = try cli.run(["cluster", "add", "--kubeconfig", kubeconfig, "--label", "env=lab", "--secondary", "edge-1"])
    #expect(fromKube.status == 0, "\(fromKube.stderr)")
    let lab = try cli.run(["cluster", "get", "lab", "-o", "json"])
    let obj = try JSONSerialization.jsonObject(with: Data(lab.stdout.utf8)) as! [String: Any]
    #expect(obj["server"] as? String == "https://lab:6443")
    #expect(obj["auth"] as? String == "token")
    #expect(obj["secondary"] as? String == "edge-1")
    #expect((obj["tls"] as? [String: Any])?["insecureSkipTLSVerify"] as? Bool == true)

    let all = try cli.run(["cluster", "list", "-o", "yaml"]).stdout + (try cli.run(["cluster", "list"]).stdout)
    #expect(!all.contains("flag-token-123") && !all.contains("kube-token-456"))
    #expect(all.contains("owner: iot team"))

    let missing = try cli.run(["cluster", "add", "x", "--server", "https://x", "--token-file", "/nonexistent/token"])
    #expect(missing.status != 0 && missing.stderr.contains("--token-file: cannot read file '/nonexistent/token'"))
    let noServer = try cli.run(["cluster", "add", "x"])
    #expect(noServer.status != 0 && noServer.stderr.contains("Please specify --server"))
    let badName = try cli.run(["cluster", "add", "bad\u{7}name", "--server", "https://x"])
    #expect(badName.status != 0 && badName.stderr.contains("cluster name must not contain control characters"), "\(badName.stderr)")
    // Names are free text, as in Argo CD: an EKS ARN is a name; `/` in it is escaped on the way to the API.
    let arn = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
    #expect(try cli.run(["cluster", "add", arn, "--server", "https://eks.example:443/"]).status == 0)
    let got = try cli.run(["cluster", "get", arn, "-o", "json"])
    let arnObject = try JSONSerialization.jsonObject(with: Data(got.stdout.utf8)) as? [String: Any]
    #expect(arnObject?["server"] as? String == "https://eks.example:443", "a trailing slash is trimmed: \(got.stdout)")
    #expect(arnObject?["nameNormalized"] as? String == "arn-aws-eks-eu-west-1-123456789012-cluster-prod")
}

/// Labels are set and removed; an existing value changes only with --overwrite.
@Test func labelAndRemove() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    try cli.run(["cluster", "apply", "-f", exampleFleet])
    #expect(try cli.run(["cluster", "label", "dev-eu", "canary=true"]).status == 0)
    #expect(try cli.run(["cluster", "list", "-l", "canary"]).stdout.contains("dev-eu"))
    let clash = try cli.run(["cluster", "label", "dev-eu", "env=prod"])
    #expect(clash.status != 0 && clash.stderr.contains("already has label env=dev; use --overwrite"))
    #expect(try cli.run(["cluster", "label", "dev-eu", "env=qa", "canary-", "--overwrite"]).status == 0)
    let json = try cli.run(["cluster", "get", "dev-eu", "-o", "json"]).stdout
    #expect(json.contains("\"env\": \"qa\"") && !json.contains("canary"))
    let badValue = try cli.run(["cluster", "label", "dev-eu", "env=a b", "--overwrite"])
    #expect(badValue.status != 0 && badValue.stderr.contains("value 'a b'"))

    let inUse = try cli.run(["cluster", "rm", "prod-us"])
    #expect(inUse.status != 0 && inUse.stderr.contains("cluster 'prod-us' is the secondary of dr-eu"))
    #expect(try cli.run(["cluster", "rm", "prod-eu", "dr-eu", "prod-us"]).status == 0)
    #expect(try cli.run(["cluster", "rm", "ghost"]).stderr.contains("cluster 'ghost' not found"))
    let names = try cli.run(["cluster", "list", "-o", "json"]).stdout
    #expect(!names.contains("\"prod-eu\"") && names.contains("\"prod-ap\""))
}

/// Argo CD cluster Secrets apply unchanged, from standard input too.
@Test func applyArgoSecretsFromStdin() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let secrets = """
    apiVersion: v1
    kind: Secret
    metadata:
      name: mycluster-secret
      labels: {argocd.argoproj.io/secret-type: cluster, env: prod}
    type: Opaque
    stringData:
      name: mycluster
      server: https://mycluster.example.com
      config: |
        {"bearerToken": "argo-secret-token", "tlsClientConfig": {"insecure": false}}
    """
    let r = try cli.run(["cluster", "apply", "-f", "-"], stdin: secrets)
    #expect(r.status == 0, "\(r.stderr)")
    let out = try cli.run(["cluster", "list", "-l", "env=prod", "-o", "json"]).stdout
    #expect(out.contains("\"mycluster\"") && out.contains("\"auth\": \"token\""))
    #expect(!out.contains("argo-secret-token"))
}

/// The selector syntax error reaches the user with its column.
@Test func badSelector() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let r = try cli.run(["cluster", "list", "-l", "env in (prod"])
    #expect(r.status != 0 && r.stderr.contains("expected ')' to close the value list at column 13"))
}
