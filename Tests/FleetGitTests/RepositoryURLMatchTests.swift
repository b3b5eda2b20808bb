import FleetGit
import Foundation
import Testing

/// Spellings of one repository that Argo CD takes as the same (`NormalizeGitURL`) match one configuration entry;
/// different repositories, hosts or protocols do not.
@Test(arguments: [
    ("https://github.com/acme/fleet-apps.git", "https://github.com/acme/fleet-apps", true),
    ("https://github.com/acme/fleet-apps.git", "https://github.com/acme/fleet-apps/", true),
    ("https://github.com/acme/fleet-apps", "https://GitHub.com/Acme/fleet-apps.git/", true),
    ("https://github.com/acme/fleet-apps.git", " https://user:token@github.com/acme/fleet-apps.git", true),
    ("git@github.com:acme/fleet-apps.git", "ssh://git@github.com/acme/fleet-apps", true),
    ("https://github.com/acme/fleet-apps.git", "https://github.com/acme/fleet-apps-2.git", false),
    ("https://github.com/acme/fleet-apps.git", "https://gitlab.com/acme/fleet-apps.git", false),
    ("https://github.com/acme/fleet-apps.git", "git@github.com:acme/fleet-apps.git", false),
    ("/srv/git/apps", "/srv/git/../git/apps/", true),
])
func repositoryURLsMatchAsArgoCDMatchesThem(_ a: String, _ b: String, _ same: Bool) {
    #expect((GitURL.matchKey(a) == GitURL.matchKey(b)) == same, "\(GitURL.matchKey(a)) vs \(GitURL.matchKey(b))")
}

/// An override configured for one spelling (`fetchFrom`, `--repo URL=PATH`) serves the others.
@Test func overridesServeEverySpellingOfTheirRepository() throws {
    let root = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: root) }
    try "a: 1\n".write(to: root.appendingPathComponent("file.yaml"), atomically: true, encoding: .utf8)
    let fallback = WorkingTreeGitSource(root: root.appendingPathComponent("nowhere"))
    let routed = RoutingGitSource(overrides: ["https://github.com/acme/fleet-apps.git": WorkingTreeGitSource(root: root)], fallback: fallback)
    for spelling in ["https://github.com/acme/fleet-apps.git", "https://github.com/acme/fleet-apps/", "https://GITHUB.com/acme/fleet-apps"] {
        let commit = try routed.resolve(repoURL: spelling, revision: "HEAD")
        #expect(try routed.readFile(repoURL: spelling, commit: commit, path: "file.yaml") == Data("a: 1\n".utf8), "\(spelling)")
    }
}
