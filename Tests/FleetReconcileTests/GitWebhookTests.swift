import Crypto
import FleetModel
import FleetReconcile
import Testing

private let githubBody = #"{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"clone_url":"https://github.com/Acme/Apps.git","ssh_url":"git@github.com:Acme/Apps.git","html_url":"https://github.com/Acme/Apps"}}"#

private func sign(_ body: String, _ secret: String) -> String {
    "sha256=" + Bytes.hex(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8))))
}

/// A correctly signed GitHub push names the repository in all its URL forms.
@Test func githubPush() throws {
    let hook = try GitWebhook.parse(headers: ["x-hub-signature-256": sign(githubBody, "s3cret-value")], body: Array(githubBody.utf8), secret: "s3cret-value")
    #expect(hook.provider == .github && hook.ref == "refs/heads/main")
    #expect(hook.concerns("https://github.com/Acme/Apps.git"))
    #expect(hook.concerns("git@github.com:Acme/Apps.git"))
    #expect(hook.concerns("https://GITHUB.com/Acme/Apps/"))
    #expect(!hook.concerns("https://github.com/Acme/Other"))
}

/// A GitLab push carries the token; its project URLs are used.
@Test func gitlabPush() throws {
    let body = #"{"ref":"refs/heads/main","project":{"git_http_url":"https://gitlab.example.com/team/apps.git","git_ssh_url":"git@gitlab.example.com:team/apps.git"}}"#
    let hook = try GitWebhook.parse(headers: ["x-gitlab-token": "s3cret-value"], body: Array(body.utf8), secret: "s3cret-value")
    #expect(hook.provider == .gitlab && hook.concerns("https://gitlab.example.com/team/apps"))
}

/// Forged, missing or malformed signatures and bad bodies are rejected without echoing the secret.
@Test(arguments: [
    (["x-hub-signature-256": "sha256=" + String(repeating: "0", count: 64)], githubBody, 401, "signature does not match"),
    (["x-hub-signature-256": "md5=abc"], githubBody, 401, "malformed"),
    (["x-gitlab-token": "guess"], githubBody, 401, "token does not match"),
    ([:], githubBody, 401, "no X-Hub-Signature-256"),
    (["x-gitlab-token": "s3cret-value"], "not json", 400, "not JSON"),
    (["x-gitlab-token": "s3cret-value"], "{}", 400, "names no repository"),
] as [([String: String], String, Int, String)])
func rejections(_ headers: [String: String], _ body: String, _ status: Int, _ message: String) {
    #expect { try GitWebhook.parse(headers: headers, body: Array(body.utf8), secret: "s3cret-value") } throws: { error in
        guard let r = error as? GitWebhook.Rejection else { return false }
        return r.status == status && r.message.contains(message) && !r.message.contains("s3cret-value")
    }
}
