import FleetConfig
import FleetModel
import Foundation
import Testing

private func secret(_ name: String, type: String, _ fields: [String: String], base64: Bool = false) -> String {
    let body = fields.keys.sorted().map { key in
        "    \(key): \(base64 ? Data(fields[key]!.utf8).base64EncodedString() : "'\(fields[key]!)'")"
    }.joined(separator: "\n")
    return """
    apiVersion: v1
    kind: Secret
    metadata:
      name: \(name)
      namespace: argocd
      labels: {argocd.argoproj.io/secret-type: \(type)}
    \(base64 ? "data" : "stringData"):
    \(body)
    """
}

@Test func repositoryAndTemplateSecretsAreRead() throws {
    let text = [
        secret("private-repo", type: "repository", ["url": "https://git.example.com/acme/private.git", "username": "bot", "password": "s3cret-1"], base64: true),
        secret("acme-creds", type: "repo-creds", ["url": "https://git.example.com/acme", "username": "ci", "password": "s3cret-2"]),
        secret("acme-team-creds", type: "repo-creds", ["url": "https://git.example.com/acme/team", "password": "s3cret-3"]),
        secret("charts", type: "repository", ["url": "https://charts.example.com/stable", "type": "helm", "name": "stable", "username": "u", "password": "s3cret-4"]),
    ].joined(separator: "\n---\n")
    let secrets = try RepositorySecret.parse(text, file: "repos.yaml")
    #expect(secrets.map(\.secretName) == ["private-repo", "acme-creds", "acme-team-creds", "charts"])
    #expect(secrets[0].password == "s3cret-1" && secrets[0].kind == .repository && secrets[0].type == .git)
    #expect(secrets[3].type == .helm && secrets[3].name == "stable")
    #expect(!secrets.map(\.description).joined().contains("s3cret"), "descriptions never carry a password")

    let book = RepositoryCredentialBook(secrets)
    // A repository Secret for exactly that repository, however its URL is spelt.
    for spelling in ["https://git.example.com/acme/private.git", "https://git.example.com/acme/private", "HTTPS://git.example.com/acme/private/"] {
        #expect(book.match(spelling)?.secretName == "private-repo", "\(spelling)")
    }
    // Otherwise the longest template it starts with, by whole path segments.
    #expect(book.match("https://git.example.com/acme/other.git")?.secretName == "acme-creds")
    #expect(book.match("https://git.example.com/acme/team/svc.git")?.secretName == "acme-team-creds")
    #expect(book.match("https://git.example.com/acme-evil/x.git") == nil)
    #expect(book.match("https://git.example.com.evil.net/acme/x.git") == nil)
    #expect(book.match("https://user@git.example.com/acme/x.git") == nil, "a URL with its own user information gets none")
}

@Test func aListAsKubectlPrintsItIsRead() throws {
    let list = """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Secret
      metadata: {name: a, labels: {argocd.argoproj.io/secret-type: repository}}
      data: {url: \(Data("https://git.example.com/a".utf8).base64EncodedString())}
    """
    #expect(try RepositorySecret.parse(list, file: "list.yaml").map(\.url) == ["https://git.example.com/a"])
}

struct RefusedSecret: Sendable, CustomTestStringConvertible {
    let fields: [String: String], type: String, field: String
    var testDescription: String { field }
}

private let refused: [RefusedSecret] = [
    .init(fields: ["url": "https://git.example.com/a", "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"], type: "repository", field: "sshPrivateKey"),
    .init(fields: ["url": "https://git.example.com/a", "githubAppPrivateKey": "k", "githubAppID": "1"], type: "repository", field: "githubAppPrivateKey"),
    .init(fields: ["url": "https://git.example.com/a", "tlsClientCertData": "c"], type: "repository", field: "tlsClientCertData"),
    .init(fields: ["url": "https://git.example.com/a", "insecure": "true"], type: "repository", field: "insecure"),
    .init(fields: ["url": "https://git.example.com/a", "enableOCI": "true"], type: "repo-creds", field: "enableOCI"),
    .init(fields: ["url": "https://git.example.com/a", "proxy": "http://proxy:3128"], type: "repository", field: "proxy"),
    .init(fields: ["url": "https://git.example.com/a", "type": "oci"], type: "repository", field: "type"),
    .init(fields: ["username": "u", "password": "p"], type: "repository", field: "url"),
    .init(fields: ["url": "git@github.com:acme/a.git"], type: "repository", field: "url"),
    .init(fields: ["url": "https://git.example.com/a"], type: "cluster", field: "metadata.labels"),
]

/// What the hub cannot honour is refused by name (Secret and field), never taken half; no value in the message.
@Test(arguments: refused)
func secretsTheHubCannotHonourAreRefused(_ bad: RefusedSecret) throws {
    var fields = bad.fields
    fields["password"] = fields["password"] ?? "do-not-print-9"
    do {
        _ = try RepositorySecret.parse(secret("bad", type: bad.type, fields), file: "repos.yaml")
        Issue.record("accepted")
    } catch let error as InputError {
        #expect(error.problems.contains { $0.field == "Secret bad.\(bad.field)" && $0.location?.file == "repos.yaml" }, "\(error)")
        #expect(!"\(error)".contains("do-not-print-9") && !"\(error)".contains("BEGIN OPENSSH"))
    }
}

@Test func oneURLInTwoSecretsIsRefused() {
    let text = secret("one", type: "repository", ["url": "https://git.example.com/a.git"]) + "\n---\n"
        + secret("two", type: "repository", ["url": "https://git.example.com/a/"])
    #expect { try RepositorySecret.parse(text, file: "repos.yaml") } throws: { "\($0)".contains("Secret one") && "\($0)".contains("Secret two") }
}
