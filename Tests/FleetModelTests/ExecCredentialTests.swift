import FleetModel
import Foundation
import Testing

/// What a credential plugin prints, read as client-go reads it; errors never quote the output.
@Test(arguments: [
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret"}}"#, "v1", "token", nil),
    (#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"s3cret","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#,
     "v1beta1", "token until 1893553445", nil),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----","clientKeyData":"-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----"}}"#,
     "v1", "client-cert", nil),
    (#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"s3cret"}}"#, "v1", nil, "not the 'client.authentication.k8s.io/v1' it was asked for"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"Secret","status":{"token":"s3cret"}}"#, "v1", nil, "not an ExecCredential (kind: Secret)"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#, "v1", nil, "neither a token nor a client certificate"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}"#, "v1", nil, "has no status"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----"}}"#, "v1", nil, "without a key"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret\n"}}"#, "v1", nil, "contains whitespace"),
    (#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret","expirationTimestamp":"tomorrow"}}"#, "v1", nil, "not an RFC 3339 time"),
    ("token: s3cret", "v1", nil, "not JSON (13 bytes)"),
] as [(String, String, String?, String?)])
func execCredentialsAreReadAsClientGoReadsThem(output: String, version: String, holds: String?, problem: String?) {
    let apiVersion = "client.authentication.k8s.io/\(version)"
    do {
        let credential = try ExecCredential.parse(Array(output.utf8), apiVersion: apiVersion)
        var what = credential.token != nil ? "token" : "client-cert"
        if let at = credential.expiration { what += " until \(Int(at.timeIntervalSince1970))" }
        #expect(what == holds, "\(output)")
        #expect(credential.token == nil || credential.token == "s3cret")
        #expect(!"\(credential)".contains("s3cret"))
    } catch {
        #expect(holds == nil, "\(error)")
        #expect("\(error)".contains(problem ?? "?"), "\(error)")
        #expect(!"\(error)".contains("s3cret"))
    }
}

/// Only commands the operator listed run: an absolute path listed, or a bare name that is the file name of
/// exactly one listed path.
@Test(arguments: [
    ("/usr/local/bin/kubelogin", "/usr/local/bin/kubelogin"),
    ("/usr/local/bin/../bin/kubelogin", "/usr/local/bin/kubelogin"),
    ("kubelogin", "/usr/local/bin/kubelogin"),
    ("gke-gcloud-auth-plugin", nil),          // two listed paths have that name
    ("aws", nil),                             // not listed
    ("bin/kubelogin", nil),                   // relative paths are never resolved
    ("/tmp/kubelogin", nil),                  // same name, another place
] as [(String, String?)])
func onlyAllowedPluginsRun(command: String, runs: String?) {
    let policy = ExecPluginPolicy(allowed: ["/usr/local/bin/kubelogin", "/opt/a/gke-gcloud-auth-plugin", "/opt/b/gke-gcloud-auth-plugin"])
    do {
        #expect(try policy.resolve(command) == runs)
    } catch {
        #expect(runs == nil)
        #expect("\(error)".contains("'\(command)' is not allowed") && "\(error)".contains("execPlugins.allowed"))
    }
    #expect(ExecPluginPolicy(allowed: ["kubelogin"]).problems(field: "execPlugins").map(\.message) == ["'kubelogin' is not an absolute path"])
}

@Test func pluginConfigurationsAreChecked() {
    var config = ExecCredentialConfig(command: "kubelogin", args: ["get-token", "--secret", "hunter2"], apiVersion: "client.authentication.k8s.io/v1alpha1",
                                      interactiveMode: .always)
    let messages = config.problems(field: "auth.exec").map { "\($0.field): \($0.message)" }
    #expect(messages.contains { $0.hasPrefix("auth.exec.apiVersion:") && $0.contains("removed in Kubernetes 1.24") })
    #expect(messages.contains { $0.hasPrefix("auth.exec.interactiveMode:") })
    #expect(!"\(config)".contains("hunter2") && !String(reflecting: config).contains("hunter2"))
    config.apiVersion = ExecCredentialConfig.v1
    config.interactiveMode = .never
    #expect(config.problems(field: "auth.exec").isEmpty)
    let both = ClusterCredentials(bearerToken: "t", exec: config)
    #expect(both.kind == .exec && both.problems(field: "auth").map(\.field) == ["auth.exec"])
    // KUBERNETES_EXEC_INFO: not interactive; the cluster only when asked for.
    let info = try? JSONParser.parse(config.execInfo(server: "https://k:6443", caData: Data("CA".utf8), tlsServerName: nil, insecure: false))
    #expect(info?["spec"]?["interactive"] == .bool(false) && info?["spec"]?["cluster"] == nil && info?["kind"] == "ExecCredential")
    config.provideClusterInfo = true
    let told = try? JSONParser.parse(config.execInfo(server: "https://k:6443", caData: Data("CA".utf8), tlsServerName: "k.example", insecure: false))
    #expect(told?["spec"]?["cluster"]?["server"] == "https://k:6443" && told?["spec"]?["cluster"]?["certificate-authority-data"] == "Q0E="
            && told?["spec"]?["cluster"]?["tls-server-name"] == "k.example")
}
